# Copyright 2026 deeplab_ros contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Shared test set-up: node_harness on the path, assets, routes, and loud skips.

Tests get models and images through the registry, as the node does (cache, then the
folders or URLs in ``DEEPLAB_ROS_MIRROR``, then the official URL unless
``DEEPLAB_ROS_OFFLINE=1``). A test that needs a file no source can give is skipped with the
registry's message (which says where to put the file).

A test that cannot run on a route is deselected there, and the reason is printed once at the
end: the launch tests (``test_launch_*.py``) need launch_testing, and tests marked
``requires(module, why)`` need that module (vision_msgs has no PyPI wheel); both run in the
real-install route. Tests marked ``accelerator(kind)`` need that accelerator to work here (the
GPU: a Vulkan driver LiteRT accepts; ``.ci/install-vulkan`` installs Mesa's), probed once in a
child process. With ``DEEPLAB_ROS_NO_SKIPS=1`` (``make test`` when the shared assets are
there) any skip is a failure, and the accelerator tests run: every test can run there.
"""

import importlib.util
import os
import pathlib
import sys

from deeplab_ros.errors import AssetUnavailableError
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

_LAUNCH_REASON = ('launch tests (test_launch_*.py): launch_testing is not installed (not on '
                  'PyPI); they run in the real-install route (colcon test)')
_deselected = {}


def _importable(module: str) -> bool:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    if spec is not None and spec.origin in (None, 'namespace'):  # a namespace package (rosbags)
        # not the empty folders that pip uninstall can leave behind
        return any(any(pathlib.Path(folder).iterdir())
                   for folder in spec.submodule_search_locations or ())
    return spec is not None


_probed = {}


def _accelerator_missing(kind: str):
    """Return why accelerator ``kind`` cannot run here (probed once), or None."""
    if kind not in _probed:
        from deeplab_ros.tools.accelerators import probe_in_child
        row = probe_in_child(kind)
        works = row.get('compiles', '').startswith('yes')
        _probed[kind] = None if works else (
            f'the {kind} accelerator does not work here ({row.get("compiles") or "absent"}); '
            'for the GPU: sudo .ci/install-vulkan, see doc/accelerators.md')
    return _probed[kind]


def pytest_configure(config):
    """Register the ``requires`` and ``accelerator`` markers."""
    config.addinivalue_line('markers', 'requires(module, why): deselected where the module '
                            'cannot be imported, the reason printed once')
    config.addinivalue_line('markers', 'accelerator(kind): deselected where the accelerator '
                            'does not work, the reason printed once (never in CI: '
                            'DEEPLAB_ROS_NO_SKIPS=1 runs them, and they fail saying why)')


def pytest_ignore_collect(collection_path, config):
    """Leave the launch test files out where launch_testing is missing."""
    if collection_path.name.startswith('test_launch_') and not _importable('launch_testing'):
        _deselected.setdefault(_LAUNCH_REASON, set()).add(collection_path.name)
        return True
    return None


def _deselect_reasons(item) -> list:
    reasons = [f'{marker.args[0]} is not installed: {marker.args[1]}'
               for marker in item.iter_markers('requires') if not _importable(marker.args[0])]
    marker = item.get_closest_marker('accelerator')
    if marker is not None and os.environ.get('DEEPLAB_ROS_NO_SKIPS') != '1':
        missing = _accelerator_missing(marker.args[0])
        if missing:
            reasons.append(missing)
    return reasons


def pytest_collection_modifyitems(config, items):
    """Deselect tests marked ``requires`` whose module is missing (or ``accelerator``)."""
    kept, dropped = [], []
    for item in items:
        reasons = _deselect_reasons(item)
        for reason in reasons:
            _deselected.setdefault(reason, set()).add(item.nodeid)
        (dropped if reasons else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    """Say once what this route leaves out, and why."""
    for reason, names in _deselected.items():
        terminalreporter.write_line(f'deselected on this route ({len(names)}): {reason}')


@pytest.fixture(scope='module')
def segmenters():
    """Return ``get(model name)``: a Segmenter per model (2 threads), opened once a module."""
    from deeplab_ros.engine.pipeline import Segmenter

    opened = {}

    def get(name: str) -> Segmenter:
        if name not in opened:
            opened[name] = Segmenter.open(name, num_threads=2)
        return opened[name]
    yield get
    for segmenter in opened.values():
        segmenter.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a missing asset as a skip with why; fail any skip where none may happen."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(AssetUnavailableError):
        report.outcome = 'skipped'
        report.longrepr = (str(item.path), item.location[1] or 0,
                           f'Skipped: test asset unavailable: {call.excinfo.value}')
    if report.skipped and os.environ.get('DEEPLAB_ROS_NO_SKIPS') == '1':
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = 'failed'
        report.longrepr = (f'skipped where every test must run (DEEPLAB_ROS_NO_SKIPS=1): '
                           f'{reason}')
