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
Benchmark segmentation_node end to end over real topics (a script, not a test).

For each transport profile (the large-data FastDDS profile, FastDDS defaults) and each
implementation (``node``: segmentation_node; ``naive``: all work inside the image callback,
defined here and nowhere in the package) a driver process publishes 1280x720 rgb8 frames
and subscribes to labels and colour:

(a) saturated, 60 Hz: processed fps against raw ``invoke()`` fps measured in the same run;
(b) 10 Hz: latency from publish to label arrival, and what it adds over ``invoke()``.

Usage, from the repository root, with AMENT_PREFIX_PATH=$PWD/.venv,
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and DEEPLAB_ROS_MIRROR set as for ``make test``::

    .venv/bin/python benchmarks/bench_node.py [--duration 20] [--json out.json]
"""

import argparse
import array
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROFILE = ROOT / 'config' / 'fastdds_large_data.xml'
IMAGE = ROOT.parent / 'shared' / 'assets' / 'images' / 'cat_720p.jpg'


def _env(profile: str, domain: int) -> Dict[str, str]:
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(domain)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
    env.pop('FASTRTPS_DEFAULT_PROFILES_FILE', None)
    if profile == 'large':
        env['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(PROFILE)
    return env


def _cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _rss_mb(pid: int) -> float:
    for line in pathlib.Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024.0
    return 0.0


def naive_node(model: str, threads: int) -> None:
    """Run the obvious node: decode, segment, colorize and publish inside the callback."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.codec import decode_raw
    from deeplab_ros.pipeline import Segmenter

    rclpy.init()
    node = rclpy.create_node('bench_seg')
    seg = Segmenter.open(model, num_threads=threads)
    labels_pub = node.create_publisher(Image, 'segmentation/labels', 1)
    color_pub = node.create_publisher(Image, 'segmentation/color', 1)

    def on_image(msg):
        rgb = decode_raw(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        labels = seg.segment(rgb).labels
        color = seg.colorize(labels)
        for pub, pixels, encoding in ((labels_pub, labels, 'mono8'),
                                      (color_pub, color, 'rgb8')):
            out = Image(header=msg.header, height=pixels.shape[0], width=pixels.shape[1],
                        encoding=encoding, step=pixels.strides[0])
            out.data = pixels.tobytes()
            pub.publish(out)

    node.create_subscription(Image, 'image', on_image,
                             QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    seg.close()


def driver(impl: str, profile: str, model: str, threads: int, duration: float,
           domain: int) -> Dict[str, float]:
    """Start one implementation, drive phases (a) and (b), return the figures."""
    import cv2
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from lifecycle_msgs.srv import ChangeState
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    env = _env(profile, domain)
    if impl == 'node':
        cmd = [sys.executable, '-m', 'deeplab_ros.node', '--ros-args', '-r', '__node:=bench_seg',
               '-p', f'model:={model}', '-p', f'num_threads:={threads}',
               '-p', 'publish_overlay:=false', '-p', 'diagnostics_period:=1.0']
    else:
        cmd = [sys.executable, __file__, '--naive-node', '--model', model,
               '--threads', str(threads)]
    log = open(f'/tmp/bench_node_{impl}_{profile}_{os.getpid()}.log', 'w')
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    rclpy.init(domain_id=domain)
    node = rclpy.create_node('bench_driver')
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    arrivals: List[tuple] = []
    diag: Dict[str, str] = {}

    def on_labels(msg):
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        arrivals.append((time.time_ns(), stamp))

    def on_diag(msg):
        for status in msg.status:
            diag.update({kv.key: kv.value for kv in status.values})

    node.create_subscription(Image, 'segmentation/labels', on_labels, 10)
    node.create_subscription(Image, 'segmentation/color', lambda m: None, 10)
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)
    pub = node.create_publisher(Image, 'image',
                                QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    try:
        if impl == 'node':
            client = node.create_client(ChangeState, '/bench_seg/change_state')
            assert client.wait_for_service(timeout_sec=30), 'node did not start'
            for transition in (1, 3):
                request = ChangeState.Request()
                request.transition.id = transition
                future = client.call_async(request)
                deadline = time.monotonic() + 60
                while not future.done() and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert future.result() and future.result().success, \
                    f'transition {transition} failed, see {log.name}'
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        rgb = cv2.cvtColor(cv2.imread(str(IMAGE)), cv2.COLOR_BGR2RGB)
        data = array.array('B')
        data.frombytes(rgb)
        msg = Image(height=720, width=1280, encoding='rgb8', step=1280 * 3)
        msg.data = data
        msg.header.frame_id = 'camera'

        def run(rate: float) -> Dict[str, float]:
            arrivals.clear()
            dropped0 = int(diag.get('frames_dropped', 0))
            cpu0, rss0 = _cpu_seconds(proc.pid), _rss_mb(proc.pid)
            start = time.monotonic()
            sent = 0
            while True:
                due = start + sent / rate
                now = time.monotonic()
                if now - start >= duration:
                    break
                if due > now:
                    time.sleep(due - now)
                msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
                pub.publish(msg)
                sent += 1
            elapsed = time.monotonic() - start
            cpu = (_cpu_seconds(proc.pid) - cpu0) / elapsed
            time.sleep(1.5)
            got = list(arrivals)
            latency = np.array([(a - s) / 1e6 for a, s in got]) if got else np.array([np.nan])
            return {
                'sent': sent, 'received': len(got), 'fps': len(got) / elapsed,
                'latency_p50_ms': float(np.percentile(latency, 50)),
                'latency_p95_ms': float(np.percentile(latency, 95)),
                'dropped_in_node': int(diag.get('frames_dropped', 0)) - dropped0
                if impl == 'node' else -1,
                'cpu_cores': cpu, 'rss_start_mb': rss0, 'rss_end_mb': _rss_mb(proc.pid),
            }

        return {'saturated': run(60.0), 'paced': run(10.0)}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        executor.shutdown()
        spinner.join(timeout=5)
        node.destroy_node()
        rclpy.try_shutdown()


def raw_invoke(model: str, threads: int, runs: int = 60) -> float:
    """Return the mean milliseconds of one ``invoke()`` of the model."""
    from deeplab_ros.pipeline import Segmenter
    seg = Segmenter.open(model, num_threads=threads)
    seg.warmup(5)
    start = time.perf_counter()
    seg.warmup(runs)
    ms = (time.perf_counter() - start) * 1e3 / runs
    seg.close()
    return ms


def main() -> None:
    """Run every scenario in its own driver process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--duration', type=float, default=20.0)
    parser.add_argument('--profiles', default='large,default')
    parser.add_argument('--impls', default='node,naive')
    parser.add_argument('--json', default='')
    parser.add_argument('--naive-node', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--driver', default='', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_node:
        naive_node(args.model, args.threads)
        return
    if args.driver:
        impl, profile, domain = args.driver.split(',')
        print(json.dumps(driver(impl, profile, args.model, args.threads, args.duration,
                                int(domain))))
        return
    results = {}
    for profile in args.profiles.split(','):
        for impl in args.impls.split(','):
            domain = 101 + (os.getpid() + len(results)) % 20
            out = subprocess.run(
                [sys.executable, __file__, '--driver', f'{impl},{profile},{domain}',
                 '--model', args.model, '--threads', str(args.threads),
                 '--duration', str(args.duration)],
                env=_env(profile, domain), capture_output=True, text=True, check=False)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith('{')]
            if not lines:
                raise SystemExit(f'{impl}/{profile} failed:\n{out.stderr[-2000:]}')
            results[f'{impl}/{profile}'] = json.loads(lines[-1])
    invoke_ms = raw_invoke(args.model, args.threads)
    invoke_fps = 1e3 / invoke_ms
    print(f'model {args.model}, {args.threads} threads, 1280x720 rgb8, '
          f'{args.duration:g} s per phase; raw invoke {invoke_ms:.1f} ms = {invoke_fps:.1f} fps')
    print(f'{"impl/profile":<16} {"(a) fps":>8} {"x invoke":>8} {"sent":>5} {"recv":>5} '
          f'{"drops":>6} {"cpu":>5} {"(b) p50":>8} {"p95":>7} {"added":>6} {"rss MB":>12}')
    for name, r in results.items():
        a, b = r['saturated'], r['paced']
        print(f'{name:<16} {a["fps"]:8.1f} {a["fps"] / invoke_fps:8.2f} {a["sent"]:5d} '
              f'{a["received"]:5d} {a["dropped_in_node"]:6d} {a["cpu_cores"]:5.2f} '
              f'{b["latency_p50_ms"]:8.1f} {b["latency_p95_ms"]:7.1f} '
              f'{b["latency_p50_ms"] - invoke_ms:6.1f} '
              f'{a["rss_start_mb"]:5.0f}->{b["rss_end_mb"]:<5.0f}')
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {'invoke_ms': invoke_ms, 'invoke_fps': invoke_fps, 'results': results}, indent=2))


if __name__ == '__main__':
    main()
