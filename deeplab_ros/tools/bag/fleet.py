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
Many bags: one after another here, on a local process pool, or on a Ray cluster.

Each worker holds one interpreter (:class:`BagWorker`, built in the worker) and labels whole
bags with it, one at a time. The pool's processes are spawned, never forked: a process that
has loaded LiteRT or a delegate must not fork. Workers report frames done to the one progress
line, and stop at the next frame when told (Ctrl-C): the bags they were writing stay valid
bags of the frames done under their temporary names, and the next run redoes them.
"""

import argparse
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
import multiprocessing
import queue
import signal
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from deeplab_ros.engine.pipeline import open_segmenter
from deeplab_ros.errors import DeeplabError
from deeplab_ros.tools.bag.discovery import BagTask
from deeplab_ros.tools.bag.report import BagResult, FleetProgress

#: Seconds between a worker's reports of frames done.
REPORT_S = 0.5


def bag_args(args: argparse.Namespace, task: BagTask) -> argparse.Namespace:
    """Return the options of one bag of a run: its input, output and PNG folder."""
    return argparse.Namespace(**dict(vars(args), input=str(task.source), out=str(task.out),
                                     png=task.png))


def not_started(task: BagTask, why: str = 'not started (Ctrl-C)') -> BagResult:
    """Return the result of a bag a run stopped before it began."""
    return BagResult(str(task.source), str(task.out), 'not started', why)


class _Tracker:
    """A bag's progress, for the labeller: reports frames done, and stops it when told."""

    def __init__(self, index: int, sink: Callable[[str, int, int], None],
                 stopped: Callable[[], bool]) -> None:
        self.index, self.sink, self.stopped = index, sink, stopped
        self.sent, self.when = 0, time.monotonic()

    def show(self, frames: int, bag_ns: int, final: bool = False) -> None:
        """Report the frames done every REPORT_S; raise KeyboardInterrupt when told to stop."""
        now = time.monotonic()
        if frames > self.sent and (final or now - self.when >= REPORT_S):
            self.sink('frames', self.index, frames - self.sent)
            self.sent, self.when = frames, now
        if self.stopped():
            raise KeyboardInterrupt


class BagWorker:
    """One interpreter, built here, that labels whole bags one after another."""

    def __init__(self, args: argparse.Namespace, values: Dict[str, Any],
                 sink: Callable[[str, int, int], None], stopped: Callable[[], bool]) -> None:
        """Open the model of ``values``; a failure is reported by every bag given."""
        self.args, self.sink, self.stopped = args, sink, stopped
        self.segmenter, self.error = None, ''
        try:
            self.segmenter = open_segmenter(values)
        except (DeeplabError, ValueError) as error:
            self.error = str(error)

    def label(self, task: BagTask) -> BagResult:
        """Label one bag; return what became of it (failures included, with their reason)."""
        from deeplab_ros.tools.bag import plan as bag_plan, run as bag_run
        if self.error:
            return BagResult(str(task.source), str(task.out), 'failed', self.error)
        if self.stopped():
            return not_started(task)
        args = bag_args(self.args, task)
        started = time.perf_counter()
        try:
            plan, notes = bag_plan.make_plan(args, task.digest)
            self.sink('start', task.index, plan.frames)
            result = bag_run.label(args, plan, self.segmenter,
                                   _Tracker(task.index, self.sink, self.stopped), False)
        except DeeplabError as error:
            return BagResult(str(task.source), str(task.out), 'failed',
                             str(error).removeprefix(f'{task.source}: '),
                             seconds=round(time.perf_counter() - started, 3))
        except Exception as error:  # one bad bag fails alone, whatever went wrong
            return BagResult(str(task.source), str(task.out), 'failed',
                             f'{type(error).__name__}: {error}',
                             seconds=round(time.perf_counter() - started, 3))
        result.notes[:0] = notes
        return result

    def close(self) -> None:
        """Release the interpreter."""
        if self.segmenter is not None:
            self.segmenter.close()


def run_here(args: argparse.Namespace, values: Dict[str, Any], tasks: Sequence[BagTask],
             progress: FleetProgress) -> List[BagResult]:
    """Label the bags one after another in this process; stop at Ctrl-C."""
    def sink(kind: str, index: int, count: int) -> None:
        progress.start(index, count) if kind == 'start' else progress.add(count)

    worker = BagWorker(args, values, sink, lambda: False)
    if worker.error:  # the model cannot be opened: said once
        raise DeeplabError(worker.error)
    results: List[BagResult] = []
    try:
        for task in tasks:
            if results and results[-1].status == 'interrupted':
                results.append(not_started(task))
                continue
            try:
                results.append(worker.label(task))
            except KeyboardInterrupt:  # before or after its frames: nothing written
                results.append(BagResult(str(task.source), str(task.out), 'interrupted',
                                         'Ctrl-C'))
            progress.end(results[-1])
    finally:
        worker.close()
    return results


_WORKER: Optional[BagWorker] = None  # a pool process's worker


def _pool_start(args: argparse.Namespace, values: Dict[str, Any], events: Any,
                stop: Any) -> None:
    """Build a pool process's worker; Ctrl-C reaches it through ``stop``, not as a signal."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = BagWorker(args, values, lambda *event: events.put(event), stop.is_set)


def _pool_label(task: BagTask) -> BagResult:
    """Label a bag in a pool process."""
    return _WORKER.label(task)


def _drain(events: Any, progress: FleetProgress) -> None:
    """Hand the workers' reports to the progress line."""
    while True:
        try:
            kind, index, count = events.get_nowait()
        except queue.Empty:
            return
        progress.start(index, count) if kind == 'start' else progress.add(count)


def run_pool(args: argparse.Namespace, values: Dict[str, Any], tasks: Sequence[BagTask],
             jobs: int, progress: FleetProgress) -> List[BagResult]:
    """Label the bags on ``jobs`` spawned processes; at Ctrl-C, stop them all."""
    context = multiprocessing.get_context('spawn')
    events, stop = context.Queue(), context.Event()
    results: Dict[int, BagResult] = {}
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_pool_start,
                             initargs=(args, values, events, stop)) as pool:
        futures = {pool.submit(_pool_label, task): task for task in tasks}
        pending = set(futures)
        while pending:
            try:
                done, pending = wait(pending, timeout=REPORT_S, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                stop.set()  # the workers end their bags at the next frame
                for future in pending:
                    future.cancel()
                continue
            _drain(events, progress)
            for future in done:
                task = futures[future]
                if future.cancelled():
                    results[task.index] = not_started(task)
                    continue
                try:
                    results[task.index] = future.result()
                except Exception as error:  # the process died (memory?): its bag failed
                    results[task.index] = BagResult(str(task.source), str(task.out), 'failed',
                                                    f'its worker process died: {error}')
                progress.end(results[task.index])
    _drain(events, progress)
    return [results[task.index] for task in tasks]
