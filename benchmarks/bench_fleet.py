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
Benchmark ``deeplab bag`` over many bags: one job, a process pool, a Ray cluster (a script).

Writes ``--bags`` bags of ``--frames`` 1280x720 rgb8 frames each (with camera_info, as
bench_bag.py), starts a local Ray cluster of ``--cores`` CPUs on this machine, then
alternates, ``--rounds`` times and in a new order each round, ``deeplab bag`` over all the
bags (default outputs) with:

- ``--jobs 1 --threads 2``: one process, a two-thread interpreter;
- ``--jobs 2 --threads 1``: a pool of two processes, a one-thread interpreter each;
- ``--ray ADDRESS --jobs 2 --threads 1``: two one-thread actors on the Ray cluster.

Each rate is the frames of the run over its time as ``deeplab bag --summary`` reports it
(from before the workers start to the last bag closed: start-up included); for the local runs
also the cores they kept busy (their CPU time over the wall time). Prints each round,
then the medians and their ratios against the targets: the better local setting at least
1.15x the one-job rate, Ray at least 0.9x the pool of as many jobs.

Usage, from the repository root (in the ``make test`` environment, with ray installed)::

    .venv/bin/python benchmarks/bench_fleet.py [--bags 8] [--frames 120] [--rounds 3]
"""

import argparse
import json
import os
import pathlib
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

from bench_bag import write_input  # noqa: E402, I100

SETTINGS = {'jobs 1 x 2 threads': ('--jobs', '1', '--threads', '2'),
            'jobs 2 x 1 thread': ('--jobs', '2', '--threads', '1'),
            'ray 2 x 1 thread': ('--jobs', '2', '--threads', '1')}  # with --ray ADDRESS


#: Ray on this machine alone: its processes serve and talk on loopback only (on Linux, Ray
#: otherwise advertises the machine's own address in place of 127.0.0.1).
LOCAL_RAY = {'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0', 'RAY_USAGE_STATS_ENABLED': '0'}


def start_ray(cores: int, temp: str):
    """Start a Ray head here with ``cores`` CPUs; return it and its address (on loopback)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    head = subprocess.Popen(
        [str(pathlib.Path(sys.executable).parent / 'ray'), 'start', '--head',
         '--node-ip-address', '127.0.0.1', '--port', str(port), '--num-cpus', str(cores),
         '--include-dashboard', 'false', '--disable-usage-stats', '--temp-dir', temp, '--block'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **LOCAL_RAY))
    deadline = time.monotonic() + 120
    while True:
        if head.poll() is not None or time.monotonic() > deadline:
            raise SystemExit('the Ray head did not start')
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return head, f'127.0.0.1:{port}'
        time.sleep(0.2)


def fleet_rate(bags: pathlib.Path, work: pathlib.Path, model: str, options) -> tuple:
    """
    Run ``deeplab bag`` over the bags once; return its frames per second and cores busy.

    Cores busy is the CPU time of ``deeplab bag`` and its worker processes over the run's wall
    time (Ray's actors are not its children: None for a run on Ray).
    """
    out, summary = work / 'out', work / 'summary.json'
    shutil.rmtree(out, ignore_errors=True)
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    result = subprocess.run(
        [sys.executable, '-m', 'deeplab_ros.tools.cli', 'bag', str(bags), '--out', str(out),
         '--model', model, '--summary', str(summary), *options], capture_output=True,
        text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), **LOCAL_RAY))
    shutil.rmtree(out, ignore_errors=True)
    if result.returncode != 0:
        raise SystemExit(f'deeplab bag {" ".join(options)} failed:\n{result.stdout}'
                         f'{result.stderr}')
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    busy = None if '--ray' in options else cpu / wall
    return json.loads(summary.read_text())['fps'], busy


def main() -> None:
    """Alternate the three settings; print the rates and the ratios against the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--bags', type=int, default=8)
    parser.add_argument('--frames', type=int, default=45, help='frames per bag')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--cores', type=int, default=2, help="the Ray cluster's CPUs")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix='bench_fleet_'))
    head = None
    try:
        bags = work / 'bags'
        for i in range(args.bags):
            write_input(bags / f'bag{i}', args.frames, 'mcap')
        head, address = start_ray(args.cores, str(work / 'ray'))
        print(f'model {args.model}, {args.bags} bags of {args.frames} frames 1280x720 rgb8 + '
              f'camera_info (mcap), default outputs; Ray at {address} with {args.cores} CPUs')
        rates = {name: [] for name in SETTINGS}
        busy = {name: [] for name in SETTINGS}
        names = list(SETTINGS)
        for round_ in range(args.rounds):
            order = names[round_ % 3:] + names[:round_ % 3]
            for name in order:
                options = SETTINGS[name] + (('--ray', address) if name.startswith('ray')
                                            else ())
                rate, cores = fleet_rate(bags, work, args.model, options)
                rates[name].append(rate)
                busy[name].append(cores)
            print(f'round {round_ + 1}: ' + ', '.join(
                f'{name} {rates[name][-1]:.2f} fps' + (
                    f' ({busy[name][-1]:.2f} cores busy)' if busy[name][-1] else '')
                for name in names))
        median = {name: statistics.median(values) for name, values in rates.items()}
        one, pool, ray = (median[name] for name in names)
        print('median: ' + ', '.join(f'{name} {median[name]:.2f} fps' for name in names))
        print(f'better local / jobs 1: {max(one, pool) / one:.2f}x (target >= 1.15); '
              f'ray / jobs 2: {ray / pool:.2f}x (target >= 0.90)')
    finally:
        if head is not None:
            head.terminate()  # --block: it stops the cluster's processes when it ends
            head.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
