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
The ``segmentation_node`` executable: ``--help``, the ROS distribution check, spin, signals.

Exit codes: 0 after a clean stop (SIGINT, SIGTERM, or the context shut down); 1 when a frame
in progress does not finish within the stop bound (a delegate that hangs: the process exits
without freeing the interpreter under it); 2 when this ROS 2 distribution lacks what the node
needs.
"""

import os
import signal
import sys
import threading
from typing import Optional, Sequence

from deeplab_ros.parameters import SPECS

#: What the node needs of rclpy, by feature, and the ROS 2 release that brought it.
_NEEDS = (('rclpy.lifecycle', 'LifecycleNode', 'add_post_set_parameters_callback', 'Iron'),)


def missing_features() -> Optional[str]:
    """Return what this rclpy lacks for the node, in words, or None when it has it all."""
    try:
        import importlib
        for module, owner, name, release in _NEEDS:
            if not hasattr(getattr(importlib.import_module(module), owner), name):
                distro = os.environ.get('ROS_DISTRO', 'this distribution')
                return (f'segmentation_node needs rclpy from ROS 2 {release} or later '
                        f'({owner}.{name}); ROS 2 {distro} does not have it. Use ROS 2 Jazzy '
                        'or Kilted (see the README, Supported ROS 2 distributions)')
    except ImportError as error:
        return f'segmentation_node needs rclpy (ROS 2): {error}'
    return None


def usage() -> str:
    """Return the ``--help`` text: how to run, drive, and configure the node."""
    lines = [
        'usage: ros2 run deeplab_ros segmentation_node [--ros-args -p NAME:=VALUE ...]',
        '',
        'DeepLab semantic segmentation of camera images, as a ROS 2 lifecycle node (default',
        'name "deeplab"). It starts unconfigured; drive it like any lifecycle node:',
        '  ros2 lifecycle set /deeplab configure    # load the model (and fetch it if needed)',
        '  ros2 lifecycle set /deeplab activate     # subscribe to the camera, publish',
        '  ros2 lifecycle set /deeplab deactivate | cleanup | shutdown',
        'or start it with a launch file that does so: ros2 launch deeplab_ros pc.launch.py',
        '',
        'Subscribed (per camera, see "cameras"): image (sensor_msgs/Image) or',
        '  image/compressed (input_transport compressed), camera_info, depth (geometry depth).',
        'Published: segmentation/labels, color, overlay, confidence, mask, camera_info,',
        '  obstacles, ground and points (sensor_msgs/PointCloud2, geometry not none),',
        '  label_info (vision_msgs, where installed), /diagnostics.',
        '',
        'Parameters (NAME (type, default): meaning):',
    ]
    for spec in SPECS.values():
        kind = 'string array' if isinstance(spec.default, list) else type(spec.default).__name__
        lines.append(f'  {spec.name} ({kind}, {spec.default!r}): {spec.full_description}')
    return '\n'.join(lines)


def _stop_on_signals(node) -> threading.Event:
    """
    Return an event set by SIGINT or SIGTERM, which also wakes the executor.

    rclpy's own handlers would shut the context down at once, under the worker's feet; here
    the node stops its worker first. A signal's wakeup byte wakes a thread that triggers a
    guard condition, so the executor returns and the main thread runs the handler.
    """
    stop = threading.Event()
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    wake = node.create_guard_condition(lambda: None)

    def relay() -> None:
        while os.read(read_end, 64):
            try:
                wake.trigger()
            except Exception:  # the node is already gone (a signal during teardown)
                return
    threading.Thread(target=relay, name='deeplab_signals', daemon=True).start()
    return stop


def main(args: Optional[Sequence[str]] = None) -> int:
    """Run ``segmentation_node`` until SIGINT or SIGTERM; see the module for exit codes."""
    argv = list(sys.argv[1:] if args is None else args)
    own = argv[:argv.index('--ros-args')] if '--ros-args' in argv else argv
    if {'-h', '--help'} & set(own):
        print(usage())
        return 0
    missing = missing_features()
    if missing:
        print(f'segmentation_node: error: {missing}', file=sys.stderr)
        return 2
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from deeplab_ros.node.segmentation_node import SegmentationNode

    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = SegmentationNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    stop = _stop_on_signals(node)
    try:
        while not stop.is_set() and rclpy.ok():
            executor.spin_once()
    except ExternalShutdownException:
        pass
    if not node.close():  # the worker stops publishing before the context goes
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # a frame hangs in a delegate: leave without freeing it under its feet
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
