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

"""Flat-ground geometry against hand-built scenes: the ground plane, a box on the floor."""

import math

import cv2
from deeplab_ros.geometry.camera import Intrinsics
from deeplab_ros.geometry.cloud import class_lut
from deeplab_ros.geometry.ground import GroundModel
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
    model = GroundModel(K, height, pitch, roll, stride, max_range)
    xyz, label = model.ground_points(labels, GROUND_LUT)
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
    xyz, _ = GroundModel(k, 1.0, pitch, roll, 1, 1e6).ground_points(labels, GROUND_LUT)
    u, v = pixels_of(xyz, k)
    return v[np.abs(u - column) < 1e-3].min()


def test_positive_pitch_moves_the_horizon_up_and_the_centre_hit_nearer():
    tops = [top_ground_row(K, pitch, 0.0, 640) for pitch in (0.0, 0.1, 0.3)]
    assert tops[0] > tops[1] > tops[2]
    assert tops[1] == pytest.approx(K.cy - K.fy * math.tan(0.1), abs=1.0)  # horizon
    labels = np.full((K.height, K.width), GROUND, np.uint8)
    centre = []
    for pitch in (0.1, 0.3):
        xyz, _ = GroundModel(K, 1.0, pitch, 0.0, 1, 100.0).ground_points(labels, GROUND_LUT)
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
    model = GroundModel(K, height, pitch, roll, stride, 20.0)
    xyz, label = model.contact_points(labels, OBSTACLE_LUT, GROUND_LUT)
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
    xyz, _ = GroundModel(K, 1.0, 0.0, 0.0, 4, 50.0).contact_points(
        labels, OBSTACLE_LUT, GROUND_LUT)
    assert len(xyz) == 1
    # max_range: the same foot 6.7 m away is dropped at 5 m.
    assert len(GroundModel(K, 1.0, 0.0, 0.0, 1, 5.0).contact_points(
        labels, OBSTACLE_LUT, GROUND_LUT)[0]) == 0


def test_uint16_labels_and_many_classes():
    labels = np.full((720, 1280), 300, np.uint16)
    labels[:, :640] = 1000
    model = GroundModel(K, 1.0, 0.3, 0.0, 4, 10.0)
    xyz, label = model.ground_points(labels, class_lut([1000], 1024))
    assert len(xyz) > 0 and np.all(label == 1000)
    u, _ = pixels_of(xyz, K)
    assert u.max() < 640


def test_stride_bounds_the_count():
    labels = np.ones((720, 1280), np.uint8)
    stripes = labels.copy()
    stripes[::2] = 2  # obstacle above ground in every other row
    for stride in (1, 3, 4, 7, 16):
        cap = math.ceil(720 / stride) * math.ceil(1280 / stride)
        model = GroundModel(K, 1.0, 0.4, 0.0, stride, 1e6)
        xyz, _ = model.ground_points(labels, class_lut([1], 2))
        assert 0 < len(xyz) <= cap
        xyz, _ = model.contact_points(stripes, class_lut([2], 3), class_lut([1], 3))
        assert len(xyz) == math.ceil(1280 / stride)


# Organized points: one per pixel, NaN where unknown.

