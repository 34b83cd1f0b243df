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
The worker's second stage: a frame's pictures and clouds, on a thread of their own.

No rclpy here. The first stage (the worker's loop) hands over a frame once its labels are
published and goes on to the next frame at once. The stage holds at most one frame: a frame
handed over while it still works on the previous one has its pictures skipped (its labels
are out already), and the first stage never waits for it.
"""

import threading
import time
from typing import Callable, Optional

from deeplab_ros.engine.runtime import default_threads


def overlap_mode(setting: str, num_threads: int, delegate: str, accelerator: str = '') -> str:
    """
    Return whether the two stages overlap, with why: e.g. ``on (auto: 1 of 2 cores)``.

    ``auto`` overlaps where a core is free for the second stage: inference runs on an
    accelerator (the CPU waits during its invoke), or on fewer threads than the cores the
    process may use. An accelerator that runs on the CPU (OpenVINO's CPU device, a software
    Vulkan adapter) counts as the CPU.

    :param setting: The ``overlap`` parameter: auto, on or off.
    :param num_threads: The inference threads actually used.
    :param delegate: The delegate actually used (``cpu``: none).
    :param accelerator: What runs the model, as the engine describes it.
    """
    if setting != 'auto':
        return f'{setting} (set)'
    on_cpu = delegate == 'cpu' or accelerator.endswith(' on CPU') or any(
        word in accelerator.lower() for word in ('llvmpipe', 'lavapipe'))
    if not on_cpu:
        return f'on (auto: inference on {delegate})'
    cores = default_threads()
    if num_threads < cores:
        return f'on (auto: {num_threads} inference thread(s), {cores} cores)'
    return f'off (auto: {num_threads} inference thread(s), {cores} cores, none free)'


class PictureStage:
    """Runs the second stage of frames, one at a time, on its own thread."""

    def __init__(self) -> None:
        """Prepare the thread; :meth:`start` runs it."""
        self._cond = threading.Condition()
        self._work: Optional[Callable[[], None]] = None
        self._busy = False
        self._stopping = False
        self.busy_since: Optional[float] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Start the thread."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name='deeplab_pictures',
                                        daemon=True)
        self._thread.start()

    def hand(self, work: Callable[[], None]) -> bool:
        """
        Hand over a frame's second stage, unless the stage is busy.

        :param work: Makes and publishes the frame's pictures and clouds; never raises.
        :return: Whether it was taken; False: the stage still works on the previous frame
            (or stops), and the caller accounts the frame's pictures as skipped.
        """
        with self._cond:
            if self._busy or self._stopping or self._thread is None:
                return False
            self._work, self._busy = work, True
            self._cond.notify_all()
            return True

    def idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the stage to be free; return whether it is."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def stop(self, timeout: float) -> bool:
        """
        Let the frame in progress finish, then end the thread, waiting up to ``timeout``.

        :return: Whether the thread ended (False: the frame in progress hangs).
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is None:
            return True
        self._thread.join(max(0.0, timeout))
        if self._thread.is_alive():
            return False
        self._thread = None
        return True

    def _run(self) -> None:
        """Run frames handed over until :meth:`stop`, finishing the one taken."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._work is not None or self._stopping)
                work, self._work = self._work, None
                if work is None:
                    return
                self.busy_since = time.monotonic()
            try:
                work()
            finally:
                with self._cond:
                    self._busy, self.busy_since = False, None
                    self._cond.notify_all()
