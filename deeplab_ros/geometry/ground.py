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
3D points of a camera above flat, level ground, from a label map alone.

Every point is in the camera's optical frame (z forward, x right, y down, metres) as
float32. Classes are chosen with boolean lookup tables indexed by class id
(:func:`deeplab_ros.geometry.cloud.class_lut`). Rays (undistorted, see
:class:`deeplab_ros.geometry.camera.Intrinsics`) and their ground hits depend only on the camera
and the parameters: a :class:`GroundModel` computes them once, and a frame costs a look-up,
a selection and a gather.

Flat-ground convention: the optical centre is ``height`` metres above flat, level ground;
``pitch`` is positive when the camera looks down; ``roll`` is positive when the camera is
turned clockwise as seen from behind it (its right side lower, so the horizon rises toward
the right of the image). Pitch is applied first (about the camera x axis), then roll (about
the new optical axis), so the world "up" direction in camera coordinates is
``(-cos(pitch) sin(roll), -cos(pitch) cos(roll), -sin(pitch))``.
"""

import math
from typing import Optional, Tuple

from deeplab_ros.geometry.camera import Intrinsics
from deeplab_ros.geometry.cloud import (_check_labels, _check_lut, _check_max_range, _check_stride,
                                        _empty, _look_up, organized_buffer, Points)
import numpy as np

# A ray must point down by more than this (cosine with "down", about 0.06 milliradian) to
# hit the ground: pixels at or above the horizon give no point.
HORIZON_EPSILON = 1e-6


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

        :param intrinsics: of the label maps this model will be given (with distortion).
        :param height: optical centre above the ground, metres (> 0).
        :param pitch: radians, positive looking down toward the ground.
        :param roll: radians about the optical axis, positive turned clockwise as seen from
            behind the camera (right side lower).
        :param stride: sample every ``stride``-th pixel (columns and rows for ground points,
            columns only for contact points; organized points take every pixel).
        :param max_range: drop points farther than this from the optical centre, metres.
        """
        if not height > 0 or not math.isfinite(height):
            raise ValueError('camera height above the ground must be a finite number > 0 '
                             f'metres, got {height!r}')
        if not math.isfinite(pitch) or not math.isfinite(roll):
            raise ValueError('camera pitch and roll must be finite angles in radians, got '
                             f'pitch={pitch!r} roll={roll!r}')
        self.intrinsics = intrinsics
        self.height = float(height)
        self.pitch = float(pitch)
        self.roll = float(roll)
        self.stride = _check_stride(stride)
        self.max_range = _check_max_range(max_range)
        self.up = up_vector(self.pitch, self.roll)
        self._ground: Optional[tuple] = None
        self._contact: Optional[tuple] = None
        self._organized: Optional[tuple] = None

    def hits(self, u: np.ndarray, v: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """
        Return ``(xyz, valid)`` where the rays of pixel coordinates u, v meet the ground.

        ``xyz`` is float32 (..., 3), zero where not ``valid`` (at or above the horizon,
        beyond ``max_range``, or where the ray is unknown). ``u``, ``v`` broadcast together;
        float64 maths.
        """
        x, y = self.intrinsics.rays(u, v)
        # Ground: up . p = -height; for p = t * (x, y, 1): t = height / -(up . r).
        down = -(self.up[0] * x + self.up[1] * y + self.up[2])
        with np.errstate(invalid='ignore'):
            valid = down > HORIZON_EPSILON
            t = np.divide(self.height, down, out=np.zeros_like(down), where=valid)
            valid &= t * np.sqrt(x * x + y * y + 1.0) <= self.max_range
        xyz = np.stack([t * x, t * y, t], axis=-1)
        xyz[~valid] = 0.0
        return xyz.astype(np.float32), valid

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

    def _organized_tables(self) -> tuple:
        """Return the (2H + 1) * W rows of x, y, z, 0: pixel hits, boundary hits, NaN."""
        if self._organized is None:
            w, h = self.intrinsics.width, self.intrinsics.height
            table = organized_buffer(2 * h + 1, w)
            columns = np.arange(w)[None, :]
            rows = np.arange(h, dtype=np.float64)[:, None]
            # Rows 0 .. H-1: pixel centres; rows H + v: the boundary v - 0.5 above pixel row
            # v (row H + 0, the image's top edge, is never looked up); row 2H: no ground.
            for first, v in ((0, rows), (h, rows - 0.5)):
                xyz, valid = self.hits(columns, v)
                xyz[~valid] = np.nan
                table[first:first + h, :, :3] = xyz
            table[2 * h, :, :3] = np.nan
            self._organized = (table.reshape(-1, 4),
                               (np.arange(h, dtype=np.intp) * w)[:, None],
                               np.arange(w, dtype=np.intp)[None, :])
        return self._organized

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

    def organized_points(self, labels: np.ndarray, ground_lut: np.ndarray) -> np.ndarray:
        """
        Return one point per pixel of the label map: (H, W, 3) float32, NaN where unknown.

        A pixel of a ground class gets its ray's hit on the ground. A pixel of any other
        class gets the ground contact of the object it belongs to: the first ground pixel
        below it in its column is at row v_g, every pixel between is not ground, and the
        boundary v_g - 0.5 above that ground pixel is projected onto the ground (as
        :meth:`contact_points` places an obstacle's foot), never a ground hit behind the
        object. NaN where that hit (the pixel's own or its foot's) is at or above the horizon
        or beyond ``max_range``, and where no ground pixel lies below. Every pixel, whatever
        the stride. The result is the x, y, z view of an (H, W, 4) buffer, which
        :func:`deeplab_ros.geometry.cloud.pack_organized` packs without a copy.

        :param labels: HxW class ids at the size of the model's intrinsics.
        :param ground_lut: bool table of the ground classes (see :func:`class_lut`).
        """
        _check_labels(labels, self.intrinsics)
        _check_lut(ground_lut, 'ground')
        table, row_start, columns = self._organized_tables()
        h, w = labels.shape
        ground = _look_up(ground_lut, labels)
        # Flat index of the row start of the next ground pixel at or below, H * W if none:
        # a reverse cumulative minimum down the columns, a row at a time (faster than
        # minimum.accumulate along axis 0).
        index = np.where(ground, row_start, h * w)
        for row in range(h - 2, -1, -1):
            np.minimum(index[row], index[row + 1], out=index[row])
        np.add(index, h * w, out=index, where=~ground)  # not ground: the boundary rows
        index += columns
        return table.take(index.reshape(-1), axis=0).reshape(h, w, 4)[..., :3]
