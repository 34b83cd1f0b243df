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

"""Class names and colour palettes: PASCAL VOC, Cityscapes, TFLite metadata or user files."""

from dataclasses import dataclass
from pathlib import Path
import re
from typing import Optional, Sequence
import zipfile

from deeplab_ros.errors import AssetError
import numpy as np

VOC_NAMES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
    'chair', 'cow', 'dining table', 'dog', 'horse', 'motorbike', 'person', 'potted plant',
    'sheep', 'sofa', 'train', 'tv monitor',
)

# The 19 Cityscapes train ids (cityscapesScripts labels.py, trainId 0..18), which the slim
# Cityscapes model emits directly: no background class (google-coral's golden mask of
# cityscapes_segmentation.bmp has the road at 0, the sidewalk at 1, the cars at 13).
CITYSCAPES_NAMES = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
    'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
    'motorcycle', 'bicycle',
)

# MLPerf mobile ADE20K (mlcommons/mobile_models v0_7 deeplabv3_mnv2_ade20k_uint8.tflite): the
# model was fine-tuned with num_classes=32, ignore_label=0, and every ADE20K label >= 32 set to
# 0 (mlcommons/mobile_open, vision/deeplab/models_and_code/datasets/data_generator.py and
# input_preprocess.py, commit 86a873714efd6cb391c3a4751e3bb7b8f91b1449), so ids 1..31 are
# ADE20K's own classes 1..31 and 0 is everything else. Names: the first synonym of rows 1..31
# of ADE20K's objectInfo150.csv (github.com/CSAILVision/sceneparsing, commit e20222964c58).
ADE20K_NAMES = (
    'other', 'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane',
    'grass', 'cabinet', 'sidewalk', 'person', 'earth', 'door', 'table', 'mountain', 'plant',
    'curtain', 'chair', 'car', 'water', 'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror',
    'rug', 'field', 'armchair',
)

#: The standard Cityscapes colours, by train id (cityscapesScripts labels.py).
CITYSCAPES_COLORS = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32),
)


def voc_colormap(size: int = 256) -> np.ndarray:
    """Return the standard PASCAL VOC colour map (bit-interleaved) as a (size, 3) uint8 array."""
    colormap = np.zeros((size, 3), dtype=np.uint8)
    ids = np.arange(size)
    for shift in range(7, -1, -1):
        for channel in range(3):
            colormap[:, channel] |= (((ids >> channel) & 1) << shift).astype(np.uint8)
        ids = ids >> 3
    return colormap


def cityscapes_colormap(size: int = 256) -> np.ndarray:
    """Return the Cityscapes colours by train id, extended by the VOC map to ``size``."""
    colormap = voc_colormap(size)
    colormap[:len(CITYSCAPES_COLORS)] = CITYSCAPES_COLORS
    return colormap


#: Names of a class 0 that stands for "none of the classes" (normalized, see normalize_name).
BACKGROUND_NAMES = ('background', 'other', 'unlabeled', 'unlabelled', 'void')

PALETTES = {'voc': voc_colormap, 'cityscapes': cityscapes_colormap}
LABEL_SETS = {'voc': VOC_NAMES, 'cityscapes': CITYSCAPES_NAMES, 'ade20k': ADE20K_NAMES}


@dataclass(frozen=True)
class LabelSet:
    """Class names of a model and the colour of each class id."""

    names: tuple
    palette: np.ndarray  # (max(256, len(names)), 3) uint8, indexable by any class id

    @property
    def background_id(self) -> Optional[int]:
        """Return 0 when class 0 is a catch-all (background, other, unlabeled), else None."""
        first = normalize_name(self.names[0]) if self.names else ''
        return 0 if first in BACKGROUND_NAMES else None

    def class_ids(self, wanted: Sequence[str]) -> list:
        """Return the ids of the named classes; raise ValueError listing valid names if unknown."""
        index = {normalize_name(name): i for i, name in enumerate(self.names)}
        ids, unknown = [], []
        for name in wanted:
            key = normalize_name(name)
            if key in index:
                ids.append(index[key])
            elif key.isdigit() and int(key) < len(self.names):
                ids.append(int(key))
            else:
                unknown.append(name)
        if unknown:
            raise ValueError(f'unknown class name(s) {", ".join(repr(n) for n in unknown)}; '
                             f'this model knows: {", ".join(self.names)}')
        return ids


