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
Shared test set-up: node_harness on the path, and models or images that cannot be had skip.

Tests get models and images through the registry, as the node does (cache, then the
folders or URLs in ``DEEPLAB_ROS_MIRROR``, then the official URL unless
``DEEPLAB_ROS_OFFLINE=1``). A test that needs a file no source can give is skipped with the
registry's message (which says where to put the file), never failed.
"""

import pathlib
import sys

from deeplab_ros.errors import AssetUnavailableError
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a test (or its fixture) that could not get an asset as skipped, with why."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(AssetUnavailableError):
        report.outcome = 'skipped'
        report.longrepr = (str(item.path), item.location[1] or 0,
                           f'Skipped: test asset unavailable: {call.excinfo.value}')
