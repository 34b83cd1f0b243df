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
Memory for camera-sized buffers: keep it between frames, give it back after a large frame.

Every frame allocates and frees buffers of a few MB (the serialized frame, label and colour
maps, message copies inside rclpy and the middleware). With glibc's default, adaptive
thresholds such buffers keep being mapped and unmapped, so every frame pays page faults:
measured ~1.7 ms of system time per 720p frame in the node, 8% of its CPU. Fixed thresholds
keep freed buffers for the next frame; after a frame much larger than the usual ones the
memory it needed is handed back (``malloc_trim``), so that one large frame does not leave
the process large. Elsewhere than on glibc this does nothing.
"""

from collections import deque
import ctypes
import ctypes.util
import statistics
from typing import Deque, Optional

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Buffers up to this size are kept in the heap for reuse (glibc's largest setting).
MMAP_THRESHOLD = 32 << 20
#: Free heap memory is not returned to the system at every free below this.
TRIM_THRESHOLD = 512 << 20
#: A frame with more than this many times the median pixels of recent frames is "large".
LARGE_FRAME_RATIO = 2.0


def _glibc() -> Optional[ctypes.CDLL]:
    """Return the C library when it is glibc (has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        libc.mallopt, libc.malloc_trim  # noqa: B018 - raise AttributeError elsewhere
    except (OSError, AttributeError):
        return None
    return libc


class FrameMemory:
    """The process allocator tuned for frames, and the bookkeeping of frame sizes."""

    def __init__(self, window: int = 32) -> None:
        """Set the thresholds (process wide) and start with no frame seen."""
        self._libc = _glibc()
        self.tuned = bool(self._libc and self._libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                          and self._libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        self._recent: Deque[int] = deque(maxlen=window)

    def after_frame(self, pixels: int) -> bool:
        """
        Record a frame's size; give memory back after an unusually large one.

        :return: Whether memory was handed back.
        """
        large = bool(self._recent) and pixels > LARGE_FRAME_RATIO * statistics.median(
            self._recent)
        self._recent.append(pixels)
        if large and self._libc is not None:
            self._libc.malloc_trim(0)
        return large
