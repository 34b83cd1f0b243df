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
``deeplab eval --class-map``: scoring a model on data labelled in another label set.

The mapped confusion is checked on small arrays whose figures are worked out by hand; bad
class-map files must fail with a message naming the file and the fault; and the real command
scores the Cityscapes model on the CamVid val sample with the shipped map, over CamVid's
classes. The dataset folder is ``DEEPLAB_ROS_DATASETS`` (``make test`` sets it).
"""

import json
import os
from pathlib import Path

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.engine.evaluate import evaluate, read_class_map, Scores, UNMAPPED
from deeplab_ros.errors import AssetError
from deeplab_ros.tools.cli import main
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get('DEEPLAB_ROS_DATASETS', ''))
CAMVID = DATASETS / 'camvid_val_sample'
CITYSCAPES = 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant'
SHIPPED_MAP = ROOT / 'config' / 'camvid_cityscapes.yaml'

MODEL_NAMES = ('road', 'sidewalk', 'car', 'truck', 'bus', 'sky')
# Names written differently from the model's and the classes' on purpose (matched folded).
SMALL_MAP = """
classes: [Road, Car, Sky, Void]
ignore: [3]
map:
  Road: road
  car: Car
  TRUCK: car
  b_u_s: Car
  sky: Sky
"""
# Model ids: 0 road, 1 sidewalk (unmapped), 2 car, 3 truck, 4 bus, 5 sky.
# Dataset ids: 0 Road, 1 Car, 2 Sky, 3 Void (ignored), 255 ignored.
TRUTH = np.array([[0, 0, 0, 1, 1, 1],
                  [2, 2, 3, 255, 1, 0],
                  [2, 2, 2, 0, 0, 0]])
PREDICTED = np.array([[0, 1, 0, 2, 3, 4],
                      [5, 0, 5, 5, 1, 0],
                      [0, 0, 5, 1, 1, 1]])


def write_map(tmp_path: Path, text: str) -> Path:
    path = tmp_path / 'map.yaml'
    path.write_text(text, encoding='utf-8')
    return path


def test_class_map_parsing(tmp_path):
    class_map = read_class_map(write_map(tmp_path, SMALL_MAP), MODEL_NAMES)
    assert class_map.classes == ('Road', 'Car', 'Sky', 'Void')
    assert class_map.ignore == (3, 255)  # 255 is always ignored
    assert class_map.lookup == (0, 3 + 1, 1, 1, 1, 2)  # sidewalk: the unmapped column
    assert class_map.columns == ('Road', 'Car', 'Sky', 'Void', UNMAPPED)
    assert class_map.unmapped_classes(MODEL_NAMES) == ['sidewalk']


def test_mapped_confusion_by_hand(tmp_path):
    """
    Truth by row: Road 7 pixels, Car 4, Sky 5 (Void and 255 ignored).

    Road: 3 right, 4 predicted sidewalk (unmapped). Car: car, truck and bus all count as Car
    (3 right), 1 sidewalk. Sky: 2 right, 3 predicted road. So 8 of 16 pixels are right;
    IoU Road 3 / (7 + 6 - 3) = 0.3, Car 3 / 4 = 0.75, Sky 2 / 5 = 0.4.
    """
    class_map = read_class_map(write_map(tmp_path, SMALL_MAP), MODEL_NAMES)
    confusion = class_map.confusion(TRUTH, PREDICTED)
    assert confusion.tolist() == [[3, 0, 0, 0, 4],
                                  [0, 3, 0, 0, 1],
                                  [3, 0, 2, 0, 0],
                                  [0, 0, 0, 0, 0]]
    scores = Scores(confusion, names=class_map.columns, skip=(3,))
    assert scores.pixel_accuracy == pytest.approx(0.5)
    iou = scores.class_iou()
    assert iou[:3] == pytest.approx([0.3, 0.75, 0.4]) and np.isnan(iou[3])
    assert scores.miou == pytest.approx((0.3 + 0.75 + 0.4) / 3)
    assert scores.confusions() == [
        {'truth': 'Road', 'predicted': UNMAPPED, 'share': pytest.approx(4 / 7), 'pixels': 4},
        {'truth': 'Sky', 'predicted': 'Road', 'share': pytest.approx(3 / 5), 'pixels': 3},
        {'truth': 'Car', 'predicted': UNMAPPED, 'share': pytest.approx(1 / 4), 'pixels': 1}]
    assert [c['truth'] for c in scores.confusions(top=1)] == ['Road']


def test_evaluate_with_a_class_map_reads_masks(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'masks').mkdir()
    for name in ('a', 'b'):
        cv2.imwrite(str(tmp_path / 'images' / (name + '.png')), np.zeros((3, 6, 3), np.uint8))
        cv2.imwrite(str(tmp_path / 'masks' / (name + '.png')), TRUTH.astype(np.uint8))
    class_map = read_class_map(write_map(tmp_path, SMALL_MAP), MODEL_NAMES)
    pairs = [(tmp_path / 'images' / (n + '.png'), tmp_path / 'masks' / (n + '.png'))
             for n in ('a', 'b')]
    scores = evaluate(pairs, lambda rgb: PREDICTED.astype(np.uint8), len(MODEL_NAMES),
                      np.zeros((256, 3), np.uint8), class_map=class_map)
    assert scores.images == 2 and scores.confusion.sum() == 32
    assert scores.pixel_accuracy == pytest.approx(0.5)

    cv2.imwrite(str(tmp_path / 'masks' / 'b.png'), np.full((3, 6), 7, np.uint8))
    with pytest.raises(AssetError, match=r'b\.png holds ids 7.*map\.yaml.*ignore'):
        evaluate(pairs, lambda rgb: PREDICTED.astype(np.uint8), len(MODEL_NAMES),
                 np.zeros((256, 3), np.uint8), class_map=class_map)


def test_scores_without_a_class_map_are_square():
    scores = Scores(np.array([[5, 1], [0, 4]]), names=('background', 'cat'))
    assert scores.pixel_accuracy == pytest.approx(0.9)
    assert scores.class_iou() == pytest.approx([5 / 6, 4 / 5])
    assert scores.confusions() == [
        {'truth': 'background', 'predicted': 'cat', 'share': pytest.approx(1 / 6),
         'pixels': 1}]


@pytest.mark.parametrize('text, message', [
    (SMALL_MAP.replace('Road: road', 'lorry: Car'),
     r"unknown model class\(es\) 'lorry'; this model knows: road, sidewalk"),
    (SMALL_MAP.replace('sky: Sky', 'sky: Heaven'),
     r"unknown dataset class\(es\) 'Heaven' \(for sky\); classes: lists Road, Car"),
    (SMALL_MAP.replace('ignore: [3]', 'ignore: [-1, 70000]'),
     r'ignore: ids must be whole numbers from 0 to 65535, got -1, 70000'),
    (SMALL_MAP.replace('ignore: [3]', 'ignore: [void]'), r"ignore: .*got 'void'"),
    ('classes: [Road, Car\nmap: {road: Road}\n', r'not valid YAML \(line \d\)'),
    ('- road\n- car\n', r'expected a mapping with keys classes:, map: and ignore:'),
    ('', r'got an empty file'),
    ('classes: [Road]\n', r'map: must map model class names'),
    ('map: {road: Road}\n', r'classes: must be a list of class names'),
    ('classes: [Road, road]\nmap: {road: Road}\n', r"'Road' and 'road' are the same"),
    ('classes: [Road]\nmapping: {road: Road}\n', r'unknown key\(s\) mapping'),
    ('classes: [Road, Car]\nmap: {car: Car, CAR: Road}\n', r"'car' is mapped twice"),
])
def test_bad_class_map_files(tmp_path, text, message):
    path = write_map(tmp_path, text)
    with pytest.raises(AssetError, match=message) as error:
        read_class_map(path, MODEL_NAMES)
    assert str(path) in str(error.value)


def test_missing_class_map_file(tmp_path):
    with pytest.raises(AssetError, match=r'cannot read class map .*nowhere\.yaml'):
        read_class_map(tmp_path / 'nowhere.yaml', MODEL_NAMES)


def camvid() -> Path:
    if not (CAMVID / 'masks').is_dir():
        pytest.skip(f'CamVid val sample not found at {CAMVID} (set DEEPLAB_ROS_DATASETS to the '
                    'folder holding camvid_val_sample/)')
    registry.fetch(CITYSCAPES)
    return CAMVID


def test_eval_names_a_bad_class_map_and_exits_1(tmp_path, capsys):
    folder = camvid()
    path = write_map(tmp_path, 'classes: [Road]\nmap: {road: Street}\n')
    assert main(['eval', '--model', CITYSCAPES, '--threads', '2', '--voc', str(folder),
                 '--class-map', str(path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f'deeplab: error: class map {path}') and "'Street'" in error


def test_cityscapes_model_on_camvid_with_the_shipped_map(capsys):
    """Cross-dataset floors, measured with correct names on real street data."""
    folder = camvid()
    assert main(['eval', '--model', CITYSCAPES, '--threads', '2', '--voc', str(folder),
                 '--class-map', str(SHIPPED_MAP), '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert report['images'] == 101 and report['resize_mode'] == 'letterbox'
    iou = report['class_iou']
    assert set(iou) == {'Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree', 'SignSymbol',
                        'Fence', 'Car', 'Pedestrian', 'Bicyclist'}  # Unlabelled is ignored
    assert iou['Road'] >= 0.75 and iou['Sky'] >= 0.70
    assert iou['Building'] >= 0.60 and iou['Car'] >= 0.40
    assert 0.8 < report['pixel_accuracy'] <= 1 and 0.4 < report['miou'] <= 1
    confusions = report['confusions']
    assert confusions and all(set(c) == {'truth', 'predicted', 'share', 'pixels'}
                              for c in confusions)
    assert all(c['truth'] in iou and c['predicted'] in set(iou) | {'Unlabelled', UNMAPPED}
               and 0 < c['share'] <= 1 and c['truth'] != c['predicted'] for c in confusions)
    assert [c['pixels'] for c in confusions] == sorted((c['pixels'] for c in confusions),
                                                       reverse=True)
