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
Class names tied to pixels: the name a user reads for a region is what that region shows.

Each check reads the colour image as a user sees it (``colorize``), finds the class whose
palette colour that is (the legend), and asserts its name, on real images with the real
models. The regions come from google-coral's golden mask (the street image) or were chosen
by looking at ``cat_720p.jpg`` (boxes in pixels of the 1280x720 image).
"""

from deeplab_ros.engine import registry
from deeplab_ros.engine.evaluate import read_image
from deeplab_ros.engine.labels import resolve_labels
from deeplab_ros.engine.pipeline import Segmenter
import numpy as np
import pytest

CITYSCAPES = 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant'
ADE20K = 'deeplabv3_mnv2_ade20k_uint8'
VOC_MODELS = [name for name, asset in registry.MODELS.items()
              if asset.classes == 21 and not name.endswith('_edgetpu')]

#: Regions of cat_720p.jpg: (x0, x1, y0, y1).
CAT_BODY = (450, 800, 350, 650)
CURTAIN = (20, 300, 20, 200)       # the orange striped curtain, top left
RUG = (10, 120, 420, 700)          # the red rug left of the cat
WALL = (900, 1270, 100, 300)       # the light wall behind the cat, right


def seen(segmenter: Segmenter, color: np.ndarray, where: np.ndarray):
    """Return the most frequent colour over ``where``, its share, and the legend's name."""
    pixels = color[where].reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    top = colours[counts.argmax()]
    legend = [i for i, c in enumerate(segmenter.labels.palette[:len(segmenter.class_names)])
              if tuple(c) == tuple(top)]
    assert len(legend) == 1, f'colour {tuple(top)} names {len(legend)} classes'
    return tuple(int(v) for v in top), counts.max() / len(pixels), \
        segmenter.class_names[legend[0]]


def box(shape, region) -> np.ndarray:
    x0, x1, y0, y1 = region
    mask = np.zeros(shape[:2], bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_the_street_model_names_the_road_and_the_cars(segmenters):
    segmenter = segmenters(CITYSCAPES)
    rgb = read_image(registry.fetch('cityscapes_segmentation.bmp'))
    golden = read_image(registry.fetch('cityscapes_segmentation_mask.bmp'))[..., 0]
    color = segmenter.colorize(segmenter.segment(rgb).labels)
    # google-coral's golden mask: road 0 (the lower half), cars 13.
    for golden_id, name, rgb_color in ((0, 'road', (128, 64, 128)), (13, 'car', (0, 0, 142))):
        where = golden == golden_id
        assert where.mean() > 0.02
        colour, share, named = seen(segmenter, color, where)
        assert (colour, named) == (rgb_color, name) and share > 0.8, (golden_id, share)


def test_the_edge_tpu_street_model_has_the_same_names():
    cpu, tpu = registry.MODELS[CITYSCAPES], registry.MODELS[CITYSCAPES + '_edgetpu']
    assert (tpu.labels, tpu.palette, tpu.classes) == (cpu.labels, cpu.palette, cpu.classes) \
        == ('cityscapes', 'cityscapes', 19)
    names = resolve_labels(tpu.classes, default_labels=tpu.labels,
                           default_palette=tpu.palette)
    assert names.names[0] == 'road' and names.names[13] == 'car' and names.names[-1] == 'bicycle'


@pytest.mark.parametrize('model', VOC_MODELS)
def test_voc_models_name_the_cat(segmenters, model):
    segmenter = segmenters(model)
    rgb = read_image(registry.fetch('cat_720p.jpg'))
    color = segmenter.colorize(segmenter.segment(rgb).labels)
    colour, share, named = seen(segmenter, color, box(rgb.shape, CAT_BODY))
    assert (named, colour) == ('cat', (64, 0, 0)) and share > 0.8


def test_ade20k_names_the_room(segmenters):
    """
    ADE20K ids name what the regions of the cat's room are.

    The MLPerf model was fine-tuned with num_classes=32, labels >= 32 set to 0
    (mlcommons/mobile_open, vision/deeplab/.../datasets/data_generator.py and
    input_preprocess.py), so ids 1..31 keep ADE20K's own ids, whose names are the rows 1..31 of
    ADE20K's objectInfo150.csv: 1 wall, 4 floor, 19 curtain, 29 rug, ... and 0 is the rest.
    A table shifted by one either way would name the curtain 'plant' or 'chair' and the wall
    'building' or 'other'; the pixels say curtain, wall and floor (the red rug lies on the
    floor, and either name is right for it).
    """
    segmenter = segmenters(ADE20K)
    rgb = read_image(registry.fetch('cat_720p.jpg'))
    color = segmenter.colorize(segmenter.segment(rgb).labels)
    for region, names in ((CURTAIN, {'curtain'}), (WALL, {'wall'}), (RUG, {'floor', 'rug'})):
        colour, share, named = seen(segmenter, color, box(rgb.shape, region))
        assert named in names and share > 0.7, (region, named, share)
