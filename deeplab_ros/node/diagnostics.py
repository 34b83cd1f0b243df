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
Frame counters and latency statistics of one camera, summarised as a diagnostic status.

Pure Python/numpy, no ROS: the node records events from its threads and turns each
:class:`Report` into a ``diagnostic_msgs/DiagnosticStatus``. Levels use the DiagnosticStatus
values (:data:`OK`, :data:`WARN`, :data:`ERROR`).
"""

from collections import deque
from dataclasses import dataclass, field
import threading
from typing import Deque, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

OK = 0
WARN = 1
ERROR = 2

#: Timed stages, in pipeline order. ``end_to_end`` runs from the input stamp to publish.
STAGES = ('decode', 'preprocess', 'inference', 'postprocess', 'render', 'clouds', 'publish',
          'end_to_end')

#: Fraction of the frames offered to the worker that may be dropped before WARN.
DROP_WARN_RATIO = 0.5

#: Frame counters, in the order of the diagnostic keys ``frames_<name>``. Every frame the
#: camera published ends in exactly one of the others: received = processed + dropped +
#: lost + throttled + idle + rejected + failed (frames still being processed aside).
COUNTERS = ('received', 'processed', 'dropped', 'lost', 'throttled', 'idle', 'rejected',
            'failed')


@dataclass(frozen=True)
class EngineSummary:
    """What the diagnostics say about the loaded model, from the engine's info."""

    model: str
    runtime: str
    delegate: str
    fell_back: bool = False
    fallback_reason: str = ''
    input_size: Tuple[int, int] = (0, 0)
    accelerator: str = ''
    fully_accelerated: Optional[bool] = None
    cpu_share: str = ''
    overlap: str = 'off'  # whether a frame's pictures are made during the next inference


@dataclass(frozen=True)
class Report:
    """One diagnostic status: level, human message and ordered key/value pairs."""

    level: int
    message: str
    values: List[Tuple[str, str]] = field(default_factory=list)


