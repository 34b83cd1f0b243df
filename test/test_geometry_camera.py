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

"""Camera models: rays through distorted lenses checked by OpenCV, scaled camera_info."""

from types import SimpleNamespace

import cv2
from deeplab_ros.geometry.camera import Intrinsics, scale_camera_info
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo

PLUMB_BOB = Intrinsics(fx=900.0, fy=905.0, cx=652.3, cy=351.8, width=1280, height=720,
                       distortion_model='plumb_bob', d=(-0.28, 0.09, 0.0006, -0.0009, -0.012))
RATIONAL = Intrinsics(fx=600.0, fy=600.0, cx=318.0, cy=242.0, width=640, height=480,
                      distortion_model='rational_polynomial',
                      d=(0.45, -0.1, 0.0004, -0.0006, 0.01, 0.8, 0.05, 0.02))
FISHEYE = Intrinsics(fx=520.0, fy=520.0, cx=641.0, cy=358.0, width=1280, height=720,
                     distortion_model='equidistant', d=(0.02, -0.006, 0.001, -0.0002))


def opencv_pixels(k, points):
    """Return the pixels OpenCV projects optical-frame points to, with k's distortion."""
    points = points.reshape(-1, 1, 3)
    if k.distortion_model == 'equidistant':
        return cv2.fisheye.projectPoints(points, np.zeros((1, 1, 3)), np.zeros((1, 1, 3)),
                                         k.matrix(), np.array(k.d))[0].reshape(-1, 2)
    return cv2.projectPoints(points, np.zeros(3), np.zeros(3), k.matrix(),
                             np.array(k.d))[0].reshape(-1, 2)


@pytest.mark.parametrize('k', [PLUMB_BOB, RATIONAL, FISHEYE],
                         ids=['plumb_bob', 'rational_polynomial', 'equidistant'])
def test_rays_of_projected_points_point_at_them(k):
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(-1.2, 1.2, 5000), rng.uniform(-0.8, 0.8, 5000),
                       rng.uniform(0.5, 8.0, 5000)], axis=-1)
    points[:, :2] *= points[:, 2:]
    pixels = opencv_pixels(k, points)
    inside = ((pixels > -0.5) & (pixels < [k.width - 0.5, k.height - 0.5])).all(axis=1)
    assert inside.sum() > 1000
    x, y = k.rays(pixels[inside, 0], pixels[inside, 1])
    assert x.dtype == np.float64 and x.shape == (inside.sum(),)
    rays = np.stack([x, y, np.ones_like(x)], axis=-1)
    target = points[inside]
    cos = (rays * target).sum(-1) / np.linalg.norm(rays, axis=-1) / np.linalg.norm(target, axis=-1)
    assert np.arccos(np.clip(cos, -1, 1)).max() < 1e-4
    # project is the inverse of rays.
    u, v = k.project(x, y)
    assert np.abs(np.stack([u, v], axis=-1) - pixels[inside]).max() < 1e-3


def test_rays_broadcast_and_a_rectified_camera_is_the_pinhole():
    k = Intrinsics(900.0, 910.0, 639.5, 359.5, 1280, 720, 'plumb_bob', (0.0,) * 5)
    assert k.rectified
    x, y = k.rays(np.arange(1280)[None, :], np.arange(720)[:, None])
    assert x.shape == y.shape == (720, 1280)
    assert np.array_equal(x[5], (np.arange(1280) - 639.5) / 900.0)
    assert np.array_equal(y[:, 7], (np.arange(720) - 359.5) / 910.0)
    for rectified in (Intrinsics(900.0, 910.0, 639.5, 359.5, 1280, 720, '', (-0.3, 0.1)),
                      Intrinsics(900.0, 910.0, 639.5, 359.5, 1280, 720, 'plumb_bob', ()),
                      Intrinsics(900.0, 910.0, 639.5, 359.5, 1280, 720, 'unknown', (0,) * 4)):
        assert rectified.rectified
        assert np.array_equal(rectified.rays(3.0, 4.0), k.rays(3.0, 4.0))
    assert not PLUMB_BOB.rectified
    # Distortion bends off-centre rays by many pixels on a webcam.
    x, y = PLUMB_BOB.rays(0.0, 0.0)
    assert abs(x * PLUMB_BOB.fx + PLUMB_BOB.cx) > 50


def test_rays_outside_the_lens_model_are_nan():
    # This fisheye sees beyond 90 degrees off-axis at the image corners: no forward ray.
    k = Intrinsics(400.0, 400.0, 639.5, 359.5, 1280, 720, 'equidistant', (0.0, 0.0, 0.0, 1e-9))
    x, y = k.rays(np.array([0.0, 639.5]), np.array([0.0, 359.5]))
    assert np.isnan(x[0]) and np.isnan(y[0]) and x[1] == pytest.approx(0.0, abs=1e-9)


