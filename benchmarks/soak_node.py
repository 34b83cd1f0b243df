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
Soak segmentation_node: a long stream, lifecycle cycles and malformed frames (not a test).

One node process (dm05 model, 2 threads) on a private domain with the large-data profile; a
camera in this process publishes 1280x720 rgb8 frames at 30 Hz with every image output
subscribed. Phases: (1) ``--frames`` frames; (2) ``--cycles`` configure / activate /
deactivate / cleanup cycles with a few frames each; (3) ``--malformed`` malformed raw frames
(random encodings, sizes, steps, data lengths) between good ones. Prints RSS, threads and
file descriptors over time, failed transitions, and the node's counters, which must balance:
received = processed + dropped + lost + throttled + idle + rejected + failed.

From the repository root, in the ``make test`` environment::

    .venv/bin/python benchmarks/soak_node.py [--frames 3000] [--cycles 50] [--malformed 1000]
"""

import argparse
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np

NAME = 'deeplab_soak'


def _proc(pid: int) -> dict:
    status = pathlib.Path(f'/proc/{pid}/status').read_text().splitlines()
    rss = next(int(line.split()[1]) for line in status if line.startswith('VmRSS:'))
    return {'rss_mb': round(rss / 1024, 1), 'threads': len(os.listdir(f'/proc/{pid}/task')),
            'fds': len(os.listdir(f'/proc/{pid}/fd'))}


def main() -> None:
    """Run the three phases and print what was seen."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--frames', type=int, default=3000)
    parser.add_argument('--cycles', type=int, default=50)
    parser.add_argument('--malformed', type=int, default=1000)
    parser.add_argument('--json', default='')
    args = parser.parse_args()
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.engine import registry
    from deeplab_ros.node.diagnostics import COUNTERS
    from deeplab_ros.tools.lifecycle import LifecycleClient, LifecycleError, private_domain

    private_domain(id_range=(120, 160), apply=True)

    registry.fetch('deeplabv3_mnv2_dm05_pascal_quant')
    log = open(f'/tmp/soak_node_{os.getpid()}.log', 'w')
    node_proc = subprocess.Popen(
        [sys.executable, '-m', 'deeplab_ros.node', '--ros-args', '-r', f'__node:={NAME}',
         '-p', 'num_threads:=2', '-p', 'mask_classes:=[cat]', '-p', 'diagnostics_period:=0.5'],
        stdout=log, stderr=subprocess.STDOUT)
    client = LifecycleClient('soak_driver')
    node = client.node
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    counts = {'labels': 0}
    for output in ('labels', 'color', 'overlay', 'mask', 'camera_info'):
        node.create_subscription(Image, f'segmentation/{output}',
                                 lambda m, o=output: counts.__setitem__(o, counts.get(o, 0) + 1),
                                 reliable)
    diag = {}
    node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: diag.update(
        {kv.key: kv.value for s in m.status for kv in s.values}), 10)
    pub = node.create_publisher(Image, 'image',
                                QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    failed_transitions = []

    def transition(tid: int) -> None:
        try:
            done = client.change_state(f'/{NAME}', tid, 60.0)
        except LifecycleError:
            done = False
        if not done:
            failed_transitions.append(tid)

    rgb = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)

    def stream(count: int, rate: float = 30.0, bad=None) -> None:
        start = time.monotonic()
        for index in range(count):
            msg = bad() if bad and index % 2 else Image(
                height=720, width=1280, encoding='rgb8', step=3840, data=rgb.tobytes())
            msg.header.stamp = node.get_clock().now().to_msg()
            msg.header.frame_id = 'camera'
            pub.publish(msg)
            time.sleep(max(0.0, start + (index + 1) / rate - time.monotonic()))

    report = {}
    try:
        transition(1)
        transition(3)
        while pub.get_subscription_count() == 0:
            time.sleep(0.05)
        stream(60)
        report['start'] = _proc(node_proc.pid)
        stream(args.frames)
        time.sleep(2.0)
        report['after_stream'] = dict(_proc(node_proc.pid), labels=counts['labels'],
                                      frames_sent=args.frames + 60)
        for cycle in range(args.cycles):
            for tid in (4, 2, 1, 3):  # deactivate, cleanup, configure, activate
                transition(tid)
            stream(5)
            if cycle in (9, args.cycles - 1):
                report[f'after_cycle_{cycle + 1}'] = _proc(node_proc.pid)
        rng = random.Random(1)

        def bad() -> Image:
            height, width = rng.randint(0, 800), rng.randint(0, 1400)
            encoding = rng.choice(['rgb8', 'bgr8', 'mono8', 'yuv422', 'rgb16', '32FC1', ''])
            step = max(0, width * 3 + rng.randint(-20, 20))
            return Image(height=height, width=width, encoding=encoding, step=step,
                         data=bytes(max(0, step * height + rng.randint(-5000, 50))))
        stream(args.malformed * 2, bad=bad)
        time.sleep(2.0)
        report['after_malformed'] = _proc(node_proc.pid)
        report['counters'] = {c: int(diag.get(f'frames_{c}', -1)) for c in COUNTERS}
        report['balanced'] = report['counters']['received'] == sum(
            report['counters'][c] for c in COUNTERS[1:])
        report['failed_transitions'] = len(failed_transitions)
        report['alive'] = node_proc.poll() is None
    finally:
        node_proc.send_signal(signal.SIGINT)
        try:
            report['exit_code'] = node_proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node_proc.kill()
            report['exit_code'] = 'killed'
        client.close()
    text = pathlib.Path(log.name).read_text()
    report['error_lines'] = sum('[ERROR]' in line for line in text.splitlines())
    print(json.dumps(report, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
