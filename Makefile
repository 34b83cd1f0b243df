# deeplab_ros: set-up and test commands for the pip route (any Linux with Python 3.10+).
# `make demo` and `make test` each create .venv and install what they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
ASSETS := $(abspath $(SHARED))/assets
# Tests and the demo read models and images from a local mirror when one is there.
MIRROR ?= $(if $(wildcard $(ASSETS)/models),$(ASSETS)/models:$(ASSETS)/images,)
ROS_ENV := AMENT_PREFIX_PATH=$(abspath $(VENV)) ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
PYTEST_ARGS ?=

.PHONY: venv test demo lint bench clean

PACKAGE_FILES := setup.py setup.cfg package.xml resource/deeplab_ros \
	$(wildcard deeplab_ros/*.py launch/*.py config/*)

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

test: venv
	$(ROS_ENV) DEEPLAB_ROS_MIRROR=$(MIRROR) DEEPLAB_ROS_OFFLINE=1 DEEPLAB_ROS_HOME=$(abspath $(VENV))/deeplab_home \
		$(PY) -m pytest -q $(PYTEST_ARGS) test

lint: venv
	$(PY) -m pytest -q test/test_flake8.py test/test_pep257.py test/test_copyright.py

demo: venv
	$(ROS_ENV) DEEPLAB_ROS_MIRROR=$(MIRROR) $(VENV)/bin/deeplab demo --out demo_out

bench: venv
	$(ROS_ENV) DEEPLAB_ROS_MIRROR=$(MIRROR) $(VENV)/bin/deeplab bench \
		--model deeplabv3_mnv2_dm05_pascal_quant --threads 2 --input-size 1280x720

clean:
	rm -rf $(VENV) build *.egg-info demo_out .pytest_cache
