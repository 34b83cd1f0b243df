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

"""The pure stages without a model: fit, normalisation, label maps, labels and palettes."""

from deeplab_ros.engine.labels import (metadata_names, read_palette_file, resolve_labels,
                                       voc_colormap, VOC_NAMES)
from deeplab_ros.engine.model import TensorFacts
from deeplab_ros.engine.postprocess import (axis_map, postprocess, score_geometry, target_size,
                                            upsample_scores)
from deeplab_ros.engine.preprocess import Fit, plan_fit, write_input
from deeplab_ros.engine.render import Renderer
from deeplab_ros.errors import AssetError
import numpy as np
import pytest


def facts(kind: str, output_size=(513, 513), dtype=np.float32, quantization=(0.0, 0)):
    return TensorFacts(input_size=(513, 513), input_dtype=np.dtype(np.uint8),
                       input_quantization=(1 / 128, 128), output_kind=kind,
                       output_size=output_size, output_dtype=np.dtype(dtype),
                       output_quantization=quantization, num_classes=21)


def test_plan_fit_letterbox_keeps_aspect_and_stretch_fills():
    assert plan_fit((1280, 720), (513, 513), 'letterbox').content_size == (513, 289)
    assert plan_fit((720, 1280), (513, 513), 'letterbox').content_size == (289, 513)
    assert plan_fit((1280, 720), (513, 513), 'stretch').content_size == (513, 513)
    assert plan_fit((10, 10), (257, 257), 'letterbox').content_size == (257, 257)
    with pytest.raises(ValueError, match='resize mode'):
        plan_fit((10, 10), (257, 257), 'crop')
    with pytest.raises(ValueError, match='no pixels'):
        plan_fit((0, 10), (257, 257), 'stretch')


@pytest.mark.parametrize('dtype, pad, white, black', [
    (np.uint8, 128, 255, 0), (np.int8, 0, 127, -128), (np.float32, 0.0, 1.0, -1.0)])
def test_write_input_normalises_and_pads_per_dtype(dtype, pad, white, black):
    rgb = np.zeros((60, 120, 3), np.uint8)
    rgb[:, 60:] = 255
    dst = np.full((64, 64, 3), 77, dtype)
    fit = plan_fit((120, 60), (64, 64), 'letterbox')
    write_input(rgb, fit, dst)
    assert fit.content_size == (64, 32)
    assert np.all(dst[32:] == pad)  # bottom padding reads as pixel 127.5
    assert np.allclose(dst[:32, :30], black) and np.allclose(dst[:32, 34:], white)


def test_ids_output_is_cropped_and_resized_with_nearest_neighbour():
    out = np.zeros((513, 513), np.int64)
    out[:289, 256:] = 15
    out[289:] = 7  # padding: must never reach the label map
    fit = plan_fit((1280, 720), (513, 513), 'letterbox')
    labels, confidence = postprocess(out, facts('ids'), fit, (1280, 720), 21)
    assert labels.shape == (720, 1280) and labels.dtype == np.uint8 and confidence is None
    assert set(np.unique(labels)) == {0, 15}
    assert labels[:, 640:].min() == 15 and labels[:, :638].max() == 0


def test_scores_argmax_happens_before_any_cast():
    scores = np.zeros((8, 8, 21), np.float32)
    scores[..., 4] = 0.2
    scores[..., 9] = 0.7  # both would be 0 after a cast to an integer type
    fit = Fit((8, 8), (8, 8), (8, 8))
    labels, _ = postprocess(scores, facts('scores', (8, 8)), fit, (8, 8), 21)
    assert np.all(labels == 9)


def test_low_resolution_scores_are_upsampled_smoothly_before_argmax():
    # 65x65 logits with a vertical class boundary at x = 32.5 of 65.
    scores = np.zeros((65, 65, 21), np.float32)
    ramp = np.linspace(-1, 1, 65, dtype=np.float32)
    scores[..., 1] = ramp[None, :]
    scores[..., 2] = -ramp[None, :]
    fit = plan_fit((513, 513), (513, 513), 'stretch')
    labels, _ = postprocess(scores, facts('scores', (65, 65)), fit, (513, 513), 21)
    boundary = np.argmax(labels[0] == 1)
    assert abs(boundary - 256) <= 4  # at the model resolution, not at 8-pixel steps


def test_confidence_is_the_softmax_peak():
    logits = np.random.default_rng(0).normal(size=(16, 16, 21)).astype(np.float32)
    fit = Fit((16, 16), (16, 16), (16, 16))
    _, confidence = postprocess(logits, facts('scores', (16, 16)), fit, (16, 16), 21, True)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    assert np.abs(confidence.astype(float) - 255 * probabilities.max(axis=2)).max() <= 1


