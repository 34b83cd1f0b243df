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

"""What a run tells people: progress lines while it runs, summaries at the end, as JSON too."""

import dataclasses
import json
from pathlib import Path
import sys
import time
from typing import Any, Dict, List, Sequence

from deeplab_ros.tools.bag.reader import BagCamera
import numpy as np


class Progress:
    """A progress line on stderr when it is a terminal: frames, fps, ETA."""

    def __init__(self, total: int, start_ns: int, end_ns: int) -> None:
        """Expect about ``total`` frames over the bag times ``start_ns`` to ``end_ns``."""
        self.on = sys.stderr.isatty()
        self.total, self.span = total, (start_ns, max(end_ns, start_ns + 1))
        self.started = self.shown = time.perf_counter()

    def show(self, frames: int, bag_ns: int, final: bool = False) -> None:
        """Redraw the line (at most 5 times a second)."""
        now = time.perf_counter()
        if not self.on or (now - self.shown < 0.2 and not final):
            return
        self.shown = now
        elapsed = now - self.started
        done = min(1.0, max(0.0, (bag_ns - self.span[0]) / (self.span[1] - self.span[0])))
        eta = elapsed * (1 - done) / done if done > 0 else 0.0
        sys.stderr.write(f'\r  {frames}/~{self.total} frames  {frames / max(elapsed, 1e-9):.1f} '
                         f'fps  {100 * done:3.0f}%  ETA {eta // 60:.0f}:{eta % 60:02.0f}   ')
        if final:
            sys.stderr.write('\n')
        sys.stderr.flush()


def class_shares(cameras: Sequence[BagCamera], names: Sequence[str]) -> Dict[str, float]:
    """Return each class's share of the pixels labelled (sampled), 0.1 % and up, largest first."""
    counted = [c.pixels for c in cameras if c.pixels is not None]
    pixels = np.sum(counted, axis=0) if counted else np.zeros(0)
    if not pixels.sum():
        return {}
    shares = pixels / pixels.sum()
    return {str(names[i] if i < len(names) else i): round(float(shares[i]), 4)
            for i in np.argsort(-shares) if shares[i] >= 0.001}


@dataclasses.dataclass
class BagResult:
    """What became of one input bag: the summary JSON has one of these per bag."""

    input: str  # noqa: A003
    output: str
    status: str  # done, skipped (complete already), failed, interrupted
    reason: str = ''
    frames: Dict[str, int] = dataclasses.field(default_factory=dict)    # by image topic
    rejected: Dict[str, int] = dataclasses.field(default_factory=dict)  # by image topic
    class_shares: Dict[str, float] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    notes: List[str] = dataclasses.field(default_factory=list)

    @classmethod
    def of_cameras(cls, plan: Any, names: Sequence[str], seconds: float, interrupted: bool,
                   notes: List[str]) -> 'BagResult':
        """Return the result of a bag labelled (or interrupted) by its plan's cameras."""
        return cls(str(plan.source), str(plan.out), 'interrupted' if interrupted else 'done',
                   frames={c.topic: c.frames for c in plan.cameras},
                   rejected={c.topic: c.rejected for c in plan.cameras},
                   class_shares=class_shares(plan.cameras, names), seconds=round(seconds, 3),
                   notes=notes)

    @property
    def frame_count(self) -> int:
        """Return the frames labelled, over every topic."""
        return sum(self.frames.values())

    def line(self) -> str:
        """Return the one line said of this bag when it ends."""
        if self.status == 'skipped':
            return f'skipped {self.input}: {self.output} is complete'
        if self.status == 'failed':
            return f'FAILED {self.input}: {self.reason}'
        rejected = sum(self.rejected.values())
        return (f'{self.status} {self.input} -> {self.output}: {self.frame_count} frames '
                f'({len(self.frames)} topics), {rejected} rejected, {self.seconds:.1f} s')