class FrameStats:
    """
    Thread-safe frame counters and rolling latency windows of one camera.

    Counters are cumulative since construction; rates, drop ratios and failures are judged
    over the period since the previous :meth:`report`.
    """

    def __init__(self, window: int = 256, now: float = 0.0) -> None:
        """
        Create empty statistics.

        :param window: How many recent frames the latency percentiles cover.
        :param now: Monotonic time in seconds at which the first period starts.
        """
        if window < 1:
            raise ValueError(f'window must be at least 1 frame, got {window}')
        self._lock = threading.Lock()
        self._latency: Dict[str, Deque[float]] = {s: deque(maxlen=window) for s in STAGES}
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.lost = 0
        self.throttled = 0
        self.idle = 0
        self.rejected = 0
        self.failed = 0
        self.pictures_skipped = 0  # of processed frames: labels published, pictures not
        self.last_reject_reason = ''
        self.last_failure_reason = ''
        self._period_start = now
        self._period_base = (0,) * len(COUNTERS)
        self._heard: Optional[float] = None  # end of the last period with frames

    def on_received(self, count: int = 1) -> None:
        """Count frames the camera published to the node."""
        with self._lock:
            self.received += count

    def on_dropped(self, count: int = 1) -> None:
        """Count frames replaced by newer ones while the node was busy (or lost on the way)."""
        with self._lock:
            self.dropped += count

    def on_lost(self, count: int = 1) -> None:
        """Count frames the camera published that never reached the node."""
        with self._lock:
            self.lost += count

    def on_throttled(self, count: int = 1) -> None:
        """Count frames left out to keep to ``max_rate``."""
        with self._lock:
            self.throttled += count

    def on_idle(self, count: int = 1) -> None:
        """Count frames left out because no output had subscribers."""
        with self._lock:
            self.idle += count

    def on_rejected(self, reason: str) -> None:
        """
        Count a malformed frame.

        :param reason: Why it was rejected, shown in the diagnostics.
        """
        with self._lock:
            self.rejected += 1
            self.last_reject_reason = reason

    def on_failed(self, reason: str) -> None:
        """
        Count a frame whose inference or publishing raised.

        :param reason: The error, shown in the diagnostics.
        """
        with self._lock:
            self.failed += 1
            self.last_failure_reason = reason

    def on_processed(self, stage_ms: Mapping[str, float], pictures: bool = True) -> None:
        """
        Count a frame processed and published, with its stage latencies.

        :param stage_ms: Milliseconds per stage; stages from :data:`STAGES` that are absent
            (e.g. ``end_to_end`` for an unstamped frame) are not recorded.
        :param pictures: False: only its labels were published, its pictures and clouds
            skipped (the second stage was busy); counted in ``pictures_skipped`` too.
        """
        with self._lock:
            self.processed += 1
            self.pictures_skipped += not pictures
            for stage, ms in stage_ms.items():
                window = self._latency.get(stage)
                if window is not None:
                    window.append(float(ms))

    def percentiles(self, stage: str) -> Optional[Tuple[float, float, float]]:
        """
        Return the p50, p95 and maximum latency of a stage over the window.

        :param stage: One of :data:`STAGES`.
        :return: ``(p50, p95, max)`` in ms, or None before any sample.
        """
        with self._lock:
            samples = np.fromiter(self._latency[stage], dtype=np.float64)
        if samples.size == 0:
            return None
        p50, p95 = np.percentile(samples, (50, 95))
        return float(p50), float(p95), float(samples.max())

    def report(self, now: float, engine: EngineSummary, latency_warn_ms: float,
               warnings: Sequence[str] = (), quiet_s: float = 0.0) -> Report:
        """
        Summarise the statistics and start a new period.

        :param now: Monotonic time in seconds.
        :param engine: The loaded model, runtime and delegate.
        :param latency_warn_ms: End-to-end (or, for unstamped frames, processing) latency
            p95 above which the level is WARN; 0 disables the check.
        :param warnings: Further reasons to WARN (e.g. a missing camera_info), in words.
        :param quiet_s: Seconds without frames that are no silence: frames are counted when
            the worker takes one, so ``max_rate``'s period, and the processing time (added
            here), may pass without any.
        :return: The level, a message saying why, and the diagnostic key/values.
        """
        period = self._next_period(now)
        stats = {stage: self.percentiles(stage) for stage in STAGES}
        level, reasons = _judge(period, engine, stats, latency_warn_ms, warnings)
        if not reasons:
            if period.heard is None:
                reasons.append('no images received')
            elif now - period.heard > quiet_s + 1e-3 * (_processing_latency(stats) or (0, 0))[1]:
                reasons.append(f'no images received for {now - period.heard:.0f} s')
            else:
                reasons.append(f'{period.fps:.1f} fps')
        return Report(level, '; '.join(reasons), _values(period, engine, stats))

    def _next_period(self, now: float) -> '_Period':
        """Return the counters of the period ending now, and start the next one."""
        with self._lock:
            counts = tuple(getattr(self, name) for name in COUNTERS)
            base = self._period_base
            elapsed = now - self._period_start
            self._period_base = counts
            self._period_start = now
            if counts[0] != base[0]:
                self._heard = now
            return _Period(counts, {n: c - b for n, c, b in zip(COUNTERS, counts, base)}, elapsed,
                           self._heard, self.pictures_skipped, self.last_reject_reason,
                           self.last_failure_reason)


@dataclass(frozen=True)
class _Period:
    """The counters of one period between reports."""

    totals: Tuple[int, ...]  # cumulative, in :data:`COUNTERS` order
    deltas: Dict[str, int]   # of this period, by counter name
    elapsed: float
    heard: Optional[float]   # end of the last period with frames
    pictures_skipped: int    # cumulative
    reject_reason: str
    failure_reason: str

    @property
    def fps(self) -> float:
        """Return the frames processed per second in this period."""
        return self.deltas['processed'] / self.elapsed if self.elapsed > 0 else 0.0


