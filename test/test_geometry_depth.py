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

"""Depth geometry against hand-built depth images: selected points and organized points."""

import math

import cv2
from deeplab_ros.geometry.camera import Intrinsics, scale_camera_info
from deeplab_ros.geometry.cloud import class_lut
from deeplab_ros.geometry.depth import depth_organized, depth_points
import numpy as np
import pytest

K = Intrinsics(fx=900.0, fy=900.0, cx=639.5, cy=359.5, width=1280, height=720)


def pixels_of(xyz, k):
    """Return the (u, v) pixel coordinates points project to (no distortion)."""
    return xyz[:, 0] / xyz[:, 2] * k.fx + k.cx, xyz[:, 1] / xyz[:, 2] * k.fy + k.cy


@pytest.mark.parametrize('depth_size', [(640, 360), (848, 480), (1280, 720), (1920, 1080)])
@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_constant_depth_plane_at_another_resolution(depth_size, encoding):
    labels = np.zeros((720, 1280), np.uint8)
    labels[100:300, 200:600] = 5
    lut = class_lut([5], 21)
    if encoding == '16UC1':
        depth, scale = np.full(depth_size[::-1], 2000, np.uint16), 0.001
    else:
        depth, scale = np.full(depth_size[::-1], 2.0, np.float32), 1.0
    stride = 4
    xyz, label = depth_points(labels, lut, depth, scale, K, stride, 10.0)
    assert np.all(label == 5) and label.dtype == np.uint16 and xyz.dtype == np.float32
    assert np.allclose(xyz[:, 2], 2.0, rtol=1e-6)
    u, v = pixels_of(xyz, K)
    expected_u, expected_v = np.meshgrid(np.arange(200, 600, stride),
                                         np.arange(100, 300, stride))
    assert len(xyz) == expected_u.size
    assert np.allclose(np.sort(u), np.sort(expected_u.ravel()), atol=1e-3)
    assert np.allclose(np.sort(v), np.sort(expected_v.ravel()), atol=1e-3)
    # x, y from the label image's intrinsics, hand-computed for the first pixel (200, 100).
    first = np.argmin(u + 10000 * v)
    assert xyz[first, 0] == pytest.approx((200 - 639.5) / 900 * 2.0, rel=1e-5)
    assert xyz[first, 1] == pytest.approx((100 - 359.5) / 900 * 2.0, rel=1e-5)


@pytest.mark.parametrize('depth_size', [(640, 360), (848, 480), (1920, 1080)])
def test_depth_is_read_on_the_same_ray_nearest_neighbour(depth_size):
    w, h = depth_size
    dv, du = np.mgrid[0:h, 0:w]
    depth = (1000 + 3 * du + 7 * dv).astype(np.uint16)  # every depth pixel tells its place
    labels = np.full((720, 1280), 1, np.uint8)
    xyz, _ = depth_points(labels, class_lut([1], 2), depth, 0.001, K, 1, 100.0)
    assert len(xyz) == 1280 * 720
    u, v = (np.rint(c).astype(int) for c in pixels_of(xyz, K))
    # The depth pixel that holds the label pixel's centre.
    expected = depth[((v + 0.5) * h / 720).astype(int), ((u + 0.5) * w / 1280).astype(int)]
    assert np.allclose(xyz[:, 2], expected * 0.001, rtol=1e-6)
    padded = np.zeros((h, w + 32), np.uint16)  # rows with padding: not contiguous
    padded[:, :w] = depth
    same, _ = depth_points(labels, class_lut([1], 2), padded[:, :w], 0.001, K, 1, 100.0)
    assert np.array_equal(same, xyz)
    # Hand-computed corners and, at half size, two label pixels per depth pixel.
    corner = xyz[(u == 1279) & (v == 719), 2]
    assert corner == pytest.approx((1000 + 3 * (w - 1) + 7 * (h - 1)) * 0.001, rel=1e-6)
    if w == 640:
        row0 = xyz[v == 0]
        z_by_u = dict(zip(np.rint(pixels_of(row0, K)[0]).astype(int), row0[:, 2]))
        assert z_by_u[2] == z_by_u[3] == pytest.approx(1.003, rel=1e-6)


