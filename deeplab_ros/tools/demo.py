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
``deeplab demo``: the segmentation node end to end on sample images, through real topics.

Starts ``segmentation_node`` as its own process, plays the sample images on ``image`` from
an in-process camera publisher, drives the node through its lifecycle services (configure,
activate, then deactivate, cleanup, shutdown), writes PNGs of the input, labels, colour and
overlay, and prints the node's own diagnostics (fps, latency per stage, drops).

Isolation: unless ``ROS_DOMAIN_ID`` is set, the demo picks a random domain (60..99) and, unless
``ROS_AUTOMATIC_DISCOVERY_RANGE`` is set, restricts discovery to this machine, so it neither
disturbs nor hears a robot on the network. The Fast DDS large-data profile is applied to both
processes unless ``FASTRTPS_DEFAULT_PROFILES_FILE`` is set.
"""

import argparse
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

import cv2
from deeplab_ros.tools.demo_results import DemoError, OUTPUTS, report
import numpy as np

NODE_NAME = 'deeplab'
DEFAULT_IMAGES = ('cat_720p.jpg', 'bird.bmp')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` options to ``parser``."""
    parser.add_argument('--out', default='demo_out', type=Path,
                        help='folder for the PNGs and node.log (default: demo_out)')
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant',
                        help='registry model name or .tflite path')
    parser.add_argument('--delegate', default='cpu',
                        help='delegate for the node (default: cpu)')
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1,
                        help='CPU threads for inference (default: the number of cores)')
    parser.add_argument('--images', nargs='+', default=list(DEFAULT_IMAGES),
                        help='registry image names or image files, played in turn '
                             '(default: %(default)s)')
    parser.add_argument('--rate', type=float, default=10.0,
                        help='camera frame rate in Hz (default: 10)')
    parser.add_argument('--duration', type=float, default=3.0,
                        help='seconds each image is played while active (default: 3)')
    parser.add_argument('--timeout', type=float, default=120.0,
                        help='seconds allowed for the node to start and configure '
                             '(model load and warm-up; default: 120)')
    parser.add_argument('--domain-id', type=int, default=None,
                        help='ROS domain for the demo (default: ROS_DOMAIN_ID if set, else '
                             'a random one in 60..99)')


def _load_images(names: List[str]) -> List[Tuple[str, np.ndarray]]:
    """Fetch the images through the registry (or read files) as RGB arrays."""
    from deeplab_ros.engine.registry import fetch

    images = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            path = fetch(name)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DemoError(f'cannot read image {path}')
        images.append((Path(name).stem, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    return images


def _node_command() -> List[str]:
    """Return the command that starts segmentation_node with this interpreter."""
    script = Path(sys.executable).with_name('segmentation_node')
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, '-m', 'deeplab_ros.node']


def _image_to_array(msg) -> np.ndarray:
    """View a sensor_msgs/Image (mono8, mono16, rgb8) as an array."""
    channels = {'mono8': 1, 'mono16': 1, 'rgb8': 3, 'bgr8': 3}[msg.encoding]
    dtype = np.uint16 if msg.encoding == 'mono16' else np.uint8
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)
    pixels = rows[:, :msg.width * channels * itemsize].copy().view(dtype)
    if msg.encoding == 'mono16' and msg.is_bigendian != (sys.byteorder == 'big'):
        pixels = pixels.byteswap()
    shape = (msg.height, msg.width) if channels == 1 else (msg.height, msg.width, channels)
    return pixels.reshape(shape)


