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

Pure (ctypes and glibc, no ROS): the node and the bag tool use it. Every frame allocates and
frees buffers of a few MB (the serialized frame, label and colour maps, message copies).
With glibc's adaptive thresholds such buffers keep being mapped and unmapped, so every frame
pays page faults. Fixed thresholds keep freed buffers for the next frame; after a frame much
larger than the usual ones the memory it needed is handed back (``malloc_trim``, then once
more after the next frame, as a middleware's publishing thread frees its copies late), so
that one large frame does not leave the process large. Elsewhere than on glibc this does
nothing. (doc/architecture.md, design decisions, gives the measurements.)
"""

from collections import deque
import ctypes
import ctypes.util
import statistics
from typing import Deque, Optional

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Buffers up to this size (a 1080p RGB frame is 6.2 MB; the float scores of a 65x65-logits
#: model upsampled to 513x289, 12.5 MB) are kept in the heap for reuse; larger ones (4K
#: frames, models' tensor arenas) are mapped and unmapped whole, so that one large frame
#: does not stay in the heap.
MMAP_THRESHOLD = 16 << 20
#: Free heap memory is not returned to the system at every free below this.
TRIM_THRESHOLD = 512 << 20
#: A frame needing more than this many times the median size of recent frames is "large".
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
        """
        Tune the allocator (process wide), with no frame seen yet.

        :param window: How many recent frames the usual size is the median of.
        """
        self._libc = _glibc()
        self.tuned = bool(self._libc) and all(
            self._libc.mallopt(option, value) for option, value in (
                (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                (_M_TRIM_THRESHOLD, TRIM_THRESHOLD)))
        self._recent: Deque[int] = deque(maxlen=window)
        self._trim_next = False

    def trim(self) -> None:
        """Hand free memory back now (e.g. after releasing a model)."""
        if self._libc is not None:
            self._libc.malloc_trim(0)

    def after_frame(self, size: int) -> bool:
        """
        Record the size of a frame's largest buffer; give memory back after a large one.

        :param size: Bytes (0: no frame, ignored).
        :return: Whether memory was handed back.
        """
        if size <= 0:
            return False
        large = bool(self._recent) and size > LARGE_FRAME_RATIO * statistics.median(
            self._recent)
        self._recent.append(size)
        trim, self._trim_next = large or self._trim_next, large
        if trim:
            self.trim()
        return large
