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
3D points of a label map from a registered depth image (same optical frame, any size).

Every point is in the camera's optical frame (z forward, x right, y down, metres) as
float32; ``z`` is the depth. A label pixel reads the depth pixel that holds its centre
(nearest neighbour on the same ray, see :mod:`deeplab_ros.geometry.camera` for the pixel
convention); its ray is the label map's (undistorted) ray. The depth pixel positions and
rays depend only on the intrinsics and the sizes: they are computed once and cached.
"""

import functools
import math
from typing import Tuple

from deeplab_ros.geometry.camera import Intrinsics
from deeplab_ros.geometry.cloud import (_check_labels, _check_lut, _check_max_range, _check_stride,
                                        _look_up, organized_buffer, Points)
import numpy as np


def _check_depth(depth: np.ndarray, depth_scale: float) -> None:
    if depth.ndim != 2 or depth.dtype not in (np.dtype(np.uint16), np.dtype(np.float32)):
        raise ValueError('the depth image must be 2-D uint16 (16UC1) or float32 (32FC1), got '
                         f'shape {depth.shape} dtype {depth.dtype}')
    if depth.size == 0:
        raise ValueError(f'the depth image has no pixels (shape {depth.shape})')
    if not (depth_scale > 0 and math.isfinite(depth_scale)):
        raise ValueError('depth_scale must be a finite number of metres per unit > 0 (0.001 '
                         f'for millimetres, 1.0 for metres), got {depth_scale!r}')


def _depth_pixels(count: int, stride: int, depth_count: int) -> np.ndarray:
    """Return the depth pixel holding the centre of every ``stride``-th label pixel."""
    return np.minimum(((np.arange(0, count, stride) + 0.5) * (depth_count / count))
                      .astype(np.intp), depth_count - 1)


@functools.lru_cache(maxsize=8)
def _depth_tables(intrinsics: Intrinsics, stride: int, depth_shape: Tuple[int, int]) -> tuple:
    """Return the depth pixel (flat index, row, column) and x/z, y/z, range/z per sample."""
    k = intrinsics
    dv = _depth_pixels(k.height, stride, depth_shape[0])
    du = _depth_pixels(k.width, stride, depth_shape[1])
    rows = np.repeat(dv, du.size)
    columns = np.tile(du, dv.size)
    x, y = k.rays(np.arange(0, k.width, stride)[None, :], np.arange(0, k.height, stride)[:, None])
    norm = np.sqrt(x * x + y * y + 1.0)  # NaN where the ray is unknown: no point
    return (rows * depth_shape[1] + columns, rows, columns, x.astype(np.float32).ravel(),
            y.astype(np.float32).ravel(), norm.astype(np.float32).ravel())


@functools.lru_cache(maxsize=4)
def _organized_tables(intrinsics: Intrinsics, depth_shape: Tuple[int, int]) -> tuple:
    """Return the depth rows and columns of every label pixel, and x/z, y/z, range/z."""
    k = intrinsics
    x, y = k.rays(np.arange(k.width)[None, :], np.arange(k.height)[:, None])
    norm = np.sqrt(x * x + y * y + 1.0)
    return (_depth_pixels(k.height, 1, depth_shape[0]), _depth_pixels(k.width, 1, depth_shape[1]),
            x.astype(np.float32), y.astype(np.float32), norm.astype(np.float32))


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
    _check_depth(depth, depth_scale)
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


def depth_organized(depth: np.ndarray, depth_scale: float, intrinsics: Intrinsics,
                    max_range: float) -> np.ndarray:
    """
    Return one point per pixel of the label map from depth: (H, W, 3) float32, NaN if none.

    The label map is ``intrinsics.width`` x ``intrinsics.height``; each of its pixels reads
    the depth pixel holding its centre (as :func:`depth_points`). NaN where the depth is 0,
    NaN, inf or negative, or the point is farther than ``max_range`` from the optical
    centre. The result is the x, y, z view of an (H, W, 4) buffer, which
    :func:`deeplab_ros.geometry.cloud.pack_organized` packs without a copy.

    :param depth: registered depth image (same optical frame, any resolution): uint16
        (16UC1, e.g. millimetres) or float32 (32FC1, metres).
    :param depth_scale: metres per depth unit: 0.001 for millimetres, 1.0 for metres.
    :param intrinsics: of the label map.
    :param max_range: metres.
    """
    max_range = _check_max_range(max_range)
    _check_depth(depth, depth_scale)
    dv, du, x, y, norm = _organized_tables(intrinsics, depth.shape)
    z = depth.take(dv, axis=0).take(du, axis=1)
    if z.dtype != np.float32 or depth_scale != 1.0:
        z = z.astype(np.float32) * np.float32(depth_scale)
    with np.errstate(invalid='ignore', over='ignore'):
        unknown = ~((z > 0) & (z * norm <= max_range))  # also NaN, inf and unknown rays
    z[unknown] = np.nan
    out = organized_buffer(intrinsics.height, intrinsics.width)
    np.multiply(x, z, out=out[..., 0])
    np.multiply(y, z, out=out[..., 1])
    out[..., 2] = z
    return out[..., :3]