def normalize_name(name: str) -> str:
    """Fold case, spaces, dashes and underscores so 'dining_table' matches 'diningtable'."""
    return re.sub(r'[\s_\-]+', '', name.strip().lower())


def read_names_file(path: Path) -> tuple:
    """Read class names, one per line (blank lines skipped), as labelmap.txt files hold them."""
    try:
        text = Path(path).read_text(encoding='utf-8')
    except OSError as exc:
        raise AssetError(f'cannot read labels file {path}: {exc.strerror}') from exc
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise AssetError(f'labels file {path} holds no class names (one name per line)')
    return names


def read_palette_file(path: Path, size: int) -> np.ndarray:
    """
    Read one colour per line ('r g b', 'r,g,b' or '#rrggbb') into a (size, 3) palette.

    Classes beyond the file's last line keep the VOC colours.
    """
    try:
        lines = Path(path).read_text(encoding='utf-8').splitlines()
    except OSError as exc:
        raise AssetError(f'cannot read palette file {path}: {exc.strerror}') from exc
    colors = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith('#'):
                rgb = [int(line[i:i + 2], 16) for i in (1, 3, 5)] if len(line) == 7 else []
            else:
                rgb = [int(v) for v in re.split(r'[\s,;]+', line)]
        except ValueError:
            rgb = []
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
            raise AssetError(f'palette file {path} line {number}: expected "r g b" (0..255) or '
                             f'"#rrggbb", got {line!r}')
        colors.append(rgb)
    if not colors:
        raise AssetError(f'palette file {path} holds no colours (one "r g b" per line)')
    palette = voc_colormap(max(size, len(colors)))
    palette[:len(colors)] = colors
    return palette


def metadata_names(model_path: Path) -> Optional[tuple]:
    """Return the class names packed in a TFLite model's metadata (labelmap.txt), if any."""
    try:
        if not zipfile.is_zipfile(model_path):
            return None
        with zipfile.ZipFile(model_path) as archive:
            files = [n for n in archive.namelist() if n.lower().endswith('.txt')]
            files.sort(key=lambda n: 'label' not in n.lower())
            if not files:
                return None
            text = archive.read(files[0]).decode('utf-8', errors='replace')
    except (OSError, zipfile.BadZipFile):
        return None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    return names or None


def resolve_labels(num_classes: int, labels: str = '', palette: str = '',
                   default_labels: str = '', default_palette: str = '',
                   model_path: Optional[Path] = None) -> LabelSet:
    """
    Pick class names and palette for a model.

    :param num_classes: classes the model can emit (0 when unknown, e.g. class-id outputs).
    :param labels: '', a label set name ('voc', 'cityscapes') or a file with one name per line.
    :param palette: '', a palette name ('voc', 'cityscapes') or a file with one colour per line.
    :param default_labels: the registry's label set for the model, used when ``labels`` is ''.
    :param default_palette: the registry's palette for the model, used when ``palette`` is ''.
    :param model_path: model file, searched for labels in its TFLite metadata.
    """
    names = None
    choice = labels or default_labels
    if choice in LABEL_SETS:
        names = LABEL_SETS[choice]
    elif choice:
        names = read_names_file(Path(choice))
    elif model_path is not None:
        names = metadata_names(model_path)
    if names is None:
        names = VOC_NAMES if num_classes == len(VOC_NAMES) else tuple(
            f'class_{i}' for i in range(max(num_classes, 1)))
    if num_classes and len(names) < num_classes:
        raise AssetError(f'the model has {num_classes} classes but the labels give only '
                         f'{len(names)} names; pass a labels file with one name per line')
    size = max(256, len(names), num_classes)
    choice = palette or default_palette or ('cityscapes' if names == CITYSCAPES_NAMES else 'voc')
    if choice in PALETTES:
        colors = PALETTES[choice](size)
    else:
        colors = read_palette_file(Path(choice), size)
    colors.setflags(write=False)
    return LabelSet(names=tuple(names), palette=colors)
