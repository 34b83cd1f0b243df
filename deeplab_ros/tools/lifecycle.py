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
Drive a lifecycle node from outside, as ``ros2 lifecycle`` and ``ros2 param`` do.

One client for the demo, the tests and the benchmarks: :func:`private_domain` gives the
environment of a ROS domain of their own (discovery on this machine, the large-data Fast DDS
profile), and :class:`LifecycleClient` calls a node's lifecycle and parameter services from
an rclpy context of its own, spun in a background thread. Every wait is on a service, an
answer or a state, up to a deadline; the deadlines are generous for slow machines.
"""

import os
from pathlib import Path
import random
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import GetParameters, SetParameters
import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter, parameter_value_to_python

DOMAIN_VARIABLE = 'ROS_DOMAIN_ID'
DISCOVERY_VARIABLE = 'ROS_AUTOMATIC_DISCOVERY_RANGE'
PROFILE_VARIABLE = 'FASTRTPS_DEFAULT_PROFILES_FILE'
PROFILE_NAME = 'fastdds_large_data.xml'

#: Seconds to wait for a service, an answer or a state unless told otherwise.
TIMEOUT = 60.0
#: Seconds after which a read (get_state, get_parameters) with no answer is asked again.
RESEND_S = 10.0


class LifecycleError(Exception):
    """A service was not there, did not answer in time, or a state was not reached."""


def profile_file() -> Optional[str]:
    """Return the package's Fast DDS large-data profile (installed share, else source tree)."""
    folders = []
    try:
        from ament_index_python.packages import get_package_share_directory
        folders.append(Path(get_package_share_directory('deeplab_ros')) / 'config')
    except Exception:  # noqa: B902 - not in the ament index: the source tree's config/.
        pass
    folders.append(Path(__file__).resolve().parents[2] / 'config')
    for folder in folders:
        if (folder / PROFILE_NAME).is_file():
            return str(folder / PROFILE_NAME)
    return None


def private_domain(domain_id: Optional[int] = None, id_range: Tuple[int, int] = (60, 99),
                   apply: bool = False) -> Dict[str, str]:
    """
    Return this process's environment set for a private ROS domain.

    ``ROS_DOMAIN_ID``: ``domain_id`` if given, else the one set, else a random one in
    ``id_range`` (both ends included). ``ROS_AUTOMATIC_DISCOVERY_RANGE``: ``LOCALHOST`` unless
    set, so that nothing on the network is heard or disturbed. ``FASTRTPS_DEFAULT_PROFILES_FILE``:
    the package's large-data profile unless set.

    :param apply: Also set these three variables in ``os.environ`` (for rclpy in this process
        and every process started from it).
    """
    env = dict(os.environ)
    if domain_id is not None:
        env[DOMAIN_VARIABLE] = str(domain_id)
    elif not env.get(DOMAIN_VARIABLE):
        env[DOMAIN_VARIABLE] = str(random.randint(*id_range))
    if not env.get(DISCOVERY_VARIABLE):
        env[DISCOVERY_VARIABLE] = 'LOCALHOST'
    if not env.get(PROFILE_VARIABLE):
        profile = profile_file()
        if profile:
            env[PROFILE_VARIABLE] = profile
    if apply:
        for name in (DOMAIN_VARIABLE, DISCOVERY_VARIABLE, PROFILE_VARIABLE):
            if name in env:
                os.environ[name] = env[name]
    return env


