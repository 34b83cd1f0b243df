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
Camera models: pinhole intrinsics with lens distortion, pixel rays, scaled camera_info.

Pixel convention, used everywhere in this package: pixel index ``u`` (column) has its
centre at the continuous coordinate ``u`` of K, so an image of width W spans
[-0.5, W - 0.5] (the convention of sensor_msgs/CameraInfo's K and of OpenCV). Scaling an
image by ``sx = width' / width`` (as cv2.resize does) maps the continuous coordinate ``x`` to
``(x + 0.5) * sx - 0.5``, so ``fx' = fx * sx`` and ``cx' = (cx + 0.5) * sx - 0.5`` (same in y
with ``sy``). A label pixel therefore sees the same ray at any resolution, and the pixel of
another image that holds its centre is ``floor((u + 0.5) * width_other / width)``. (image_proc's
resize scales ``cx`` by ``sx`` instead; the two differ by ``(1 - sx) / 2`` pixel.) Distortion
coefficients act on normalized coordinates and do not change with the resolution.

A ray is given by its normalized undistorted coordinates ``(x, y)``: the direction
``(x, y, 1)`` in the camera's optical frame (z forward, x right, y down).
"""

from dataclasses import dataclass
import math
from typing import NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

PLUMB_BOB = 'plumb_bob'
RATIONAL_POLYNOMIAL = 'rational_polynomial'
EQUIDISTANT = 'equidistant'
# Supported distortion models of sensor_msgs/CameraInfo and their numbers of coefficients.
DISTORTION_MODELS = {PLUMB_BOB: (4, 5), RATIONAL_POLYNOMIAL: (8,), EQUIDISTANT: (4,)}

# The iterative undistortion stops when the estimate re-projects this close to the pixel.
_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-10)
# An undistorted ray that re-projects farther than this from its pixel (pixels) did not
# converge (outside the region the distortion model is valid for): it is NaN.
ROUND_TRIP_PIXELS = 1e-3


@dataclass(frozen=True)
class Intrinsics:
    """
    Intrinsics of an image of ``width`` x ``height`` pixels: pinhole K and lens distortion.

    ``distortion_model`` and ``d`` are CameraInfo's: an empty model, an empty ``d`` or all
    zero coefficients mean a rectified image (no undistortion).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion_model: str = ''
    d: Tuple[float, ...] = ()

    def __post_init__(self):
        """Reject intrinsics no ray can be computed with."""
        if not all(math.isfinite(v) for v in (self.fx, self.fy, self.cx, self.cy)):
            raise ValueError('camera intrinsics must be finite numbers, got '
                             f'fx={self.fx!r} fy={self.fy!r} cx={self.cx!r} cy={self.cy!r}')
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError('camera intrinsics need focal lengths fx, fy > 0, got '
                             f'fx={self.fx!r} fy={self.fy!r}: is the camera calibrated '
                             '(camera_info K all zero?)')
        if int(self.width) != self.width or int(self.height) != self.height or \
                self.width < 1 or self.height < 1:
            raise ValueError('camera intrinsics need an image size of at least 1x1 pixels, '
                             f'got {self.width!r}x{self.height!r}: camera_info width and '
                             'height must be set')
        d = tuple(float(v) for v in self.d)
        object.__setattr__(self, 'd', d)
        object.__setattr__(self, 'distortion_model', str(self.distortion_model))
        if not all(math.isfinite(v) for v in d):
            raise ValueError(f'distortion coefficients D must be finite numbers, got {d!r}')
        if self.rectified:
            return
        lengths = DISTORTION_MODELS.get(self.distortion_model)
        if lengths is None:
            raise ValueError(f'distortion model {self.distortion_model!r} is not supported: '
                             f'use one of {", ".join(DISTORTION_MODELS)}, or publish '
                             'rectified images (image_proc) with D all zero')
        if len(d) not in lengths:
            raise ValueError(f'distortion model {self.distortion_model} needs '
                             f'{" or ".join(map(str, lengths))} coefficients in D, got {len(d)}')

    @property
    def rectified(self) -> bool:
        """Whether the image has no distortion to undo."""
        return not self.distortion_model or not any(self.d)

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> 'Intrinsics':
        """Return rectified intrinsics from CameraInfo's K: its 9 row-major values."""
        k = [float(v) for v in k]
        if len(k) != 9:
            raise ValueError(f'camera matrix K must have 9 values (3x3 row-major), got {len(k)}')
        return cls(fx=k[0], fy=k[4], cx=k[2], cy=k[5], width=int(width), height=int(height))

    @classmethod
    def from_camera_info(cls, info, image_size: Optional[Tuple[int, int]] = None,
                         rectified: bool = False) -> 'Intrinsics':
        """
        Return the intrinsics of a sensor_msgs/CameraInfo (of rclpy or rosbags, or alike).

        :param info: any object with attributes ``k``, ``d``, ``distortion_model``,
            ``width`` and ``height`` (and ``p`` where ``rectified``).
        :param image_size: (width, height) of the camera's images, used where the
            CameraInfo's width and height are 0.
        :param rectified: the images were rectified with this CameraInfo (image_proc's
            ``image_rect``): their intrinsics are P's left 3x3 part, with no distortion.
            Otherwise they are raw images: K and D.
        """
        width, height = int(info.width), int(info.height)
        if width == 0 or height == 0:
            if image_size is None:
                raise ValueError('camera_info has no image size (width and height 0): pass '
                                 'the size of the camera images')
            width, height = (int(v) for v in image_size)
        if rectified:
            p = [float(v) for v in info.p]
            if len(p) != 12:
                raise ValueError('projection matrix P must have 12 values (3x4 row-major), '
                                 f'got {len(p)}')
            return cls.from_k(p[0:3] + p[4:7] + p[8:11], width, height)
        k = cls.from_k(info.k, width, height)
        return cls(k.fx, k.fy, k.cx, k.cy, width, height,
                   distortion_model=info.distortion_model, d=tuple(info.d))

    def scaled(self, width: int, height: int) -> 'Intrinsics':
        """Return these intrinsics for the same camera at another resolution (pixel centres)."""
        if width < 1 or height < 1:
            raise ValueError(f'cannot scale camera intrinsics to {width!r}x{height!r} pixels')
        sx, sy = width / self.width, height / self.height
        return Intrinsics(fx=self.fx * sx, fy=self.fy * sy, cx=(self.cx + 0.5) * sx - 0.5,
                          cy=(self.cy + 0.5) * sy - 0.5, width=int(width), height=int(height),
                          distortion_model=self.distortion_model, d=self.d)

    def matrix(self) -> np.ndarray:
        """Return K as a 3x3 float64 array."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def rays(self, u, v) -> Tuple[np.ndarray, np.ndarray]:
        """
        Return the normalized undistorted ray ``(x, y)`` of pixel coordinates ``u``, ``v``.

        The ray is the direction ``(x, y, 1)`` in the optical frame. ``u``, ``v`` broadcast
        together; float64 arrays of their broadcast shape. Where the undistortion does not
        converge (pixels outside the region the distortion model holds for), NaN.
        """
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        if self.rectified or u.size == 0:
            return (u - self.cx) / self.fx, (v - self.cy) / self.fy
        pixels = np.stack([u.ravel(), v.ravel()], axis=-1).reshape(-1, 1, 2)
        k, d = self.matrix(), np.array(self.d)
        if self.distortion_model == EQUIDISTANT:
            normal = _fisheye_undistort(pixels, k, d).reshape(-1, 2)
        else:
            normal = _undistort(pixels, k, d).reshape(-1, 2)
        x, y = normal[:, 0].reshape(u.shape), normal[:, 1].reshape(u.shape)
        back_u, back_v = self.project(x, y)
        with np.errstate(invalid='ignore'):
            off = ~(np.hypot(back_u - u, back_v - v) <= ROUND_TRIP_PIXELS)
        x[off] = np.nan
        y[off] = np.nan
        return x, y

    def project(self, x, y) -> Tuple[np.ndarray, np.ndarray]:
        """
        Return the pixel coordinates ``(u, v)`` of the rays ``(x, y, 1)``: the inverse of rays.

        ``x``, ``y`` broadcast together; float64 arrays of their broadcast shape.
        """
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        if not self.rectified:
            x, y = self._distort(x, y)
        return x * self.fx + self.cx, y * self.fy + self.cy

    def _distort(self, x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Return the distorted normalized coordinates of the rays (x, y, 1) (as OpenCV)."""
        d = self.d
        r2 = x * x + y * y
        if self.distortion_model == EQUIDISTANT:
            r = np.sqrt(r2)
            theta = np.arctan(r)
            t2 = theta * theta
            theta_d = theta * (1 + t2 * (d[0] + t2 * (d[1] + t2 * (d[2] + t2 * d[3]))))
            scale = np.divide(theta_d, r, out=np.ones_like(r), where=r > 0)
            return x * scale, y * scale
        d = d + (0.0,) * (8 - len(d))  # k1, k2, p1, p2, k3, k4, k5, k6
        radial = (1 + r2 * (d[0] + r2 * (d[1] + r2 * d[4]))) / \
            (1 + r2 * (d[5] + r2 * (d[6] + r2 * d[7])))
        xy = x * y
        return (x * radial + 2 * d[2] * xy + d[3] * (r2 + 2 * x * x),
                y * radial + d[2] * (r2 + 2 * y * y) + 2 * d[3] * xy)


def _undistort(pixels: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Return OpenCV's iterative undistortion of (N, 1, 2) pixels, normalized."""
    if hasattr(cv2, 'undistortPointsIter'):  # OpenCV 4
        return cv2.undistortPointsIter(pixels, k, d, None, None, _CRITERIA)
    return cv2.undistortPoints(pixels, k, d, criteria=_CRITERIA)


def _fisheye_undistort(pixels: np.ndarray, k: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Return OpenCV's fisheye undistortion of (N, 1, 2) pixels, normalized."""
    try:
        return cv2.fisheye.undistortPoints(pixels, k, d, criteria=_CRITERIA)
    except TypeError:  # OpenCV before 4.6 has no criteria (the round trip checks it)
        return cv2.fisheye.undistortPoints(pixels, k, d)


def _edge(edge: int, scale: float, size: int) -> int:
    """Return a pixel edge of the original image on the scaled one, rounded, in the image."""
    return min(max(int(math.floor(edge * scale + 0.5)), 0), size)


class ScaledCameraInfo(NamedTuple):
    """K, P and ROI of a CameraInfo for a scaled image (D, R and binning are unchanged)."""

    k: Tuple[float, ...]
    p: Tuple[float, ...]
    roi: Tuple[int, int, int, int]


def scale_camera_info(k: Sequence[float], p: Sequence[float],
                      roi: Tuple[int, int, int, int], from_size: Tuple[int, int],
                      to_size: Tuple[int, int]) -> ScaledCameraInfo:
    """
    Return CameraInfo's K, P and ROI for the camera's image scaled to another size.

    Pixel-centre convention (see the module): ``f' = f * s``, ``c' = (c + 0.5) * s - 0.5``;
    P's Tx and Ty scale with its focal lengths. A K or P of all zeros (uncalibrated) stays
    all zeros, as does an all-zero ROI (the full image).

    :param k: the 9 row-major values of K.
    :param p: the 12 row-major values of P.
    :param roi: (x_offset, y_offset, width, height) in pixels of the original image.
    :param from_size: (width, height) of the camera's image.
    :param to_size: (width, height) of the scaled image.
    :return: K (9 values), P (12 values), ROI (x_offset, y_offset, width, height).
    """
    k, p = [float(v) for v in k], [float(v) for v in p]
    if len(k) != 9 or len(p) != 12:
        raise ValueError(f'camera_info needs 9 values of K and 12 of P, got {len(k)} and {len(p)}')
    (w0, h0), (w1, h1) = from_size, to_size
    if min(w0, h0, w1, h1) < 1:
        raise ValueError(f'cannot scale camera_info from {w0!r}x{h0!r} to {w1!r}x{h1!r} '
                         'pixels: both sizes need at least 1x1')
    sx, sy = w1 / w0, h1 / h0

    def rows(values, width):
        if not any(values):
            return tuple(values)
        out = list(values)
        for row, s in ((0, sx), (1, sy)):
            first = row * width
            out[first:first + width] = [value * s for value in values[first:first + width]]
            out[first + 2] = (values[first + 2] + 0.5) * s - 0.5
        return tuple(out)

    x, y, width, height = (int(v) for v in roi)
    if x or y or width or height:
        # Pixel edges (centre - 0.5) scale by s: round the scaled edges to whole pixels.
        left, top = _edge(x, sx, w1), _edge(y, sy, h1)
        right, bottom = _edge(x + width, sx, w1), _edge(y + height, sy, h1)
        x, y, width, height = left, top, right - left, bottom - top
    return ScaledCameraInfo(rows(k, 3), rows(p, 4), (x, y, width, height))
