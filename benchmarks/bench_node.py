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
Benchmark segmentation_node against a naive node and the middleware floor (a script).

``naive`` is the obvious lifecycle node (defined here, nowhere in the package): decode,
segment, colour and publish inside the image callback of a single-threaded executor, with a
depth-5 best-effort subscription and no accounting. ``relay`` is the middleware floor: it
takes the newest frame as the node does (its intake), decodes nothing, and publishes a labels
image (mono8) and a colour image (rgb8) of the input size from preallocated buffers. Each runs
in its own process, in turn, several rounds, driven by a camera process that publishes
1280x720 rgb8 frames and subscribes to labels and colour (reliably, as RViz does), all with
the large-data Fast DDS profile. A paced raw ``invoke()`` loop of the same model, threads and
rate, in its own process, running while the relay's camera streams (the load under which the
node's invoke runs), gives the inference CPU per frame; the pipeline's non-invoke stages
(fit, label map, colour) are timed there too.

Phases: cameras at 30, 60, 10 Hz; two cameras at 30 Hz; 120 Hz (faster than inference here);
``slow60hz``, a model slower than the camera by 3x or more (the 65x65-logits float model) at
60 Hz; ``1core60hz``, the node, naive, relay and invoke processes pinned to CPU 1 with one
thread, the camera on CPU 0, at 60 Hz (the closest this machine comes to a small board). At 60
Hz and above a get_state + get_parameters round trip is timed every 0.25 s. Figures are
medians over the rounds: processed fps, frames arrived per frame processed, latency from
publish to label arrival, CPU per processed frame, each camera's share; the node's
non-inference CPU per frame (its CPU minus the invoke CPU) against its floor (the relay's CPU
plus the non-invoke pipeline time); and each of the node's targets checked.

From the repository root, in the ``make test`` environment (AMENT_PREFIX_PATH=$PWD/.venv,
DEEPLAB_ROS_MIRROR naming folders with the models and cat_720p.jpg)::

    .venv/bin/python benchmarks/bench_node.py [--rounds 2] [--duration 10] [--phases ...]
        [--node-param NAME:=VALUE] [--json out.json] [--profile DIR]
