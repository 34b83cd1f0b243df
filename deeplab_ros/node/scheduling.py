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
keeps the newest few, and cost no Python work. Every frame is still accounted for: the
publisher numbers its frames (publication sequence numbers), so a gap between two frames the
worker took counts the frames it never took, attributed to why it did not take them.
Several publishers on one topic number their frames independently: each frame is counted
against the publisher whose last number is the highest below its own (exact while their
numbers stay apart, as a restarted publisher's or a second one's do).
"""

from dataclasses import dataclass
import math
from typing import List, Optional, Sequence, Tuple

from deeplab_ros.node.diagnostics import FrameStats

#: The middleware's value for "no sequence number" (rmw_message_info_t), and a missing one.
_NO_SEQUENCE = (None, 0, (1 << 64) - 1)
#: Publishers followed per camera topic; the one heard from least recently is forgotten.
_PUBLISHERS = 4


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
    before waiting, and :meth:`choose` with everything it took at once, oldest first.
    """

    def __init__(self, stats: FrameStats, queue: int = 1) -> None:
        """
        Account into ``stats``.

        :param queue: Frames the middleware keeps while the worker is busy (the
            subscription's depth): a gap while fewer were waiting means frames were lost.
        """
        self.stats = stats
        self.gate = RateGate()
        self.queue = queue
        self._publishers: List[List[int]] = []  # [last sequence, batch], least recent first
        self._batch = 0
        self._idle = False
        self._throttled = False

    def restart(self, queue: int) -> None:
        """Start counting afresh (at activate: frames sent while unsubscribed never came)."""
        self.queue = queue
        self._publishers = []
        self._idle = self._throttled = False

    def note_idle(self) -> None:
        """Record that no output has subscribers: frames not taken meanwhile are idle."""
        self._idle = True

    def due(self, now: float, max_rate: float) -> float:
        """Return when the next frame may be taken (at or before ``now``: at once)."""
        due = self.gate.due(max_rate)
        if due > now:
            self._throttled = True
        return due

    def _skipped(self, count: int, lost: bool = False) -> None:
        """Count frames the worker did not take or did not choose, with the reason why."""
        if count <= 0:
            return
        if lost:
            self.stats.on_lost(count)
        elif self._idle:
            self.stats.on_idle(count)
        elif self._throttled:
            self.stats.on_throttled(count)
        else:
            self.stats.on_dropped(count)

    def _gap(self, sequence: Optional[int]) -> Tuple[int, bool]:
        """
        Return how many frames its publisher sent since its last one taken.

        Also whether that one was taken in this batch.
        """
        if sequence in _NO_SEQUENCE:
            return 0, False
        earlier = [p for p in self._publishers if p[0] < sequence]
        if not earlier:  # a publisher not heard from before, or restarted
            publisher = [sequence, self._batch]
            gap, in_batch = 0, False
        else:
            publisher = max(earlier, key=lambda p: p[0])
            self._publishers.remove(publisher)
            gap, in_batch = sequence - publisher[0] - 1, publisher[1] == self._batch
            publisher[:] = sequence, self._batch
        self._publishers = (self._publishers + [publisher])[-_PUBLISHERS:]
        return gap, in_batch

    def _account(self, taken: Sequence[Taken]) -> List[int]:
        """
        Count frames taken together (oldest first) and those missing before each.

        The middleware keeps waiting frames in order and replaces the oldest only once its
        queue is full: frames missing between two taken together, or before frames taken when
        the queue was not full, never arrived (lost). Others were not taken (see
        :meth:`_skipped`). Malformed frames are rejected.

        :return: The indices of the well-formed frames.
        """
        self._batch += 1
        replaced = len(taken) >= self.queue or self._idle
        good = []
        for index, frame in enumerate(taken):
            gap, in_batch = self._gap(frame.sequence)
            self.stats.on_received(gap + 1)
            self._skipped(gap, in_batch or not replaced)
            if frame.reject_reason:
                self.stats.on_rejected(frame.reject_reason)
            else:
                good.append(index)
        return good

    def discard(self, taken: Sequence[Taken]) -> None:
        """Account for frames taken only to keep the counts current (idle camera)."""
        self._skipped(len(self._account(taken)))

    def choose(self, taken: Sequence[Taken], now: float, max_rate: float) -> Optional[int]:
        """
        Account for frames taken together and return the index of the one to segment.

        The newest well-formed frame is chosen; malformed ones are rejected (so a malformed
        frame never displaces a good one), older good ones are skipped like frames never
        taken, with the reason that applied (idle, throttled, else dropped; frames missing
        while the queue was not full were lost in transport).

        :param taken: The frames taken, oldest first.
        :return: Index into ``taken``, or None when every frame was malformed.
        """
        good = self._account(taken)
        if not good:
            return None
        self._skipped(len(good) - 1)
        self.gate.accepted(now, max_rate)
        self._idle = self._throttled = False
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
