# deeplab_ros: set-up and test commands (any Linux with Python 3.10+).
# `make demo` and `make test` each create the venvs they need and install into them. `make
# test` runs the pip route on ROS 2 Jazzy (.venv) and Kilted (.venv-kilted), then the
# real-install checks (.ci/colcon-test: colcon build and test, launch tests) when the ROS 2
# harness script is there ($(SHARED)/tools/ros-harness.sh), and says so when not.

PYTHON ?= python3
VENV ?= .venv
KILTED_VENV ?= .venv-kilted
PY := $(VENV)/bin/python
SHARED ?= ../shared
ASSETS := $(abspath $(SHARED))/assets
# Tests and the demo read models and images from a local mirror when one is there.
MIRROR ?= $(if $(wildcard $(ASSETS)/models),$(ASSETS)/models:$(ASSETS)/images,)
# The VOC and CamVid samples, for the evaluation tests.
DATASETS ?= $(if $(wildcard $(ASSETS)/camvid_val_sample),$(ASSETS),)
# With the mirror there, a skipped test fails: every test can run (CI).
NO_SKIPS ?= $(if $(MIRROR),1,)
PYTEST_ARGS ?=
HARNESS_SCRIPT := $(abspath $(SHARED))/tools/ros-harness.sh
HARNESS ?= /tmp/deeplab_ros-harness

.PHONY: venv vulkan test pytest pytest-kilted colcon-test demo lint bench clean

PACKAGE_FILES := setup.py setup.cfg package.xml resource/deeplab_ros \
	$(wildcard deeplab_ros/*.py deeplab_ros/*/*.py launch/*.py config/* config/nav2/*)

venv: $(VENV)/.package

# One venv per ROS 2 distribution of the pip route: its runtime pins plus the test tools.
$(VENV)/.requirements: requirements.txt requirements-test.txt requirements-openvino.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements.txt -r requirements-test.txt
	touch $@

$(KILTED_VENV)/.requirements: requirements-kilted.txt requirements-test.txt \
		requirements-openvino.txt
	test -x $(KILTED_VENV)/bin/python || $(PYTHON) -m venv $(KILTED_VENV)
	$(KILTED_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-kilted.txt -r requirements-test.txt
	touch $@

# A regular (not editable) install, so that launch/ and config/ land in <venv>/share where
# the ament index finds them; reinstalled whenever a package file changes.
%/.package: %/.requirements $(PACKAGE_FILES)
	$*/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--force-reinstall .
	rm -rf build deeplab_ros.egg-info
	touch $@

# The pip route on Jazzy, on Kilted, then the real-install route (one after the other, even
# under make -j).
test: pytest
	@$(MAKE) --no-print-directory pytest-kilted
	@$(MAKE) --no-print-directory colcon-test

# $(call pytest_in,<venv>,<distribution>): the test suite in one venv, in a ROS domain of its own.
define pytest_in
	@echo "== pip route, ROS 2 $(2) ($(1))"
	AMENT_PREFIX_PATH=$(abspath $(1)) ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \
		DEEPLAB_ROS_MIRROR=$(MIRROR) DEEPLAB_ROS_OFFLINE=1 \
		DEEPLAB_ROS_HOME=$(abspath $(1))/deeplab_home DEEPLAB_ROS_NO_SKIPS=$(NO_SKIPS) \
		DEEPLAB_ROS_DATASETS=$(DATASETS) \
		$(1)/bin/python -m pytest -q $(PYTEST_ARGS) test
endef

# A Vulkan driver for the GPU tests (Mesa's lavapipe where there is no GPU), as root; quick
# when it is there, a note and no change when not root (the GPU tests are then deselected).
vulkan:
	@bash .ci/install-vulkan

pytest: $(VENV)/.package vulkan
	$(call pytest_in,$(VENV),Jazzy)

pytest-kilted: $(KILTED_VENV)/.package vulkan
	$(call pytest_in,$(KILTED_VENV),Kilted)

# The package as a robot builds it: tracked files in a scratch colcon workspace under /tmp.
colcon-test:
	HARNESS_SCRIPT=$(HARNESS_SCRIPT) HARNESS=$(HARNESS) DEEPLAB_ROS_MIRROR=$(MIRROR) \
		DEEPLAB_ROS_NO_SKIPS=$(NO_SKIPS) DEEPLAB_ROS_DATASETS=$(DATASETS) bash .ci/colcon-test

lint: venv
	$(PY) -m pytest -q test/test_flake8.py test/test_pep257.py test/test_copyright.py

demo: venv
	AMENT_PREFIX_PATH=$(abspath $(VENV)) DEEPLAB_ROS_MIRROR=$(MIRROR) \
		$(VENV)/bin/deeplab demo --out demo_out

bench: venv
	AMENT_PREFIX_PATH=$(abspath $(VENV)) DEEPLAB_ROS_MIRROR=$(MIRROR) $(VENV)/bin/deeplab bench \
		--model deeplabv3_mnv2_dm05_pascal_quant --threads 2 --input-size 1280x720

clean:
	rm -rf $(VENV) $(KILTED_VENV) build *.egg-info demo_out .pytest_cache