class _Demo:
    """The in-process side of the demo: camera publisher, output and diagnostics readers."""

    def __init__(self, images: List[Tuple[str, np.ndarray]], rate: float) -> None:
        """Start the lifecycle client; add the publisher, subscriptions and frame timer."""
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import (HistoryPolicy, QoSProfile, qos_profile_sensor_data,
                               ReliabilityPolicy)
        from sensor_msgs.msg import Image

        from deeplab_ros.tools.lifecycle import LifecycleClient

        self._Image = Image
        self.client = LifecycleClient('deeplab_demo_camera')
        self.node = self.client.node
        self.images = images
        self.lock = threading.Lock()
        self.playing: Optional[int] = None
        self.published = 0
        self.stamps: Dict[int, int] = {}
        self.latest: Dict[Tuple[str, str], np.ndarray] = {}
        self.received = dict.fromkeys(OUTPUTS, 0)
        self.arrival_ms: List[float] = []
        self.diagnostics: Dict[str, Dict[str, str]] = {}
        self.record_diagnostics = False

        self.publisher = self.node.create_publisher(Image, 'image', qos_profile_sensor_data)
        reliable = QoSProfile(depth=2, history=HistoryPolicy.KEEP_LAST,
                              reliability=ReliabilityPolicy.RELIABLE)
        for output in OUTPUTS:
            self.node.create_subscription(
                Image, 'segmentation/' + output,
                lambda msg, output=output: self._on_output(output, msg), reliable)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      QoSProfile(depth=10))
        self.timer = self.node.create_timer(1.0 / rate, self._publish)

    def _publish(self) -> None:
        """Publish the image being played, stamped now."""
        with self.lock:
            index = self.playing
        if index is None:
            return
        name, rgb = self.images[index]
        msg = self._Image()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = 'demo_camera'
        msg.height, msg.width = rgb.shape[:2]
        msg.encoding = 'rgb8'
        msg.step = msg.width * 3
        msg.data = rgb.tobytes()
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        with self.lock:
            self.stamps[stamp] = index
            if len(self.stamps) > 1000:
                self.stamps.pop(next(iter(self.stamps)))
            self.published += 1
        self.publisher.publish(msg)

    def _on_output(self, output: str, msg) -> None:
        """Keep the latest output per played image, matched by the input stamp."""
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        now = self.node.get_clock().now().nanoseconds
        with self.lock:
            index = self.stamps.get(stamp)
            self.received[output] += 1
            if output == 'labels':
                self.arrival_ms.append((now - stamp) / 1e6)
        if index is not None:
            array = _image_to_array(msg)
            with self.lock:
                self.latest[(self.images[index][0], output)] = array

    def _on_diagnostics(self, msg) -> None:
        """Keep the node's latest status per camera while frames are played."""
        if not self.record_diagnostics:
            return
        for status in msg.status:
            if NODE_NAME not in status.name:
                continue
            values = {kv.key: kv.value for kv in status.values}
            values['_level'] = str(int.from_bytes(bytes(status.level), 'little')
                                   if isinstance(status.level, bytes) else int(status.level))
            values['_message'] = status.message
            if values.get('frames_processed', '0') != '0':
                with self.lock:
                    self.diagnostics[status.name] = values

    def transition(self, transition_id: int, label: str, timeout: float) -> None:
        """Ask the node for a lifecycle transition, as `ros2 lifecycle set` does."""
        if not self.client.change_state(NODE_NAME, transition_id, timeout):
            raise DemoError(f'{label} failed (see node.log for the reason)')

    def class_names(self) -> List[str]:
        """Return the node's class_names parameter (empty if unavailable)."""
        from deeplab_ros.tools.lifecycle import LifecycleError

        try:
            names = self.client.get_parameters(NODE_NAME, ['class_names'], 5.0)
        except LifecycleError:
            return []
        return names.get('class_names') or []

    def play(self, index: Optional[int]) -> None:
        """Start playing image ``index`` (None: stop)."""
        with self.lock:
            self.playing = index

    def close(self) -> None:
        """Shut the ROS side down."""
        self.play(None)
        self.client.close()


def _stop_process(process: subprocess.Popen) -> None:
    """End the node process: SIGINT, then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def _log_tail(path: Path, lines: int = 15) -> str:
    """Return the last lines of the node's log, indented."""
    try:
        text = path.read_text(encoding='utf-8', errors='replace').strip().splitlines()
    except OSError:
        return ''
    return '\n'.join('    ' + line for line in text[-lines:])


def _setup(args: argparse.Namespace) -> Tuple[int, List[Tuple[str, np.ndarray]]]:
    """Check the options, create the output folder, load the images: (0 or exit status, images)."""
    if args.rate <= 0 or args.duration <= 0:
        print('deeplab demo: error: --rate and --duration must be positive', file=sys.stderr)
        return 2, []
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        return 0, _load_images(args.images)
    except Exception as exc:  # noqa: B902 - report any setup failure as a message.
        print(f'deeplab demo: error: {exc}', file=sys.stderr)
        return 1, []


