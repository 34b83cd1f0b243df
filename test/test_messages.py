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

"""Output messages built from arrays, without any middleware."""

from deeplab_ros.geometry.cloud import pack_organized, pack_points
from deeplab_ros.node.diagnostics import Report, WARN
import numpy as np
import pytest

messages = pytest.importorskip('deeplab_ros.node.messages')
sensor_msgs = pytest.importorskip('sensor_msgs.msg')


def test_images_carry_the_input_header_and_their_pixels():
    head = messages.header(12, 345, 'camera_optical')
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    msg = messages.image(head, labels, 'mono8')
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (
        12, 345, 'camera_optical')
    assert (msg.height, msg.width, msg.step, msg.encoding) == (3, 4, 4, 'mono8')
    assert bytes(msg.data) == labels.tobytes()
    wide = np.zeros((2, 3), np.uint16)
    assert messages.image(head, wide, 'mono16').step == 6
    view = np.zeros((4, 6, 3), np.uint8)[:, ::2]  # not contiguous
    assert len(messages.image(head, view, 'rgb8').data) == 4 * 3 * 3


def test_camera_info_is_scaled_to_the_label_image():
    info = sensor_msgs.CameraInfo(
        width=1280, height=720, distortion_model='plumb_bob', d=[0.1] * 5,
        k=[900.0, 0, 640, 0, 910, 360, 0, 0, 1], p=[900.0, 0, 640, 5, 0, 910, 360, 6, 0, 0, 1, 0])
    info.roi.width, info.roi.height = 1280, 720
    out = messages.scaled_camera_info(info, messages.header(1, 2, 'cam'), (1280, 720),
                                      (513, 289))
    sx, sy = 513 / 1280, 289 / 720  # pixel centres: c' = (c + 0.5) * s - 0.5
    assert (out.width, out.height, out.header.frame_id) == (513, 289, 'cam')
    assert out.k[0] == pytest.approx(900 * sx) and out.k[5] == pytest.approx(360.5 * sy - 0.5)
    assert out.p[3] == pytest.approx(5 * sx) and out.p[7] == pytest.approx(6 * sy)
    assert list(out.d) == [0.1] * 5 and out.roi.width == 513


def test_camera_info_scales_from_its_own_size_as_the_clouds_do():
    # Calibrated at 640x360, images at 1280x720: K is for 640x360, whatever the image size.
    info = sensor_msgs.CameraInfo(width=640, height=360, k=[450.0, 0, 320, 0, 450, 180, 0, 0, 1])
    out = messages.scaled_camera_info(info, messages.header(0, 0, 'cam'), (1280, 720),
                                      (1280, 720))
    assert out.k[0] == pytest.approx(900.0) and out.k[2] == pytest.approx(640.5)
    uncalibrated_size = sensor_msgs.CameraInfo(k=[900.0, 0, 640, 0, 900, 360, 0, 0, 1])
    out = messages.scaled_camera_info(uncalibrated_size, messages.header(0, 0, 'cam'),
                                      (1280, 720), (640, 360))
    assert out.k[0] == pytest.approx(450.0) and out.k[2] == pytest.approx(319.75)


def test_organized_clouds_have_the_label_size_and_nan_where_unknown():
    xyz = np.full((2, 3, 3), np.nan, np.float32)
    xyz[1, 2] = (0.5, 0.25, 2.0)
    cloud = messages.point_cloud(messages.header(1, 2, 'cam'), pack_organized(xyz))
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (2, 3, 16, 48)
    assert not cloud.is_dense and [f.name for f in cloud.fields] == ['x', 'y', 'z']
    points = np.frombuffer(bytes(cloud.data), np.float32).reshape(2, 3, 4)[..., :3]
    np.testing.assert_array_equal(points[1, 2], [0.5, 0.25, 2.0])
    assert np.isnan(points[0]).all()


def test_point_clouds_are_dense_xyz_label():
    xyz = np.array([[0.5, -0.25, 2.0], [1.0, 0.0, 3.5]], np.float32)
    cloud = messages.point_cloud(messages.header(1, 2, 'cam'), pack_points(xyz, [15, 8]))
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (1, 2, 16, 32)
    assert cloud.is_dense and not cloud.is_bigendian and cloud.header.frame_id == 'cam'
    assert [(f.name, f.offset, f.datatype, f.count) for f in cloud.fields] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1), ('label', 12, 4, 1)]
    points = np.frombuffer(bytes(cloud.data), np.dtype(
        {'names': ['x', 'y', 'z', 'label'], 'formats': ['<f4', '<f4', '<f4', '<u2'],
         'offsets': [0, 4, 8, 12], 'itemsize': 16}))
    np.testing.assert_array_equal(points['z'], [2.0, 3.5])
    np.testing.assert_array_equal(points['label'], [15, 8])


def test_diagnostic_status_from_a_report():
    status = messages.diagnostic_status(
        'deeplab: /front', 'cpu', Report(WARN, 'latency', [('fps', '9.5')]))
    assert status.level == bytes([WARN]) and status.name == 'deeplab: /front'
    assert [(kv.key, kv.value) for kv in status.values] == [('fps', '9.5')]


@pytest.mark.requires('vision_msgs', 'LabelInfo is built where vision_msgs is installed '
                      '(no PyPI wheel); this runs in the real-install route')
def test_label_info_names_every_class():
    info = messages.label_info(messages.header(0, 0, ''), ('background', 'person'))
    assert [(c.class_id, c.class_name) for c in info.class_map] == [
        (0, 'background'), (1, 'person')]