def test_invalid_depth_gives_no_point():
    depth = np.full((360, 640), 2.0, np.float32)
    bad = [0.0, np.nan, np.inf, -np.inf, -1.0, 10.5]
    for i, value in enumerate(bad):
        depth[:, 100 * i:100 * i + 50] = value
    labels = np.ones((720, 1280), np.uint8)
    xyz, label = depth_points(labels, class_lut([1], 2), depth, 1.0, K, 2, 10.0)
    assert np.all(np.isfinite(xyz)) and np.allclose(xyz[:, 2], 2.0)
    u, _ = pixels_of(xyz, K)
    du = ((u + 0.5) * 640 / 1280).astype(int)
    assert not np.any((du % 100 < 50) & (du < 600))
    assert len(xyz) == 360 * (640 - 6 * 50)  # every other label pixel is one depth pixel
    # uint16: 0 is no depth, 65535 mm is beyond 10 m.
    depth16 = np.full((360, 640), 3000, np.uint16)
    depth16[:180] = 0
    depth16[:, :320] = 65535
    xyz, _ = depth_points(labels, class_lut([1], 2), depth16, 0.001, K, 2, 10.0)
    assert len(xyz) == 180 * 320 and np.allclose(xyz[:, 2], 3.0)


def test_max_range_is_the_euclidean_distance():
    depth = np.full((720, 1280), 9.9, np.float32)
    labels = np.ones((720, 1280), np.uint8)
    xyz, _ = depth_points(labels, class_lut([1], 2), depth, 1.0, K, 4, 10.0)
    dist = np.linalg.norm(xyz.astype(np.float64), axis=1)
    assert dist.max() <= 10.0 + 1e-5
    u, v = pixels_of(xyz, K)
    assert np.abs(u - K.cx).min() < 4  # the centre is in
    assert len(xyz) < 320 * 180 / 2  # the corners (9.9 m deep, > 10 m away) are out


def test_stride_bounds_the_count():
    labels = np.ones((720, 1280), np.uint8)
    depth = np.full((480, 848), 1.0, np.float32)
    for stride in (1, 3, 4, 7, 16):
        cap = math.ceil(720 / stride) * math.ceil(1280 / stride)
        xyz, _ = depth_points(labels, class_lut([1], 2), depth, 1.0, K, stride, 10.0)
        assert len(xyz) == cap


# Organized points: one per label pixel, NaN where the depth says nothing.

@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_organized_points_lie_where_the_depth_says(encoding):
    # A 640x360 depth image of a wall 5 m away with a box 2 m away; labels at 1280x720: the
    # box's label pixels [100:300, 200:600] hold depth pixels [50:150, 100:300].
    depth = np.full((360, 640), 5.0, np.float32)
    depth[50:150, 100:300] = 2.0
    depth[200:210, 400:410] = 0.0  # a hole
    depth[220, 400:405] = [np.nan, np.inf, -np.inf, -1.0, 10.5]  # no depth; beyond range
    if encoding == '16UC1':
        depth, scale = np.nan_to_num(depth * 1000, posinf=0, neginf=0).clip(0).astype(
            np.uint16), 0.001
    else:
        scale = 1.0
    xyz = depth_organized(depth, scale, K, 10.0)
    assert xyz.shape == (720, 1280, 3) and xyz.dtype == np.float32
    box = xyz[100:300, 200:600]
    assert np.allclose(box[..., 2], 2.0, rtol=1e-6)
    v, u = np.mgrid[100:300, 200:600]
    assert np.allclose(box[..., 0], (u - 639.5) / 900 * 2.0, rtol=1e-5, atol=1e-6)
    assert np.allclose(box[..., 1], (v - 359.5) / 900 * 2.0, rtol=1e-5, atol=1e-6)
    unknown = np.isnan(xyz).any(axis=-1)
    assert np.array_equal(unknown, np.isnan(xyz).all(axis=-1))
    expected = np.zeros((720, 1280), bool)
    expected[400:420, 800:820] = True
    expected[440:442, 800:810] = True
    assert np.array_equal(unknown, expected)
    assert np.allclose(xyz[~unknown & (xyz[..., 2] > 3), 2], 5.0)


