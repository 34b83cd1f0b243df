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
The demo's results: the PNGs it writes, the classes it saw, the node's diagnostics table.

``demo`` below is the demo's in-process side (:mod:`deeplab_ros.tools.demo`): the images it
played, the latest outputs per image, the node's diagnostics and the camera-side counts.
"""

from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

#: The outputs the demo subscribes to and writes.
OUTPUTS = ('labels', 'color', 'overlay')
#: The stages of the diagnostics table.
STAGES = ('decode', 'preprocess', 'inference', 'postprocess', 'publish', 'end_to_end')


class DemoError(Exception):
    """A demo step failed; the message says which and why."""


def _write_pngs(demo, out: Path) -> List[Path]:
    """Write input, labels, colour and overlay PNGs per played image."""
    written = []
    for name, rgb in demo.images:
        outputs = {output: demo.latest.get((name, output)) for output in OUTPUTS}
        missing = [output for output, array in outputs.items() if array is None]
        if missing:
            raise DemoError(f'no {", ".join(missing)} received for {name}')
        files = {
            'input': cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
            'labels': outputs['labels'],
            'color': cv2.cvtColor(outputs['color'], cv2.COLOR_RGB2BGR),
            'overlay': cv2.cvtColor(outputs['overlay'], cv2.COLOR_RGB2BGR),
        }
        for kind, array in files.items():
            path = out / f'{name}_{kind}.png'
            if not cv2.imwrite(str(path), array):
                raise DemoError(f'cannot write {path}')
            written.append(path)
    return written


def _class_summary(labels: np.ndarray, names: List[str]) -> str:
    """Describe the classes covering at least 1% of a label map."""
    counts = np.bincount(labels.ravel())
    total = labels.size
    parts = []
    for class_id in np.argsort(counts)[::-1]:
        share = counts[class_id] / total
        if share < 0.01:
            break
        name = names[class_id] if class_id < len(names) else f'class {class_id}'
        parts.append(f'{name} {100 * share:.0f}%')
    return ', '.join(parts)


def _print_table(demo, elapsed: float) -> None:
    """Print fps, latency per stage and drops from the node's diagnostics."""
    print()
    if not demo.diagnostics:
        print('no diagnostics with processed frames were received from the node')
    for name, values in sorted(demo.diagnostics.items()):
        print(f'{name}: {values.get("_message", "")}')
        print(f'  model {values.get("model", "?")}, runtime {values.get("runtime", "?")}, '
              f'delegate {values.get("delegate", "?")}, input {values.get("input_size", "?")}')
        print(f'  fps {values.get("fps", "?")}   frames received '
              f'{values.get("frames_received", "?")}, processed '
              f'{values.get("frames_processed", "?")}, dropped '
              f'{values.get("frames_dropped", "?")}, rejected '
              f'{values.get("frames_rejected", "?")}')
        print(f'  {"stage":<12} {"p50 ms":>8} {"p95 ms":>8} {"max ms":>8}')
        for stage in STAGES:
            row = [values.get(f'{stage}_ms_{suffix}') for suffix in ('p50', 'p95', 'max')]
            if all(v is None for v in row):
                continue
            print(f'  {stage:<12} ' + ' '.join(f'{v or "n/a":>8}' for v in row))
    with demo.lock:
        arrival = sorted(demo.arrival_ms)
        published = demo.published
        received = dict(demo.received)
    print(f'camera: {published} frames published in {elapsed:.1f} s; received labels '
          f'{received["labels"]}, color {received["color"]}, overlay {received["overlay"]}')
    if arrival:
        p50 = arrival[len(arrival) // 2]
        p95 = arrival[min(len(arrival) - 1, int(0.95 * len(arrival)))]
        print(f'publish -> labels arrival at the camera side: p50 {p50:.1f} ms, '
              f'p95 {p95:.1f} ms')


def report(demo, images: List[Tuple[str, np.ndarray]], out: Path, elapsed: float) -> None:
    """Write the PNGs; print each image's classes and the diagnostics table."""
    names = demo.class_names()
    written = _write_pngs(demo, out)
    for name, _ in images:
        summary = _class_summary(demo.latest[(name, 'labels')], names)
        print(f'{name}: {summary}')
    _print_table(demo, elapsed)
    print(f'\nwrote {len(written)} PNGs to {out}/: '
          + ', '.join(path.name for path in written))
