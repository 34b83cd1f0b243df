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
The output messages built from arrays, with both bindings: rclpy's classes and rosbags' types.

The node and the bag tool build their messages with one builder; each test runs it with both
type sets, and the two must serialize the same messages.
"""

from deeplab_ros.frame.job import Outputs
from deeplab_ros.frame.messages import MessageBuilder
from deeplab_ros.frame.wire import read_image
from deeplab_ros.geometry.cloud import pack_organized, pack_points
from deeplab_ros.node.diagnostics import Report, WARN
import numpy as np
import pytest

ros_messages = pytest.importorskip('deeplab_ros.node.ros_messages')
serialization = pytest.importorskip('rclpy.serialization')

# The reason test_tools_bag.py gives, so that it is printed once.
_ROSBAGS = pytest.mark.requires('rosbags', 'deeplab bag reads and writes bags with rosbags '
                                '(pip install rosbags)')
BINDINGS = ['rclpy', pytest.param('rosbags', marks=_ROSBAGS)]


def _typestore():
    from deeplab_ros.tools.bag.msgtypes import make_typestore

    return make_typestore('jazzy')


def _rosbags_builder():
    from deeplab_ros.tools.bag.labeller import message_types

    typestore = _typestore()
    return MessageBuilder(message_types(typestore)), (
        lambda msg: bytes(typestore.serialize_cdr(msg, type(msg).__msgtype__)))


def _builder(binding: str):
    """Return (builder, serialize) of a binding."""
    if binding == 'rosbags':
        return _rosbags_builder()
    return ros_messages.MESSAGES, lambda msg: bytes(serialization.serialize_message(msg))


@pytest.fixture(params=BINDINGS)
def binding(request):
    return _builder(request.param)


def _camera_info(build: MessageBuilder, width: int, height: int, k, p=(0.0,) * 12,
                 roi=(0, 0, 0, 0)):
    """Return a camera_info of the builder's binding, as a driver publishes it."""
    types = build.types
    return types.camera_info(
        header=build.header(0, 0, 'cam'), height=height, width=width,
        distortion_model='plumb_bob', d=np.array([0.1] * 5), k=np.array(k, np.float64),
        r=np.eye(3).ravel(), p=np.array(p, np.float64), binning_x=0, binning_y=0,
        roi=types.region_of_interest(x_offset=roi[0], y_offset=roi[1], width=roi[2],
                                     height=roi[3], do_rectify=False))


def test_images_carry_the_input_header_and_their_pixels(binding):
    build, serialize = binding
    head = build.header(12, 345, 'camera_optical')
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    frame = read_image(serialize(build.image(head, labels, 'mono8')))
    assert (frame.sec, frame.nanosec, frame.frame_id) == (12, 345, 'camera_optical')
    assert (frame.height, frame.width, frame.step, frame.encoding) == (3, 4, 4, 'mono8')
    assert bytes(frame.data) == labels.tobytes() and not frame.is_bigendian
    wide = np.arange(6, dtype=np.uint16).reshape(2, 3)
    frame = read_image(serialize(build.image(head, wide, 'mono16')))
    assert frame.step == 6 and bytes(frame.data) == wide.tobytes()
    view = np.arange(72, dtype=np.uint8).reshape(4, 6, 3)[:, ::2]  # not contiguous
    assert bytes(read_image(serialize(build.image(head, view, 'rgb8'))).data) == view.tobytes()


def test_camera_info_is_scaled_to_the_label_image(binding):
    build, _ = binding
    info = _camera_info(build, 1280, 720, [900.0, 0, 640, 0, 910, 360, 0, 0, 1],
                        [900.0, 0, 640, 5, 0, 910, 360, 6, 0, 0, 1, 0], (0, 0, 1280, 720))
    out = build.scaled_camera_info(info, build.header(1, 2, 'cam'), (1280, 720), (513, 289))
    sx, sy = 513 / 1280, 289 / 720  # pixel centres: c' = (c + 0.5) * s - 0.5
    assert (out.width, out.height, out.header.frame_id) == (513, 289, 'cam')
    assert out.k[0] == pytest.approx(900 * sx) and out.k[5] == pytest.approx(360.5 * sy - 0.5)
    assert out.p[3] == pytest.approx(5 * sx) and out.p[7] == pytest.approx(6 * sy)
    assert list(out.d) == [0.1] * 5 and out.roi.width == 513 and out.roi.height == 289


def test_camera_info_scales_from_its_own_size_as_the_clouds_do(binding):
    # Calibrated at 640x360, images at 1280x720: K is for 640x360, whatever the image size.
    build, _ = binding
    info = _camera_info(build, 640, 360, [450.0, 0, 320, 0, 450, 180, 0, 0, 1])
    out = build.scaled_camera_info(info, build.header(0, 0, 'cam'), (1280, 720), (1280, 720))
    assert out.k[0] == pytest.approx(900.0) and out.k[2] == pytest.approx(640.5)
    uncalibrated_size = _camera_info(build, 0, 0, [900.0, 0, 640, 0, 900, 360, 0, 0, 1])
    out = build.scaled_camera_info(uncalibrated_size, build.header(0, 0, 'cam'), (1280, 720),
                                   (640, 360))
    assert out.k[0] == pytest.approx(450.0) and out.k[2] == pytest.approx(319.75)


