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

"""End to end: ``deeplab demo`` runs the node process on the sample images (< 60 s)."""

import os
from pathlib import Path
import random
import subprocess
import sys

import cv2
from deeplab_ros.engine import registry
import pytest

pytest.importorskip('rclpy')


def test_demo_writes_pngs_and_prints_the_table(tmp_path: Path):
    for name in ('deeplabv3_mnv2_dm05_pascal_quant', 'cat_720p.jpg', 'bird.bmp'):
        registry.fetch(name)  # what the demo plays (else: skipped)
    out = tmp_path / 'demo_out'
    env = dict(os.environ)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    domain = str(random.randint(150, 199))
    result = subprocess.run(
        [sys.executable, '-m', 'deeplab_ros.tools.demo', '--out', str(out), '--threads', '2',
         '--duration', '2', '--rate', '10', '--domain-id', domain, '--timeout', '40'],
        env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    for stem, size in (('cat_720p', (720, 1280)), ('bird', (343, 512))):
        images = {kind: cv2.imread(str(out / f'{stem}_{kind}.png'), cv2.IMREAD_UNCHANGED)
                  for kind in ('input', 'labels', 'color', 'overlay')}
        for kind, image in images.items():
            assert image is not None, f'{stem}_{kind}.png missing'
            assert image.shape[:2] == size, f'{stem}_{kind}.png is {image.shape}'
        assert images['labels'].ndim == 2 and images['labels'].max() < 21
        assert images['color'].shape[2] == 3 and images['overlay'].shape[2] == 3
    # The label maps name the animals (PASCAL VOC: cat and bird).
    assert 'cat_720p: ' in result.stdout and 'cat ' in result.stdout.split('cat_720p: ')[1]
    assert 'bird: ' in result.stdout
    # The table comes from the node's diagnostics.
    for needed in ('fps', 'frames received', 'dropped', 'inference', 'preprocess',
                   'postprocess', 'end_to_end', 'p50 ms'):
        assert needed in result.stdout, needed
    assert 'shut down' in result.stdout
    assert (out / 'node.log').is_file()


def test_demo_fails_clearly_on_a_missing_model(tmp_path: Path):
    registry.fetch('cat_720p.jpg')
    registry.fetch('bird.bmp')
    result = subprocess.run(
        [sys.executable, '-m', 'deeplab_ros.tools.demo', '--out', str(tmp_path), '--model',
         str(tmp_path / 'missing.tflite'), '--duration', '1',
         '--domain-id', str(random.randint(150, 199)), '--timeout', '40'],
        env=dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST'),
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 1
    assert 'configure failed' in result.stderr
