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

"""``deeplab bag``'s options and its run over one bag or many; loads without rosbags."""

import argparse
import os
from pathlib import Path
import sys
import time
from typing import Any, Dict, List, Tuple

from deeplab_ros.engine import registry
from deeplab_ros.engine.pipeline import open_segmenter
from deeplab_ros.errors import DeeplabError
from deeplab_ros.tools.arguments import positive, seconds
from deeplab_ros.tools.bag import discovery, fleet, report
from deeplab_ros.tools.bag import plan as bag_plan
from deeplab_ros.tools.bag.settings import chosen_outputs, node_values, OUTPUTS


def _output_list(text: str) -> Tuple[str, ...]:
    """Parse --outputs for argparse: names separated by commas; 'default' for the defaults."""
    names = tuple(n.strip() for n in text.split(',') if n.strip())
    bad = [n for n in names if n not in OUTPUTS + ('default',)]
    if bad or not names:
        unknown = ', '.join(bad) or "''"
        raise argparse.ArgumentTypeError(f'unknown output {unknown}; choose from default, '
                                         f'{", ".join(OUTPUTS)}')
    return names


def _depth_pair(text: str) -> Tuple[str, str]:
    """Parse --depth CAMERA=TOPIC for argparse."""
    camera, sep, topic = text.partition('=')
    if not sep or not topic.strip():
        raise argparse.ArgumentTypeError('expected CAMERA=TOPIC, e.g. /front=/front/depth, '
                                         f'not {text!r}')
    return '/' + camera.strip().strip('/') if camera.strip('/ ') else '', topic.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``deeplab bag``."""
    parser.add_argument('input', metavar='IN', nargs='+', help='rosbag2 folders, .mcap/.db3 '
                        'files, or folders holding bags (found at any depth)')
    parser.add_argument('--out', '-o', required=True, metavar='OUT',
                        help='the new bag (one input bag), else the folder of the new bags, '
                        "each at its input's relative path; complete ones are skipped")
    parser.add_argument('--overwrite', action='store_true',
                        help='redo and replace output bags that exist')
    parser.add_argument('--jobs', '-j', type=positive, default=None, metavar='N',
                        help='bags labelled at once, each by a process of its own (default: '
                        'one per CPU core, at most one per bag; with --ray: as many as the '
                        'cluster holds)')
    parser.add_argument('--ray', default='', metavar='ADDRESS',
                        help='label on a Ray cluster: auto, HOST:6379 or ray://HOST:10001 '
                        '(paths must be the same on every node)')
    parser.add_argument('--summary', default='', metavar='FILE.json',
                        help='write the run and each bag (frames, rejected, classes, time, '
                        'status) as JSON')
    parser.add_argument('--topics', nargs='+', metavar='TOPIC', default=None,
                        help='image topics to segment (default: every camera image topic)')
    parser.add_argument('--depth', type=_depth_pair, action='append', default=[],
                        metavar='CAMERA=TOPIC', help='registered depth topic of a camera '
                        '(geometry depth; default <camera>/depth or <camera>/depth/image_raw)')
    parser.add_argument('--params-file', default='', metavar='YAML',
                        help="the node's parameter file (model, delegate, threads, geometry, "
                        '...): entries for /** or a node named deeplab')
    parser.add_argument('--model', '-m', default=None, help='model, over the params file')
    parser.add_argument('--threads', '-t', type=positive, default=None,
                        help='num_threads of each job, over the params file (default: CPU '
                        'cores // jobs; with --ray: 1)')
    parser.add_argument('--outputs', type=_output_list, default=('default',),
                        help='comma-separated: default (labels, camera_info, label_info and '
                        'the clouds of geometry), color, overlay, confidence, mask, ...')
    parser.add_argument('--no-passthrough', dest='passthrough', action='store_false',
                        help="leave the input's topics out of OUT")
    parser.add_argument('--storage', choices=('sqlite3', 'mcap'), default=None,
                        help="OUT's storage (default: the input's)")
    parser.add_argument('--distro', choices=('humble', 'jazzy', 'kilted'), default=None,
                        help="distribution OUT is written for (default: the input's, else "
                        'jazzy)')
    parser.add_argument('--every', type=positive, default=1, metavar='N',
                        help='segment every N-th frame of each topic (default: every frame)')
    parser.add_argument('--start', type=seconds, default=None, metavar='S',
                        help='begin S seconds after the start of the bag')
    parser.add_argument('--end', type=seconds, default=None, metavar='S',
                        help='stop S seconds after the start of the bag')
    parser.add_argument('--png', default='', metavar='DIR', help='also write DIR/images/*.png '
                        '(RGB) and DIR/masks/*.png (class ids) for deeplab eval')


def _need_rosbags() -> None:
    """Raise DeeplabError saying how to install rosbags when it is missing."""
    try:
        import rosbags.rosbag2  # noqa: F401
    except ImportError as error:
        raise DeeplabError(f'deeplab bag needs the rosbags package ({error}): pip install '
                           'rosbags==0.11.9') from None


def _settle(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[str]]:
    """Return the node's values for every bag, checked once; notes about them."""
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise DeeplabError(f'--end {args.end:g} is not after --start {args.start:g}')
    values, notes = node_values(args)
    chosen_outputs(args.outputs, values)
    return values, notes