def _values(period: _Period, engine: EngineSummary,
            stats: Mapping[str, Optional[Tuple[float, float, float]]]) -> List[Tuple[str, str]]:
    """Return the diagnostic key/values of a period, in the documented order."""
    values = [
        ('model', engine.model),
        ('runtime', engine.runtime),
        ('delegate', engine.delegate),
        ('delegate_fell_back', str(engine.fell_back)),
        ('accelerator', engine.accelerator),
        ('fully_accelerated', 'n/a' if engine.fully_accelerated is None
         else str(engine.fully_accelerated)),
        ('cpu_share', engine.cpu_share or 'n/a'),
        ('input_size', f'{engine.input_size[0]}x{engine.input_size[1]}'),
        ('overlap', engine.overlap),
    ] + [(f'frames_{name}', str(count)) for name, count in zip(COUNTERS, period.totals)] + [
        ('pictures_skipped', str(period.pictures_skipped)),
        ('fps', f'{period.fps:.2f}'),
    ]
    for stage in STAGES:
        p = stats[stage]
        for suffix, index in (('p50', 0), ('p95', 1), ('max', 2)):
            values.append((f'{stage}_ms_{suffix}', f'{p[index]:.1f}' if p else 'n/a'))
    if engine.fell_back:
        values.append(('fallback_reason', engine.fallback_reason))
    if period.reject_reason:
        values.append(('last_reject_reason', period.reject_reason))
    if period.failure_reason:
        values.append(('last_failure_reason', period.failure_reason))
    return values


def _judge(period: _Period, engine: EngineSummary,
           stats: Mapping[str, Optional[Tuple[float, float, float]]], latency_warn_ms: float,
           warnings: Sequence[str]) -> Tuple[int, List[str]]:
    """Return the level of a period and the reasons for it (none: all is well)."""
    level, reasons, count = OK, [], period.deltas

    def warn(reason: str, at: int = WARN) -> None:
        nonlocal level
        level = max(level, at)
        reasons.append(reason)
    if count['failed']:
        warn(f"inference failed on {count['failed']} frame(s): {period.failure_reason}", ERROR)
    if engine.fell_back:
        warn(f'delegate fell back to {engine.delegate}: {engine.fallback_reason}')
    latency = stats['end_to_end'] or _processing_latency(stats)
    if latency_warn_ms > 0 and latency is not None and latency[1] > latency_warn_ms:
        warn(f'latency p95 {latency[1]:.0f} ms exceeds latency_warn_ms {latency_warn_ms:g}')
    offered = count['received'] - sum(
        count[name] for name in ('lost', 'throttled', 'idle', 'rejected'))
    if offered > 0 and count['dropped'] > DROP_WARN_RATIO * offered:
        warn(f"{100.0 * count['dropped'] / offered:.0f}% of frames dropped: the camera is "
             f'faster than inference ({period.fps:.1f} fps); lower the camera rate or set '
             'max_rate')
    if count['lost']:
        warn(f"{count['lost']} frame(s) lost in transport: give the camera driver the "
             'large-data Fast DDS profile too (doc/node.md: Large images and DDS)')
    if count['rejected']:
        warn(f"{count['rejected']} malformed frame(s) rejected: {period.reject_reason}")
    for reason in warnings:
        warn(reason)
    return level, reasons


def _processing_latency(
        stats: Mapping[str, Optional[Tuple[float, float, float]]]
) -> Optional[Tuple[float, float, float]]:
    """Sum the per-stage percentiles of the processing stages (an upper-bound estimate)."""
    parts = [stats[s] for s in STAGES[:-1] if stats[s] is not None]
    if not parts:
        return None
    return tuple(sum(p[i] for p in parts) for i in range(3))