def test_organized_ground_pixels_lie_on_the_plane_and_nan_above_the_horizon():
    height, pitch, roll, max_range = 0.8, 0.2, 0.05, 12.0
    labels = np.full((K.height, K.width), GROUND, np.uint8)
    labels[:, 1000:] = SKY  # not ground, no ground below: NaN
    model = GroundModel(K, height, pitch, roll, stride=4, max_range=max_range)
    xyz = model.organized_points(labels, GROUND_LUT)
    assert xyz.shape == (K.height, K.width, 3) and xyz.dtype == np.float32
    known = ~np.isnan(xyz[..., 0])
    assert np.array_equal(known, ~np.isnan(xyz).any(axis=-1))  # x, y, z NaN together
    assert not known[:, 1000:].any()
    world = to_world(xyz[known], height, pitch, roll)
    assert np.abs(world[:, 2]).max() < 1e-4  # on the ground
    # Each point lies on its own pixel's ray, every pixel (no stride).
    v, u = np.nonzero(known)
    pu, pv = pixels_of(xyz[known].astype(np.float64), K)
    assert np.abs(pu - u).max() < 1e-2 and np.abs(pv - v).max() < 1e-2
    # Known exactly where an independent ray says: down, and within range.
    rays = camera_rays(K)
    down = -(rays @ world_from_camera(pitch, roll).T)[..., 2]
    with np.errstate(divide='ignore'):
        dist = np.where(down > 0, height / down, np.inf) * np.linalg.norm(rays, axis=-1)
    expected = dist <= max_range
    expected[:, 1000:] = False
    assert np.count_nonzero(known != expected) <= 4  # rounding at the max_range circle only
    assert np.all(down[known] > 0)
    # The same points as ground_points gives at stride 1.
    points, _ = GroundModel(K, height, pitch, roll, 1, max_range).ground_points(
        labels, GROUND_LUT)
    assert np.array_equal(points, xyz[known])


@pytest.mark.parametrize('distance', [1.0, 3.0, 8.0])
@pytest.mark.parametrize('height, pitch, roll', [(0.5, 0.3, 0.0), (1.0, 0.45, -0.05)])
def test_organized_box_pixels_get_their_columns_contact_point(distance, height, pitch, roll):
    labels = render_box(K, height, pitch, roll, distance)
    model = GroundModel(K, height, pitch, roll, stride=1, max_range=20.0)
    xyz = model.organized_points(labels, GROUND_LUT)
    feet, _ = model.contact_points(labels, OBSTACLE_LUT, GROUND_LUT)
    columns = np.rint(pixels_of(feet, K)[0]).astype(int)
    assert columns.size > 5
    for column, foot in zip(columns, feet):
        box = np.flatnonzero(labels[:, column] == OBSTACLE)
        bottom = box.max()
        assert labels[bottom + 1, column] == GROUND
        # Every pixel of the run above the foot (the box, the sky above it) is at the foot.
        run = np.arange(bottom + 1)
        run = run[run > np.flatnonzero(labels[:bottom + 1, column] == GROUND).max(initial=-1)]
        assert np.allclose(xyz[run, column], foot, rtol=1e-6, atol=1e-6)
    # On the ground, at the box's distance; ground pixels elsewhere lie on the plane.
    world = to_world(xyz[labels == OBSTACLE][~np.isnan(xyz[labels == OBSTACLE][:, 0])],
                     height, pitch, roll)
    assert np.abs(world[:, 2]).max() < 1e-4 and world[:, 0].min() > 0.98 * distance
    ground = xyz[(labels == GROUND) & ~np.isnan(xyz[..., 0])]
    assert np.abs(to_world(ground, height, pitch, roll)[:, 2]).max() < 1e-4
    # Columns without the box: the sky down to the horizon gives no point.
    free = np.setdiff1d(np.arange(K.width), np.flatnonzero((labels == OBSTACLE).any(axis=0)))
    sky = labels[:, free] == SKY
    assert np.isnan(xyz[:, free][sky]).all()  # (none when the horizon is off the image)