def _run_one(args: argparse.Namespace, task: discovery.BagTask) -> int:
    """Label one bag here, saying all about it; return the exit status (130 after Ctrl-C)."""
    from deeplab_ros.tools.bag import run as bag_run
    args = fleet.bag_args(args, task)
    settled, notes = bag_plan.make_plan(args, task.digest)
    for note in notes:
        print(f'deeplab: note: {note}', file=sys.stderr)
    try:
        segmenter = open_segmenter(settled.values)
    except ValueError as error:
        raise DeeplabError(str(error)) from None
    try:
        result = bag_run.label(args, settled, segmenter,
                               report.Progress(settled.frames, *settled.window))
    finally:
        segmenter.close()
    if args.summary:
        report.write_json(Path(args.summary), [result], result.seconds)
    return 130 if result.status == 'interrupted' else 0


def _parallel(args: argparse.Namespace, values: Dict[str, Any], todo: int) -> Tuple[int, int]:
    """Return the jobs and threads per job (0 jobs with --ray: as many as the cluster holds)."""
    cores = len(os.sched_getaffinity(0))
    if args.ray:
        return min(args.jobs or 0, todo), args.threads or values['num_threads'] or 1
    jobs = max(1, min(args.jobs or cores, todo))
    return jobs, args.threads or values['num_threads'] or max(1, cores // jobs)


def run(args: argparse.Namespace) -> int:
    """
    Label the bags; return the exit status: 0, 1 if a bag failed, 130 after Ctrl-C.

    :raises DeeplabError: rosbags is missing, or the settings or inputs are wrong.
    """
    _need_rosbags()
    tasks, single = discovery.find_bags(args.input, Path(args.out), args.png)
    values, notes = _settle(args)
    for note in notes:
        print(f'deeplab: note: {note}', file=sys.stderr)
    done = []
    for task in tasks:
        task.digest = bag_plan.settings_digest(args, values, task.source)
        if not args.overwrite and bag_plan.output_state(task.out, task.digest) == 'complete':
            done.append(task.index)
    if single and done:
        print(f'deeplab bag: {args.out} is complete (made from {args.input[0]} with these '
              'settings): skipped; --overwrite redoes it')
        if args.summary:
            report.write_json(Path(args.summary), [report.BagResult(
                args.input[0], args.out, 'skipped')], 0.0)
        return 0
    if single and not args.ray and (args.jobs or 1) == 1:
        return _run_one(args, tasks[0])
    return _run_many(args, values, tasks, set(done))


def _run_many(args: argparse.Namespace, values: Dict[str, Any],
              tasks: List[discovery.BagTask], done: set) -> int:
    """Label many bags (skipping those done); print each, then the totals; exit status."""
    todo = [t for t in tasks if t.index not in done]
    jobs, threads = _parallel(args, values, len(todo))
    values = dict(values, num_threads=threads)
    each = f'{threads} thread{"s" if threads > 1 else ""}'
    where = f'on the Ray cluster at {args.ray}, actors of {each}' if args.ray else (
        f'{jobs} jobs of {each}' if jobs > 1 else f'one job of {each}')
    print(f'deeplab bag: {len(tasks)} bags ({len(done)} complete already), {where}',
          flush=True)
    progress = report.FleetProgress(len(tasks))
    results = {}
    for task in tasks:
        if task.index in done:
            results[task.index] = report.BagResult(str(task.source), str(task.out), 'skipped')
            progress.end(results[task.index])
    if todo:  # the model, fetched once here: a missing one is said once, not once a bag
        registry.resolve_model(values['model'], values['delegate'])
    started = time.perf_counter()
    if todo and args.ray:
        from deeplab_ros.tools.bag import cluster
        ran = cluster.run_ray(args.ray, args, values, todo, jobs, threads, progress)
    elif todo and jobs > 1:
        ran = fleet.run_pool(args, values, todo, jobs, progress)
    elif todo:
        ran = fleet.run_here(args, values, todo, progress)
    else:
        ran = []
    results.update({t.index: r for t, r in zip(todo, ran)})
    ordered = [results[t.index] for t in tasks]
    seconds = time.perf_counter() - started
    report.print_totals(ordered, seconds)
    if args.summary:
        report.write_json(Path(args.summary), ordered, seconds)
    if any(r.status in ('interrupted', 'not started') for r in ordered):
        return 130
    return 1 if any(r.status == 'failed' for r in ordered) else 0
