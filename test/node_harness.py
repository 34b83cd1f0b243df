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
Helpers for the node tests: a private ROS domain, the node in its own process, and clients.

The tests talk to ``segmentation_node`` the way ``ros2 lifecycle set`` and ``ros2 param set``
do: through its lifecycle and parameter services, over real FastDDS in a domain of their own.
"""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.tools.lifecycle import (LifecycleClient, LifecycleError, private_domain,
                                         PROFILE_VARIABLE)
from lifecycle_msgs.msg import Transition
import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT = 20.0

#: Domain of this test run: 1..100 from the pid (the launch tests use 150-199).
DOMAIN_ID = 1 + os.getpid() % 100

CONFIGURE = Transition.TRANSITION_CONFIGURE
CLEANUP = Transition.TRANSITION_CLEANUP
ACTIVATE = Transition.TRANSITION_ACTIVATE
DEACTIVATE = Transition.TRANSITION_DEACTIVATE
SHUTDOWN = Transition.TRANSITION_INACTIVE_SHUTDOWN


def node_env() -> Dict[str, str]:
    """Return the environment of the node process: private domain and the DDS profile."""
    env = private_domain(DOMAIN_ID)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
    env['PYTHONUNBUFFERED'] = '1'
    return env


def require(*names: str) -> List[pathlib.Path]:
    """
    Fetch registry models or images into the cache the node process reads too.

    Raises AssetUnavailableError (the test is skipped, see conftest) when none of the
    cache, ``DEEPLAB_ROS_MIRROR`` or the network has one of them.
    """
    return [registry.fetch(name) for name in names]


def node_command() -> List[str]:
    """Return the segmentation_node console script, or the module when not installed."""
    script = pathlib.Path(sys.executable).parent / 'segmentation_node'
    if script.exists():
        return [str(script)]
    found = shutil.which('segmentation_node')
    return [found] if found else [sys.executable, '-m', 'deeplab_ros.node']


class NodeProcess:
    """segmentation_node running in a subprocess, with its log captured to a file."""

    def __init__(self, name: str, params: Dict[str, str], log_dir: pathlib.Path,
                 namespace: str = '', env: Optional[Dict[str, str]] = None,
                 command: Optional[List[str]] = None) -> None:
        """
        Start the node; parameters are passed as --ros-args -p name:=value.

        :param command: What starts the node instead of segmentation_node.
        """
        self.name = name
        self.fqn = f'{namespace}/{name}' if namespace else f'/{name}'
        self.log_path = log_dir / f'{name}.log'
        args = (command or node_command()) + ['--ros-args', '-r', f'__node:={name}']
        if namespace:
            args += ['-r', f'__ns:={namespace}']
        for key, value in params.items():
            args += ['-p', f'{key}:={value}']
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(args, env={**node_env(), **(env or {})}, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def log(self) -> str:
        """Return what the node logged so far."""
        return self.log_path.read_text()

    def thread_count(self) -> int:
        """Return the number of threads of the node process."""
        return len(os.listdir(f'/proc/{self.proc.pid}/task'))

    def rss_kb(self) -> int:
        """Return the resident memory of the node process in kB."""
        for line in pathlib.Path(f'/proc/{self.proc.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
        return 0

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Interrupt the node (like Ctrl-C, or ``sig``) and return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class Collector:
    """Subscription that keeps every message it receives."""

    def __init__(self, node, msg_type, topic: str, reliable: bool = True) -> None:
        """Subscribe to topic (reliable by default, like RViz)."""
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable
                         else ReliabilityPolicy.BEST_EFFORT)
        self.topic = topic
        self.messages: List[Any] = []
        self._lock = threading.Lock()
        self.sub = node.create_subscription(msg_type, topic, self._on_msg, qos)

    def _on_msg(self, msg) -> None:
        with self._lock:
            self.messages.append(msg)

    def clear(self) -> None:
        """Forget what was received."""
        with self._lock:
            self.messages.clear()

    def find(self, predicate: Callable[[Any], bool]) -> Optional[Any]:
        """Return the latest message matching predicate, or None."""
        with self._lock:
            for msg in reversed(self.messages):
                if predicate(msg):
                    return msg
        return None


class Ros(LifecycleClient):
    """The lifecycle client in the test domain; what it cannot do fails as an AssertionError."""

    def __init__(self, name: str) -> None:
        """Start rclpy (private context, the test domain, the DDS profile) and spin."""
        profile = node_env().get(PROFILE_VARIABLE)
        if profile:
            os.environ[PROFILE_VARIABLE] = profile
        super().__init__(name, domain_id=DOMAIN_ID, timeout=TIMEOUT)

    def call(self, srv_type, service: str, request, timeout: Optional[float] = None,
             resend_after: Optional[float] = None):
        """Call a service and return its response."""
        try:
            return super().call(srv_type, service, request, timeout, resend_after)
        except LifecycleError as error:
            raise AssertionError(str(error)) from None

    def change_state(self, node: str, transition: int, timeout: float = 60.0) -> bool:
        """Trigger a lifecycle transition, like `ros2 lifecycle set`; return success."""
        return super().change_state(node, transition, timeout)

    def set_params(self, node: str, **values) -> List[Any]:
        """Set parameters like `ros2 param set`; return the SetParametersResult list."""
        return self.set_parameters(node, values)

    def get_params(self, node: str, *names: str) -> List[Any]:
        """Return parameter values (None for unset), like `ros2 param get`."""
        return list(self.get_parameters(node, names).values())

    def wait_for(self, predicate: Callable[[], Any], timeout: float = TIMEOUT,
                 what: str = 'condition', every: Optional[Callable[[], None]] = None) -> Any:
        """Poll predicate until truthy; run `every` (e.g. republish) each half second."""
        try:
            return super().wait_for(predicate, timeout, what, every)
        except LifecycleError as error:
            raise AssertionError(str(error)) from None


def load_rgb(name: str) -> np.ndarray:
    """Return a registry image (cache, mirror or download) as RGB uint8."""
    path, = require(name)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f'cannot read {path}'
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Return the raw rows (height x step) of an RGB image in a ROS encoding."""
    h, w = rgb.shape[:2]
    conversions = {
        'rgb8': None, 'bgr8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGB2RGBA,
        'bgra8': cv2.COLOR_RGB2BGRA, 'mono8': cv2.COLOR_RGB2GRAY,
    }
    if encoding in conversions:
        code = conversions[encoding]
        out = rgb if code is None else cv2.cvtColor(rgb, code)
        return np.ascontiguousarray(out).reshape(h, -1)
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)
    packed = np.empty((h, w * 2), np.uint8)
    y_at, u_at, v_at = (0, 1, 3) if encoding == 'yuv422_yuy2' else (1, 0, 2)
    packed[:, y_at::2] = yuv[:, :, 0]
    packed[:, u_at::4] = yuv[:, 0::2, 1]
    packed[:, v_at::4] = yuv[:, 0::2, 2]
    return packed


