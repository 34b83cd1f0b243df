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

"""Geometry against hand-built scenes: ground plane, a box on the floor, depth images."""

import math

from deeplab_ros.nav.geometry import (class_lut, contact_points, depth_points, ground_points,
                                      GroundModel, Intrinsics, pack_points, POINT_DTYPE,
                                      POINT_FIELDS, POINT_STEP)
import numpy as np
import pytest

K = Intrinsics(fx=900.0, fy=900.0, cx=639.5, cy=359.5, width=1280, height=720)
SKY, GROUND, OBSTACLE = 0, 1, 2
GROUND_LUT = class_lut([GROUND], 21)
OBSTACLE_LUT = class_lut([OBSTACLE], 21)


# An independent camera model for the checks: world X forward, Y left, Z up (REP 103), the
# optical centre at (0, 0, height). Rotation matrices, not the up vector of the module.

def rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# Columns: the optical x (right), y (down), z (forward) axes of a level camera in the world.
LEVEL = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=float)


def world_from_camera(pitch, roll):
    """Pitch down about the camera x axis first, then roll about the new optical axis."""
    return LEVEL @ rot_x(-pitch) @ rot_z(roll)


def to_world(xyz, height, pitch, roll):
    return xyz.astype(np.float64) @ world_from_camera(pitch, roll).T + [0.0, 0.0, height]


def camera_rays(k):
    """Return every pixel's ray (x/z, y/z, 1) in the optical frame, (H, W, 3)."""
    v, u = np.mgrid[0:k.height, 0:k.width].astype(np.float64)
    return np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)


def pixel_rays_world(k, pitch, roll):
    """Return the world direction of every pixel's ray, (H, W, 3)."""
    return camera_rays(k) @ world_from_camera(pitch, roll).T


def pixels_of(xyz, k):
    """Return the (u, v) pixel coordinates points project to."""
    return xyz[:, 0] / xyz[:, 2] * k.fx + k.cx, xyz[:, 1] / xyz[:, 2] * k.fy + k.cy


def test_reference_rotation_matches_the_stated_conventions():
    r = world_from_camera(0.3, 0.0)
    assert r[2, 2] < 0  # positive pitch: the optical axis points down
    r = world_from_camera(0.0, 0.2)
    assert r[2, 0] < 0  # positive roll: the camera's right (x) side is lower
    assert np.allclose(world_from_camera(0.0, 0.0) @ [0, 0, 1], [1, 0, 0])


@pytest.mark.parametrize('height, pitch, roll', [
    (0.3, 0.2, 0.0), (1.2, 0.5, 0.0), (0.8, -0.05, 0.1), (0.5, 0.3, -0.25), (2.0, 1.2, 0.4)])