def test_organized_contact_is_the_foot_of_each_run_hand_computed():
    labels = np.full((K.height, K.width), SKY, np.uint8)
    labels[400:410, 100] = OBSTACLE  # two obstacles stacked in column 100
    labels[410:500, 100] = GROUND
    labels[500:510, 100] = OBSTACLE
    labels[510:, 100] = GROUND
    labels[:, 200] = OBSTACLE  # no ground in the column
    labels[:600, 300] = GROUND  # ground above obstacle: nothing below the obstacle
    labels[600:, 300] = OBSTACLE
    model = GroundModel(K, 1.0, 0.0, 0.0, stride=4, max_range=50.0)  # stride: not used
    xyz = model.organized_points(labels, GROUND_LUT)
    column = xyz[:, 100]
    # Height 1 m, level: a boundary at row b is fy / (b - cy) metres ahead.
    assert np.allclose(column[:410, 2], K.fy / (409.5 - K.cy), rtol=1e-6)  # sky above too
    assert np.allclose(column[410:500, 2], K.fy / (np.arange(410, 500) - K.cy), rtol=1e-6)
    assert np.allclose(column[500:510, 2], K.fy / (509.5 - K.cy), rtol=1e-6)
    assert np.allclose(column[:, 1], 1.0, rtol=1e-6)  # all on the ground, 1 m below
    assert np.isnan(xyz[:, 200]).all()
    # Ground above an obstacle: its own hits, NaN near the horizon (beyond 50 m).
    assert np.isnan(xyz[600:, 300]).all() and np.isnan(xyz[:379, 300]).all()
    assert np.allclose(xyz[380:600, 300, 1], 1.0, rtol=1e-6)
    # max_range: the feet 2.0 m (row 509.5) and 18 m (row 409.5) away, at 10 m.
    near = GroundModel(K, 1.0, 0.0, 0.0, 1, 10.0).organized_points(labels, GROUND_LUT)
    assert np.isnan(near[:410, 100]).all() and not np.isnan(near[500:510, 100]).any()


def test_organized_same_pixels_as_the_label_map_of_uint16_ids():
    labels = np.full((289, 513), 300, np.uint16)
    labels[:, :200] = 1000
    k = K.scaled(513, 289)
    xyz = GroundModel(k, 1.0, 0.3, 0.0).organized_points(labels, class_lut([1000], 1024))
    assert xyz.shape == (289, 513, 3) and xyz.dtype == np.float32
    assert np.isnan(xyz[:, 200:]).all()  # no ground in these columns
    assert not np.isnan(xyz[150:, :200]).any()


def test_camera_looking_up_sees_no_ground():
    labels = np.full((K.height, K.width), GROUND, np.uint8)
    labels[:100] = OBSTACLE
    model = GroundModel(K, 1.0, -1.2, 0.0, stride=2, max_range=10.0)
    for xyz, label in (model.ground_points(labels, GROUND_LUT),
                       model.contact_points(labels, OBSTACLE_LUT, GROUND_LUT)):
        assert xyz.shape == (0, 3) and xyz.dtype == np.float32 and label.dtype == np.uint16
    assert np.isnan(model.organized_points(labels, GROUND_LUT)).all()


# Lens distortion: the ground seen through a distorted lens, checked by OpenCV's projection.

USB_CAMERA = Intrinsics(fx=900.0, fy=900.0, cx=652.3, cy=351.8, width=1280, height=720,
                        distortion_model='plumb_bob', d=(-0.28, 0.09, 0.0006, -0.0009, -0.012))
FISHEYE = Intrinsics(fx=520.0, fy=520.0, cx=641.0, cy=358.0, width=1280, height=720,
                     distortion_model='equidistant', d=(0.02, -0.006, 0.001, -0.0002))


def opencv_pixels(k, xyz):
    """Return the pixels OpenCV projects optical-frame points to, with k's distortion."""
    points = xyz.astype(np.float64).reshape(-1, 1, 3)
    if k.distortion_model == 'equidistant':
        pixels = cv2.fisheye.projectPoints(points, np.zeros((1, 1, 3)), np.zeros((1, 1, 3)),
                                           k.matrix(), np.array(k.d))[0]
    else:
        pixels = cv2.projectPoints(points, np.zeros(3), np.zeros(3), k.matrix(),
                                   np.array(k.d))[0]
    return pixels.reshape(-1, 2)