def _isolate(domain_id: Optional[int]) -> Dict[str, str]:
    """Apply a private DDS domain and discovery range; print them; return the environment."""
    from deeplab_ros.tools.lifecycle import PROFILE_VARIABLE, private_domain

    env = private_domain(domain_id, apply=True)
    print(f'deeplab demo: ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}, discovery '
          f'{env["ROS_AUTOMATIC_DISCOVERY_RANGE"]}, '
          f'{PROFILE_VARIABLE}={env.get(PROFILE_VARIABLE, "(unset)")}')
    return env


def _node_arguments(args: argparse.Namespace) -> List[str]:
    """Return the command line of the node: its name, model and outputs."""
    return _node_command() + [
        '--ros-args', '-r', f'__node:={NODE_NAME}',
        '-p', f'model:={args.model}', '-p', f'delegate:={args.delegate}',
        '-p', f'num_threads:={args.threads}', '-p', 'diagnostics_period:=1.0',
        '-p', 'publish_color:=true', '-p', 'publish_overlay:=true']


def _bring_up(demo: _Demo, args: argparse.Namespace, images: int) -> None:
    """Configure and activate the node, saying how long it took."""
    from lifecycle_msgs.msg import Transition

    started = time.monotonic()
    print(f'node state: {demo.client.state(NODE_NAME, args.timeout)}; configuring '
          f'{args.model} on {args.delegate} with {args.threads} thread(s)')
    demo.transition(Transition.TRANSITION_CONFIGURE, 'configure', args.timeout)
    print(f'configured in {time.monotonic() - started:.1f} s; activating')
    demo.transition(Transition.TRANSITION_ACTIVATE, 'activate', 10.0)
    print(f'node state: {demo.client.state(NODE_NAME)}; playing {images} '
          f'image(s) at {args.rate:g} Hz for {args.duration:g} s each')


def _play(demo: _Demo, process: subprocess.Popen, images: int, duration: float) -> float:
    """Play each image for ``duration`` seconds, recording diagnostics; return the time."""
    demo.record_diagnostics = True
    play_start = time.monotonic()
    for index in range(images):
        demo.play(index)
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f'segmentation_node exited with {process.returncode}')
            time.sleep(0.05)
    demo.play(None)
    elapsed = time.monotonic() - play_start
    time.sleep(0.5)
    demo.record_diagnostics = False
    return elapsed


def _shut_down(demo: _Demo) -> None:
    """Deactivate, clean up and shut the node down."""
    from lifecycle_msgs.msg import Transition

    demo.transition(Transition.TRANSITION_DEACTIVATE, 'deactivate', 10.0)
    demo.transition(Transition.TRANSITION_CLEANUP, 'cleanup', 10.0)
    demo.transition(Transition.TRANSITION_UNCONFIGURED_SHUTDOWN, 'shutdown', 10.0)
    print(f'node state: {demo.client.state(NODE_NAME)} (deactivated, cleaned up, shut down)')


def run(args: argparse.Namespace) -> int:
    """Run the demo; return 0 on success, 1 with a message on failure."""
    status, images = _setup(args)
    if status:
        return status
    out = Path(args.out)
    env = _isolate(args.domain_id)
    log_path = out / 'node.log'
    demo = process = None
    status = 1
    with open(log_path, 'w', encoding='utf-8') as log:
        try:
            process = subprocess.Popen(_node_arguments(args), env=env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            print(f'started segmentation_node (pid {process.pid}, log {log_path})')
            demo = _Demo(images, args.rate)
            _bring_up(demo, args, len(images))
            elapsed = _play(demo, process, len(images), args.duration)
            report(demo, images, out, elapsed)
            _shut_down(demo)
            status = 0
        except Exception as exc:  # noqa: B902 - every failure ends with a message.
            print(f'deeplab demo: error: {exc}', file=sys.stderr)
            tail = _log_tail(log_path)
            if tail:
                print(f'last lines of {log_path}:\n{tail}', file=sys.stderr)
        finally:
            if demo is not None:
                demo.close()
            if process is not None:
                _stop_process(process)
    return status


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``deeplab demo`` on its own (``python -m deeplab_ros.tools.demo``)."""
    parser = argparse.ArgumentParser(prog='deeplab demo', description=__doc__.split('\n')[1])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
