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
Launch-test helpers: a private domain, launch_testing or a skip, assets, ``ros2`` itself.

The launch tests drive the launched nodes with the package's lifecycle client
(:class:`deeplab_ros.tools.lifecycle.LifecycleClient`), as ``ros2 lifecycle`` and
``ros2 param`` do: through their lifecycle and parameter services, waiting on services,
answers and states up to generous deadlines (no fixed sleeps).
"""

import shutil
import sys
from typing import Any, List, Tuple

from deeplab_ros.engine import registry
from deeplab_ros.errors import AssetUnavailableError
from deeplab_ros.tools.lifecycle import private_domain
import pytest


def use_private_domain() -> str:
    """
    Put this test run on a ROS domain of its own (150..199) unless ROS_DOMAIN_ID is set.

    Discovery stays on this machine unless ROS_AUTOMATIC_DISCOVERY_RANGE says otherwise, with
    the large-data DDS profile; the launched processes inherit all three.
    """
    return private_domain(id_range=(150, 199), apply=True)['ROS_DOMAIN_ID']


def require_launch_testing() -> Tuple[Any, Any]:
    """
    Return ``launch`` and ``launch_testing`` with the submodules the launch tests use, or skip.

    They come with a ROS 2 install, not from PyPI: in the pip route the launch tests skip here.
    """
    for name in ('launch.actions', 'launch.launch_description_sources', 'launch_ros',
                 'launch_testing.actions', 'launch_testing.asserts'):
        pytest.importorskip(name)
    return pytest.importorskip('launch'), pytest.importorskip('launch_testing')


def require_assets(*names: str) -> None:
    """
    Fetch models or images into the cache the launched node reads, else skip the test.

    Call it from ``generate_test_description``: a launch test whose node could not load its
    model would fail, not skip, so it skips before launching, with the registry's reason.
    """
    try:
        for name in names:
            registry.fetch(name)
    except AssetUnavailableError as error:
        pytest.skip(f'test asset unavailable: {error}')


def ros2_command(*arguments: str) -> List[str]:
    """Return the command line of ``ros2 <arguments>`` (this Python's ros2cli if not on PATH)."""
    ros2 = shutil.which('ros2')
    if ros2:
        return [ros2, *arguments]
    return [sys.executable, '-c', 'import sys; from ros2cli.cli import main; sys.exit(main())',
            *arguments]
