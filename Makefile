# deeplab_ros: set-up and test commands for the pip route (any Linux with Python 3.10+).
# `make demo` and `make test` each create .venv and install what they need. `make test` then
# runs the real-install checks (.ci/colcon-test: colcon build and test, launch tests) when the
# ROS 2 harness script is there ($(SHARED)/tools/ros-harness.sh), and says so when not.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
ASSETS := $(abspath $(SHARED))/assets
# Tests and the demo read models and images from a local mirror when one is there.
MIRROR ?= $(if $(wildcard $(ASSETS)/models),$(ASSETS)/models:$(ASSETS)/images,)
ROS_ENV := AMENT_PREFIX_PATH=$(abspath $(VENV)) ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
PYTEST_ARGS ?=
HARNESS_SCRIPT := $(abspath $(SHARED))/tools/ros-harness.sh
HARNESS ?= /tmp/deeplab_ros-harness

.PHONY: venv test pytest colcon-test demo lint bench clean

PACKAGE_FILES := setup.py setup.cfg package.xml resource/deeplab_ros \
	$(wildcard deeplab_ros/*.py deeplab_ros/*/*.py launch/*.py config/*)

venv: $(VENV)/.package

$(VENV)/.requirements: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

# A regular (not editable) install, so that launch/ and config/ land in $(VENV)/share where
# the ament index finds them; reinstalled whenever a package file changes.
$(VENV)/.package: $(VENV)/.requirements $(PACKAGE_FILES)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .
	rm -rf build deeplab_ros.egg-info
	touch $@

# The pip route, then the real-install route (one after the other, even under make -j).
test: pytest
	@$(MAKE) --no-print-directory colcon-test

pytest: venv
	$(ROS_ENV) DEEPLAB_ROS_MIRROR=$(MIRROR) DEEPLAB_ROS_OFFLINE=1 DEEPLAB_ROS_HOME=$(abspath $(VENV))/deeplab_home \
		$(PY) -m pytest -q $(PYTEST_ARGS) test

# The package as a robot builds it: tracked files in a scratch colcon workspace under /tmp.
colcon-test:
	HARNESS_SCRIPT=$(HARNESS_SCRIPT) HARNESS=$(HARNESS) DEEPLAB_ROS_MIRROR=$(MIRROR) \
		bash .ci/colcon-test

lint: venv
	$(PY) -m pytest -q test/test_flake8.py test/test_pep257.py test/test_copyright.py

demo: venv
	$(ROS_ENV) DEEPLAB_ROS_MIRROR=$(MIRROR) $(VENV)/bin/deeplab demo --out demo_out

bench: venv
	$(ROS_ENV) DEEPLAB_ROS_MIRROR=$(MIRROR) $(VENV)/bin/deeplab bench \
		--model deeplabv3_mnv2_dm05_pascal_quant --threads 2 --input-size 1280x720

clean:
	rm -rf $(VENV) build *.egg-info demo_out .pytest_cache
