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

"""What a run tells people: a progress line while it runs, a summary at the end."""

import sys
import time
from typing import Dict, Sequence

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
        sys.stderr.write('\r  %d/~%d frames  %.1f fps  %3.0f%%  ETA %d:%02d   ' % (
            frames, self.total, frames / max(elapsed, 1e-9), 100 * done, eta // 60, eta % 60))
        if final:
            sys.stderr.write('\n')
        sys.stderr.flush()


def print_summary(cameras: Sequence[BagCamera], names: Sequence[str], written: Dict[str, int],
                  seconds: float, interrupted: bool) -> None:
    """Print frames per topic, rejections, class fractions, what was written, time taken."""
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
          + ('; interrupted (Ctrl-C): the bag holds the frames done' if interrupted else ''))
