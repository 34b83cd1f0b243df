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

"""Accuracy on a VOC-layout folder: mean IoU, pixel accuracy and per-class IoU."""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import cv2
from deeplab_ros.errors import AssetError
import numpy as np

IGNORE = 255
VOC_IGNORE_COLOR = (224, 224, 192)
LAYOUTS = (('JPEGImages', 'SegmentationClass'), ('images', 'masks'))
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


def find_pairs(root: Path) -> List[Tuple[Path, Path]]:
    """Return (image, mask) pairs of a VOC-layout folder, matched by file stem."""
    root = Path(root)
    for image_dir, mask_dir in LAYOUTS:
        if (root / image_dir).is_dir() and (root / mask_dir).is_dir():
            images = {p.stem: p for p in (root / image_dir).iterdir()
                      if p.suffix.lower() in IMAGE_SUFFIXES}
            pairs = [(images[m.stem], m) for m in sorted((root / mask_dir).iterdir())
                     if m.suffix.lower() in ('.png', '.bmp') and m.stem in images]
            if not pairs:
                raise AssetError('%s: no mask in %s/ has an image of the same name in %s/' % (
                    root, mask_dir, image_dir))
            return pairs
    raise AssetError('%s is not a VOC-layout folder: expected JPEGImages/ + SegmentationClass/ '
                     'or images/ + masks/' % root)


def read_image(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8, or raise AssetError."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise AssetError('cannot read image %s (not an image file OpenCV can decode)' % path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path: Path, palette: np.ndarray) -> np.ndarray:
    """
    Read a ground-truth mask as class ids; colour (palette) masks map through ``palette``.

    Grey masks hold ids directly. In colour masks the VOC boundary colour and colours not in
    the palette read as 255 (ignored).
    """
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise AssetError('cannot read mask %s' % path)
    if mask.ndim == 2:
        return mask.astype(np.int64)
    rgb = cv2.cvtColor(mask[..., :3], cv2.COLOR_BGR2RGB).astype(np.int64)
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0]  # a grey mask saved with three channels
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    colors = palette.astype(np.int64)
    keys = (colors[:, 0] << 16) | (colors[:, 1] << 8) | colors[:, 2]
    lookup = {}
    for class_id in range(len(keys) - 1, -1, -1):  # the lowest id wins a repeated colour
        lookup[int(keys[class_id])] = class_id
    r, g, b = VOC_IGNORE_COLOR
    lookup[(r << 16) | (g << 8) | b] = IGNORE
    unique, inverse = np.unique(codes, return_inverse=True)
    ids = np.array([lookup.get(int(code), IGNORE) for code in unique], dtype=np.int64)
    return ids[inverse].reshape(codes.shape)


@dataclass
class Scores:
    """Accumulated confusion matrix and the figures derived from it."""

    confusion: np.ndarray  # [true class, predicted class]
    images: int = 0

    @property
    def pixel_accuracy(self) -> float:
        """Return correct pixels over labelled pixels."""
        total = self.confusion.sum()
        return float(np.trace(self.confusion) / total) if total else 0.0

    def class_iou(self) -> np.ndarray:
        """Return IoU per class (NaN for classes absent from both truth and prediction)."""
        tp = np.diag(self.confusion).astype(np.float64)
        union = self.confusion.sum(0) + self.confusion.sum(1) - tp
        with np.errstate(divide='ignore', invalid='ignore'):
            return np.where(union > 0, tp / union, np.nan)

    @property
    def miou(self) -> float:
        """Return the mean IoU over classes present in truth or prediction."""
        iou = self.class_iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else 0.0


def evaluate(pairs: List[Tuple[Path, Path]], segment: Callable[[np.ndarray], np.ndarray],
             num_classes: int, palette: np.ndarray,
             progress: Optional[Callable[[int, int], None]] = None) -> Scores:
    """Segment each image and accumulate the confusion against its mask (255 ignored)."""
    scores = Scores(np.zeros((num_classes, num_classes), dtype=np.int64))
    for index, (image_path, mask_path) in enumerate(pairs):
        truth = read_mask(mask_path, palette)
        predicted = segment(read_image(image_path))
        if predicted.shape != truth.shape:
            predicted = cv2.resize(predicted, (truth.shape[1], truth.shape[0]),
                                   interpolation=cv2.INTER_NEAREST)
        valid = truth < num_classes  # drops 255 and ids this model cannot emit
        pairs_flat = truth[valid] * num_classes + predicted[valid].astype(np.int64)
        scores.confusion += np.bincount(pairs_flat, minlength=num_classes ** 2).reshape(
            num_classes, num_classes)
        scores.images += 1
        if progress:
            progress(index + 1, len(pairs))
    return scores