def test_from_camera_info_reads_rclpy_and_rosbags_messages():
    info = CameraInfo(width=1280, height=720, distortion_model='plumb_bob',
                      d=list(PLUMB_BOB.d), k=[900.0, 0, 652.3, 0, 905.0, 351.8, 0, 0, 1])
    assert Intrinsics.from_camera_info(info) == PLUMB_BOB
    # rosbags: numpy arrays; width and height 0 take the image size.
    bag = SimpleNamespace(width=0, height=0, distortion_model='equidistant',
                          d=np.array(FISHEYE.d), k=np.array([520.0, 0, 641, 0, 520, 358, 0, 0, 1]))
    assert Intrinsics.from_camera_info(bag, (1280, 720)) == FISHEYE
    with pytest.raises(ValueError, match='pass the size of the camera images'):
        Intrinsics.from_camera_info(bag)
    # image_proc's image_rect: P's intrinsics, no distortion.
    info.p = [880.0, 0, 650.0, 0, 0, 885.0, 350.0, 0, 0, 0, 1, 0]
    rect = Intrinsics.from_camera_info(info, rectified=True)
    assert rect == Intrinsics(880.0, 885.0, 650.0, 350.0, 1280, 720) and rect.rectified
    info.k = [0.0] * 9
    with pytest.raises(ValueError, match='camera_info K all zero'):
        Intrinsics.from_camera_info(info)


def test_unsupported_distortion_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="'kannala_brandt' is not supported: use one of "
                                         'plumb_bob, rational_polynomial, equidistant'):
        Intrinsics(900, 900, 0, 0, 10, 10, 'kannala_brandt', (0.1, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match='equidistant needs 4 coefficients in D, got 5'):
        Intrinsics(900, 900, 0, 0, 10, 10, 'equidistant', (0.1, 0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match='plumb_bob needs 4 or 5 coefficients'):
        Intrinsics(900, 900, 0, 0, 10, 10, 'plumb_bob', (0.1,) * 8)
    with pytest.raises(ValueError, match='D must be finite'):
        Intrinsics(900, 900, 0, 0, 10, 10, 'plumb_bob', (0.1, float('nan'), 0, 0, 0))


def test_intrinsics_from_k_and_scaled_at_pixel_centres():
    k = Intrinsics.from_k([900, 0, 639.5, 0, 910, 359.5, 0, 0, 1], 1280, 720)
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (900, 910, 639.5, 359.5, 1280, 720)
    half = k.scaled(640, 360)
    # The image centre stays the centre: (639.5 + 0.5) / 2 - 0.5.
    assert (half.fx, half.fy, half.cx, half.cy) == (450, 455, 319.5, 179.5)
    odd = k.scaled(848, 480)
    assert odd.fx == pytest.approx(900 * 848 / 1280) and odd.fy == pytest.approx(910 * 480 / 720)
    assert odd.cx == pytest.approx(423.5) and odd.cy == pytest.approx(239.5)
    assert odd.width == 848 and odd.height == 480
    # The same ray at both sizes for the same spot of the image: pixel edges scale by s.
    scaled = PLUMB_BOB.scaled(513, 289)
    assert scaled.d == PLUMB_BOB.d and scaled.distortion_model == 'plumb_bob'
    edge_u, edge_v = np.array([0.0, 100.0, 1280.0]), np.array([0.0, 50.0, 720.0])
    original = PLUMB_BOB.rays(edge_u - 0.5, edge_v - 0.5)
    small = scaled.rays(edge_u * 513 / 1280 - 0.5, edge_v * 289 / 720 - 0.5)
    assert np.allclose(original, small, atol=1e-9)


def test_scale_camera_info_k_p_and_roi():
    k = [900, 0, 639.5, 0, 910, 359.5, 0, 0, 1]
    p = [900, 0, 639.5, -45.0, 0, 910, 359.5, 0, 0, 0, 1, 0]
    scaled = scale_camera_info(k, p, (100, 50, 640, 360), (1280, 720), (640, 360))
    assert scaled.k == (450, 0, 319.5, 0, 455, 179.5, 0, 0, 1)
    assert scaled.p == (450, 0, 319.5, -22.5, 0, 455, 179.5, 0, 0, 0, 1, 0)
    assert scaled.roi == (50, 25, 320, 180)
    k2, p2, roi = scale_camera_info(k, p, (0, 0, 0, 0), (1280, 720), (513, 289))
    expected = Intrinsics.from_k(k, 1280, 720).scaled(513, 289)
    assert (k2[0], k2[4], k2[2], k2[5]) == (expected.fx, expected.fy, expected.cx, expected.cy)
    assert (p2[0], p2[5], p2[2], p2[6]) == (expected.fx, expected.fy, expected.cx, expected.cy)
    assert roi == (0, 0, 0, 0)  # the full image
    # Uncalibrated stays uncalibrated; odd ROIs stay inside the image.
    zeros = scale_camera_info([0] * 9, [0] * 12, (1275, 0, 5, 720), (1280, 720), (513, 289))
    assert zeros.k == (0,) * 9 and zeros.p == (0,) * 12
    assert zeros.roi == (511, 0, 2, 289)
    with pytest.raises(ValueError, match='9 values of K and 12 of P'):
        scale_camera_info(k, p[:9], (0, 0, 0, 0), (1280, 720), (640, 360))
    with pytest.raises(ValueError, match='from 1280x720 to 0x360'):
        scale_camera_info(k, p, (0, 0, 0, 0), (1280, 720), (0, 360))


def test_invalid_intrinsics_are_rejected_with_a_reason():
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
    with pytest.raises(ValueError, match='cannot scale camera intrinsics to 0x10'):
        Intrinsics(900, 900, 0, 0, 10, 10).scaled(0, 10)