def test_organized_points_beyond_max_range_are_nan_euclidean():
    depth = np.full((720, 1280), 9.9, np.float32)
    xyz = depth_organized(depth, 1.0, K, 10.0)
    known = ~np.isnan(xyz[..., 0])
    assert known[360, 640] and not known[0, 0]  # the centre is in, the corners out
    dist = np.linalg.norm(xyz[known].astype(np.float64), axis=-1)
    assert dist.max() <= 10.0 + 1e-5
    v, u = np.mgrid[0:720, 0:1280]
    norm = np.sqrt(((u - K.cx) / K.fx) ** 2 + ((v - K.cy) / K.fy) ** 2 + 1)
    assert np.array_equal(known, 9.9 * norm <= 10.0)


@pytest.mark.parametrize('depth_size', [(640, 480), (848, 480), (1920, 1080)])
def test_organized_points_are_the_selected_points_of_every_pixel(depth_size):
    w, h = depth_size
    dv, du = np.mgrid[0:h, 0:w]
    depth = (1000 + 3 * du + 7 * dv).astype(np.uint16)
    depth[::5, ::3] = 0
    k = K.scaled(513, 289)
    labels = np.ones((289, 513), np.uint8)
    selected, _ = depth_points(labels, class_lut([1], 2), depth, 0.001, k, 1, 100.0)
    xyz = depth_organized(depth, 0.001, k, 100.0)
    assert xyz.shape == (289, 513, 3)
    assert np.array_equal(xyz[~np.isnan(xyz[..., 0])], selected)
    # The depth pixel holding each label pixel's centre, for a non-contiguous image too.
    padded = np.zeros((h, w + 32), np.uint16)
    padded[:, :w] = depth
    assert np.array_equal(depth_organized(padded[:, :w], 0.001, k, 100.0), xyz,
                          equal_nan=True)


def test_a_point_lands_on_the_same_pixel_at_the_scaled_resolution():
    # A camera at 1280x720 and its label map at 513x289 (dm05, letterboxed 720p); registered
    # depth at the camera's resolution. Every label pixel reads the depth pixel holding its
    # centre; its point, projected with the camera's own K, lands inside that depth pixel.
    camera = Intrinsics(fx=910.0, fy=905.0, cx=652.3, cy=351.8, width=1280, height=720)
    k = camera.scaled(513, 289)
    depth = np.full((720, 1280), 2.0, np.float32)
    xyz = depth_organized(depth, 1.0, k, 100.0).reshape(-1, 3)
    u0, v0 = pixels_of(xyz, camera)
    v1, u1 = np.mgrid[0:289, 0:513]
    du = ((u1.ravel() + 0.5) * 1280 / 513).astype(int)
    dv = ((v1.ravel() + 0.5) * 720 / 289).astype(int)
    assert np.abs(u0 - du).max() <= 0.5 + 1e-3 and np.abs(v0 - dv).max() <= 0.5 + 1e-3
    # And a point seen at the camera's pixel (u0, v0) lies in the label pixel the scaled
    # intrinsics project it to.
    rng = np.random.default_rng(1)
    points = np.stack([rng.uniform(-1, 1, 1000), rng.uniform(-0.5, 0.5, 1000),
                       rng.uniform(1, 5, 1000)], axis=-1)
    u0, v0 = pixels_of(points, camera)
    u1, v1 = pixels_of(points, k)
    inside = (u0 > -0.5) & (u0 < 1279.5) & (v0 > -0.5) & (v0 < 719.5)
    assert np.array_equal(np.floor((u0 + 0.5) * 513 / 1280)[inside], np.rint(u1)[inside])
    assert np.array_equal(np.floor((v0 + 0.5) * 289 / 720)[inside], np.rint(v1)[inside])
    # camera_info scaled for segmentation/camera_info says the same.
    info = scale_camera_info([910, 0, 652.3, 0, 905, 351.8, 0, 0, 1],
                             [910, 0, 652.3, 0, 0, 905, 351.8, 0, 0, 0, 1, 0], (0, 0, 0, 0),
                             (1280, 720), (513, 289))
    assert np.allclose([info.k[0], info.k[4], info.k[2], info.k[5]], [k.fx, k.fy, k.cx, k.cy])


