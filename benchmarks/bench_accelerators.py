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
XNNPACK against OpenVINO (its CPU backend here) against LiteRT's GPU, per registry model.

Every registry model that is not compiled for the Edge TPU is opened once per accelerator in
one process (the same threads), then timed in alternated rounds: each round invokes every
(model, accelerator) pair ``--invokes`` times, so all see the same machine. Figures are medians
over all invokes: raw ``invoke()`` ms, the ratio to XNNPACK, whether the runtime placed every
operator on the accelerator (what stays on the CPU), the compile time and the share of labels
equal to XNNPACK's on the golden image. An accelerator that cannot start or compile a model
says why in its cell. Prints a Markdown table with the machine and the date.

From the repository root, in the ``make test`` environment (DEEPLAB_ROS_MIRROR naming folders
with the models and images)::

    .venv/bin/python benchmarks/bench_accelerators.py [--rounds 5] [--invokes 4]
        [--threads N] [--accelerators cpu openvino gpu] [--models NAME ...]
"""

import argparse
import datetime
import platform
import statistics
import time
from typing import Dict, List

from deeplab_ros.engine import registry
from deeplab_ros.engine.evaluate import read_image
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.engine.runtime import default_threads
from deeplab_ros.errors import DeeplabError

GOLDEN = 'bird_segmentation.bmp'


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as info:
            return next(line.split(':', 1)[1].strip() for line in info
                        if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _open_all(models: List[str], accelerators: List[str], threads: int) -> Dict:
    """Open every pair; return {(model, accelerator): (segmenter or error text, compile ms)}."""
    opened = {}
    for model in models:
        for kind in accelerators:
            start = time.perf_counter()
            try:
                segmenter = Segmenter.open(model, delegate=kind, num_threads=threads)
            except DeeplabError as exc:
                opened[model, kind] = (str(exc).split('. To fix')[0], 0.0)
                continue
            opened[model, kind] = (segmenter, (time.perf_counter() - start) * 1e3)
    return opened


def _time(opened: Dict, rounds: int, invokes: int) -> Dict:
    samples = {key: [] for key, (segmenter, _) in opened.items() if not isinstance(segmenter, str)}
    for _ in range(rounds):
        for key in samples:
            model = opened[key][0].model
            model.invoke()  # the first invoke after another model's may be cold
            for _ in range(invokes):
                start = time.perf_counter()
                model.invoke()
                samples[key].append((time.perf_counter() - start) * 1e3)
    return {key: statistics.median(values) for key, values in samples.items()}


def _cell(opened: Dict, medians: Dict, labels: Dict, model: str, kind: str) -> str:
    segmenter, compile_ms = opened[model, kind]
    if isinstance(segmenter, str):
        return f'fails: {segmenter[:90]}'
    info = segmenter.info
    if info.delegate != kind:
        return f'not run: fell back to {info.delegate}'
    text = f'{medians[model, kind]:.1f} ms'
    base = medians.get((model, 'cpu'))
    if kind != 'cpu' and base:
        text += f' ({medians[model, kind] / base:.2f}x)'
        if info.fully_accelerated is False:
            text += f', partly: {info.cpu_share or "some operators on the CPU"}'
        if (model, 'cpu') in labels:
            agree = (labels[model, kind] == labels[model, 'cpu']).mean()
            text += f', labels {agree:.1%}'
        text += f', compile {compile_ms:.0f} ms'
    return text


def main() -> int:
    """Run the benchmark and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--invokes', type=int, default=4, help='timed invokes per round')
    parser.add_argument('--threads', type=int, default=default_threads())
    parser.add_argument('--accelerators', nargs='+', default=['cpu', 'openvino', 'gpu'])
    parser.add_argument('--models', nargs='+', default=[
        name for name, asset in registry.MODELS.items() if 'cpu' not in asset.variants])
    args = parser.parse_args()
    opened = _open_all(args.models, args.accelerators, args.threads)
    golden = read_image(registry.fetch(GOLDEN))
    labels = {key: segmenter.segment(golden).labels for key, (segmenter, _) in opened.items()
              if not isinstance(segmenter, str)}
    medians = _time(opened, args.rounds, args.invokes)
    print(f'Accelerators, {datetime.date.today()}, {_cpu_name()}, {args.threads} threads, '
          f'median of {args.rounds} alternated rounds x {args.invokes} invokes '
          '(ms per raw invoke; ratio to XNNPACK; labels equal to XNNPACK on the golden image)')
    print()
    print('| model | ' + ' | '.join(args.accelerators) + ' |')
    print('|---|' + '---|' * len(args.accelerators))
    for model in args.models:
        cells = [_cell(opened, medians, labels, model, kind) for kind in args.accelerators]
        print(f'| {model} | ' + ' | '.join(cells) + ' |')
    for segmenter, _ in opened.values():
        if not isinstance(segmenter, str):
            segmenter.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
