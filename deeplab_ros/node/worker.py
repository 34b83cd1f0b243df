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
The worker loop: wait for the cameras that want a frame, take the newest, segment it.

No rclpy here: the loop drives an :class:`Intake` (the middleware, :mod:`.intake` in the
node; a fake in the unit tests) and calls back into the node to segment and publish. Each
turn reads one snapshot of the live settings and uses it for every decision of that turn.
Cameras are served in turn; a camera held back by ``max_rate`` is woken when it is due, and
a camera nobody subscribes to is looked at every :data:`IDLE_WAIT_S`, taking one frame to
keep its counts current.
"""

from dataclasses import dataclass
import threading
import time
from typing import (Any, Callable, FrozenSet, List, Optional, Protocol, Sequence, Set,
                    Tuple)

from deeplab_ros.frame.codec import check_raw, DecodeError, inspect_compressed
from deeplab_ros.frame.wire import Frame
from deeplab_ros.node import scheduling
from deeplab_ros.node.diagnostics import FrameStats
from deeplab_ros.parameters import Live

#: How often an idle camera (no subscribers) is checked and its frames counted.
IDLE_WAIT_S = 0.1
#: The longest wait otherwise (frames, due times and wakes end it earlier).
LONGEST_WAIT_S = 1.0
#: How long stopping waits for a frame in progress before saying which stage hangs.
STOP_TIMEOUT_S = 5.0
_LOG_THROTTLE_S = 5.0


class Intake(Protocol):
    """What the worker needs of the middleware, per camera index."""

    def wait(self, cameras: Sequence[int], timeout: float) -> Set[int]:
        """Block until a frame waits for some of ``cameras``, a wake, or the timeout."""

    def take(self, camera: int, limit: int) -> List[Tuple[Any, Optional[int]]]:
        """Take up to ``limit`` waiting frames, oldest first: (serialized, sequence number)."""

    def lost(self, camera: int) -> Optional[int]:
        """Return the cumulative count of frames lost in transport (None: not reported)."""

    def read(self, camera: int, serialized: Any) -> Frame:
        """Return the fields of a serialized frame, or raise."""

    def queue(self, camera: int) -> int:
        """Return how many frames the middleware keeps for the camera (its QoS depth)."""


@dataclass(eq=False)
class WorkerCamera:
    """One camera as the worker sees it."""

    name: str  # the image topic, for log lines
    stats: FrameStats
    wanted: Callable[[float, Live], FrozenSet[str]]  # outputs to compute now; empty: idle
    schedule: Optional[scheduling.CameraSchedule] = None
    counted_at: float = -IDLE_WAIT_S

    def __post_init__(self) -> None:
        """Schedule into the camera's statistics."""
        if self.schedule is None:
            self.schedule = scheduling.CameraSchedule(self.stats)


#: The node's work on a chosen frame: camera index, frame, settings, outputs; returns the
#: size in bytes of its largest buffer (for the memory bookkeeping).
Process = Callable[[int, Frame, Live, FrozenSet[str]], int]


