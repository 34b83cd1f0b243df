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
3D points of chosen classes for navigation: from a registered depth image or a flat ground.

Every point is in the camera's optical frame (z forward, x right, y down, metres) as
float32, with its class id as uint16; invalid pixels give no point, never NaN. Classes are
chosen with a boolean lookup table indexed by class id (:func:`class_lut`), so selection is
one table look-up per sampled pixel. What depends only on the camera and the parameters
(rays, plane hits, depth sampling positions) is computed once and cached; a frame costs a
look-up, a selection and a gather.

Flat-ground convention: the optical centre is ``height`` metres above flat, level ground;
``pitch`` is positive when the camera looks down; ``roll`` is positive when the camera is
turned clockwise as seen from behind it (its right side lower, so the horizon rises toward
the right of the image). Pitch is applied first (about the camera x axis), then roll (about
the new optical axis), so the world "up" direction in camera coordinates is
``(-cos(pitch) sin(roll), -cos(pitch) cos(roll), -sin(pitch))``.
"""

from dataclasses import dataclass
import functools
import math
from typing import Iterable, NamedTuple, Optional, Sequence, Tuple

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

# A ray must point down by more than this (cosine with "down", about 0.06 milliradian) to
# hit the ground: pixels at or above the horizon give no point.
HORIZON_EPSILON = 1e-6

Points = Tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of an image of ``width`` x ``height`` pixels (pixel-centre units)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self):
        """Reject intrinsics no point can be computed with."""
        if not all(math.isfinite(v) for v in (self.fx, self.fy, self.cx, self.cy)):
            raise ValueError('camera intrinsics must be finite numbers, got fx=%r fy=%r '
                             'cx=%r cy=%r' % (self.fx, self.fy, self.cx, self.cy))
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError('camera intrinsics need focal lengths fx, fy > 0, got fx=%r '
                             'fy=%r: is the camera calibrated (camera_info K all zero?)'
                             % (self.fx, self.fy))
        if int(self.width) != self.width or int(self.height) != self.height or \
                self.width < 1 or self.height < 1:
            raise ValueError('camera intrinsics need an image size of at least 1x1 pixels, '
                             'got %rx%r: camera_info width and height must be set'
                             % (self.width, self.height))

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> 'Intrinsics':
        """Return the intrinsics of a CameraInfo: ``k`` is its 9 row-major K values."""
        k = [float(v) for v in k]
        if len(k) != 9:
            raise ValueError('camera matrix K must have 9 values (3x3 row-major), got %d'
                             % len(k))
        return cls(fx=k[0], fy=k[4], cx=k[2], cy=k[5], width=int(width), height=int(height))

    def scaled(self, width: int, height: int) -> 'Intrinsics':
        """Return these intrinsics for the same camera at another resolution (as image_proc)."""
        if width < 1 or height < 1:
            raise ValueError('cannot scale camera intrinsics to %rx%r pixels' % (width, height))
        sx, sy = width / self.width, height / self.height
        return Intrinsics(fx=self.fx * sx, fy=self.fy * sy, cx=self.cx * sx, cy=self.cy * sy,
                          width=int(width), height=int(height))


def class_lut(ids: Iterable[int], size: int) -> np.ndarray:
    """
    Return a bool lookup table of ``size`` entries, True at the class ids in ``ids``.

    :param size: number of classes of the model (the table must cover every id it outputs).
    """
    size = int(size)
    if size < 1:
        raise ValueError('a class table needs at least 1 entry, got size %d' % size)
    ids = [int(i) for i in ids]
    bad = [i for i in ids if not 0 <= i < size]
    if bad:
        raise ValueError('class ids %s are outside 0..%d (the model has %d classes)'
                         % (', '.join(map(str, bad)), size - 1, size))
    lut = np.zeros(size, dtype=bool)
    lut[ids] = True
    return lut


def _check_stride(stride: int) -> int:
    if int(stride) != stride or stride < 1:
        raise ValueError('stride must be a whole number of pixels >= 1, got %r' % (stride,))
    return int(stride)


def _check_max_range(max_range: float) -> float:
    if not max_range > 0:  # also rejects NaN
        raise ValueError('max_range must be > 0 metres, got %r' % (max_range,))
    return float(max_range)


def _check_labels(labels: np.ndarray, intrinsics: Intrinsics) -> None:
    if labels.ndim != 2 or labels.dtype.kind != 'u':
        raise ValueError('the label map must be a 2-D unsigned integer class-id image (HxW '
                         'uint8 or uint16), got shape %s dtype %s' % (labels.shape, labels.dtype))
    if labels.shape != (intrinsics.height, intrinsics.width):
        raise ValueError('the label map is %dx%d but the intrinsics are for %dx%d: scale '
                         'them with Intrinsics.scaled(width, height)'
                         % (labels.shape[1], labels.shape[0], intrinsics.width,
                            intrinsics.height))


def _check_lut(lut: np.ndarray, what: str) -> None:
    if lut.ndim != 1 or lut.dtype != bool:
        raise ValueError('the %s class table must be a 1-D bool array indexed by class id '
                         '(see class_lut), got shape %s dtype %s'
                         % (what, lut.shape, lut.dtype))


def _look_up(table: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return ``table[labels]``, or say which class id the table lacks."""
    try:
        return np.take(table, labels)
    except IndexError:
        raise ValueError('the label map holds class id %d but the class table has only %d '
                         'entries: build it with class_lut(ids, number of classes)'
                         % (int(labels.max()), table.size)) from None


