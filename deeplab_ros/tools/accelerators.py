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
``deeplab accelerators``: what this machine can run on, each accelerator probed in a child.

A driver that crashes takes only its child process down; the table then says so. Each probe
finds the accelerator's library, names the device (the Vulkan adapter, the OpenVINO
devices), compiles a small model and compares its labels with the CPU's on a golden image.
"""

import ctypes
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Dict, List, Optional

#: The accelerators probed, and the small model each compiles (fully accelerated here).
PROBES = {
    'gpu': 'deeplabv3_257_mv_gpu',
    'openvino': 'deeplabv3_mnv2_dm05_pascal_quant',
    'qualcomm': 'deeplabv3_mnv2_dm05_pascal_quant',
    'mediatek': 'deeplabv3_mnv2_dm05_pascal_quant',
    'edgetpu': '',
    'vx': '',
    'ethosu': '',
}
GOLDEN = 'bird_segmentation.bmp'
COLUMNS = ('accelerator', 'present', 'device', 'library', 'compiles', 'agrees with CPU')


def _library(kind: str) -> str:
    """Return the library ``kind`` loads, as a path where it is found."""
    from deeplab_ros.engine.compiled import ACCELERATOR_SPECS
    from deeplab_ros.engine.runtime import DELEGATE_SPECS, import_compiled_api
    if kind in DELEGATE_SPECS:
        return DELEGATE_SPECS[kind].library
    spec = ACCELERATOR_SPECS[kind]
    base = Path(import_compiled_api().package_dir)
    folder = base if kind == 'gpu' else base / 'vendors' / spec.vendor / 'dispatch'
    return str(folder / spec.library)


def _agreement(kind: str, model: str) -> Dict[str, str]:
    """Compile ``model`` for ``kind`` and compare its labels with the CPU's."""
    from deeplab_ros.engine import registry
    from deeplab_ros.engine.evaluate import read_image
    from deeplab_ros.engine.pipeline import Segmenter
    image = read_image(registry.fetch(GOLDEN))
    accelerated = Segmenter.open(model, delegate=kind, num_threads=2)
    cpu = Segmenter.open(model, num_threads=2)
    try:
        labels = accelerated.segment(image).labels
        agree = float((labels == cpu.segment(image).labels).mean())
        info = accelerated.info
        share = 'fully' if info.fully_accelerated else f'partly: {info.cpu_share}'
        device = info.accelerator.split(' on ', 1)[-1] if ' on ' in info.accelerator else ''
        return {'compiles': f'yes ({model}, {share})', 'agrees with CPU': f'{agree:.2%}',
                'device': device}
    finally:
        accelerated.close()
        cpu.close()


def probe(kind: str) -> Dict[str, str]:
    """Probe one accelerator in this process; return the table row (may crash: run in a child)."""
    row = {'accelerator': kind, 'present': 'no', 'device': '', 'library': _library(kind),
           'compiles': '', 'agrees with CPU': ''}
    if kind in ('edgetpu', 'vx', 'ethosu'):
        try:
            ctypes.CDLL(row['library'])
            row['present'] = 'library loads'
        except OSError as exc:
            row['compiles'] = f'not tried: {exc}'
        return row
    if kind == 'openvino':
        from deeplab_ros.engine.compiled import openvino_devices
        try:
            row['device'] = ', '.join(openvino_devices())
        except Exception as exc:  # noqa: B902  the reason goes into the table
            row['compiles'] = f'not tried: {exc}'
            return row
    elif not Path(row['library']).exists():
        row['compiles'] = 'not tried: library not found'
        return row
    row['present'] = 'yes'
    try:
        result = _agreement(kind, PROBES[kind])
    except Exception as exc:  # noqa: B902  the reason goes into the table
        row['compiles'] = f'no: {str(exc).split(". To fix")[0]}'
        return row
    if row['device'] and result['device']:
        result['device'] = f'{result["device"]} (of {row["device"]})'
    row.update({k: v for k, v in result.items() if v})
    return row


def probe_in_child(kind: str, timeout: float = 300.0) -> Dict[str, str]:
    """Probe ``kind`` in a child process; a crash or a hang becomes the row's reason."""
    command = [sys.executable, '-m', 'deeplab_ros.tools.accelerators', kind]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    except subprocess.TimeoutExpired:
        return {'accelerator': kind, 'present': '?', 'compiles': f'hung over {timeout:.0f} s'}
    lines = [line for line in done.stdout.splitlines() if line.startswith('{')]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ['no output'])[-1]
        return {'accelerator': kind, 'present': '?',
                'compiles': f'probe crashed (exit {done.returncode}): {tail}'}
    return json.loads(lines[-1])


def table(rows: List[Dict[str, str]]) -> str:
    """Return the rows as a Markdown table."""
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for row in rows:
        lines.append('| ' + ' | '.join(row.get(c, '') or '-' for c in COLUMNS) + ' |')
    return '\n'.join(lines)


def run(kinds: Optional[List[str]] = None) -> int:
    """Probe each accelerator in a child process and print the table; return 0."""
    rows = []
    for kind in kinds or list(PROBES):
        print(f'deeplab: probing {kind}...', file=sys.stderr, flush=True)
        rows.append(probe_in_child(kind))
    print(table(rows))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Probe one accelerator (the child side of :func:`probe_in_child`); print JSON."""
    kind = (argv if argv is not None else sys.argv[1:])[0]
    print(json.dumps(probe(kind)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