class LifecycleClient:
    """An rclpy context and node of its own, spun in a background thread, with service calls."""

    def __init__(self, name: str, namespace: str = '', domain_id: Optional[int] = None,
                 timeout: float = TIMEOUT) -> None:
        """
        Start rclpy in a context of its own and spin the client node.

        :param domain_id: ROS domain (default: ``ROS_DOMAIN_ID``, see :func:`private_domain`).
        :param timeout: Default seconds to wait for a service, an answer or a state.
        """
        self.timeout = timeout
        self.context = Context()
        rclpy.init(args=[], context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(name, namespace=namespace, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._clients: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self._spinner = threading.Thread(target=self._spin, name=f'{name}_spin', daemon=True)
        self._spinner.start()

    def _spin(self) -> None:
        """Spin until :meth:`close` (or a shutdown of the context)."""
        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass

    def close(self) -> None:
        """Stop spinning, destroy the node and shut the context down."""
        self.executor.shutdown(timeout_sec=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._spinner.join(timeout=5.0)

    def call(self, srv_type: Any, service: str, request: Any,
             timeout: Optional[float] = None, resend_after: Optional[float] = None) -> Any:
        """
        Call a service once it is there and return the response.

        :param resend_after: For a request that may be asked twice (reads): ask again when
            no answer came within this many seconds. A server that has not yet discovered
            the client's response reader drops its answer, most often on a busy machine.
        :raises LifecycleError: naming the service that is not there or did not answer
            within ``timeout`` seconds (in all, default: the client's).
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._clients[service] = self.node.create_client(srv_type, service)
        if not client.wait_for_service(timeout_sec=timeout):
            raise LifecycleError(f'service {client.srv_name} is not there after {timeout:g} s '
                                 '(is the node running, in this ROS domain?)')
        while True:
            future = client.call_async(request)
            answered = threading.Event()
            future.add_done_callback(lambda _: answered.set())
            left = max(0.0, deadline - time.monotonic())
            if answered.wait(min(left, resend_after or left)):
                return future.result()
            client.remove_pending_request(future)
            if time.monotonic() >= deadline:
                raise LifecycleError(f'{client.srv_name} did not answer within {timeout:g} s')

    def change_state(self, node: str, transition_id: int,
                     timeout: Optional[float] = None) -> bool:
        """Request a lifecycle transition (as ``ros2 lifecycle set``); return its success."""
        request = ChangeState.Request()
        request.transition.id = transition_id
        return self.call(ChangeState, f'{node}/change_state', request, timeout).success

    def state(self, node: str, timeout: Optional[float] = None) -> str:
        """Return the lifecycle state label of a node (as ``ros2 lifecycle get``)."""
        response = self.call(GetState, f'{node}/get_state', GetState.Request(), timeout,
                             resend_after=RESEND_S)
        return response.current_state.label

    def wait_state(self, node: str, label: str, timeout: Optional[float] = None) -> None:
        """
        Wait until a node is in a lifecycle state, asking it every tenth of a second.

        :raises LifecycleError: with the state it is in when ``timeout`` passes.
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(node, max(1.0, deadline - time.monotonic()))
            if state == label:
                return
            if time.monotonic() >= deadline:
                raise LifecycleError(f'{node} is {state}, not {label}, after {timeout:g} s')
            time.sleep(0.1)

    def get_parameters(self, node: str, names: Sequence[str],
                       timeout: Optional[float] = None) -> Dict[str, Any]:
        """
        Read parameters (as ``ros2 param get``); lists come back as lists, unset as None.

        A node answers no values at all when one of the names is not declared: then the
        result is empty.
        """
        response = self.call(GetParameters, f'{node}/get_parameters',
                             GetParameters.Request(names=list(names)), timeout,
                             resend_after=RESEND_S)
        values = {}
        for name, value in zip(names, response.values):
            value = parameter_value_to_python(value)
            if not isinstance(value, (str, bool, int, float, type(None))):
                value = list(value)  # arrays come as lists, tuples or array.array
            values[name] = value
        return values

    def set_parameters(self, node: str, values: Mapping[str, Any],
                       timeout: Optional[float] = None) -> List[Any]:
        """
        Set parameters (as ``ros2 param set``); return the node's results, one per value.

        A value may be an ``rcl_interfaces/Parameter`` message, to give its type exactly.
        """
        request = SetParameters.Request(parameters=[
            value if isinstance(value, ParameterMsg)
            else Parameter(name, value=value).to_parameter_msg()
            for name, value in values.items()])
        return list(self.call(SetParameters, f'{node}/set_parameters', request,
                              timeout).results)

    def wait_for(self, predicate: Callable[[], Any], timeout: Optional[float] = None,
                 what: str = 'condition', every: Optional[Callable[[], None]] = None) -> Any:
        """
        Poll ``predicate`` until it returns something true, and return that.

        :param every: Called every half second while waiting (to publish again, say).
        :raises LifecycleError: naming ``what`` when ``timeout`` passes.
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        next_action = 0.0
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise LifecycleError(f'timed out after {timeout:g} s waiting for {what}')
            if every is not None and time.monotonic() >= next_action:
                every()
                next_action = time.monotonic() + 0.5
            time.sleep(0.02)