def test_quantized_scores_are_dequantized_for_confidence():
    raw = np.full((4, 4, 3), 100, np.uint8)
    raw[..., 1] = 140  # (140 - 100) * 0.1 = 4 logits above the others
    fit = Fit((4, 4), (4, 4), (4, 4))
    quant = facts('scores', (4, 4), np.uint8, (0.1, 100))
    labels, confidence = postprocess(raw, quant, fit, (4, 4), 3, True)
    expected = 255 * np.exp(4) / (np.exp(4) + 2)
    assert np.all(labels == 1) and abs(int(confidence[0, 0]) - expected) <= 1


def test_target_size_for_both_resolutions():
    fit = plan_fit((1280, 720), (513, 513), 'letterbox')
    assert target_size(fit, 'input') == (1280, 720)
    assert target_size(fit, 'model') == (513, 289)
    with pytest.raises(ValueError, match='output resolution'):
        target_size(fit, 'native')


def test_more_than_256_classes_give_uint16_labels():
    out = np.full((10, 10), 300, np.int32)
    fit = Fit((10, 10), (10, 10), (10, 10))
    labels, _ = postprocess(out, facts('ids', (10, 10)), fit, (20, 20), 301)
    assert labels.dtype == np.uint16 and np.all(labels == 300)
    renderer = Renderer(resolve_labels(301).palette)
    assert renderer.colorize(labels).shape == (20, 20, 3)
    assert renderer.class_mask(labels, [300]).min() == 255


def test_voc_colormap_matches_the_standard_values():
    colors = voc_colormap()
    assert tuple(colors[0]) == (0, 0, 0) and tuple(colors[1]) == (128, 0, 0)
    assert tuple(colors[15]) == (192, 128, 128) and tuple(colors[255]) == (224, 224, 192)


def test_label_sets_and_user_files(tmp_path):
    assert resolve_labels(21, default_labels='voc').names == VOC_NAMES
    city = resolve_labels(19, default_labels='cityscapes')
    assert city.names[0] == 'road' and city.names[13] == 'car' and len(city.names) == 19
    assert tuple(city.palette[0]) == (128, 64, 128) and tuple(city.palette[13]) == (0, 0, 142)
    assert city.background_id is None  # no catch-all class: every class is blended
    names = tmp_path / 'names.txt'
    names.write_text('floor\n\nwall\nsky\n')
    palette = tmp_path / 'palette.txt'
    palette.write_text('1 2 3\n4,5,6\n#0a0b0c\n')
    custom = resolve_labels(3, labels=str(names), palette=str(palette))
    assert custom.names == ('floor', 'wall', 'sky')
    assert custom.palette[:3].tolist() == [[1, 2, 3], [4, 5, 6], [10, 11, 12]]
    assert custom.class_ids(['Sky', 'FLOOR']) == [2, 0]
    with pytest.raises(ValueError, match="unknown class name.*'door'.*floor, wall, sky"):
        custom.class_ids(['door'])
    assert resolve_labels(0).names[0] == 'class_0'
    assert resolve_labels(32).names[31] == 'class_31'


def test_label_and_palette_file_errors(tmp_path):
    with pytest.raises(AssetError, match='cannot read labels file'):
        resolve_labels(21, labels=str(tmp_path / 'missing.txt'))
    short = tmp_path / 'short.txt'
    short.write_text('a\nb\n')
    with pytest.raises(AssetError, match='21 classes but the labels give only 2'):
        resolve_labels(21, labels=str(short))
    bad = tmp_path / 'bad.txt'
    bad.write_text('1 2 3\n300 0 0\n')
    with pytest.raises(AssetError, match='line 2'):
        read_palette_file(bad, 256)


def test_class_names_match_with_spacing_and_case():
    voc = resolve_labels(21, default_labels='voc')
    assert voc.class_ids(['dining_table', 'diningtable', 'TV Monitor', '15']) == [11, 11, 20, 15]


def test_metadata_names_absent_in_plain_files(tmp_path):
    plain = tmp_path / 'plain.tflite'
    plain.write_bytes(b'TFL3' + bytes(64))
    assert metadata_names(plain) is None