def test_all_ground_points_lie_on_the_plane(height, pitch, roll):
    labels = np.full((K.height, K.width), GROUND, np.uint8)
    stride, max_range = 2, 10.0
    xyz, label = ground_points(labels, GROUND_LUT, K, height, pitch, roll, stride, max_range)
    assert xyz.dtype == np.float32 and xyz.shape[1] == 3 and xyz.flags.c_contiguous
    assert label.dtype == np.uint16 and np.all(label == GROUND)
    assert len(xyz) > 1000 and np.all(np.isfinite(xyz))
    world = to_world(xyz, height, pitch, roll)
    assert np.abs(world[:, 2]).max() < 0.01  # on the ground
    assert np.linalg.norm(xyz, axis=1).max() <= max_range * (1 + 1e-6)
    # The same pixels as an independent count: rays that point down and hit within range.
    rays = camera_rays(K)[::stride, ::stride]
    down = -(rays @ world_from_camera(pitch, roll).T)[..., 2]
    with np.errstate(divide='ignore'):
        dist = np.where(down > 0, height / down, np.inf) * np.linalg.norm(rays, axis=-1)
    expected = np.count_nonzero(dist <= max_range)
    assert abs(len(xyz) - expected) <= 2  # only rounding at the max_range circle may differ
    u, v = (np.rint(c).astype(int) for c in pixels_of(xyz, K))
    assert np.all(u % stride == 0) and np.all(v % stride == 0)
    assert np.all(down[v // stride, u // stride] > 0)  # none from above the horizon


def test_worked_example_for_the_readme():
    # A camera 0.5 m up looking 0.3 rad down sees the ground at the image centre 1.62 m ahead
    # (1.69 m along the optical axis).
    k = Intrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=641, height=481)
    labels = np.full((481, 641), GROUND, np.uint8)
    model = GroundModel(k, height=0.5, pitch=0.3, roll=0.0, stride=1, max_range=10.0)
    xyz, _ = model.ground_points(labels, GROUND_LUT)
    u, v = pixels_of(xyz, k)
    centre = xyz[(np.abs(u - 320) < 1e-3) & (np.abs(v - 240) < 1e-3)]
    assert centre.shape == (1, 3)
    x, y, z = centre[0]
    assert abs(x) < 1e-6 and abs(y) < 1e-6
    assert z == pytest.approx(0.5 / math.sin(0.3), rel=1e-5)  # 1.692 m along the axis
    assert to_world(centre, 0.5, 0.3, 0.0)[0, 0] == pytest.approx(0.5 / math.tan(0.3), rel=1e-5)
    assert round(0.5 / math.tan(0.3), 2) == 1.62


def top_ground_row(k, pitch, roll, column):
    labels = np.full((k.height, k.width), GROUND, np.uint8)
    xyz, _ = ground_points(labels, GROUND_LUT, k, 1.0, pitch, roll, 1, 1e6)
    u, v = pixels_of(xyz, k)
    return v[np.abs(u - column) < 1e-3].min()


def test_positive_pitch_moves_the_horizon_up_and_the_centre_hit_nearer():
    tops = [top_ground_row(K, pitch, 0.0, 640) for pitch in (0.0, 0.1, 0.3)]
    assert tops[0] > tops[1] > tops[2]
    assert tops[1] == pytest.approx(K.cy - K.fy * math.tan(0.1), abs=1.0)  # horizon
    labels = np.full((K.height, K.width), GROUND, np.uint8)
    centre = []
    for pitch in (0.1, 0.3):
        xyz, _ = ground_points(labels, GROUND_LUT, K, 1.0, pitch, 0.0, 1, 100.0)
        u, v = pixels_of(xyz, K)
        centre.append(xyz[(np.abs(u - 639) < 1e-3) & (np.abs(v - 359) < 1e-3), 2][0])
    assert centre[0] > centre[1]


def test_positive_roll_makes_the_horizon_rise_toward_the_right():
    left, right = top_ground_row(K, 0.1, 0.1, 0), top_ground_row(K, 0.1, 0.1, 1279)
    assert right < left
    # The horizon's slope is the roll angle (level camera in pitch: a straight line).
    left, right = top_ground_row(K, 0.0, 0.1, 0), top_ground_row(K, 0.0, 0.1, 1279)
    assert (left - right) / 1279 == pytest.approx(math.tan(0.1), abs=2 / 1279)
    left, right = top_ground_row(K, 0.1, -0.1, 0), top_ground_row(K, 0.1, -0.1, 1279)
    assert right > left


def render_box(k, height, pitch, roll, distance, width=0.5, depth=0.5, tall=1.0):
    """Return a label map: a box on the ground ``distance`` m ahead, ground, sky."""
    rays = pixel_rays_world(k, pitch, roll)
    origin = np.array([0.0, 0.0, height])
    low = np.array([distance, -width / 2, 0.0])
    high = np.array([distance + depth, width / 2, tall])
    with np.errstate(divide='ignore', invalid='ignore'):
        t1 = (low - origin) / rays
        t2 = (high - origin) / rays
    near = np.minimum(t1, t2).max(axis=-1)
    far = np.maximum(t1, t2).min(axis=-1)
    labels = np.full((k.height, k.width), SKY, np.uint8)
    labels[rays[..., 2] < 0] = GROUND
    labels[(near <= far) & (far > 0)] = OBSTACLE
    return labels


@pytest.mark.parametrize('distance', [1.0, 2.0, 3.0, 5.0, 8.0])
@pytest.mark.parametrize('height, pitch, roll, stride', [
    (0.5, 0.3, 0.0, 1), (0.5, 0.3, 0.1, 4), (1.0, 0.45, -0.05, 4)])
def test_box_on_the_floor_gives_its_distance_once_per_column(
        distance, height, pitch, roll, stride):
    labels = render_box(K, height, pitch, roll, distance)
    xyz, label = contact_points(labels, OBSTACLE_LUT, GROUND_LUT, K, height, pitch, roll,
                                stride, 20.0)
    assert np.all(label == OBSTACLE) and label.dtype == np.uint16
    u, _ = pixels_of(xyz, K)
    u = np.rint(u).astype(int)
    assert np.all(u % stride == 0) and np.unique(u).size == u.size  # one per column at most
    world = to_world(xyz, height, pitch, roll)
    assert np.abs(world[:, 2]).max() < 1e-3  # on the ground
    # The columns where the box's front bottom edge is seen: the box stands there.
    corners = np.array([[distance, 0.25, 0.0], [distance, -0.25, 0.0]]) - [0, 0, height]
    cam = corners @ world_from_camera(pitch, roll)
    left, right = cam[:, 0] / cam[:, 2] * K.fx + K.cx
    under = np.arange(0, K.width, stride)
    under = under[(under > left + 0.5) & (under < right - 0.5)]
    assert under.size > 5
    at_foot = np.isin(u, under)
    assert np.count_nonzero(at_foot) == under.size  # one point per sampled column under it
    assert np.abs(world[at_foot, 0] - distance).max() <= 0.02 * distance  # along the ground
    assert np.abs(xyz[at_foot, 2] / xyz[at_foot, 2].mean() - 1).max() < 0.02
    assert np.abs(world[at_foot, 1]).max() <= 0.25
    # In perspective the box's upper corners lean out past its foot; columns that cross only
    # them see the ground behind the box: their points lie beyond it, never nearer.
    assert np.all(world[~at_foot, 0] > 0.98 * distance)


def test_contact_takes_the_lowest_boundary_below_the_horizon_only():
    labels = np.full((K.height, K.width), SKY, np.uint8)
    labels[400:410, 100] = OBSTACLE  # two obstacles stacked in column 100
    labels[410:500, 100] = GROUND
    labels[500:510, 100] = OBSTACLE
    labels[510:, 100] = GROUND
    labels[600:, 200] = OBSTACLE  # obstacle above sky / image edge: no boundary
    labels[0:10, 300] = OBSTACLE  # boundary above the horizon (pitch 0: row 359.5)
    labels[10:, 300] = GROUND
    labels[500:520, 400] = GROUND  # ground above obstacle: wrong order
    labels[520:530, 400] = OBSTACLE
    model = GroundModel(K, 1.0, 0.0, 0.0, stride=1, max_range=50.0)
    xyz, label = model.contact_points(labels, OBSTACLE_LUT, GROUND_LUT)
    assert len(xyz) == 1 and label[0] == OBSTACLE
    u, v = pixels_of(xyz, K)
    assert u[0] == pytest.approx(100, abs=1e-3) and v[0] == pytest.approx(509.5, abs=1e-3)
    assert xyz[0, 2] == pytest.approx(K.fy / (509.5 - K.cy), rel=1e-5)  # height 1 m
    # Stride: only every 4th column is searched (100 and 300 are, 102 is not).
    labels[:, 102] = labels[:, 100]
    xyz, _ = contact_points(labels, OBSTACLE_LUT, GROUND_LUT, K, 1.0, 0.0, 0.0, 4, 50.0)
    assert len(xyz) == 1
    # max_range: the same foot 6.7 m away is dropped at 5 m.
    assert len(GroundModel(K, 1.0, 0.0, 0.0, 1, 5.0).contact_points(
        labels, OBSTACLE_LUT, GROUND_LUT)[0]) == 0


def test_camera_looking_up_sees_no_ground():
    labels = np.full((K.height, K.width), GROUND, np.uint8)
    labels[:100] = OBSTACLE
    model = GroundModel(K, 1.0, -1.2, 0.0, stride=2, max_range=10.0)
    for xyz, label in (model.ground_points(labels, GROUND_LUT),
                       model.contact_points(labels, OBSTACLE_LUT, GROUND_LUT)):
        assert xyz.shape == (0, 3) and xyz.dtype == np.float32 and label.dtype == np.uint16


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
    stripes = labels.copy()
    stripes[::2] = 2  # obstacle above ground in every other row
    for stride in (1, 3, 4, 7, 16):
        cap = math.ceil(720 / stride) * math.ceil(1280 / stride)
        xyz, _ = depth_points(labels, class_lut([1], 2), depth, 1.0, K, stride, 10.0)
        assert len(xyz) == cap
        xyz, _ = ground_points(labels, class_lut([1], 2), K, 1.0, 0.4, 0.0, stride, 1e6)
        assert 0 < len(xyz) <= cap
        xyz, _ = contact_points(stripes, class_lut([2], 3), class_lut([1], 3), K, 1.0, 0.4,
                                0.0, stride, 1e6)
        assert len(xyz) == math.ceil(1280 / stride)


def test_uint16_labels_and_many_classes():
    labels = np.full((720, 1280), 300, np.uint16)
    labels[:, :640] = 1000
    xyz, label = ground_points(labels, class_lut([1000], 1024), K, 1.0, 0.3, 0.0, 4, 10.0)
    assert len(xyz) > 0 and np.all(label == 1000)
    u, _ = pixels_of(xyz, K)
    assert u.max() < 640


def test_pack_points_gives_point_step_bytes_per_point_that_read_back():
    assert [(f.name, f.offset, f.datatype, f.count) for f in POINT_FIELDS] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1), ('label', 12, 4, 1)]
    assert POINT_STEP == 16 and POINT_DTYPE.itemsize == 16
    xyz = np.array([[1.5, -2.0, 3.25], [0.0, 0.5, 9.0], [-1.0, 1.0, 2.0]], np.float32)
    label = np.array([7, 65535, 0], np.uint16)
    data = pack_points(xyz, label).tobytes()
    assert len(data) == 3 * 16
    assert np.array_equal(np.frombuffer(data, '<f4').reshape(3, 4)[:, :3], xyz)
    halves = np.frombuffer(data, '<u2').reshape(3, 8)
    assert np.array_equal(halves[:, 6], label) and np.all(halves[:, 7] == 0)
    back = np.frombuffer(data, POINT_DTYPE)
    assert np.array_equal(back['label'], label) and np.array_equal(back['z'], xyz[:, 2])
    assert len(pack_points(np.empty((0, 3), np.float32), np.empty(0, np.uint16)).tobytes()) == 0
    with pytest.raises(ValueError, match='N labels'):
        pack_points(xyz, label[:2])


