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
Frame scheduling: which camera's frame the worker takes next, and what became of every frame.

Pure Python, no ROS. The node's worker takes camera frames from the middleware itself, and
only when it is free to segment one: frames that arrive while it is busy, while ``max_rate``
holds a camera back, or while nobody subscribes to an output stay in the middleware, which
keeps the newest (one by default) and replaces older ones, so they cost no Python work.
Every frame is still accounted for: the publisher numbers its frames (publication sequence
numbers), so a gap between two frames the worker took counts the frames it never took, and
the middleware's message-lost count (Fast DDS reports frames that never arrived) says how
many of those were lost in transport; the rest were skipped, for the reason that applied.
Several publishers on one topic number their frames independently: each frame is counted
against the publisher whose last number is the highest below its own (exact while their
numbers stay apart, as a restarted publisher's or a second one's do), preferring publishers
heard from recently, so that a restarted publisher's old entry cannot absorb a later gap.
"""

from dataclasses import dataclass
import math
from typing import List, Optional, Sequence

from deeplab_ros.node.diagnostics import FrameStats

#: The middleware's value for "no sequence number" (rmw_message_info_t), and a missing one.
_NO_SEQUENCE = (None, 0, (1 << 64) - 1)
#: Publishers followed per camera topic; the one heard from least recently is forgotten.
_PUBLISHERS = 4
#: A publisher not heard from for this long is not preferred for a frame (see _gap).
STALE_S = 2.0


@dataclass(frozen=True)
class Taken:
    """A frame the worker took: its publication sequence number and, if malformed, why."""

    sequence: Optional[int]
    reject_reason: str = ''


class RateGate:
    """
    Lets frames through at most ``rate`` times a second, at that rate on average.

    The schedule is phase locked: each accepted frame moves the due time on by one period
    from the previous due time, not from the arrival, so that a camera whose frames arrive
    a little after each due time still delivers the asked rate (a 30 Hz camera at 5 Hz: 5
    frames a second, not one every 7th frame). A new rate applies at once, from the last
    frame accepted.
    """

    def __init__(self) -> None:
        """Start open: the first frame is due at once."""
        self._due = -math.inf
        self._last = -math.inf
        self._rate = 0.0

    def due(self, rate: float) -> float:
        """Return the monotonic time from which the next frame is accepted (rate 0: always)."""
        if rate <= 0:
            self._rate = 0.0
            return -math.inf
        if rate != self._rate:
            self._rate, self._due = rate, self._last + 1.0 / rate
        return self._due

    def accepted(self, now: float, rate: float) -> None:
        """Record a frame accepted at ``now``."""
        self._last = now
        if rate <= 0:
            return
        period = 1.0 / rate
        late = now - self.due(rate)
        self._due = now + period if not 0 <= late < period else self._due + period


class CameraSchedule:
    """
    One camera: when its next frame may be taken, and the accounting of its frames.

    The worker calls :meth:`due` (and :meth:`note_idle` when no output has subscribers)
    before waiting, and :meth:`choose` with everything it took at once, oldest first, and the
    middleware's cumulative message-lost count of the subscription.
    """

    def __init__(self, stats: FrameStats) -> None:
        """Account into ``stats``."""
        self.stats = stats
        self.gate = RateGate()
        self._publishers: List[List[float]] = []  # [last number, heard at, rate], oldest first
        self._idle = False
        self._lost_seen = 0
        self._lost_ahead = 0  # frames counted lost whose gap no frame taken has shown yet
        self._taken_at: Optional[float] = None

    def restart(self) -> None:
        """Start counting afresh (at activate: frames sent while unsubscribed never came)."""
        self._publishers = []
        self._idle = False
        self._lost_seen = self._lost_ahead = 0
        self._taken_at = None

    def note_lost(self, lost_total: Optional[int]) -> None:
        """
        Count frames the middleware reports lost on the way, as soon as it does.

        :param lost_total: The subscription's cumulative message-lost count (None: not
            reported). Frames lost after the last frame taken are counted even when no later
            frame ever arrives to show their gap; a later gap is not counted twice.
        """
        if lost_total is None or lost_total <= self._lost_seen:
            return
        new, self._lost_seen = lost_total - self._lost_seen, lost_total
        self._lost_ahead += new
        self.stats.on_received(new)
        self.stats.on_lost(new)

    def note_idle(self) -> None:
        """Record that no output has subscribers: frames not taken meanwhile are idle."""
        self._idle = True

    def due(self, now: float, max_rate: float) -> float:
        """Return when the next frame may be taken (at or before ``now``: at once)."""
        return self.gate.due(max_rate)

    def _gap(self, sequence: Optional[int], now: float) -> int:
        """
        Return how many frames the frame's publisher sent since its last one taken.

        The frame is counted against the publisher heard from within :data:`STALE_S` whose
        last number is the highest below its own, and that could have sent this one since
        at the rate it has been sending (twice that, plus 2; a publisher heard from once: 2);
        failing that, against the
        highest below. So a restarted publisher's old entry, not heard from since, does not
        take its frames, nor does a slow second publisher those of a paused first one.
        """
        if sequence in _NO_SEQUENCE:
            return 0
        earlier = [p for p in self._publishers if p[0] < sequence]
        fresh = [p for p in earlier if now - p[1] <= STALE_S
                 and sequence - p[0] - 1 <= 2.0 * p[2] * (now - p[1]) + 2]
        if not earlier:  # a publisher not heard from before, or restarted
            publisher, gap = [sequence, now, 0.0], 0
        else:
            publisher = max(fresh or earlier, key=lambda p: p[0])
            self._publishers.remove(publisher)
            gap = int(sequence - publisher[0] - 1)
            if now > publisher[1]:
                publisher[2] = (gap + 1) / (now - publisher[1])
            publisher[:2] = sequence, now
        self._publishers = (self._publishers + [publisher])[-_PUBLISHERS:]
        return gap

    def _skipped(self, count: int, now: float, due: float) -> None:
        """
        Count frames the worker did not take, with the reason that applied.

        While ``max_rate`` held the camera back (until ``due``) they were throttled, after
        that dropped (the worker was busy); the gap is split by time, exact within a frame
        for a camera publishing at a steady rate.
        """
        if count <= 0:
            return
        if self._idle:
            self.stats.on_idle(count)
            return
        throttled = 0
        if self._taken_at is not None and due > self._taken_at and now > self._taken_at:
            share = min(1.0, (due - self._taken_at) / (now - self._taken_at))
            throttled = int(round(count * share))
        if throttled:
            self.stats.on_throttled(throttled)
        if count - throttled:
            self.stats.on_dropped(count - throttled)

    def _account(self, taken: Sequence[Taken], now: float, due: float,
                 lost_total: Optional[int]) -> List[int]:
        """
        Count frames taken together (oldest first) and those missing before each.

        :param lost_total: As for :meth:`note_lost`. Missing frames are lost up to what the
            middleware reported (and was counted then); the rest were skipped
            (:meth:`_skipped`).
        :return: The indices of the well-formed frames.
        """
        self.note_lost(lost_total)
        missing = sum(self._gap(frame.sequence, now) for frame in taken)
        lost = min(missing, self._lost_ahead)
        self._lost_ahead -= lost
        self.stats.on_received(missing - lost + len(taken))
        self._skipped(missing - lost, now, due)
        good = []
        for index, frame in enumerate(taken):
            if frame.reject_reason:
                self.stats.on_rejected(frame.reject_reason)
            else:
                good.append(index)
        self._taken_at = now
        return good

    def discard(self, taken: Sequence[Taken], now: float,
                lost_total: Optional[int] = None) -> None:
        """Account for frames taken only to keep the counts current (idle camera)."""
        self._idle = True
        good = self._account(taken, now, -math.inf, lost_total)
        if good:
            self.stats.on_idle(len(good))

    def choose(self, taken: Sequence[Taken], now: float, max_rate: float,
               lost_total: Optional[int] = None) -> Optional[int]:
        """
        Account for frames taken together and return the index of the one to segment.

        The newest well-formed frame is chosen; malformed ones are rejected (so a malformed
        frame never displaces a good one taken with it), older good ones are dropped.

        :param taken: The frames taken, oldest first.
        :param lost_total: As for :meth:`_account`.
        :return: Index into ``taken``, or None when every frame was malformed.
        """
        good = self._account(taken, now, self.gate.due(max_rate), lost_total)
        self._idle = False
        if not good:
            return None
        if len(good) > 1:
            self.stats.on_dropped(len(good) - 1)
        self.gate.accepted(now, max_rate)
        return good[-1]


class RoundRobin:
    """Serves ready cameras in turn, starting after the one served last."""

    def __init__(self, count: int) -> None:
        """Serve ``count`` cameras."""
        self.count = count
        self._last = count - 1

    def order(self, ready: Sequence[int]) -> List[int]:
        """Return the ready camera indices in the order to serve them now."""
        return sorted(ready, key=lambda i: (i - self._last - 1) % self.count)

    def served(self, index: int) -> None:
        """Record that camera ``index`` was served."""
        self._last = index
