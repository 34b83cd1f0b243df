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
Benchmark segmentation_node against a naive node over real topics (a script, not a test).

``naive`` is the obvious lifecycle node (defined here, nowhere in the package): decode,
segment, colour and publish inside the image callback of a single-threaded executor, with a
depth-5 best-effort subscription and no accounting. The two alternate, several rounds, each
in its own process, driven by a camera process that publishes 1280x720 rgb8 frames and
subscribes to labels and colour (reliably, as RViz does), all with the large-data Fast DDS
profile. Phases: a 30 Hz camera, a 60 Hz camera, 10 Hz, two cameras at 30 Hz each, and a
120 Hz camera (faster than inference on the development machine: the saturated case); at 60
and 120 Hz a get_state + get_parameters round trip is timed every 0.25 s. Figures are
medians over the rounds: processed fps, latency from publish to label arrival, node CPU per
processed frame, each camera's share.

From the repository root, in the ``make test`` environment (AMENT_PREFIX_PATH=$PWD/.venv,
DEEPLAB_ROS_MIRROR naming a folder with the model and cat_720p.jpg)::

    .venv/bin/python benchmarks/bench_node.py [--rounds 2] [--duration 12] [--json out.json]
"""

import argparse
import array
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Dict, List

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
NODE = 'bench_seg'
PHASES = (('30hz', 30.0, 1), ('60hz', 60.0, 1), ('10hz', 10.0, 1), ('2x30hz', 30.0, 2),
          ('120hz', 120.0, 1))
CAMERAS = ('left', 'right')


def _env(domain: int) -> Dict[str, str]:
    from deeplab_ros.tools.lifecycle import private_domain

    env = private_domain(domain)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
    return env


def _cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def naive_node(model: str, threads: int, cameras: List[str]) -> None:
    """Run the naive lifecycle node: all work inside the image callback."""
    import rclpy
    from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.frame.codec import decode_raw
    from deeplab_ros.engine.pipeline import Segmenter

    class Naive(LifecycleNode):
        def on_configure(self, state):
            self.seg = Segmenter.open(model, num_threads=threads)
            self.outs = {c: (self.create_publisher(Image, f'{c}segmentation/labels', 1),
                             self.create_publisher(Image, f'{c}segmentation/color', 1))
                         for c in cameras}
            return TransitionCallbackReturn.SUCCESS

        def on_activate(self, state):
            qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
            for camera in cameras:
                self.create_subscription(Image, f'{camera}image',
                                         lambda m, c=camera: self.on_image(c, m), qos)
            return super().on_activate(state)

        def on_image(self, camera, msg):
            rgb = decode_raw(msg.encoding, msg.height, msg.width, msg.step, msg.data)
            labels = self.seg.segment(rgb).labels
            color = self.seg.colorize(labels)
            for pub, pixels, encoding in zip(self.outs[camera], (labels, color),
                                             ('mono8', 'rgb8')):
                out = Image(header=msg.header, height=pixels.shape[0], width=pixels.shape[1],
                            encoding=encoding, step=pixels.strides[0])
                out.data = pixels.tobytes()
                pub.publish(out)

    rclpy.init()
    node = Naive(NODE)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


def _start(impl: str, model: str, threads: int, cameras: List[str], env, log,
           node_params: List[str]):
    if impl == 'node':
        cmd = [sys.executable, '-m', 'deeplab_ros.node', '--ros-args', '-r', f'__node:={NODE}',
               '-p', f'model:={model}', '-p', f'num_threads:={threads}',
               '-p', 'publish_overlay:=false', '-p', 'diagnostics_period:=1.0']
        for param in node_params:
            cmd += ['-p', param]
        if cameras != ['']:
            cmd += ['-p', 'cameras:=[' + ', '.join(c.rstrip('/') for c in cameras) + ']']
    else:
        cmd = [sys.executable, __file__, '--naive-node', '--model', model,
               '--threads', str(threads), '--cameras', ','.join(cameras)]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def driver(impl: str, phase: str, model: str, threads: int, duration: float,
           domain: int, node_params: List[str]) -> Dict[str, float]:
    """Start one implementation, run one phase, return its figures."""
    import cv2
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.engine import registry
    from deeplab_ros.tools.lifecycle import LifecycleClient

    rate, count = next((r, c) for name, r, c in PHASES if name == phase)
    cameras = [f'{c}/' for c in CAMERAS[:count]] if count > 1 else ['']
    env = _env(domain)
    log = open(f'/tmp/bench_node_{impl}_{phase}_{os.getpid()}.log', 'w')
    proc = _start(impl, model, threads, cameras, env, log, node_params)
    client = LifecycleClient('bench_driver', domain_id=domain)
    node = client.node
    arrivals = {c: [] for c in cameras}
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

    def on_labels(camera, msg):
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        arrivals[camera].append((time.time_ns(), stamp))

    pubs = {}
    for camera in cameras:
        node.create_subscription(Image, f'{camera}segmentation/labels',
                                 lambda m, c=camera: on_labels(c, m), reliable)
        node.create_subscription(Image, f'{camera}segmentation/color', lambda m: None,
                                 reliable)
        pubs[camera] = node.create_publisher(Image, f'{camera}image', best_effort)

    try:
        for transition in (1, 3):  # configure, activate
            assert client.change_state(f'/{NODE}', transition), \
                f'transition {transition}: see {log.name}'
        deadline = time.monotonic() + 30
        while any(p.get_subscription_count() == 0 for p in pubs.values()):
            assert time.monotonic() < deadline, 'the node did not subscribe'
            time.sleep(0.05)
        time.sleep(1.0)
        rgb = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))), cv2.COLOR_BGR2RGB)
        data = array.array('B')
        data.frombytes(rgb)
        msg = Image(height=720, width=1280, encoding='rgb8', step=1280 * 3)
        msg.data = data
        msg.header.frame_id = 'camera'

        round_trips: List[float] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.wait(0.25):
                start = time.perf_counter()
                client.state(f'/{NODE}', 10.0)
                client.get_parameters(f'/{NODE}', ['use_sim_time'], 10.0)
                round_trips.append((time.perf_counter() - start) * 1e3)

        prober = threading.Thread(target=probe, daemon=True)
        if rate >= 60:
            prober.start()
        cpu0 = _cpu_seconds(proc.pid)
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
            for pub in pubs.values():
                pub.publish(msg)
            sent += 1
        elapsed = time.monotonic() - start
        time.sleep(1.0)  # let the last labels arrive
        cpu = _cpu_seconds(proc.pid) - cpu0
        stop.set()
        if prober.is_alive():
            prober.join()
        got = [a for c in cameras for a in arrivals[c]]
        latency = np.array([(a - s) / 1e6 for a, s in got]) if got else np.array([np.nan])
        per_camera = [len(arrivals[c]) / elapsed for c in cameras]
        result = {
            'sent_per_camera': sent, 'processed': len(got), 'fps': len(got) / elapsed,
            'processed_share': len(got) / (sent * len(cameras)),
            'latency_p50_ms': float(np.percentile(latency, 50)),
            'latency_p95_ms': float(np.percentile(latency, 95)),
            'cpu_ms_per_frame': 1e3 * cpu / max(1, len(got)),
            'camera_fps': per_camera,
            'camera_share_ratio': min(per_camera) / max(per_camera) if max(per_camera) else 0,
        }
        if round_trips:
            result['service_p50_ms'] = float(np.percentile(round_trips, 50))
            result['service_p95_ms'] = float(np.percentile(round_trips, 95))
        return result
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        client.close()


def raw_invoke(model: str, threads: int, runs: int = 60) -> float:
    """Return the median milliseconds of one ``invoke()`` of the model, back to back."""
    from deeplab_ros.engine.pipeline import Segmenter
    seg = Segmenter.open(model, num_threads=threads)
    seg.warmup(5)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        seg.model.invoke()
        times.append((time.perf_counter() - start) * 1e3)
    seg.close()
    return statistics.median(times)


def _median(runs: List[Dict[str, float]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else float('nan')


def main() -> None:
    """Alternate node and naive through every phase, several rounds; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--duration', type=float, default=12.0, help='seconds per phase')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--phases', default=','.join(p[0] for p in PHASES))
    parser.add_argument('--impls', default='node,naive')
    parser.add_argument('--node-param', action='append', default=[], metavar='NAME:=VALUE',
                        help='extra segmentation_node parameter, repeatable')
    parser.add_argument('--json', default='')
    parser.add_argument('--naive-node', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--cameras', default='', help=argparse.SUPPRESS)
    parser.add_argument('--driver', default='', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_node:
        naive_node(args.model, args.threads, args.cameras.split(','))
        return
    if args.driver:
        impl, phase, domain = args.driver.split(',')
        print(json.dumps(driver(impl, phase, args.model, args.threads, args.duration,
                                int(domain), args.node_param)))
        return
    results: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    runs = 0
    for _ in range(args.rounds):
        for phase in args.phases.split(','):
            for impl in args.impls.split(','):
                domain = 101 + (os.getpid() + runs) % 50
                runs += 1
                out = subprocess.run(
                    [sys.executable, __file__, '--driver', f'{impl},{phase},{domain}',
                     '--model', args.model, '--threads', str(args.threads),
                     '--duration', str(args.duration)]
                    + [f'--node-param={p}' for p in args.node_param],
                    env=_env(domain), capture_output=True, text=True, check=False)
                lines = [ln for ln in out.stdout.splitlines() if ln.startswith('{')]
                if not lines:
                    raise SystemExit(f'{impl}/{phase} failed:\n{out.stderr[-3000:]}')
                results.setdefault(phase, {}).setdefault(impl, []).append(json.loads(lines[-1]))
    invoke_ms = raw_invoke(args.model, args.threads)
    print(f'model {args.model}, {args.threads} threads, 1280x720 rgb8, {args.duration:g} s per '
          f'phase, {args.rounds} rounds (medians); raw invoke {invoke_ms:.1f} ms back to back')
    print(f'{"phase":<8} {"impl":<6} {"processed":>9} {"fps":>6} {"p50 ms":>7} {"p95 ms":>7} '
          f'{"cpu ms/frame":>12} {"cam share":>9} {"service p95":>11}')
    for phase, impls in results.items():
        for impl, phase_runs in impls.items():
            print(f'{phase:<8} {impl:<6} {100 * _median(phase_runs, "processed_share"):8.1f}% '
                  f'{_median(phase_runs, "fps"):6.1f} '
                  f'{_median(phase_runs, "latency_p50_ms"):7.1f} '
                  f'{_median(phase_runs, "latency_p95_ms"):7.1f} '
                  f'{_median(phase_runs, "cpu_ms_per_frame"):12.1f} '
                  f'{_median(phase_runs, "camera_share_ratio"):9.2f} '
                  f'{_median(phase_runs, "service_p95_ms"):11.1f}')
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {'invoke_ms': invoke_ms, 'results': results}, indent=2))


if __name__ == '__main__':
    main()