def test_organized_points_of_a_distorted_camera_project_onto_their_pixels():
    k = Intrinsics(fx=450.0, fy=450.0, cx=326.1, cy=175.9, width=640, height=360,
                   distortion_model='plumb_bob', d=(-0.28, 0.09, 0.0006, -0.0009, -0.012))
    depth = np.full((480, 848), 3000, np.uint16)
    xyz = depth_organized(depth, 0.001, k, 100.0)
    assert not np.isnan(xyz).any() and np.allclose(xyz[..., 2], 3.0)
    pixels = cv2.projectPoints(xyz.reshape(-1, 1, 3).astype(np.float64), np.zeros(3),
                               np.zeros(3), k.matrix(), np.array(k.d))[0].reshape(360, 640, 2)
    v, u = np.mgrid[0:360, 0:640]
    assert np.abs(pixels - np.stack([u, v], axis=-1)).max() < 0.02


def test_invalid_depth_values_are_rejected_with_a_reason():
    labels = np.ones((720, 1280), np.uint8)
    lut = class_lut([1], 2)
    depth = np.ones((360, 640), np.float32)
    with pytest.raises(ValueError, match='stride'):
        depth_points(labels, lut, depth, 1.0, K, 0, 10.0)
    for max_range in (0.0, -5.0, float('nan')):
        with pytest.raises(ValueError, match='max_range'):
            depth_points(labels, lut, depth, 1.0, K, 4, max_range)
        with pytest.raises(ValueError, match='max_range'):
            depth_organized(depth, 1.0, K, max_range)
    for bad in (np.ones((360, 640), np.float64), np.ones((360, 640), np.int32),
                np.ones((360, 640, 1), np.uint16), np.ones(640, np.float32)):
        with pytest.raises(ValueError, match='uint16 .16UC1. or float32 .32FC1.'):
            depth_points(labels, lut, bad, 1.0, K, 4, 10.0)
        with pytest.raises(ValueError, match='uint16 .16UC1. or float32 .32FC1.'):
            depth_organized(bad, 1.0, K, 10.0)
    with pytest.raises(ValueError, match='no pixels'):
        depth_organized(np.ones((0, 640), np.float32), 1.0, K, 10.0)
    for scale in (0.0, -0.001, float('inf')):
        with pytest.raises(ValueError, match='depth_scale'):
            depth_organized(depth, scale, K, 10.0)
    with pytest.raises(ValueError, match='depth_scale'):
        depth_points(labels, lut, depth, 0.0, K, 4, 10.0)
    for bad in (np.ones((720, 1280, 1), np.uint8), np.ones(1280, np.uint8),
                np.ones((720, 1280), np.float32)):
        with pytest.raises(ValueError, match='2-D unsigned integer'):
            depth_points(bad, lut, depth, 1.0, K, 4, 10.0)
    with pytest.raises(ValueError, match='Intrinsics.scaled'):
        depth_points(labels[:360], lut, depth, 1.0, K, 4, 10.0)
    with pytest.raises(ValueError, match='class id 5 but the class table has only 2'):
        depth_points(labels * 5, lut, depth, 1.0, K, 4, 10.0)