def test_organized_clouds_have_the_label_size_and_nan_where_unknown(binding):
    build, _ = binding
    xyz = np.full((2, 3, 3), np.nan, np.float32)
    xyz[1, 2] = (0.5, 0.25, 2.0)
    cloud = build.point_cloud(build.header(1, 2, 'cam'), pack_organized(xyz))
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (2, 3, 16, 48)
    assert not cloud.is_dense and [f.name for f in cloud.fields] == ['x', 'y', 'z']
    points = np.frombuffer(bytes(cloud.data), np.float32).reshape(2, 3, 4)[..., :3]
    np.testing.assert_array_equal(points[1, 2], [0.5, 0.25, 2.0])
    assert np.isnan(points[0]).all()


def test_point_clouds_are_dense_xyz_label(binding):
    build, _ = binding
    xyz = np.array([[0.5, -0.25, 2.0], [1.0, 0.0, 3.5]], np.float32)
    cloud = build.point_cloud(build.header(1, 2, 'cam'), pack_points(xyz, [15, 8]))
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (1, 2, 16, 32)
    assert cloud.is_dense and not cloud.is_bigendian and cloud.header.frame_id == 'cam'
    assert [(f.name, f.offset, f.datatype, f.count) for f in cloud.fields] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1), ('label', 12, 4, 1)]
    points = np.frombuffer(bytes(cloud.data), np.dtype(
        {'names': ['x', 'y', 'z', 'label'], 'formats': ['<f4', '<f4', '<f4', '<u2'],
         'offsets': [0, 4, 8, 12], 'itemsize': 16}))
    np.testing.assert_array_equal(points['z'], [2.0, 3.5])
    np.testing.assert_array_equal(points['label'], [15, 8])


def test_a_frame_s_outputs_in_order_with_one_encoding_rule(binding):
    build, serialize = binding
    labels = np.full((3, 4), 300, np.uint16)  # above 256 classes: mono16
    out = Outputs(labels=labels, image_size=(8, 6), color=np.zeros((3, 4, 3), np.uint8),
                  confidence=np.zeros((3, 4), np.uint8), mask=np.full((3, 4), 255, np.uint8),
                  clouds={'points': pack_points(np.ones((1, 3), np.float32), [7])})
    info = _camera_info(build, 8, 6, [4.0, 0, 4, 0, 4, 3, 0, 0, 1])
    head = build.header(5, 6, 'cam')
    wanted = {'labels', 'color', 'mask', 'camera_info', 'points'}  # not confidence
    made = list(build.frame_outputs(head, out, wanted, info))
    assert [name for name, _ in made] == ['labels', 'color', 'mask', 'camera_info', 'points']
    images = {name: read_image(serialize(msg)) for name, msg in made[:3]}
    assert {name: f.encoding for name, f in images.items()} == {
        'labels': 'mono16', 'color': 'rgb8', 'mask': 'mono8'}
    assert all((f.sec, f.nanosec, f.frame_id) == (5, 6, 'cam') for f in images.values())
    assert (made[3][1].width, made[3][1].height) == (4, 3) and made[4][1].width == 1
    assert [name for name, _ in build.frame_outputs(head, out, wanted, None)] == [
        'labels', 'color', 'mask', 'points']  # no camera_info known yet


@_ROSBAGS
def test_the_node_and_the_bag_tool_send_the_same_messages():
    (node, node_cdr), (bag, bag_cdr) = _builder('rclpy'), _builder('rosbags')
    typestore = _typestore()

    def canonical(msg, serialized: bytes) -> bytes:
        # rclpy leaves CDR padding bytes as they were: compare rosbags' re-serialization.
        msgtype = type(msg).__msgtype__
        return bytes(typestore.serialize_cdr(typestore.deserialize_cdr(serialized, msgtype),
                                             msgtype))
    xyz = np.array([[0.5, -0.25, 2.0], [1.0, 0.0, 3.5]], np.float32)
    for make in (
            lambda b: b.image(b.header(3, 4, 'cam'), np.arange(15, dtype=np.uint8).reshape(3, 5),
                              'mono8'),
            lambda b: b.image(b.header(3, 4, 'cam'), np.zeros((2, 3, 3), np.uint8), 'rgb8'),
            lambda b: b.scaled_camera_info(
                _camera_info(b, 640, 480, [500.0, 0, 320, 0, 500, 240, 0, 0, 1]),
                b.header(3, 4, 'cam'), (640, 480), (321, 241)),
            lambda b: b.point_cloud(b.header(3, 4, 'cam'), pack_points(xyz, [1, 2])),
            lambda b: b.point_cloud(b.header(3, 4, 'cam'), pack_organized(xyz.reshape(1, 2, 3)))):
        bag_msg = make(bag)
        assert canonical(bag_msg, node_cdr(make(node))) == bag_cdr(bag_msg)


@pytest.mark.parametrize('name', [
    pytest.param('rclpy', marks=pytest.mark.requires(
        'vision_msgs', 'LabelInfo is built where vision_msgs is installed (no PyPI wheel); '
        'this runs in the real-install route')),
    pytest.param('rosbags', marks=_ROSBAGS)])
def test_label_info_names_every_class(name):
    build, _ = _builder(name)
    assert build.has_label_info
    info = build.label_info(build.header(0, 0, ''), ('background', 'person'))
    assert [(c.class_id, c.class_name) for c in info.class_map] == [
        (0, 'background'), (1, 'person')]


def test_diagnostic_status_from_a_report():
    status = ros_messages.diagnostic_status(
        'deeplab: /front', 'cpu', Report(WARN, 'latency', [('fps', '9.5')]))
    assert status.level == bytes([WARN]) and status.name == 'deeplab: /front'
    assert [(kv.key, kv.value) for kv in status.values] == [('fps', '9.5')]