@pytest.mark.parametrize('k', [USB_CAMERA, FISHEYE], ids=['plumb_bob', 'equidistant'])
def test_distorted_flat_ground_lies_on_the_plane_at_the_right_pixels(k):
    height, pitch, roll = 0.6, 0.35, 0.05
    labels = np.full((k.height, k.width), GROUND, np.uint8)
    model = GroundModel(k, height, pitch, roll, stride=1, max_range=15.0)
    xyz = model.organized_points(labels, GROUND_LUT)
    known = ~np.isnan(xyz[..., 0])
    assert known.mean() > 0.4
    world = to_world(xyz[known], height, pitch, roll)
    assert np.abs(world[:, 2]).max() < 1e-4
    # Each point projects, through the lens, onto the pixel it was given to.
    v, u = np.nonzero(known)
    pixels = opencv_pixels(k, xyz[known])
    assert np.abs(pixels - np.stack([u, v], axis=-1)).max() < 0.02
    # The sampled clouds come from the same undistorted rays.
    points, _ = model.ground_points(labels, GROUND_LUT)
    assert np.array_equal(points, xyz[known])
    # Ignoring the distortion would put the off-centre ground far from where it is.
    plain = Intrinsics(k.fx, k.fy, k.cx, k.cy, k.width, k.height)
    wrong = GroundModel(plain, height, pitch, roll, 1, 15.0).organized_points(
        labels, GROUND_LUT)
    both = known & ~np.isnan(wrong[..., 0])
    assert np.nanmax(np.linalg.norm(wrong[both] - xyz[both], axis=-1)) > 0.3


def test_distorted_box_foot_projects_onto_its_boundary():
    height, pitch = 0.5, 0.3
    k = USB_CAMERA
    labels = np.full((k.height, k.width), GROUND, np.uint8)
    labels[:500, 300:340] = OBSTACLE  # an obstacle whose foot is the boundary 499.5
    model = GroundModel(k, height, pitch, 0.0, stride=1, max_range=20.0)
    feet, _ = model.contact_points(labels, OBSTACLE_LUT, GROUND_LUT)
    assert len(feet) == 40
    pixels = opencv_pixels(k, feet)
    assert np.allclose(pixels, np.stack([np.arange(300, 340), np.full(40, 499.5)], -1),
                       atol=0.02)
    xyz = model.organized_points(labels, GROUND_LUT)
    assert np.allclose(xyz[:500, 300:340], feet[None], rtol=1e-6, atol=1e-6)


def test_invalid_ground_values_are_rejected_with_a_reason():
    labels = np.ones((720, 1280), np.uint8)
    lut = class_lut([1], 2)
    with pytest.raises(ValueError, match='stride'):
        GroundModel(K, 1.0, 0.3, 0.0, stride=0)
    for height in (0.0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ValueError, match='height'):
            GroundModel(K, height, 0.3, 0.0, 4, 10.0)
    for pitch, roll in ((float('nan'), 0.0), (0.0, float('inf')), (float('-inf'), 0.0)):
        with pytest.raises(ValueError, match='pitch and roll'):
            GroundModel(K, 1.0, pitch, roll, 4, 10.0)
    for max_range in (0.0, -5.0, float('nan')):
        with pytest.raises(ValueError, match='max_range'):
            GroundModel(K, 1.0, 0.3, 0.0, 4, max_range)
    model = GroundModel(K, 1.0, 0.3, 0.0, 4, 10.0)
    for bad in (np.ones((720, 1280, 1), np.uint8), np.ones(1280, np.uint8),
                np.ones((720, 1280), np.float32)):
        with pytest.raises(ValueError, match='2-D unsigned integer'):
            model.ground_points(bad, lut)
        with pytest.raises(ValueError, match='2-D unsigned integer'):
            model.organized_points(bad, lut)
    with pytest.raises(ValueError, match='Intrinsics.scaled'):
        model.ground_points(labels[:360], lut)
    with pytest.raises(ValueError, match='Intrinsics.scaled'):
        model.organized_points(labels[:360], lut)
    with pytest.raises(ValueError, match='1-D bool'):
        model.ground_points(labels, np.array([0, 1]))
    with pytest.raises(ValueError, match='class id 5 but the class table has only 2'):
        model.organized_points(labels * 5, lut)
    with pytest.raises(ValueError, match='class id 5 but the class table has only 2'):
        model.contact_points(labels * 5, lut, lut)