"""

import argparse
import array
from dataclasses import dataclass
import json
import os
import pathlib
import shutil
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
CAMERAS = ('left', 'right')
SLOW_MODEL = 'lite-model_deeplabv3-mobilenetv2_1_default_1'
IMPLS = ('node', 'naive', 'relay')


@dataclass(frozen=True)
class Phase:
    """A camera regime: rate (Hz per camera), cameras, model (default: --model), CPUs."""

    name: str
    rate: float
    cameras: int = 1
    model: str = ''
    one_core: bool = False


PHASES = (Phase('30hz', 30.0), Phase('60hz', 60.0), Phase('10hz', 10.0),
          Phase('2x30hz', 30.0, 2), Phase('120hz', 120.0), Phase('slow60hz', 60.0, 1, SLOW_MODEL),
          Phase('1core60hz', 60.0, 1, '', True))


def _phase(name: str) -> Phase:
    found = [p for p in PHASES if p.name == name]
    if not found:
        raise SystemExit(f'unknown phase {name!r}; phases: {", ".join(p.name for p in PHASES)}')
    return found[0]


def _env(domain: int) -> Dict[str, str]:
    from deeplab_ros.tools.lifecycle import private_domain

    env = private_domain(domain)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
    return env


def _usage(pid: int) -> np.ndarray:
    """
    Return [CPU seconds, minor page faults] of a process and its children.

    Children count: py-spy runs the profiled process as its child.
    """
    fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    usage = np.array([(int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'),
                      float(fields[7])])
    for task in pathlib.Path(f'/proc/{pid}/task').iterdir():
        for child in (task / 'children').read_text().split():
            usage += _usage(int(child))
    return usage


def _image_msg(image_cls, header, pixels: np.ndarray, encoding: str):
    out = image_cls(header=header, height=pixels.shape[0], width=pixels.shape[1],
                    encoding=encoding, step=pixels.strides[0])
    out.data = pixels.tobytes()
    return out


def naive_node(model: str, threads: int, cameras: List[str]) -> None:
    """Run the naive lifecycle node: all work inside the image callback."""
    import rclpy
    from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.engine.pipeline import Segmenter
    from deeplab_ros.frame.codec import decode_raw

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
                pub.publish(_image_msg(Image, msg.header, pixels, encoding))

    rclpy.init()
    node = Naive(NODE)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


def relay_node(cameras: List[str]) -> None:
    """Run the relay: the node's intake, no decoding, preallocated outputs of the input size."""
    import rclpy
    from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.node import intake
    from deeplab_ros.node.ros_messages import MESSAGES

    labels = np.zeros((720, 1280), np.uint8)
    color = np.zeros((720, 1280, 3), np.uint8)

    class Relay(LifecycleNode):
        def on_configure(self, state):
            self.outs = [(self.create_publisher(Image, f'{c}segmentation/labels', 1),
                          self.create_publisher(Image, f'{c}segmentation/color', 1))
                         for c in cameras]
            self.msgs = [MESSAGES.image(MESSAGES.header(0, 0, ''), labels, 'mono8'),
                         MESSAGES.image(MESSAGES.header(0, 0, ''), color, 'rgb8')]
            return TransitionCallbackReturn.SUCCESS

        def on_activate(self, state):
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
            group = intake.WorkerOwned()
            subs = [self.create_subscription(Image, f'{c}image', lambda _: None, qos,
                                             callback_group=group, raw=True,
                                             event_callbacks=intake.lost_events())
                    for c in cameras]
            self.intake = intake.SubscriptionIntake(self, subs, False)
            threading.Thread(target=self.relay, daemon=True).start()
            return super().on_activate(state)

        def relay(self):
            every = list(range(len(cameras)))
            while rclpy.ok():
                for index in self.intake.wait(every, 1.0):
                    for serialized, _ in self.intake.take(index, 1):
                        frame = self.intake.read(index, serialized)
                        head = MESSAGES.header(frame.sec, frame.nanosec, frame.frame_id)
                        for pub, msg in zip(self.outs[index], self.msgs):
                            msg.header = head
                            pub.publish(msg)

    rclpy.init()
    node = Relay(NODE)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


def invoke_loop(model: str, threads: int, rate: float, duration: float,
                delay: float) -> Dict[str, float]:
    """
    Run the model's ``invoke()`` at ``rate`` (back to back if slower); time its CPU.

    :param delay: Seconds to wait after loading before timing (to run while the relay's
        camera streams).
    """
    import cv2

    from deeplab_ros.engine import registry
    from deeplab_ros.engine.pipeline import Segmenter

    seg = Segmenter.open(model, num_threads=threads)
    seg.warmup(5)
    rgb = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))), cv2.COLOR_BGR2RGB)
    time.sleep(delay)
    invokes, wall = 0, []
    cpu0, start = time.process_time(), time.monotonic()
    while time.monotonic() - start < duration:
        delay = start + invokes / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        seg.model.invoke()
        wall.append((time.perf_counter() - began) * 1e3)
        invokes += 1
    cpu = time.process_time() - cpu0
    non_invoke = []  # fit, label map and colour: the pipeline's work around invoke
    for _ in range(30):
        result = seg.segment(rgb)
        began = time.perf_counter()
        seg.colorize(result.labels)
        colour = (time.perf_counter() - began) * 1e3
        non_invoke.append(result.timings['preprocess'] + result.timings['postprocess'] + colour)
    seg.close()
    return {'invoke_cpu_ms': 1e3 * cpu / invokes, 'invoke_ms_p50': statistics.median(wall),
            'non_invoke_ms': statistics.median(non_invoke), 'invokes': invokes}