def test_align_corners_upsampling_matches_a_hand_computed_case():
    # 3 score columns on a 5-pixel input: (3 - 1) * 2 + 1 = 5, so the first and last
    # pixels sit on the first and last scores and pixel 1 is halfway: class 1 scores
    # 0, 0.5, 1, 1.5, 2 against a constant 1.0 for class 0.
    scores = np.zeros((3, 3, 2), np.float32)
    scores[..., 0] = 1.0
    scores[..., 1] = np.array([0.0, 1.0, 2.0], np.float32)[None, :]
    fit = Fit((5, 5), (5, 5), (5, 5))
    assert axis_map(3, 5, 'auto') == (0.5, 0.0)
    up = upsample_scores(scores, fit)
    np.testing.assert_allclose(up[0, :, 1], [0.0, 0.5, 1.0, 1.5, 2.0])
    labels, _ = postprocess(scores, facts('scores', (3, 3)), fit, (5, 5), 2)
    assert labels[0].tolist() == [0, 0, 0, 1, 1]  # a tie goes to the lower class id


def test_half_pixel_geometry_when_the_sizes_are_not_aligned():
    # 4 scores over 8 pixels: pixel X sits at (X + 0.5) / 2 - 0.5, replicated at the edges.
    assert axis_map(4, 8, 'auto') == (0.5, -0.25)
    scores = np.zeros((4, 4, 2), np.float32)
    scores[..., 1] = np.arange(4, dtype=np.float32)[None, :]
    up = upsample_scores(scores, Fit((8, 8), (8, 8), (8, 8)))
    np.testing.assert_allclose(up[0, :, 1], [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0])
    assert score_geometry((65, 65), (513, 513)) == 'align_corners'
    assert score_geometry((64, 64), (512, 512)) == 'half_pixel'
    assert score_geometry((65, 64), (513, 512)) == 'mixed: align_corners x, half_pixel y'


@pytest.mark.parametrize('dtype', [np.float32, np.uint8, np.int8])
@pytest.mark.parametrize('size', [(65, 65), (33, 33), (129, 129), (17, 23), (513, 513)])
def test_scores_of_every_type_and_size_give_the_same_labels(dtype, size):
    rng = np.random.default_rng(size[0])
    logits = rng.normal(scale=0.2, size=(size[1], size[0], 21)).astype(np.float32)
    winners = rng.integers(0, 21, (4, 4))  # regions of clear winners, as real score maps have
    rows = np.arange(size[1]) * 4 // size[1]
    columns = np.arange(size[0]) * 4 // size[0]
    np.put_along_axis(logits, winners[rows][:, columns][..., None], 3.0, axis=2)
    scale, zero = (0.0, 0) if dtype == np.float32 else (0.05, 10 if dtype == np.uint8 else -3)
    if scale:
        info = np.iinfo(dtype)
        raw = np.clip(np.rint(logits / scale) + zero, info.min, info.max).astype(dtype)
        reference = (raw.astype(np.float32) - zero) * scale
    else:
        raw = reference = logits
    fit = plan_fit((1280, 720), (513, 513), 'letterbox')
    quantized = facts('scores', size, dtype, (scale, zero))
    labels, confidence = postprocess(raw, quantized, fit, (1280, 720), 21, True)
    expected, expected_confidence = postprocess(reference, facts('scores', size), fit,
                                                (1280, 720), 21, True)
    assert labels.shape == (720, 1280) and labels.dtype == np.uint8
    # Argmax on raw quantized values = on dequantized ones (up to float rounding of near
    # ties where two classes' interpolated scores meet).
    assert (labels == expected).mean() > 0.9995
    assert np.abs(confidence.astype(int) - expected_confidence).max() <= 1


def test_low_resolution_padding_never_bleeds_into_the_image():
    # Letterboxed 1280x720 in 513x513: the image covers rows 0..288 of the input, which
    # are score rows 0..36 of 65. The padding rows below hold another, strong class.
    scores = np.zeros((65, 65, 21), np.float32)
    scores[:37, :, 1] = 1.0
    scores[37:, :, 7] = 50.0
    fit = plan_fit((1280, 720), (513, 513), 'letterbox')
    labels, _ = postprocess(scores, facts('scores', (65, 65)), fit, (1280, 720), 21)
    assert set(np.unique(labels)) == {1}


def test_ade20k_class_names_are_shipped():
    ade = resolve_labels(32, default_labels='ade20k')
    assert ade.names[:5] == ('other', 'wall', 'building', 'sky', 'floor')
    assert ade.names[13] == 'person' and ade.names[29] == 'rug' and len(ade.names) == 32
    assert ade.class_ids(['floor', 'rug', 'person', 'chair', 'table']) == [4, 29, 13, 20, 16]
    assert ade.background_id == 0
    assert resolve_labels(21, default_labels='voc').background_id == 0
