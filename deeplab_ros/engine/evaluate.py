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
Accuracy on a VOC-layout folder: mean IoU, pixel accuracy, per-class IoU and confusions.

A class map (:func:`read_class_map`) scores a model on data labelled in another label set:
model classes are mapped onto the dataset's classes and the confusion is over the latter.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import cv2
from deeplab_ros.engine.labels import normalize_name
from deeplab_ros.errors import AssetError
import numpy as np
import yaml

IGNORE = 255
VOC_IGNORE_COLOR = (224, 224, 192)
LAYOUTS = (('JPEGImages', 'SegmentationClass'), ('images', 'masks'))
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
UNMAPPED = 'unmapped'  # the prediction column of model classes a class map leaves out
MAX_MASK_ID = 65535  # masks are 8- or 16-bit images


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
                raise AssetError(f'{root}: no mask in {mask_dir}/ has an image of the same name '
                                 f'in {image_dir}/')
            return pairs
    raise AssetError(f'{root} is not a VOC-layout folder: expected JPEGImages/ + '
                     'SegmentationClass/ or images/ + masks/')


def read_image(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8, or raise AssetError."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise AssetError(f'cannot read image {path} (not an image file OpenCV can decode)')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path: Path, palette: np.ndarray) -> np.ndarray:
    """
    Read a ground-truth mask as class ids; colour (palette) masks map through ``palette``.

    Grey masks hold ids directly. In colour masks the VOC boundary colour and colours not in
    the palette read as 255 (ignored).
    """
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise AssetError(f'cannot read mask {path}')
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


def _fail(path: Path, what: str) -> AssetError:
    return AssetError(f'class map {path}: {what}')


@dataclass(frozen=True)
class ClassMap:
    """A model's classes mapped onto the classes a dataset is labelled in."""

    path: Path
    classes: Tuple[str, ...]  # the dataset's class names, index = id in its masks
    ignore: Tuple[int, ...]   # mask ids that are not scored (255 always)
    lookup: Tuple[int, ...]   # model class id -> dataset class id; len(classes) if unmapped

    @property
    def unmapped(self) -> int:
        """Return the prediction column of model classes the map leaves out."""
        return len(self.classes)

    @property
    def columns(self) -> Tuple[str, ...]:
        """Return the names of the prediction columns: the dataset's classes, then unmapped."""
        return self.classes + (UNMAPPED,)

    def unmapped_classes(self, model_names: Sequence[str]) -> List[str]:
        """Return the model classes the map leaves out (a miss wherever they are predicted)."""
        return [name for name, target in zip(model_names, self.lookup)
                if target == self.unmapped]

    def confusion(self, truth: np.ndarray, predicted: np.ndarray,
                  source: str = 'a mask') -> np.ndarray:
        """
        Count the pixels of one image by [dataset class, predicted dataset class or unmapped].

        :param truth: the dataset's class ids; ``ignore`` ids are not counted.
        :param predicted: the model's class ids, same shape; ids the map does not name land in
            the last (unmapped) column, wrong for every ground-truth class.
        :param source: what ``truth`` was read from, for the error message.
        """
        truth = np.asarray(truth, dtype=np.int64)
        predicted = np.asarray(predicted, dtype=np.int64)
        if truth.shape != predicted.shape:
            raise ValueError(f'truth {truth.shape} and prediction {predicted.shape} differ in '
                             'shape')
        valid = ~np.isin(truth, self.ignore)
        truth, predicted = truth[valid], predicted[valid]
        size = len(self.classes)
        stray = np.unique(truth[(truth < 0) | (truth >= size)])
        if stray.size:
            ids = ', '.join(str(v) for v in stray[:10])
            raise AssetError(f'{source} holds ids {ids}, which {self.path} neither names in '
                             f'classes: (ids 0..{size - 1}) nor lists in ignore:')
        lookup = np.array(self.lookup + (self.unmapped,), dtype=np.int64)
        known = (predicted >= 0) & (predicted < len(self.lookup))
        mapped = lookup[np.where(known, predicted, len(self.lookup))]
        return np.bincount(truth * (size + 1) + mapped, minlength=size * (size + 1)).reshape(
            size, size + 1)


def _names(path: Path, value, key: str) -> List[str]:
    """Check a YAML list of class names."""
    if not isinstance(value, list) or not value:
        raise _fail(path, f'{key}: must be a list of class names (index = class id), got '
                    f'{value!r}')
    bad = [v for v in value if not isinstance(v, str) or not normalize_name(v)]
    if bad:
        raise _fail(path, f'{key}: class names must be non-empty text, got '
                    f'{", ".join(repr(v) for v in bad)}')
    seen: Dict[str, str] = {}
    for name in value:
        if normalize_name(name) in seen:
            raise _fail(path, f'{key}: {seen[normalize_name(name)]!r} and {name!r} are the same '
                        'class name')
        seen[normalize_name(name)] = name
    return value


def _load_yaml(path: Path) -> dict:
    """Return the mapping in a class-map file; raise AssetError saying what is wrong."""
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise AssetError(f'cannot read class map {path}: '
                         f'{getattr(exc, "strerror", None) or exc}') from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' (line {mark.line + 1})' if mark is not None else ''
        raise _fail(path, f'not valid YAML{where}: '
                    f'{getattr(exc, "problem", None) or exc}') from exc
    if not isinstance(data, dict):
        got = type(data).__name__ if data is not None else 'an empty file'
        raise _fail(path, f'expected a mapping with keys classes:, map: and ignore:, got {got}')
    unknown = sorted(str(k) for k in data if k not in ('classes', 'ignore', 'map'))
    if unknown:
        raise _fail(path, f'unknown key(s) {", ".join(unknown)}; expected classes:, map: and '
                    'ignore:')
    return data


def _ignored_ids(path: Path, ignore: Any) -> List[int]:
    """Return the ``ignore:`` ids as a list; raise AssetError for one that is not an id."""
    ignore = ignore or []
    if not isinstance(ignore, list):
        ignore = [ignore]
    bad = [v for v in ignore if isinstance(v, bool) or not isinstance(v, int)
           or not 0 <= v <= MAX_MASK_ID]
    if bad:
        raise _fail(path, f'ignore: ids must be whole numbers from 0 to {MAX_MASK_ID}, got '
                    f'{", ".join(repr(v) for v in bad)}')
    return ignore


def _lookup(path: Path, mapping: Any, model_names: Sequence[str],
            classes: Sequence[str]) -> List[int]:
    """Return the dataset class of each model class (``len(classes)``: unmapped)."""
    if not isinstance(mapping, dict) or not mapping:
        raise _fail(path, 'map: must map model class names to dataset class names, got '
                    f'{mapping!r}')
    model_index = {normalize_name(n): i for i, n in enumerate(model_names)}
    data_index = {normalize_name(n): i for i, n in enumerate(classes)}
    lookup = [len(classes)] * len(model_names)
    unknown_model, unknown_data = [], []
    for key, value in mapping.items():
        if not isinstance(key, str) or normalize_name(key) not in model_index:
            unknown_model.append(repr(key))
        elif not isinstance(value, str) or normalize_name(value) not in data_index:
            unknown_data.append(f'{value!r} (for {key})')
        else:
            model_id = model_index[normalize_name(key)]
            if lookup[model_id] not in (len(classes), data_index[normalize_name(value)]):
                raise _fail(path, f'map: model class {model_names[model_id]!r} is mapped twice')
            lookup[model_id] = data_index[normalize_name(value)]
    if unknown_model:
        raise _fail(path, f'map: unknown model class(es) {", ".join(unknown_model)}; this '
                    f'model knows: {", ".join(model_names)}')
    if unknown_data:
        raise _fail(path, f'map: unknown dataset class(es) {", ".join(unknown_data)}; '
                    f'classes: lists {", ".join(classes)}')
    return lookup


def read_class_map(path: Path, model_names: Sequence[str]) -> ClassMap:
    """
    Read a YAML class-map file for a model with classes ``model_names``.

    The file holds ``classes:`` (the dataset's class names, index = id in its masks),
    ``ignore:`` (ids not scored; 255 always is) and ``map:`` (model class name -> dataset class
    name; several model classes may share one dataset class). Names match as
    :func:`deeplab_ros.engine.labels.normalize_name` folds them. Raise AssetError naming the
    file and what is wrong.
    """
    path = Path(path)
    data = _load_yaml(path)
    classes = _names(path, data.get('classes'), 'classes')
    ignore = _ignored_ids(path, data.get('ignore'))
    lookup = _lookup(path, data.get('map'), model_names, classes)
    return ClassMap(path=path, classes=tuple(classes),
                    ignore=tuple(sorted(set(ignore) | {IGNORE})), lookup=tuple(lookup))


@dataclass
class Scores:
    """Accumulated confusion matrix and the figures derived from it."""

    # [true class, predicted class]; a class map adds a last, "unmapped" prediction column.
    confusion: np.ndarray
    images: int = 0
    names: Tuple[str, ...] = ()  # prediction column names (the rows are the first ones)
    skip: Tuple[int, ...] = ()   # classes with no IoU: a class map's ignored ids

    @property
    def pixel_accuracy(self) -> float:
        """Return correct pixels over labelled pixels."""
        total = self.confusion.sum()
        return float(np.trace(self.confusion) / total) if total else 0.0

    def class_iou(self) -> np.ndarray:
        """Return IoU per class (NaN for classes absent from both truth and prediction)."""
        square = self.confusion[:, :self.confusion.shape[0]]
        tp = np.diag(square).astype(np.float64)
        union = square.sum(0) + self.confusion.sum(1) - tp
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = np.where(union > 0, tp / union, np.nan)
        iou[[i for i in self.skip if i < len(iou)]] = np.nan
        return iou

    @property
    def miou(self) -> float:
        """Return the mean IoU over classes present in truth or prediction."""
        iou = self.class_iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else 0.0

    def confusions(self, top: int = 10) -> List[Dict]:
        """
        Return the ``top`` most frequent confusions, most pixels first.

        Each is {truth, predicted, share, pixels}: share is the part of the ground-truth
        class's labelled pixels predicted as that other class.
        """
        rows = self.confusion.shape[0]
        names = self.names or tuple(f'class_{i}' for i in range(self.confusion.shape[1]))
        totals = self.confusion.sum(1)
        wrong = self.confusion.copy()
        wrong[np.arange(rows), np.arange(rows)] = 0
        order = np.argsort(-wrong, axis=None, kind='stable')[:top]
        found = []
        for truth, predicted in zip(*np.unravel_index(order, wrong.shape)):
            pixels = int(wrong[truth, predicted])
            if pixels:
                found.append({'truth': names[truth], 'predicted': names[predicted],
                              'share': pixels / int(totals[truth]), 'pixels': pixels})
        return found


def evaluate(pairs: List[Tuple[Path, Path]], segment: Callable[[np.ndarray], np.ndarray],
             num_classes: int, palette: np.ndarray,
             progress: Optional[Callable[[int, int], None]] = None,
             names: Sequence[str] = (), class_map: Optional[ClassMap] = None) -> Scores:
    """
    Segment each image and accumulate the confusion against its mask (255 ignored).

    :param names: the model's class names, for :meth:`Scores.confusions`.
    :param class_map: score over a dataset's own classes (see :func:`read_class_map`);
        without one, the masks hold the model's class ids.
    """
    if class_map is None:
        scores = Scores(np.zeros((num_classes, num_classes), dtype=np.int64),
                        names=tuple(names))
    else:
        size = len(class_map.classes)
        scores = Scores(np.zeros((size, size + 1), dtype=np.int64), names=class_map.columns,
                        skip=tuple(i for i in class_map.ignore if i < size))
    for index, (image_path, mask_path) in enumerate(pairs):
        truth = read_mask(mask_path, palette)
        predicted = segment(read_image(image_path))
        if predicted.shape != truth.shape:
            predicted = cv2.resize(predicted, (truth.shape[1], truth.shape[0]),
                                   interpolation=cv2.INTER_NEAREST)
        if class_map is not None:
            scores.confusion += class_map.confusion(truth, predicted, str(mask_path))
        else:
            valid = truth < num_classes  # drops 255 and ids this model cannot emit
            flat = truth[valid] * num_classes + predicted[valid].astype(np.int64)
            scores.confusion += np.bincount(flat, minlength=num_classes ** 2).reshape(
                num_classes, num_classes)
        scores.images += 1
        if progress:
            progress(index + 1, len(pairs))
    return scores
