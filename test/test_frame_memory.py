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

"""Frame memory: which frames count as unusually large (memory handed back after them)."""

import sys

from deeplab_ros.frame.memory import FrameMemory


def test_memory_is_handed_back_after_an_unusually_large_frame_only():
    memory = FrameMemory()
    if sys.platform.startswith('linux'):
        assert memory.tuned
    assert not memory.after_frame(0)  # no frame
    assert not memory.after_frame(1280 * 720)  # first frame: nothing to compare with
    assert not any(memory.after_frame(1280 * 720) for _ in range(10))
    assert memory.after_frame(4096 * 4096)
    assert not memory.after_frame(1280 * 720)
    # A camera that is simply larger becomes the usual size.
    big = [memory.after_frame(3840 * 2160) for _ in range(40)]
    assert big[0] and not any(big[-20:])