def print_summary(cameras: Sequence[BagCamera], names: Sequence[str], written: Dict[str, int],
                  seconds: float, interrupted: str) -> None:
    """
    Print frames per topic, rejections, class fractions, what was written, time taken.

    :param interrupted: Said after the time when the run was interrupted ('' when not).
    """
    frames = sum(c.frames for c in cameras)
    for camera in cameras:
        every = f', {camera.skipped} left out by --every' if camera.skipped else ''
        print(f'  {camera.topic}: {camera.frames} frames segmented, {camera.rejected} '
              f'rejected{every}')
        if camera.pixels is not None and camera.pixels.sum():
            shares = camera.pixels / camera.pixels.sum()
            top = [i for i in np.argsort(-shares) if shares[i] >= 0.001][:8]
            print('    classes: ' + ', '.join(
                f'{names[i] if i < len(names) else i} {100 * shares[i]:.1f}%' for i in top))
        for reason, count in camera.reasons.items():
            print(f'    rejected {count}x: {reason}')
        for note, count in camera.notes.items():
            print(f'    clouds ({count} frames): {note}')
    outputs = {t: n for t, n in written.items() if '/segmentation/' in t}
    print(f'  written: {sum(outputs.values())} output messages on {len(outputs)} topics, '
          f'{sum(written.values()) - sum(outputs.values())} messages passed through')
    print(f'  {frames} frames in {seconds:.1f} s ({frames / max(seconds, 1e-9):.1f} fps)'
          + interrupted)


class FleetProgress:
    """The one progress line of a run over many bags: bags, frames, fps, time left."""

    def __init__(self, bags: int) -> None:
        """Expect ``bags`` bags (some may be skipped)."""
        self.on = sys.stderr.isatty()
        self.bags, self.ended, self.frames = bags, 0, 0
        self.expected: Dict[int, int] = {}  # frames expected of each bag started
        self.started = self.shown = time.perf_counter()

    def start(self, index: int, frames: int) -> None:
        """Count a bag begun, of about ``frames`` frames."""
        self.expected[index] = frames

    def add(self, frames: int) -> None:
        """Count frames labelled."""
        self.frames += frames
        self.show()

    def end(self, result: BagResult) -> None:
        """Count a bag ended; say what became of it."""
        self.ended += 1
        if self.on:
            sys.stderr.write('\r\033[K')
        print(f'  [{self.ended}/{self.bags}] {result.line()}', flush=True)
        for note in result.notes:
            print(f'    note: {note}', flush=True)
        self.show(force=True)

    def show(self, force: bool = False) -> None:
        """Redraw the line (at most 5 times a second) on a terminal."""
        now = time.perf_counter()
        if not self.on or (now - self.shown < 0.2 and not force):
            return
        self.shown = now
        rate = self.frames / max(now - self.started, 1e-9)
        known = list(self.expected.values())
        total = sum(known) + (sum(known) / len(known) if known else 0) * (
            self.bags - len(known))
        left = max(total - self.frames, 0) / rate if rate > 0 else 0
        sys.stderr.write(f'\r  bags {self.ended}/{self.bags}  {self.frames} frames  '
                         f'{rate:.1f} fps  ETA {left // 3600:.0f}:{left % 3600 // 60:02.0f}:'
                         f'{left % 60:02.0f}   ')
        sys.stderr.flush()


def print_totals(results: Sequence[BagResult], seconds: float) -> None:
    """Print the run's summary: bags by status, frames, rejected, failures with reasons, fps."""
    by_status: Dict[str, int] = {}
    for result in results:
        by_status[result.status] = by_status.get(result.status, 0) + 1
    frames = sum(r.frame_count for r in results)
    rejected = sum(sum(r.rejected.values()) for r in results)
    print(f'deeplab bag: {len(results)} bags: ' + ', '.join(
        f'{n} {status}' for status, n in sorted(by_status.items())))
    for result in results:
        if result.status == 'failed':
            print(f'  failed: {result.input}: {result.reason}')
    print(f'  {frames} frames, {rejected} rejected, in {seconds:.1f} s '
          f'({frames / max(seconds, 1e-9):.1f} fps)')


def write_json(path: Path, results: Sequence[BagResult], seconds: float) -> None:
    """Write the summary JSON: the run's totals and one entry per bag."""
    frames = sum(r.frame_count for r in results)
    data = {'bags': len(results), 'frames': frames, 'seconds': round(seconds, 3),
            'fps': round(frames / max(seconds, 1e-9), 2),
            'failed': sum(r.status == 'failed' for r in results),
            'results': [dataclasses.asdict(r) for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + '\n', encoding='utf-8')