def _empty() -> Points:
    return np.empty((0, 3), np.float32), np.empty(0, np.uint16)


def up_vector(pitch: float, roll: float) -> np.ndarray:
    """Return the world "up" unit vector in the optical frame of a camera at pitch, roll."""
    return np.array([-math.cos(pitch) * math.sin(roll), -math.cos(pitch) * math.cos(roll),
                     -math.sin(pitch)])


class GroundModel:
    """
    A camera above flat, level ground: rays and plane hits cached for one set of parameters.

    Build one per change of intrinsics or parameters; every call then only selects pixels
    by class and gathers their precomputed points.
    """

    def __init__(self, intrinsics: Intrinsics, height: float, pitch: float, roll: float,
                 stride: int = 1, max_range: float = 10.0):
        """
        Check the parameters; tables are built on first use.

        :param intrinsics: of the label maps this model will be given.
        :param height: optical centre above the ground, metres (> 0).
        :param pitch: radians, positive looking down toward the ground.
        :param roll: radians about the optical axis, positive turned clockwise as seen from
            behind the camera (right side lower).
        :param stride: sample every ``stride``-th pixel (columns and rows for ground points,
            columns only for contact points).
        :param max_range: drop points farther than this from the optical centre, metres.
        """
        if not height > 0 or not math.isfinite(height):
            raise ValueError('camera height above the ground must be a finite number > 0 '
                             'metres, got %r' % (height,))
        if not math.isfinite(pitch) or not math.isfinite(roll):
            raise ValueError('camera pitch and roll must be finite angles in radians, got '
                             'pitch=%r roll=%r' % (pitch, roll))
        self.intrinsics = intrinsics
        self.height = float(height)
        self.pitch = float(pitch)
        self.roll = float(roll)
        self.stride = _check_stride(stride)
        self.max_range = _check_max_range(max_range)
        self.up = up_vector(self.pitch, self.roll)
        self._ground: Optional[tuple] = None
        self._contact: Optional[tuple] = None

    def hits(self, u: np.ndarray, v: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """
        Return ``(xyz, valid)`` where the rays of pixel coordinates u, v meet the ground.

        ``xyz`` is float32 (..., 3), zero where not ``valid`` (at or above the horizon, or
        beyond ``max_range``). ``u``, ``v`` broadcast together; float64 maths.
        """
        k = self.intrinsics
        x = (np.asarray(u, np.float64) - k.cx) / k.fx
        y = (np.asarray(v, np.float64) - k.cy) / k.fy
        x, y = np.broadcast_arrays(x, y)
        # Ground: up . p = -height; for p = t * (x, y, 1): t = height / -(up . r).
        down = -(self.up[0] * x + self.up[1] * y + self.up[2])
        valid = down > HORIZON_EPSILON
        t = np.divide(self.height, down, out=np.zeros_like(down), where=valid)
        valid &= t * np.sqrt(x * x + y * y + 1.0) <= self.max_range
        t[~valid] = 0.0
        xyz = np.stack([t * x, t * y, t], axis=-1).astype(np.float32)
        return xyz, valid

    def _ground_tables(self) -> tuple:
        if self._ground is None:
            k, s = self.intrinsics, self.stride
            xyz, valid = self.hits(np.arange(0, k.width, s)[None, :],
                                   np.arange(0, k.height, s)[:, None])
            rows = np.flatnonzero(valid.any(axis=1))
            if rows.size == 0:
                self._ground = (None, None, None)
            else:
                first, last = int(rows[0]), int(rows[-1]) + 1
                self._ground = (slice(first * s, (last - 1) * s + 1, s),
                                np.ascontiguousarray(xyz[first:last]).reshape(-1, 3),
                                np.ascontiguousarray(valid[first:last]))
        return self._ground

    def _contact_tables(self) -> tuple:
        if self._contact is None:
            k, s = self.intrinsics, self.stride
            # Boundary between rows v and v + 1 (v = 0 .. height - 2) lies at v + 0.5.
            xyz, valid = self.hits(np.arange(0, k.width, s)[None, :],
                                   np.arange(k.height - 1)[:, None] + 0.5)
            rows = np.flatnonzero(valid.any(axis=1))
            if rows.size == 0:
                self._contact = (None, None, None, None)
            else:
                # Rows above the first valid boundary can be skipped: a column whose lowest
                # boundary lies there gives no point either way.
                first = int(rows[0])
                count = k.height - 1 - first
                self._contact = (first, np.ascontiguousarray(xyz[first:]),
                                 np.ascontiguousarray(valid[first:]),
                                 np.arange(1, count + 1, dtype=np.uint16 if count < 65535
                                           else np.uint32)[:, None])
        return self._contact

    def ground_points(self, labels: np.ndarray, lut: np.ndarray) -> Points:
        """
        Return ``(xyz, label)`` of the sampled pixels whose class is in ``lut``, on the ground.

        :param labels: HxW class ids at the size of the model's intrinsics.
        :param lut: bool table indexed by class id (see :func:`class_lut`).
        :return: float32 (N, 3) optical-frame points and their uint16 class ids.
        """
        _check_labels(labels, self.intrinsics)
        _check_lut(lut, 'ground')
        rows, xyz, valid = self._ground_tables()
        if rows is None:
            return _empty()
        sampled = labels[rows, ::self.stride]
        chosen = _look_up(lut, sampled)
        chosen &= valid
        index = np.flatnonzero(chosen)
        return (xyz.take(index, axis=0),
                sampled.ravel().take(index).astype(np.uint16, copy=False))

    def contact_points(self, labels: np.ndarray, obstacle_lut: np.ndarray,
                       ground_lut: np.ndarray) -> Points:
        """
        Return one ground-contact point per sampled column: a range scan made by the camera.

        In every ``stride``-th column, the lowest obstacle pixel (row v) with a ground pixel
        directly below it (row v + 1, all rows searched) is taken as the obstacle's foot: the
        boundary v + 0.5 is projected onto the ground. Columns with no such boundary, or
        whose lowest one is at or above the horizon or beyond ``max_range``, give none.
        Only an obstacle that stands on the ground is placed right: in perspective its upper
        corners may lean out past its foot, and columns crossing only them see the ground
        behind it, so their points lie beyond it (never nearer).

        :param labels: HxW class ids at the size of the model's intrinsics.
        :param obstacle_lut: bool table of the obstacle classes (see :func:`class_lut`).
        :param ground_lut: bool table of the ground classes.
        :return: float32 (N, 3) points and the obstacle pixels' uint16 class ids.
        """
        _check_labels(labels, self.intrinsics)
        _check_lut(obstacle_lut, 'obstacle')
        _check_lut(ground_lut, 'ground')
        first, xyz, valid, row_number = self._contact_tables()
        if first is None:
            return _empty()
        size = max(obstacle_lut.size, ground_lut.size)
        code = np.zeros(size, np.uint8)  # bit 0: obstacle, bit 1: ground
        code[:obstacle_lut.size] = obstacle_lut
        code[:ground_lut.size] |= ground_lut.astype(np.uint8) << 1
        columns = labels[first:, ::self.stride]
        codes = _look_up(code, columns)
        boundary = codes[:-1] & (codes[1:] >> 1)  # 1 where obstacle above ground, else 0
        lowest = (boundary * row_number).max(axis=0)  # 1 + row of the lowest boundary, or 0
        column = np.flatnonzero(lowest)
        row = lowest[column].astype(np.intp) - 1
        keep = valid[row, column]
        row, column = row[keep], column[keep]
        return xyz[row, column], columns[row, column].astype(np.uint16)


@functools.lru_cache(maxsize=8)
def _ground_model(intrinsics: Intrinsics, height: float, pitch: float, roll: float,
                  stride: int, max_range: float) -> GroundModel:
    return GroundModel(intrinsics, height, pitch, roll, stride, max_range)


def ground_points(labels: np.ndarray, lut: np.ndarray, intrinsics: Intrinsics, height: float,
                  pitch: float, roll: float, stride: int, max_range: float) -> Points:
    """Return ground-class pixels on the flat ground (see :meth:`GroundModel.ground_points`)."""
    return _ground_model(intrinsics, height, pitch, roll, stride, max_range).ground_points(
        labels, lut)


def contact_points(labels: np.ndarray, obstacle_lut: np.ndarray, ground_lut: np.ndarray,
                   intrinsics: Intrinsics, height: float, pitch: float, roll: float,
                   stride: int, max_range: float) -> Points:
    """Return obstacle feet on the flat ground (see :meth:`GroundModel.contact_points`)."""
    return _ground_model(intrinsics, height, pitch, roll, stride, max_range).contact_points(
        labels, obstacle_lut, ground_lut)


@functools.lru_cache(maxsize=8)
def _depth_tables(intrinsics: Intrinsics, stride: int, depth_shape: Tuple[int, int]) -> tuple:
    """Return the depth pixel (flat index, row, column) and x/z, y/z, range/z per sample."""
    k = intrinsics
    u = np.arange(0, k.width, stride)
    v = np.arange(0, k.height, stride)
    depth_h, depth_w = depth_shape
    # Nearest neighbour on the same ray: the depth pixel holding the label pixel's centre.
    du = np.minimum(((u + 0.5) * (depth_w / k.width)).astype(np.intp), depth_w - 1)
    dv = np.minimum(((v + 0.5) * (depth_h / k.height)).astype(np.intp), depth_h - 1)
    rows = np.repeat(dv, u.size)
    columns = np.tile(du, v.size)
    x = np.broadcast_to((u - k.cx) / k.fx, (v.size, u.size))
    y = np.broadcast_to(((v - k.cy) / k.fy)[:, None], (v.size, u.size))
    norm = np.sqrt(x * x + y * y + 1.0)
    return (rows * depth_w + columns, rows, columns, x.astype(np.float32).ravel(),
            y.astype(np.float32).ravel(), norm.astype(np.float32).ravel())


def depth_points(labels: np.ndarray, lut: np.ndarray, depth: np.ndarray, depth_scale: float,
                 intrinsics: Intrinsics, stride: int, max_range: float) -> Points:
    """
    Return ``(xyz, label)`` of the sampled pixels whose class is in ``lut``, from depth.

    :param labels: HxW class ids; ``intrinsics`` are for this size.
    :param lut: bool table indexed by class id (see :func:`class_lut`).
    :param depth: registered depth image (same optical frame, any resolution): uint16
        (16UC1, e.g. millimetres) or float32 (32FC1, metres). 0, NaN, inf and negative
        values mean no depth and give no point.
    :param depth_scale: metres per depth unit: 0.001 for millimetres, 1.0 for metres.
    :param stride: sample every ``stride``-th pixel in x and y of the label map.
    :param max_range: drop points farther than this from the optical centre, metres.
    :return: float32 (N, 3) optical-frame points and their uint16 class ids.
    """
    _check_labels(labels, intrinsics)
    _check_lut(lut, 'selected')
    stride = _check_stride(stride)
    max_range = _check_max_range(max_range)
    if depth.ndim != 2 or depth.dtype not in (np.dtype(np.uint16), np.dtype(np.float32)):
        raise ValueError('the depth image must be 2-D uint16 (16UC1) or float32 (32FC1), got '
                         'shape %s dtype %s' % (depth.shape, depth.dtype))
    if depth.size == 0:
        raise ValueError('the depth image has no pixels (shape %s)' % (depth.shape,))
    if not (depth_scale > 0 and math.isfinite(depth_scale)):
        raise ValueError('depth_scale must be a finite number of metres per unit > 0 (0.001 '
                         'for millimetres, 1.0 for metres), got %r' % (depth_scale,))
    index, rows, columns, x, y, norm = _depth_tables(intrinsics, stride, depth.shape)
    sampled = labels[::stride, ::stride]
    chosen = np.flatnonzero(_look_up(lut, sampled))
    if depth.flags.c_contiguous:
        z = depth.reshape(-1).take(index.take(chosen))
    else:  # e.g. rows with padding: gather without copying the image
        z = depth[rows.take(chosen), columns.take(chosen)]
    if z.dtype != np.float32 or depth_scale != 1.0:
        z = z.astype(np.float32) * np.float32(depth_scale)
    with np.errstate(invalid='ignore', over='ignore'):
        keep = (z > 0) & (z < np.inf) & (z * norm.take(chosen) <= max_range)
    chosen, z = chosen[keep], z[keep]
    xyz = np.empty((z.size, 3), np.float32)
    np.multiply(x.take(chosen), z, out=xyz[:, 0])
    np.multiply(y.take(chosen), z, out=xyz[:, 1])
    xyz[:, 2] = z
    return xyz, sampled.ravel().take(chosen).astype(np.uint16, copy=False)


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
        raise ValueError('points must be an (N, 3) array with N labels, got %s and %s'
                         % (xyz.shape, label.shape))
    packed = np.zeros(xyz.shape[0], POINT_DTYPE)
    packed['x'] = xyz[:, 0]
    packed['y'] = xyz[:, 1]
    packed['z'] = xyz[:, 2]
    packed['label'] = label
    return packed
