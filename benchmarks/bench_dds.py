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
How many camera-sized frames reach a best-effort subscriber, with and without the profile.

A publisher process sends 1280x720 rgb8 frames (2.7 MB) at a rate; a subscriber process takes
each as it arrives and counts them, and reads the middleware's message-lost count (the
transport loss the node reports as ``frames_lost``). Once with Fast DDS's defaults, once with
``config/fastdds_large_data.xml`` exported to both processes (a script, not a test).

From the repository root, in the ``make test`` environment::

    .venv/bin/python benchmarks/bench_dds.py [--rates 10,60] [--seconds 10]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROFILE = ROOT / 'config' / 'fastdds_large_data.xml'


def publisher(rate: float, seconds: float) -> None:
    """Wait for the subscriber, then publish frames at ``rate`` for ``seconds``."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('bench_dds_camera')
    pub = node.create_publisher(Image, 'image', QoSProfile(
        depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    while pub.get_subscription_count() == 0:
        time.sleep(0.05)
    time.sleep(1.0)
    msg = Image(height=720, width=1280, encoding='rgb8', step=3840)
    msg.data = bytes(720 * 3840)
    start, sent = time.monotonic(), 0
    while sent < rate * seconds:
        delay = start + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pub.publish(msg)
        sent += 1
    time.sleep(1.0)
    print(json.dumps({'sent': sent}))


def subscriber(seconds: float) -> None:
    """Take every frame as it arrives until none came for 2 s; print the counts."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.node import intake

    rclpy.init()
    node = rclpy.create_node('bench_dds_subscriber')
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    sub = node.create_subscription(
        Image, 'image', lambda _: None, qos, callback_group=intake.WorkerOwned(), raw=True,
        event_callbacks=intake.lost_events())
    taken = intake.SubscriptionIntake(node, [sub], False)
    got, last, deadline = 0, None, time.monotonic() + seconds + 30
    while time.monotonic() < deadline and (last is None or time.monotonic() - last < 2.0):
        if taken.wait([0], 0.5):
            got += len(taken.take(0, 5))
            last = time.monotonic()
    print(json.dumps({'arrived': got, 'lost_reported': taken.lost(0)}))


def main() -> None:
    """Run publisher and subscriber per rate and profile; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rates', default='10,60')
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--role', default='', help=argparse.SUPPRESS)
    parser.add_argument('--rate', type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == 'publisher':
        return publisher(args.rate, args.seconds)
    if args.role == 'subscriber':
        return subscriber(args.seconds)
    print(f'1280x720 rgb8 frames, {args.seconds:g} s per run, best-effort subscriber')
    print(f'{"profile":<22} {"rate":>6} {"sent":>6} {"arrived":>8} {"lost (reported)":>16}')
    from deeplab_ros.tools.lifecycle import PROFILE_VARIABLE, private_domain

    base = private_domain(id_range=(180, 199))
    base['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), base.get('PYTHONPATH')]))
    for profile in ('Fast DDS defaults', PROFILE.name):
        for rate in (float(r) for r in args.rates.split(',')):
            env = dict(base)
            env.pop(PROFILE_VARIABLE, None)
            if profile != 'Fast DDS defaults':
                env[PROFILE_VARIABLE] = str(PROFILE)
            common = [sys.executable, __file__, '--seconds', str(args.seconds)]
            sub = subprocess.Popen(common + ['--role', 'subscriber'], env=env,
                                   stdout=subprocess.PIPE, text=True)
            pub = subprocess.run(common + ['--role', 'publisher', '--rate', str(rate)],
                                 env=env, capture_output=True, text=True, check=True)
            sent = json.loads(pub.stdout.splitlines()[-1])['sent']
            got = json.loads(sub.communicate(timeout=60)[0].splitlines()[-1])
            print(f'{profile:<22} {rate:>5g}Hz {sent:>6} {got["arrived"]:>8} '
                  f'{got["lost_reported"]:>16}')


if __name__ == '__main__':
    main()
