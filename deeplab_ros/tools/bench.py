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

"""Latency of every pipeline stage against raw ``invoke()`` of the same model, in one run."""

from pathlib import Path
import time
from typing import Any, Dict, List, Optional

from deeplab_ros.engine.pipeline import Segmenter
import numpy as np

STAGES = ('invoke', 'preprocess', 'inference', 'postprocess', 'render', 'pipeline')


def percentile(values: List[float], q: float) -> float:
    """Return the q-th percentile of a list of numbers (0 for an empty list)."""
    return float(np.percentile(values, q)) if values else 0.0


def run_bench(segmenter: Segmenter, image: np.ndarray, runs: int = 50, warmup: int = 3,
              alpha: float = 0.5) -> Dict[str, float]:
    """
    Time raw invoke and the whole pipeline, alternating so both see the same machine.

    The pipeline is preprocess + invoke + postprocess + render (colour mask and overlay);
    ``ratio_p50`` is its median over the median raw invoke.
    """
    samples = {stage: [] for stage in STAGES}
    for _ in range(warmup):
        segmenter.segment(image)
    for _ in range(runs):
        start = time.perf_counter()
        segmenter.model.invoke()
        samples['invoke'].append((time.perf_counter() - start) * 1e3)

        start = time.perf_counter()
        result = segmenter.segment(image)
        rendered = time.perf_counter()
        color = segmenter.colorize(result.labels)
        segmenter.overlay(image, color, alpha, result.labels)
        end = time.perf_counter()
        samples['render'].append((end - rendered) * 1e3)
        samples['pipeline'].append((end - start) * 1e3)
        for stage, value in result.timings.items():
            samples[stage].append(value)
    report = {}
    for stage, values in samples.items():
        report[stage + '_ms_p50'] = percentile(values, 50)
        report[stage + '_ms_p95'] = percentile(values, 95)
    report['ratio_p50'] = report['pipeline_ms_p50'] / report['invoke_ms_p50']
    report['postprocess_over_invoke_p50'] = (report['postprocess_ms_p50']
                                             / report['invoke_ms_p50'])
    return report


def agreement_with_cpu(segmenter: Segmenter, image: np.ndarray, model_path: Path,
                       threads: int) -> Optional[float]:
    """Return the share of pixels labelled as on the CPU (None when this is the CPU)."""
    if segmenter.info.delegate == 'cpu':
        return None
    cpu = Segmenter.open(str(model_path), num_threads=threads,
                         resize_mode=segmenter.fit_mode, upsampling=segmenter.upsampling)
    try:
        return float((segmenter.segment(image).labels == cpu.segment(image).labels).mean())
    finally:
        cpu.close()


def print_report(report: Dict[str, Any]) -> None:
    """Print a bench report as the tool's table."""
    fully = {True: 'yes', False: f'no ({report["cpu_share"] or "some operators on the CPU"})',
             None: 'the runtime does not say'}[report['fully_accelerated']]
    agreement = report['agreement_with_cpu']
    print(f'model {report["model"]} ({report["runtime"]}), {report["accelerator"]}, '
          f'{report["threads"]} threads, image {report["input_size"]} -> '
          f'{report["model_input"]}, {report["runs"]} runs')
    print(f'load and compile {report["compile_ms"]:.0f} ms; fully accelerated: {fully}; '
          'labels agreeing with the CPU: '
          + ('(on the CPU)' if agreement is None else f'{agreement:.2%}'))
    print(f'{"stage":<12} {"p50 ms":>9} {"p95 ms":>9} {"/invoke":>9}')
    for stage in STAGES:
        p50, p95 = report[f'{stage}_ms_p50'], report[f'{stage}_ms_p95']
        name = 'raw invoke' if stage == 'invoke' else stage
        print(f'{name:<12} {p50:9.2f} {p95:9.2f} {p50 / report["invoke_ms_p50"]:9.3f}')
    print(f'pipeline / raw invoke (p50): {report["ratio_p50"]:.3f}x')