def _command(impl: str, model: str, threads: int, cameras: List[str], node_params: List[str],
             profile: str, phase: Phase) -> List[str]:
    if impl.startswith('node'):  # node, or a variant: node=<name>:<param>:=<value>,...
        cmd = [sys.executable, '-m', 'deeplab_ros.node', '--ros-args', '-r', f'__node:={NODE}',
               '-p', f'model:={model}', '-p', f'num_threads:={threads}',
               '-p', 'publish_overlay:=false', '-p', 'diagnostics_period:=1.0']
        for param in node_params + [p for p in impl.partition(':')[2].split(',') if p]:
            cmd += ['-p', param]
        if cameras != ['']:
            cmd += ['-p', 'cameras:=[' + ', '.join(c.rstrip('/') for c in cameras) + ']']
    else:
        cmd = [sys.executable, __file__, f'--{impl}-node', '--model', model,
               '--threads', str(threads), '--cameras', ','.join(cameras)]
    if profile:
        cmd = [shutil.which('py-spy') or 'py-spy', 'record', '--format', 'raw', '-r', '200',
               '-o', os.path.join(
                   profile, f'{impl.partition(":")[0]}_{phase.name}_{os.getpid()}.txt'),
               '--'] + cmd
    if phase.one_core:
        cmd = ['taskset', '-c', '1'] + cmd
    return cmd