class Worker:
    """The thread that takes and segments camera frames."""

    def __init__(self, intake: Intake, cameras: Sequence[WorkerCamera], process: Process,
                 settings: Callable[[], Live], logger: Any, compressed: bool = False,
                 stage: Callable[[], str] = lambda: 'idle',
                 after_frame: Callable[[int], Any] = lambda size: None) -> None:
        """
        Prepare the loop; :meth:`start` runs it.

        :param settings: Returns the current live settings (read once per turn).
        :param logger: Has ``warning`` and ``error`` (rclpy's logger: throttled calls).
        :param stage: Names what a frame in progress is doing (for a hang report).
        :param after_frame: Called with the size of each frame handled.
        """
        self.intake, self.cameras, self.process = intake, list(cameras), process
        self.settings, self.logger, self.compressed = settings, logger, compressed
        self.stage, self.after_frame = stage, after_frame
        self.robin = scheduling.RoundRobin(len(self.cameras))
        self.stopping = False
        self.busy_since: Optional[float] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Run the loop in a thread of its own."""
        self.stopping = False
        for camera in self.cameras:
            camera.schedule.restart()
        self._thread = threading.Thread(target=self.run, name='deeplab_worker', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S, wake: Callable[[], Any] = lambda: None
             ) -> Optional[str]:
        """
        Stop the loop and wait for it up to ``timeout`` seconds.

        :param wake: Ends a wait of the intake at once.
        :return: None once stopped; else what the frame in progress hangs in, in words.
        """
        self.stopping = True
        wake()
        if self._thread is None:
            return None
        self._thread.join(timeout)
        if self._thread.is_alive():
            since = self.busy_since
            held = f' for {time.monotonic() - since:.1f} s' if since is not None else ''
            return f'stage {self.stage()}{held}'
        self._thread = None
        return None

    def run(self) -> None:
        """Serve the cameras until :meth:`stop`."""
        while not self.stopping:
            try:
                self.turn()
            except Exception as error:  # never let the worker die; say what happened
                if self.stopping:
                    return
                self.logger.error(f'frame handling failed: {type(error).__name__}: {error}',
                                  throttle_duration_sec=_LOG_THROTTLE_S)
                time.sleep(IDLE_WAIT_S)

    def turn(self) -> None:
        """Wait once for the cameras that want a frame, then serve the ready ones in turn."""
        live, now = self.settings(), time.monotonic()
        timeout, candidates = LONGEST_WAIT_S, {}
        for index, camera in enumerate(self.cameras):
            camera.schedule.note_lost(self.intake.lost(index))
            wanted = camera.wanted(now, live)
            if not wanted:
                camera.schedule.note_idle()
                self._count_idle(index, now)
                timeout = min(timeout, IDLE_WAIT_S)
                continue
            due = camera.schedule.due(now, live.max_rate)
            if due > now:
                timeout = min(timeout, due - now)
            else:
                candidates[index] = wanted
        ready = self.intake.wait(list(candidates), max(0.0, timeout))
        for index in self.robin.order([i for i in candidates if i in ready]):
            if self.stopping:
                break
            self.robin.served(index)
            self.after_frame(self._serve(index, live, candidates[index]))

    def _count_idle(self, index: int, now: float) -> None:
        """Take one waiting frame of an idle camera now and then, to keep its counts current."""
        camera = self.cameras[index]
        if now - camera.counted_at < IDLE_WAIT_S:
            return
        camera.counted_at = now
        taken = self.intake.take(index, 1)
        if taken:
            camera.schedule.discard([scheduling.Taken(taken[-1][1])], now,
                                    self.intake.lost(index))

    def _check(self, index: int, serialized: Any, max_pixels: int) -> Tuple[Optional[Frame], str]:
        """Read and check a taken frame without decoding it: (frame, '') or (None, why)."""
        try:
            frame = self.intake.read(index, serialized)
            if frame.fmt or self.compressed:
                inspect_compressed(frame.fmt, frame.data, max_pixels)
            else:
                check_raw(frame.encoding, frame.height, frame.width, frame.step,
                          len(frame.data), max_pixels)
            return frame, ''
        except DecodeError as error:
            return None, str(error)
        except Exception as error:  # the middleware cannot read the message either
            return None, f'unreadable message: {type(error).__name__}: {error}'

    def _serve(self, index: int, live: Live, wanted: FrozenSet[str]) -> int:
        """Take a camera's waiting frames, choose the newest good one and segment it."""
        camera = self.cameras[index]
        got = self.intake.take(index, self.intake.queue(index))
        if not got:
            return 0
        checked = [self._check(index, serialized, live.max_input_pixels)
                   for serialized, _ in got]
        taken = [scheduling.Taken(sequence, reason)
                 for (_, sequence), (_, reason) in zip(got, checked)]
        chosen = camera.schedule.choose(taken, time.monotonic(), live.max_rate,
                                        self.intake.lost(index))
        size = max(len(serialized) for serialized, _ in got)
        rejected = [t.reject_reason for t in taken if t.reject_reason]
        if rejected:
            self.logger.warning(f'{camera.name}: rejected a malformed frame: {rejected[-1]}',
                                throttle_duration_sec=_LOG_THROTTLE_S)
        if chosen is None:
            return size
        self.busy_since = time.monotonic()
        try:
            return max(size, self.process(index, checked[chosen][0], live, wanted))
        except DecodeError as error:
            camera.stats.on_rejected(str(error))
            self.logger.warning(f'{camera.name}: rejected a frame: {error}',
                                throttle_duration_sec=_LOG_THROTTLE_S)
        except Exception as error:  # keep serving frames; diagnostics turn ERROR
            if self.stopping:  # shutting down: publishing may fail, nothing is wrong
                camera.stats.on_dropped()
                return size
            reason = f'{type(error).__name__}: {error}'
            camera.stats.on_failed(reason)
            self.logger.error(f'segmentation failed: {reason}',
                              throttle_duration_sec=_LOG_THROTTLE_S)
        finally:
            self.busy_since = None
        return size
