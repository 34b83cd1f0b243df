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
LiteRT's accelerators on this machine: the GPU on Mesa's lavapipe, OpenVINO on its CPU.

Labels agree with the CPU's on the golden image, the VOC sample's mIoU stays within 0.5 pt of
the CPU's (a fixed few images on lavapipe, which is slow by nature), the runtime's placement
is reported, and accelerators that cannot start fail saying what to install.
"""

import os
from pathlib import Path
import subprocess
import sys

from deeplab_ros.engine import registry
from deeplab_ros.engine.evaluate import evaluate, find_pairs, read_image
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.engine.runtime import load_interpreter
from deeplab_ros.errors import DelegateError, ModelError
from deeplab_ros.tools.cli import main
import pytest

GPU_MODEL = 'deeplabv3_257_mv_gpu'
OPENVINO_MODEL = 'deeplabv3_mnv2_pascal_quant'
DM05 = 'deeplabv3_mnv2_dm05_pascal_quant'
OPENVINO = pytest.mark.requires('openvino', 'the openvino extra (requirements-openvino.txt)')
VOC = Path(os.environ.get('DEEPLAB_ROS_DATASETS', '')) / 'voc_train_sample'


def _golden():
    return read_image(registry.fetch('bird_segmentation.bmp'))


def _agreement(model: str, delegate: str, **options) -> float:
    image = _golden()
    accelerated = Segmenter.open(model, delegate=delegate, num_threads=2, **options)
    cpu = Segmenter.open(model, num_threads=2)
    try:
        return float((accelerated.segment(image).labels == cpu.segment(image).labels).mean())
    finally:
        accelerated.close()
        cpu.close()


def _miou_gap(model: str, delegate: str, images: int) -> float:
    """Return |mIoU(delegate) - mIoU(cpu)| in points on the first VOC sample images."""
    if not VOC.is_dir():
        pytest.skip(f'VOC train sample not found at {VOC} (set DEEPLAB_ROS_DATASETS)')
    pairs = find_pairs(VOC)[:images]
    scores = []
    for chosen in (delegate, 'cpu'):
        segmenter = Segmenter.open(model, delegate=chosen, num_threads=2)
        try:
            scores.append(evaluate(pairs, lambda rgb: segmenter.segment(rgb).labels,
                                   len(segmenter.class_names), segmenter.labels.palette).miou)
        finally:
            segmenter.close()
    assert scores[1] > 0.3  # the models do segment these images
    return abs(scores[0] - scores[1]) * 100


@pytest.mark.accelerator('gpu')
def test_gpu_runs_the_float_model_fully_and_agrees_with_the_cpu():
    segmenter = Segmenter.open(GPU_MODEL, delegate='gpu', num_threads=2)
    info = segmenter.info
    segmenter.close()
    assert info.delegate == 'gpu' and info.fully_accelerated and not info.fell_back
    assert 'Vulkan' in info.accelerator and ' on ' in info.accelerator  # the adapter's name
    assert _agreement(GPU_MODEL, 'gpu') >= 0.99


@pytest.mark.accelerator('gpu')
def test_gpu_says_what_stays_on_the_cpu():
    # The int64 ArgMax of the quantized model is the GPU's one missing operator.
    segmenter = Segmenter.open(DM05, delegate='gpu', num_threads=2)
    info = segmenter.info
    segmenter.close()
    assert info.delegate == 'gpu' and info.fully_accelerated is False
    assert info.cpu_share == '1 of 72 operators on the CPU'


@pytest.mark.accelerator('gpu')
def test_gpu_voc_miou_matches_the_cpu():
    assert _miou_gap(GPU_MODEL, 'gpu', images=3) <= 0.5


def test_gpu_without_a_vulkan_driver_says_what_to_install():
    script = ('from deeplab_ros.engine.pipeline import Segmenter\n'
              'from deeplab_ros.errors import DelegateError\n'
              'try:\n'
              f'    Segmenter.open({GPU_MODEL!r}, delegate="gpu", num_threads=1)\n'
              'except DelegateError as exc:\n'
              '    print("ERROR", exc)\n')
    env = {**os.environ, 'VK_ICD_FILENAMES': '/nonexistent/icd.json',
           'VK_DRIVER_FILES': '/nonexistent/icd.json'}
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          env=env, timeout=120)
    line = next(line for line in done.stdout.splitlines() if line.startswith('ERROR'))
    assert 'cannot start the gpu accelerator' in line
    assert 'mesa-vulkan-drivers' in line and 'vulkaninfo --summary' in line


@OPENVINO
def test_openvino_runs_on_its_cpu_and_agrees_with_the_cpu():
    segmenter = Segmenter.open(OPENVINO_MODEL, delegate='openvino', num_threads=2,
                               delegate_options=['device=CPU'])
    info = segmenter.info
    segmenter.close()
    assert info.delegate == 'openvino' and info.fully_accelerated
    assert info.accelerator.endswith('on CPU') and info.cpu_share == '0 of 72 operators on the CPU'
    assert _agreement(OPENVINO_MODEL, 'openvino') >= 0.99


@OPENVINO
def test_openvino_voc_miou_matches_the_cpu():
    assert _miou_gap(OPENVINO_MODEL, 'openvino', images=60) <= 0.5


@OPENVINO
def test_auto_takes_openvino_where_the_registry_measured_it_faster():
    faster = Segmenter.open(OPENVINO_MODEL, delegate='auto', num_threads=2)
    other = Segmenter.open(DM05, delegate='auto', num_threads=2)
    assert (faster.info.delegate, other.info.delegate) == ('openvino', 'cpu')
    faster.close()
    other.close()


@OPENVINO
def test_openvino_refuses_a_model_it_cannot_compile_unless_fallback():
    # OpenVINO's converter fails on a Concat of this model: nothing would be accelerated.
    cityscapes = 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant'
    with pytest.raises(ModelError, match='the openvino accelerator cannot compile.*delegate cpu'):
        Segmenter.open(cityscapes, delegate='openvino', num_threads=1)
    segmenter = Segmenter.open(cityscapes, delegate='openvino', delegate_fallback=True,
                               num_threads=1)
    assert segmenter.info.delegate == 'cpu' and segmenter.info.fell_back
    assert 'cannot compile' in segmenter.info.fallback_reason
    segmenter.close()


@OPENVINO
def test_openvino_device_option_is_checked():
    path = registry.fetch(DM05)
    with pytest.raises(DelegateError, match='device=TPU: choose one of AUTO, CPU, GPU, NPU'):
        load_interpreter(path, delegate='openvino', delegate_options=['device=TPU'])
    with pytest.raises(DelegateError, match='takes no option cache.*takes device'):
        load_interpreter(path, delegate='openvino', delegate_options=['cache=1'])


@pytest.mark.parametrize('kind,library,board', [
    ('qualcomm', 'libLiteRtDispatch_Qualcomm.so', 'ai-edge-litert-sdk-qualcomm'),
    ('mediatek', 'libLiteRtDispatch_MediaTek.so', 'ai-edge-litert-sdk-mediatek')])
def test_npu_dispatches_without_their_library_say_what_to_install(
        tmp_path, kind, library, board):
    path = registry.fetch(DM05)
    with pytest.raises(DelegateError) as caught:
        load_interpreter(path, delegate=kind, num_threads=1)
    assert library in str(caught.value) and board in str(caught.value)
    with pytest.raises(DelegateError, match=str(tmp_path)):
        load_interpreter(path, delegate=kind, delegate_library=str(tmp_path), num_threads=1)
    loaded = load_interpreter(path, delegate=kind, fallback=True, num_threads=1)
    assert loaded.delegate == 'cpu' and loaded.fell_back and library in loaded.fallback_reason


def test_compiled_accelerators_need_litert(tmp_path):
    with pytest.raises(DelegateError, match='runtime auto or ai_edge_litert'):
        load_interpreter(registry.fetch(DM05), runtime='tensorflow', delegate='gpu')


def test_accelerators_command_prints_a_row_per_accelerator(capsys):
    assert main(['accelerators', '--only', 'qualcomm', 'edgetpu']) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith('| accelerator | present | device | library')
    assert '| qualcomm | no |' in out and 'libLiteRtDispatch_Qualcomm.so' in out
    assert '| edgetpu | no |' in out and 'libedgetpu.so.1' in out