def test_intrinsics_from_k_and_scaled():
    k = Intrinsics.from_k([900, 0, 639.5, 0, 910, 359.5, 0, 0, 1], 1280, 720)
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (900, 910, 639.5, 359.5, 1280, 720)
    half = k.scaled(640, 360)
    assert (half.fx, half.fy, half.cx, half.cy) == (450, 455, 319.75, 179.75)
    odd = k.scaled(848, 480)
    assert odd.fx == pytest.approx(900 * 848 / 1280) and odd.fy == pytest.approx(910 * 480 / 720)
    assert odd.width == 848 and odd.height == 480


def test_invalid_values_are_rejected_with_a_reason():
    labels = np.ones((720, 1280), np.uint8)
    lut = class_lut([1], 2)
    depth = np.ones((360, 640), np.float32)
    with pytest.raises(ValueError, match='fx, fy > 0'):
        Intrinsics.from_k([0] * 9, 1280, 720)
    with pytest.raises(ValueError, match='fx, fy > 0'):
        Intrinsics(900, -1, 0, 0, 10, 10)
    with pytest.raises(ValueError, match='at least 1x1'):
        Intrinsics(900, 900, 0, 0, 0, 720)
    with pytest.raises(ValueError, match='9 values'):
        Intrinsics.from_k([900, 0, 1], 1280, 720)
    with pytest.raises(ValueError, match='finite'):
        Intrinsics(900, 900, float('nan'), 0, 10, 10)
    with pytest.raises(ValueError, match='stride'):
        GroundModel(K, 1.0, 0.3, 0.0, stride=0)
    with pytest.raises(ValueError, match='stride'):
        depth_points(labels, lut, depth, 1.0, K, 0, 10.0)
    for height in (0.0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ValueError, match='height'):
            ground_points(labels, lut, K, height, 0.3, 0.0, 4, 10.0)
    for pitch, roll in ((float('nan'), 0.0), (0.0, float('inf')), (float('-inf'), 0.0)):
        with pytest.raises(ValueError, match='pitch and roll'):
            contact_points(labels, lut, lut, K, 1.0, pitch, roll, 4, 10.0)
    for max_range in (0.0, -5.0, float('nan')):
        with pytest.raises(ValueError, match='max_range'):
            GroundModel(K, 1.0, 0.3, 0.0, 4, max_range)
        with pytest.raises(ValueError, match='max_range'):
            depth_points(labels, lut, depth, 1.0, K, 4, max_range)
    for bad in (np.ones((360, 640), np.float64), np.ones((360, 640), np.int32),
                np.ones((360, 640, 1), np.uint16), np.ones(640, np.float32)):
        with pytest.raises(ValueError, match='uint16 .16UC1. or float32 .32FC1.'):
            depth_points(labels, lut, bad, 1.0, K, 4, 10.0)
    with pytest.raises(ValueError, match='depth_scale'):
        depth_points(labels, lut, depth, 0.0, K, 4, 10.0)
    for bad in (np.ones((720, 1280, 1), np.uint8), np.ones(1280, np.uint8),
                np.ones((720, 1280), np.float32)):
        with pytest.raises(ValueError, match='2-D unsigned integer'):
            ground_points(bad, lut, K, 1.0, 0.3, 0.0, 4, 10.0)
        with pytest.raises(ValueError, match='2-D unsigned integer'):
            depth_points(bad, lut, depth, 1.0, K, 4, 10.0)
    with pytest.raises(ValueError, match='Intrinsics.scaled'):
        ground_points(labels[:360], lut, K, 1.0, 0.3, 0.0, 4, 10.0)
    with pytest.raises(ValueError, match='class id 5 but the class table has only 2'):
        depth_points(labels * 5, lut, depth, 1.0, K, 4, 10.0)
    with pytest.raises(ValueError, match='1-D bool'):
        ground_points(labels, np.array([0, 1]), K, 1.0, 0.3, 0.0, 4, 10.0)
    with pytest.raises(ValueError, match='outside 0..20'):
        class_lut([3, 21], 21)