def image_msg(rows: np.ndarray, width: int, encoding: str, stamp_ns: int,
              frame_id: str = 'camera_optical') -> Image:
    """Build a sensor_msgs/Image from raw rows."""
    msg = Image()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = frame_id
    msg.height = rows.shape[0]
    msg.width = width
    msg.encoding = encoding
    msg.step = rows.shape[1]
    msg.data = rows.tobytes()
    return msg


def as_array(msg: Image) -> np.ndarray:
    """Return the pixels of a received mono8/rgb8 Image (no row padding expected)."""
    channels = msg.step // msg.width
    data = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, channels)
    return data[:, :, 0] if channels == 1 else data


def same_header(msg, stamp_ns: int, frame_id: str = 'camera_optical') -> bool:
    """Return whether a message carries the given stamp and frame_id."""
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    return stamp == stamp_ns and msg.header.frame_id == frame_id


def diagnostic_values(array_msg, node_name: str, camera: str = '/') -> Optional[Dict[str, str]]:
    """Return the key/values (plus level and message) of one camera's status, or None."""
    for status in array_msg.status:
        if status.name == f'{node_name}: {camera}':
            values = {kv.key: kv.value for kv in status.values}
            values['_level'] = status.level[0] if isinstance(status.level, bytes) \
                else status.level
            values['_message'] = status.message
            return values
    return None


def publish_until(ros: Ros, publisher, msg, collectors: Sequence[Collector],
                  stamp_ns: int, timeout: float = TIMEOUT) -> List[Any]:
    """Publish msg (again every half second) until every collector has its output."""
    def done():
        found = [c.find(lambda m: same_header(m, stamp_ns, msg.header.frame_id))
                 for c in collectors]
        return found if all(f is not None for f in found) else None
    return ros.wait_for(done, timeout, f'outputs with stamp {stamp_ns}',
                        every=lambda: publisher.publish(msg))
