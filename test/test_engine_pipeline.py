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

"""The public pipeline on real models and images: golden masks, every model family, modes."""

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.errors import ModelError
import numpy as np
import pytest

VOC_BIRD, VOC_CAT = 3, 8
CPU_MODELS = [name for name in registry.MODELS if not name.endswith('_edgetpu')]
VOC_MODELS = [name for name in CPU_MODELS if registry.MODELS[name].classes == 21]


def read_rgb(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(registry.fetch(name))), cv2.COLOR_BGR2RGB)


def read_ids(name: str) -> np.ndarray:
    mask = cv2.imread(str(registry.fetch(name)), cv2.IMREAD_UNCHANGED)
    return mask if mask.ndim == 2 else mask[..., 0]


def agreement(labels: np.ndarray, reference: np.ndarray) -> float:
    """Pixel agreement eq / (2N - eq), the measure google-coral's tests use."""
    equal = int((labels == reference).sum())
    return equal / (2 * reference.size - equal)


@pytest.mark.parametrize('model', ['deeplabv3_mnv2_dm05_pascal_quant',
                                   'deeplabv3_mnv2_pascal_quant'])
def test_golden_bird(segmenters, model):
    result = segmenters(model).segment(read_rgb('bird_segmentation.bmp'))
    assert agreement(result.labels, read_ids('bird_segmentation_mask.bmp')) > 0.90


def test_golden_cityscapes(segmenters):
    segmenter = segmenters('deeplab_mobilenet_edgetpu_slim_cityscapes_quant')
    result = segmenter.segment(read_rgb('cityscapes_segmentation.bmp'))
    assert agreement(result.labels, read_ids('cityscapes_segmentation_mask.bmp')) > 0.85


# Points checked by eye on the sample photos: on the animal, and clearly off it.
ANIMALS = {
    'bird.bmp': (VOC_BIRD, [(200, 190), (260, 170), (100, 110)], [(450, 40), (30, 300)]),
    'cat_720p.jpg': (VOC_CAT, [(640, 300), (500, 560)], [(1150, 60), (150, 100)]),
}


@pytest.mark.parametrize('model', VOC_MODELS)
@pytest.mark.parametrize('image', sorted(ANIMALS))
def test_every_voc_model_finds_the_animal(segmenters, model, image):
    rgb = read_rgb(image)
    result = segmenters(model).segment(rgb)
    animal, inside, outside = ANIMALS[image]
    assert result.labels.shape == rgb.shape[:2] and result.labels.dtype == np.uint8
    assert result.scale == (1.0, 1.0)
    for x, y in inside:
        assert result.labels[y, x] == animal, (x, y)
    for x, y in outside:
        assert result.labels[y, x] != animal, (x, y)
    assert 0.08 < (result.labels == animal).mean() < 0.7
    assert set(np.unique(result.labels)) <= set(range(21))


@pytest.mark.parametrize('model', ['deeplab_mobilenet_edgetpu_slim_cityscapes_quant',
                                   'deeplabv3_mnv2_ade20k_uint8'])
def test_models_without_animal_classes_give_full_size_maps(segmenters, model):
    segmenter = segmenters(model)
    for image in ANIMALS:
        rgb = read_rgb(image)
        labels = segmenter.segment(rgb).labels
        assert labels.shape == rgb.shape[:2]
        assert labels.max() < len(segmenter.class_names) == registry.MODELS[model].classes


def test_model_families_are_introspected(segmenters):
    ids = segmenters('deeplabv3_mnv2_ade20k_uint8').info
    assert (ids.output_kind, ids.input_size, ids.input_dtype) == ('ids', (512, 512), 'uint8')
    low_res = segmenters('lite-model_deeplabv3-mobilenetv2_1_default_1')
    assert low_res.model.facts.output_size == (65, 65) and low_res.info.has_scores
    assert segmenters('deeplabv3_257_mv_gpu').info.input_size == (257, 257)
    nxp = segmenters('lite-model_deeplabv3-mobilenetv2_dm05-int8_1_default_2').info
    assert (nxp.input_dtype, nxp.output_kind, nxp.num_classes) == ('float32', 'scores', 21)


def test_metadata_labels_are_read_from_the_model(segmenters):
    names = segmenters('lite-model_deeplabv3_1_metadata_2').class_names
    assert len(names) == 21 and names[0] == 'background' and names[15] == 'person'
    assert names[11] == 'dining table'  # as spelled in its labelmap.txt


@pytest.mark.parametrize('mode', ['stretch', 'letterbox'])
@pytest.mark.parametrize('model', ['deeplabv3_mnv2_dm05_pascal_quant',
                                   'lite-model_deeplabv3-mobilenetv2_1_default_1'])