def driver(impl: str, phase: Phase, model: str, threads: int, duration: float, domain: int,
           node_params: List[str], profile: str) -> Dict[str, float]:
    """Start one implementation, run one phase, return its figures."""
    import cv2
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from deeplab_ros.engine import registry
    from deeplab_ros.tools.lifecycle import LifecycleClient

    if phase.one_core:
        os.sched_setaffinity(0, {0})  # the camera on CPU 0, the node on CPU 1
    cameras = [f'{c}/' for c in CAMERAS[:phase.cameras]] if phase.cameras > 1 else ['']
    log = open(f'/tmp/bench_node_{impl.partition(":")[0]}_{phase.name}_{os.getpid()}.log', 'w')
    proc = subprocess.Popen(
        _command(impl, model, threads, cameras, node_params, profile, phase),
        env=_env(domain), stdout=log, stderr=subprocess.STDOUT)
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
        client.wait_for(lambda: all(p.get_subscription_count() for p in pubs.values()),
                        30.0, 'the node subscribing')
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
        if phase.rate >= 60:
            prober.start()
        usage0 = _usage(proc.pid)
        start = time.monotonic()
        sent = 0
        while True:
            due = start + sent / phase.rate
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
        cpu, faults = _usage(proc.pid) - usage0
        stop.set()
        if prober.is_alive():
            prober.join()
        got = [a for c in cameras for a in arrivals[c]]
        latency = np.array([(a - s) / 1e6 for a, s in got]) if got else np.array([np.nan])
        per_camera = [len(arrivals[c]) / elapsed for c in cameras]
        result = {
            'sent_per_camera': sent, 'processed': len(got), 'fps': len(got) / elapsed,
            'processed_share': len(got) / (sent * len(cameras)),
            'arrived_per_processed': sent * len(cameras) / max(1, len(got)),
            'latency_p50_ms': float(np.percentile(latency, 50)),
            'latency_p95_ms': float(np.percentile(latency, 95)),
            'cpu_ms_per_frame': 1e3 * cpu / max(1, len(got)),
            'faults_per_frame': faults / max(1, len(got)),
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
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        client.close()


def _median(runs: List[Dict[str, float]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else float('nan')


def _run(args, argv: List[str], domain: int, one_core: bool) -> Dict[str, float]:
    """Run this script with ``argv`` in a process of its own; return the JSON it prints."""
    command = [sys.executable, __file__] + argv + [
        '--threads', str(1 if one_core else args.threads), '--duration', str(args.duration)]
    command += [f'--node-param={p}' for p in args.node_param]
    if args.profile:
        command += ['--profile', args.profile]
    if one_core and argv[0] == '--invoke':
        command = ['taskset', '-c', '1'] + command
    out = subprocess.run(command, env=_env(domain), capture_output=True, text=True,
                         check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith('{')]
    if not lines:
        raise SystemExit(f'{" ".join(argv)} failed:\n{out.stderr[-3000:]}')
    return json.loads(lines[-1])


def checks(phase: Phase, runs: Dict[str, List[Dict[str, float]]]) -> List[str]:
    """Return the node's targets for a phase, each with its figures and PASS or FAIL."""
    node, naive = runs.get('node'), runs.get('naive')
    if not node or not naive:
        return []
    m = {impl: {key: _median(r, key) for key, value in r[0].items()
                if isinstance(value, (int, float))} for impl, r in runs.items() if r}
    out = []

    def check(what: str, ok: bool, figures: str) -> None:
        out.append(f'  {"PASS" if ok else "FAIL"} {what}: {figures}')
    n, v = m['node'], m['naive']
    saturated = v['processed_share'] < 0.97 or n['processed_share'] < 0.97
    if saturated:
        check('fps >= naive', n['fps'] >= 0.99 * v['fps'], f'{n["fps"]:.1f} vs {v["fps"]:.1f}')
        check('CPU/frame <= naive', n['cpu_ms_per_frame'] <= 1.01 * v['cpu_ms_per_frame'],
              f'{n["cpu_ms_per_frame"]:.1f} vs {v["cpu_ms_per_frame"]:.1f} ms')
        check('latency p50 <= 0.5x naive', n['latency_p50_ms'] <= 0.505 * v['latency_p50_ms'],
              f'{n["latency_p50_ms"]:.1f} vs {v["latency_p50_ms"]:.1f} ms')
    else:
        check('>= 99% processed', n['processed_share'] >= 0.99,
              f'{100 * n["processed_share"]:.1f}%')
        check('latency p50 <= naive', n['latency_p50_ms'] <= 1.01 * v['latency_p50_ms'],
              f'{n["latency_p50_ms"]:.1f} vs {v["latency_p50_ms"]:.1f} ms')
        check('CPU/frame <= naive', n['cpu_ms_per_frame'] <= 1.01 * v['cpu_ms_per_frame'],
              f'{n["cpu_ms_per_frame"]:.1f} vs {v["cpu_ms_per_frame"]:.1f} ms')
    if 'relay' in m and 'invoke' in m:
        own = n['cpu_ms_per_frame'] - m['invoke']['invoke_cpu_ms']
        floor = m['relay']['cpu_ms_per_frame'] + m['invoke']['non_invoke_ms']
        check('non-inference CPU/frame <= 1.15x floor', own <= 1.15 * 1.01 * floor,
              f'{own:.1f} vs {floor:.1f} ms ({own / floor:.2f}x)')
    return out


def main() -> None:
    """Alternate node, naive and relay through the phases, several rounds; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--duration', type=float, default=10.0, help='seconds per phase')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--phases', default=','.join(p.name for p in PHASES))
    parser.add_argument('--impls', default=','.join(IMPLS))
    parser.add_argument('--variant', action='append', default=[], metavar='NAME:NAME:=VALUE',
                        help='one more node to compare, with extra parameters (repeatable): '
                        "e.g. 'depth5:qos_overrides./image.subscription.depth:=5'")
    parser.add_argument('--node-param', action='append', default=[], metavar='NAME:=VALUE',
                        help='extra segmentation_node parameter, repeatable')
    parser.add_argument('--json', default='')
    parser.add_argument('--profile', default='', metavar='DIR',
                        help='record each process under py-spy (raw stacks) into DIR')
    for impl in ('naive', 'relay'):
        parser.add_argument(f'--{impl}-node', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--cameras', default='', help=argparse.SUPPRESS)
    parser.add_argument('--driver', default='', help=argparse.SUPPRESS)
    parser.add_argument('--invoke', default='', help=argparse.SUPPRESS)
    parser.add_argument('--invoke-delay', type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_node:
        return naive_node(args.model, args.threads, args.cameras.split(','))
    if args.relay_node:
        return relay_node(args.cameras.split(','))
    if args.invoke:
        phase = _phase(args.invoke)
        return print(json.dumps(invoke_loop(phase.model or args.model, args.threads,
                                            phase.rate * phase.cameras, args.duration / 2,
                                            args.invoke_delay)))
    if args.driver:
        impl, name, domain = args.driver.split(';')
        phase = _phase(name)
        return print(json.dumps(driver(impl, phase, phase.model or args.model, args.threads,
                                       args.duration, int(domain), args.node_param,
                                       args.profile)))
    phases = [_phase(name) for name in args.phases.split(',')]
    impls = args.impls.split(',') + [variant.partition(':')[0] for variant in args.variant]
    variants = {v.partition(':')[0]: 'node:' + v.partition(':')[2] for v in args.variant}
    results: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    runs = 0
    started = time.monotonic()
    for _ in range(args.rounds):
        for phase in phases:
            for impl in impls:
                domain = 101 + (os.getpid() + runs) % 50
                runs += 1
                argv = ['--driver', f'{variants.get(impl, impl)};{phase.name};{domain}',
                        '--model', args.model]
                # The invoke loop runs beside the relay: under the load of the camera and
                # the middleware, as the node's invoke runs (alone, it would spin less).
                invoke = [None]
                beside = threading.Thread(target=lambda: invoke.__setitem__(0, _run(
                    args, ['--invoke', phase.name, '--model', args.model,
                           '--invoke-delay', str(args.duration / 2)], domain,
                    phase.one_core)))
                if impl == 'relay':
                    beside.start()
                result = _run(args, argv, domain, phase.one_core)
                results.setdefault(phase.name, {}).setdefault(impl, []).append(result)
                if impl == 'relay':
                    beside.join()
                    results[phase.name].setdefault('invoke', []).append(invoke[0])
    print(f'model {args.model} ({SLOW_MODEL} in slow60hz), {args.threads} threads (1 in '
          f'1core60hz), 1280x720 rgb8, {args.duration:g} s per phase, {args.rounds} rounds '
          f'(medians), {time.monotonic() - started:.0f} s')
    print(f'{"phase":<10} {"impl":<6} {"processed":>9} {"fps":>6} {"arrived/proc":>12} '
          f'{"p50 ms":>7} {"p95 ms":>7} {"cpu ms/frame":>12} {"faults/frame":>12} '
          f'{"cam share":>9} {"service p95":>11}')
    for phase in phases:
        runs_of = results[phase.name]
        for impl in impls:
            r = runs_of[impl]
            print(f'{phase.name:<10} {impl:<6} {100 * _median(r, "processed_share"):8.1f}% '
                  f'{_median(r, "fps"):6.1f} {_median(r, "arrived_per_processed"):12.2f} '
                  f'{_median(r, "latency_p50_ms"):7.1f} {_median(r, "latency_p95_ms"):7.1f} '
                  f'{_median(r, "cpu_ms_per_frame"):12.1f} '
                  f'{_median(r, "faults_per_frame"):12.0f} '
                  f'{_median(r, "camera_share_ratio"):9.2f} '
                  f'{_median(r, "service_p95_ms"):11.1f}')
        inv = runs_of.get('invoke')
        if inv:
            print(f'{phase.name:<10} invoke: {_median(inv, "invoke_cpu_ms"):.1f} ms CPU per '
                  f'invoke ({_median(inv, "invoke_ms_p50"):.1f} ms wall), non-invoke pipeline '
                  f'{_median(inv, "non_invoke_ms"):.2f} ms')
        for line in checks(phase, runs_of):
            print(line)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
