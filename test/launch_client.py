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
Client side of the launch tests: a private domain, the launched nodes' services, assets.

The launch tests talk to the launched nodes as ``ros2 lifecycle`` and ``ros2 param`` do:
through their lifecycle and parameter services. Every wait polls a state or a service up
to a deadline (no fixed sleeps); the deadlines are generous for slow machines.
"""

import os
import random
import shutil
import sys
import time
from typing import Any, Dict, List, Sequence, Tuple

from deeplab_ros.engine import registry
from deeplab_ros.errors import AssetUnavailableError
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from rcl_interfaces.srv import GetParameters, SetParameters
import rclpy
from rclpy.parameter import Parameter, parameter_value_to_python

#: Seconds to wait for a service, an answer or a state.
TIMEOUT = 60.0


def use_private_domain() -> str:
    """
    Put this test run on a ROS domain of its own (150..199) unless ROS_DOMAIN_ID is set.

    Discovery stays on this machine unless ROS_AUTOMATIC_DISCOVERY_RANGE says otherwise; the
    launched processes inherit both.
    """
    if 'ROS_DOMAIN_ID' not in os.environ:
        os.environ['ROS_DOMAIN_ID'] = str(random.randint(150, 199))
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    return os.environ['ROS_DOMAIN_ID']


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


class LaunchClient:
    """An rclpy node that drives the launched nodes through their services."""

    def __init__(self, name: str) -> None:
        """Start rclpy and the client node."""
        rclpy.init()
        self.node = rclpy.create_node(name)
        self._clients: Dict[str, Any] = {}

    def close(self) -> None:
        """Destroy the client node and shut rclpy down."""
        self.node.destroy_node()
        rclpy.shutdown()

    def call(self, srv_type: Any, service: str, request: Any, timeout: float = TIMEOUT) -> Any:
        """Call a service once it is there; return the response."""
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = self.node.create_client(srv_type, service)
        assert client.wait_for_service(timeout_sec=timeout), f'no service {service}'
        future = client.call_async(request)
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=timeout)
        assert future.done(), f'{service} did not answer within {timeout} s'
        return future.result()

    def state(self, node: str) -> str:
        """Return the lifecycle state label of a node (``/ns/deeplab``)."""
        return self.call(GetState, f'{node}/get_state', GetState.Request()).current_state.label

    def wait_state(self, node: str, label: str, timeout: float = 90.0) -> None:
        """Wait until a node is in a lifecycle state."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.state(node)
            if state == label:
                return
            rclpy.spin_once(self.node, timeout_sec=0.2)
        raise AssertionError(f'{node} is {state}, not {label} within {timeout} s')

    def change_state(self, node: str, transition_id: int) -> bool:
        """Request a lifecycle transition (as ``ros2 lifecycle set``); return its success."""
        request = ChangeState.Request()
        request.transition.id = transition_id
        return self.call(ChangeState, f'{node}/change_state', request).success

    def get_parameters(self, node: str, names: Sequence[str]) -> Dict[str, Any]:
        """Read parameters (as ``ros2 param get``); lists come back as lists."""
        response = self.call(GetParameters, f'{node}/get_parameters',
                             GetParameters.Request(names=list(names)))
        values = {}
        for name, value in zip(names, response.values):
            value = parameter_value_to_python(value)
            if not isinstance(value, (str, bool, int, float, type(None))):
                value = list(value)  # arrays come as lists, tuples or array.array
            values[name] = value
        return values

    def set_parameters(self, node: str, values: Dict[str, Any]) -> None:
        """Set parameters (as ``ros2 param set``); fail with the node's reason if refused."""
        request = SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()
                        for name, value in values.items()])
        response = self.call(SetParameters, f'{node}/set_parameters', request)
        for name, result in zip(values, response.results):
            assert result.successful, f'{node}: {name} refused: {result.reason}'
