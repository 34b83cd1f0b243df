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
Point clouds: class tables, sensor_msgs/PointCloud2 layouts and packing, shared checks.

Two layouts. Selected points (:func:`pack_points`): an unorganized, dense cloud of N
points with x, y, z float32 and the class id as uint16 label. Organized points
(:func:`pack_organized`): one point per pixel of a label map, x, y, z float32, NaN where
unknown, in a cloud of the label map's height and width. Both have a 16-byte point step.
"""

from typing import Iterable, NamedTuple, Tuple

import numpy as np

# sensor_msgs/PointField datatype codes.
UINT16 = 4
FLOAT32 = 7


class PointFieldSpec(NamedTuple):
    """One sensor_msgs/PointField: ``PointField(**spec._asdict())``."""

    name: str
    offset: int
    datatype: int
    count: int


POINT_FIELDS = (PointFieldSpec('x', 0, FLOAT32, 1), PointFieldSpec('y', 4, FLOAT32, 1),
                PointFieldSpec('z', 8, FLOAT32, 1), PointFieldSpec('label', 12, UINT16, 1))
POINT_STEP = 16
POINT_DTYPE = np.dtype({'names': ['x', 'y', 'z', 'label'],
                        'formats': ['<f4', '<f4', '<f4', '<u2'],
                        'offsets': [0, 4, 8, 12], 'itemsize': POINT_STEP})

ORGANIZED_FIELDS = POINT_FIELDS[:3]
ORGANIZED_STEP = 16
ORGANIZED_DTYPE = np.dtype({'names': ['x', 'y', 'z'], 'formats': ['<f4', '<f4', '<f4'],
                            'offsets': [0, 4, 8], 'itemsize': ORGANIZED_STEP})

Points = Tuple[np.ndarray, np.ndarray]


def class_lut(ids: Iterable[int], size: int) -> np.ndarray:
    """
    Return a bool lookup table of ``size`` entries, True at the class ids in ``ids``.

    :param size: number of classes of the model (the table must cover every id it outputs).
    """
    size = int(size)
    if size < 1:
        raise ValueError(f'a class table needs at least 1 entry, got size {size}')
    ids = [int(i) for i in ids]
    bad = [i for i in ids if not 0 <= i < size]
    if bad:
        raise ValueError(f'class ids {", ".join(map(str, bad))} are outside 0..{size - 1} '
                         f'(the model has {size} classes)')
    lut = np.zeros(size, dtype=bool)
    lut[ids] = True
    return lut


def pack_points(xyz: np.ndarray, label: np.ndarray) -> np.ndarray:
    """
    Return the points as PointCloud2 data: a structured array of :data:`POINT_DTYPE`.

    Its ``tobytes()`` is N * :data:`POINT_STEP` little-endian bytes (x, y, z float32 at
    0, 4, 8, label uint16 at 12, two zero bytes of padding) for a cloud of height 1, width
    N, ``is_dense`` true, ``is_bigendian`` false and ``row_step`` N * POINT_STEP.
    """
    xyz = np.asarray(xyz)
    label = np.asarray(label)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or label.shape != (xyz.shape[0],):
        raise ValueError('points must be an (N, 3) array with N labels, got '
                         f'{xyz.shape} and {label.shape}')
    packed = np.zeros(xyz.shape[0], POINT_DTYPE)
    packed['x'] = xyz[:, 0]
    packed['y'] = xyz[:, 1]
    packed['z'] = xyz[:, 2]
    packed['label'] = label
    return packed


def organized_buffer(height: int, width: int) -> np.ndarray:
    """Return a zeroed (height, width, 4) float32 buffer: x, y, z and padding per pixel."""
    return np.zeros((height, width, 4), np.float32)


def pack_organized(xyz: np.ndarray) -> np.ndarray:
    """
    Return organized points as PointCloud2 data: an (H, W) array of :data:`ORGANIZED_DTYPE`.

    Its ``tobytes()`` is H * W * :data:`ORGANIZED_STEP` little-endian bytes (x, y, z float32
    at 0, 4, 8, four bytes of padding) for a cloud of height H, width W, fields
    :data:`ORGANIZED_FIELDS`, ``row_step`` 16 * W, ``is_dense`` false, ``is_bigendian``
    false. Where ``xyz`` is the x, y, z view of a contiguous (H, W, 4) float32 buffer (as the
    organized point functions of this package return), the result is a view of that buffer,
    with no copy; otherwise the points are copied.

    :param xyz: (H, W, 3) float32 points, NaN where unknown.
    """
    xyz = np.asarray(xyz)
    if xyz.ndim != 3 or xyz.shape[2] != 3:
        raise ValueError(f'organized points must be an (H, W, 3) array, got shape {xyz.shape}')
    height, width = xyz.shape[:2]
    base = xyz.base
    if (xyz.dtype == np.float32 and isinstance(base, np.ndarray) and base.dtype == np.float32
            and base.flags.c_contiguous and base.size == height * width * 4
            and xyz.strides == (16 * width, 16, 4)
            and xyz.__array_interface__['data'][0] == base.__array_interface__['data'][0]):
        buffer = base.reshape(height, width, 4)
    else:
        buffer = organized_buffer(height, width)
        buffer[..., :3] = xyz
    return buffer.view(ORGANIZED_DTYPE).reshape(height, width)


def _check_stride(stride: int) -> int:
    if int(stride) != stride or stride < 1:
        raise ValueError(f'stride must be a whole number of pixels >= 1, got {stride!r}')
    return int(stride)


def _check_max_range(max_range: float) -> float:
    if not max_range > 0:  # also rejects NaN
        raise ValueError(f'max_range must be > 0 metres, got {max_range!r}')
    return float(max_range)


def _check_labels(labels: np.ndarray, intrinsics) -> None:
    """Check a label map against the ``width`` and ``height`` of its camera intrinsics."""
    if labels.ndim != 2 or labels.dtype.kind != 'u':
        raise ValueError('the label map must be a 2-D unsigned integer class-id image (HxW '
                         f'uint8 or uint16), got shape {labels.shape} dtype {labels.dtype}')
    if labels.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f'the label map is {labels.shape[1]}x{labels.shape[0]} but the '
                         f'intrinsics are for {intrinsics.width}x{intrinsics.height}: scale '
                         'them with Intrinsics.scaled(width, height)')


def _check_lut(lut: np.ndarray, what: str) -> None:
    if lut.ndim != 1 or lut.dtype != bool:
        raise ValueError(f'the {what} class table must be a 1-D bool array indexed by class '
                         f'id (see class_lut), got shape {lut.shape} dtype {lut.dtype}')


def _look_up(table: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return ``table[labels]``, or say which class id the table lacks."""
    try:
        return np.take(table, labels)
    except IndexError:
        raise ValueError(f'the label map holds class id {int(labels.max())} but the class '
                         f'table has only {table.size} entries: build it with '
                         'class_lut(ids, number of classes)') from None


def _empty() -> Points:
    return np.empty((0, 3), np.float32), np.empty(0, np.uint16)