def test_resize_modes_on_non_square_images(segmenters, mode, model):
    segmenter = segmenters(model)
    segmenter.resize_mode = mode
    try:
        rgb = read_rgb('cat_720p.jpg')
        tall = np.ascontiguousarray(np.rot90(rgb))  # 720x1280, portrait
        for image in (rgb, tall):
            labels = segmenter.segment(image).labels
            assert labels.shape == image.shape[:2]
            assert (labels == VOC_CAT).mean() > 0.25
        # The golden image cropped to a wide strip still matches its mask in both modes.
        strip = np.ascontiguousarray(read_rgb('bird_segmentation.bmp')[:300])
        truth = read_ids('bird_segmentation_mask.bmp')[:300]
        assert agreement(segmenter.segment(strip).labels, truth) > 0.85
    finally:
        segmenter.resize_mode = 'auto'


def test_output_resolution_model_drops_padding_and_reports_scale(segmenters):
    segmenter = segmenters('deeplabv3_mnv2_dm05_pascal_quant')
    rgb = read_rgb('cat_720p.jpg')
    segmenter.output_resolution = 'model'
    try:
        segmenter.resize_mode = 'letterbox'
        result = segmenter.segment(rgb)
        assert result.labels.shape == (289, 513)  # 1280x720 kept at aspect inside 513x513
        assert result.scale == pytest.approx((513 / 1280, 289 / 720))
        segmenter.resize_mode = 'stretch'
        assert segmenter.segment(rgb).labels.shape == (513, 513)
    finally:
        segmenter.output_resolution, segmenter.resize_mode = 'input', 'auto'


def test_confidence_only_for_score_models(segmenters):
    rgb = read_rgb('bird.bmp')
    result = segmenters('deeplabv3_257_mv_gpu').segment(rgb, confidence=True)
    assert result.confidence.shape == rgb.shape[:2] and result.confidence.dtype == np.uint8
    bird = result.labels == VOC_BIRD
    # Softmax peaks are at least 1/21 and high on the clear bird body.
    assert result.confidence.min() >= 255 // 21 - 1
    assert np.median(result.confidence[bird]) > 200
    ids_model = segmenters('deeplabv3_mnv2_dm05_pascal_quant')
    assert ids_model.segment(rgb, confidence=True).confidence is None


def test_render_outputs(segmenters):
    segmenter = segmenters('deeplabv3_mnv2_dm05_pascal_quant')
    rgb = read_rgb('bird.bmp')
    labels = segmenter.segment(rgb).labels
    color = segmenter.colorize(labels)
    assert np.array_equal(color, segmenter.labels.palette[labels])
    assert tuple(color[190, 200]) == (128, 128, 0)  # VOC bird colour
    overlay = segmenter.overlay(rgb, color, 0.25)
    expected = rgb.astype(np.float32) * 0.75 + color.astype(np.float32) * 0.25
    assert np.abs(overlay.astype(np.float32) - expected).max() <= 1.0
    mask = segmenter.class_mask(labels, segmenter.class_ids(['bird']))
    assert set(np.unique(mask)) == {0, 255}
    assert np.array_equal(mask == 255, labels == VOC_BIRD)


def test_segment_rejects_non_rgb_input(segmenters):
    segmenter = segmenters('deeplabv3_mnv2_dm05_pascal_quant')
    with pytest.raises(ValueError, match='RGB uint8'):
        segmenter.segment(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='RGB uint8'):
        segmenter.segment(np.zeros((10, 10, 3), np.float32))


def test_edgetpu_models_fail_with_an_edge_tpu_message():
    with pytest.raises(ModelError, match='Edge TPU.*libedgetpu.so.1'):
        Segmenter.open('deeplabv3_mnv2_dm05_pascal_quant_edgetpu', num_threads=1)


def test_default_protocol_per_model_and_low_resolution_scores(segmenters):
    low_res = segmenters('lite-model_deeplabv3-mobilenetv2_1_default_1')
    assert low_res.protocol() == {
        'resize_mode': 'letterbox',
        'upsampling': 'align_corners (65x65 scores, 513x513 input)'}
    gpu = segmenters('deeplabv3_257_mv_gpu')  # measured better stretched (registry)
    assert gpu.info.auto_resize_mode == 'stretch' and gpu.fit_mode == 'stretch'
    assert segmenters('deeplabv3_mnv2_dm05_pascal_quant').protocol()['resize_mode'] == (
        'letterbox')
    rgb = read_rgb('cat_720p.jpg')
    result = low_res.segment(rgb, confidence=True)
    assert result.labels.shape == (720, 1280) and (result.labels == VOC_CAT).mean() > 0.25


def test_ade20k_model_names_its_classes(segmenters):
    ade = segmenters('deeplabv3_mnv2_ade20k_uint8')
    assert ade.class_names[4] == 'floor' and ade.class_ids(['floor', 'rug']) == [4, 29]
