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

"""The ``deeplab`` tool as a user runs it: exit codes, outputs and JSON."""

import json
from pathlib import Path
import subprocess
import sys

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.engine.labels import voc_colormap
from deeplab_ros.engine.pipeline import Segmenter
import numpy as np
import pytest

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'


def deeplab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name('deeplab')
    command = [str(script)] if script.exists() else [sys.executable, '-m', 'deeplab_ros.tools.cli']
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize('command', [[], ['models'], ['models', 'list'], ['models', 'fetch'],
                                     ['segment'], ['bench'], ['eval'], ['demo']])
def test_help_everywhere(command):
    result = deeplab(*command, '--help')
    assert result.returncode == 0 and 'usage: deeplab' in result.stdout


@pytest.mark.parametrize('args', [['segment', 'x.png'], ['bench', '--input-size', '12by7'],
                                  ['bench', '--runs', '0'], ['frobnicate'], ['eval'],
                                  ['segment', '--alpha', '1.5', '--out', 'o', 'x.png'],
                                  ['segment', '--delegate', 'tpu', '--out', 'o', 'x.png']])
def test_usage_errors_exit_2(args):
    result = deeplab(*args)
    assert result.returncode == 2 and 'error' in result.stderr


def test_models_list_and_fetch():
    registry.fetch(MODEL)  # a model and an image the tool can fetch (else: skipped)
    registry.fetch('bird.bmp')
    listing = json.loads(deeplab('models', 'list', '--json').stdout)
    assert {row['name'] for row in listing} == set(registry.MODELS)
    assert all(row['sha256'] and row['url'] for row in listing)
    table = deeplab('models', 'list').stdout
    assert MODEL in table and 'cat_720p.jpg' in table
    fetched = deeplab('models', 'fetch', MODEL, 'bird.bmp')
    assert fetched.returncode == 0
    assert [Path(p).name for p in fetched.stdout.split()] == [MODEL + '.tflite', 'bird.bmp']
    unknown = deeplab('models', 'fetch', 'yolo')
    assert unknown.returncode == 1 and "'yolo' is not a registry model" in unknown.stderr


def test_failures_exit_1_with_a_message(tmp_path):
    registry.fetch(MODEL + '_edgetpu')
    missing = deeplab('segment', '--model', str(tmp_path / 'none.tflite'), '--out',
                      str(tmp_path), str(registry.fetch('bird.bmp')))
    assert missing.returncode == 1 and 'neither a registry model' in missing.stderr
    tpu = deeplab('bench', '--model', MODEL, '--delegate', 'edgetpu', '--runs', '1')
    assert tpu.returncode == 1 and 'libedgetpu.so.1' in tpu.stderr
    no_images = deeplab('segment', '--out', str(tmp_path / 'o'), str(tmp_path / 'nothing'))
    assert no_images.returncode == 1 and 'no such file' in no_images.stderr


def test_segment_writes_labels_color_and_overlay(tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    bird = registry.fetch('bird.bmp')
    (folder / 'bird.bmp').write_bytes(bird.read_bytes())
    (folder / 'notes.txt').write_text('not an image')
    cat = registry.fetch('cat_720p.jpg')
    result = deeplab('segment', '--model', MODEL, '--threads', '2', str(folder), str(cat),
                     '--out', str(tmp_path / 'out'))
    assert result.returncode == 0, result.stderr
    assert 'bird.bmp' in result.stdout and 'bird' in result.stdout.split('bird.bmp')[1]
    labels = cv2.imread(str(tmp_path / 'out' / 'bird_labels.png'), cv2.IMREAD_UNCHANGED)
    rgb = cv2.cvtColor(cv2.imread(str(bird)), cv2.COLOR_BGR2RGB)
    expected = Segmenter.open(MODEL, num_threads=2).segment(rgb).labels
    assert labels.dtype == np.uint8 and np.array_equal(labels, expected)
    for stem in ('bird', 'cat_720p'):
        color = cv2.imread(str(tmp_path / 'out' / (stem + '_color.png')))
        overlay = cv2.imread(str(tmp_path / 'out' / (stem + '_overlay.png')))
        assert color.shape == overlay.shape and color.shape[:2] == (
            (343, 512) if stem == 'bird' else (720, 1280))


def test_bench_json():
    registry.fetch(MODEL)
    result = deeplab('bench', '--model', MODEL, '--threads', '2', '--runs', '5',
                     '--input-size', '640x480', '--json')
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ('invoke_ms_p50', 'pipeline_ms_p50', 'ratio_p50', 'preprocess_ms_p95',
                'postprocess_ms_p50', 'render_ms_p50'):
        assert report[key] > 0
    assert report['input_size'] == '640x480' and report['threads'] == 2
    assert report['pipeline_ms_p50'] >= report['inference_ms_p50']


def _voc_folder(root: Path, images: str, masks: str, colour: bool) -> None:
    (root / images).mkdir(parents=True)
    (root / masks).mkdir()
    rgb = cv2.imread(str(registry.fetch('bird_segmentation.bmp')))
    ids = cv2.imread(str(registry.fetch('bird_segmentation_mask.bmp')), cv2.IMREAD_GRAYSCALE)
    ids[:4] = 255  # an ignored border, as VOC draws around objects
    for index, (x, y, w, h) in enumerate([(0, 0, 513, 513), (0, 0, 513, 300)]):
        cv2.imwrite(str(root / images / f'{index:03d}.png'), rgb[y:y + h, x:x + w])
        crop = ids[y:y + h, x:x + w]
        if colour:
            crop = cv2.cvtColor(voc_colormap()[crop], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(root / masks / f'{index:03d}.png'), crop)


@pytest.mark.parametrize('layout, colour', [(('JPEGImages', 'SegmentationClass'), True),
                                            (('images', 'masks'), False)])
def test_eval_on_voc_layouts(tmp_path, layout, colour):
    registry.fetch(MODEL)
    _voc_folder(tmp_path, *layout, colour)
    result = deeplab('eval', '--model', MODEL, '--threads', '2', '--voc', str(tmp_path),
                     '--json')
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report['images'] == 2 and report['images_per_second'] > 0
    assert (report['resize_mode'], report['upsampling']) == (
        'letterbox', 'none (output at input size)')
    assert report['pixel_accuracy'] > 0.9 and 0.3 < report['miou'] <= 1.0
    assert report['class_iou']['bird'] > 0.8 and report['class_iou']['cat'] is None
    text = deeplab('eval', '--model', MODEL, '--voc', str(tmp_path))
    assert f"mIoU {report['miou']:.4f}" in text.stdout


def test_eval_needs_a_voc_layout(tmp_path):
    result = deeplab('eval', '--voc', str(tmp_path))
    assert result.returncode == 1 and 'JPEGImages/ + SegmentationClass/' in result.stderr
