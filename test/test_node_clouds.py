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

"""Navigation clouds over real Fast DDS: depth and flat-ground geometry on a real photo."""

import math
import time
from types import SimpleNamespace
from typing import Optional

from deeplab_ros.engine.pipeline import Segmenter
from diagnostic_msgs.msg import DiagnosticArray
import node_harness as h
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'
NAME = 'deeplab_clouds'
FQN = '/' + NAME
CAT, FX, FY, CX, CY = 8, 1000.0, 1000.0, 640.0, 360.0
STRIDE = 4
POINT = np.dtype({'names': ['x', 'y', 'z', 'label'], 'formats': ['<f4', '<f4', '<f4', '<u2'],
                  'offsets': [0, 4, 8, 12], 'itemsize': 16})


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    h.require(MODEL, 'cat_720p.jpg')
    node = h.NodeProcess(NAME, {
        'model': MODEL, 'num_threads': '2', 'diagnostics_period': '0.2', 'geometry': 'depth',
        'obstacle_classes': '[cat]', 'cloud_stride': str(STRIDE), 'max_range': '20.0',
        'publish_color': 'false', 'publish_overlay': 'false'},
        tmp_path_factory.mktemp('clouds'))
    ros = h.Ros('test_clouds_client')
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    io = {name: ros.node.create_publisher(kind, f'/{name}', best_effort)
          for name, kind in (('image', Image), ('camera_info', CameraInfo), ('depth', Image))}
    io['diagnostics'] = h.Collector(ros.node, DiagnosticArray, '/diagnostics')
    seg = Segmenter.open(MODEL, num_threads=2)
    cat = h.load_rgb('cat_720p.jpg')
    try:
        yield ros, node, io, cat, seg.segment(cat).labels
    finally:
        seg.close()
        ros.close()
        assert node.stop() == 0, node.log()


def _info(stamp_ns: int) -> CameraInfo:
    info = CameraInfo(width=1280, height=720, distortion_model='plumb_bob', d=[0.0] * 5,
                      k=[FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0],
                      p=[FX, 0.0, CX, 0.0, 0.0, FY, CY, 0.0, 0.0, 0.0, 1.0, 0.0])
    info.header.stamp.sec, info.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    info.header.frame_id = 'camera_optical'
    return info


def _depth(stamp_ns: int, millimetres: int) -> Image:
    rows = np.full((360, 640), millimetres, np.uint16).view(np.uint8)  # 640x360 16UC1
    msg = h.image_msg(rows, 640, '16UC1', stamp_ns)
    return msg


def _camera(io, stamp_ns: int, depth_mm: Optional[int] = None) -> SimpleNamespace:
    """Return a camera driver: camera_info (and depth) before each image, all one stamp."""
    def publish(msg: Image) -> None:
        io['camera_info'].publish(_info(stamp_ns))
        if depth_mm is not None:
            io['depth'].publish(_depth(stamp_ns, depth_mm))
        io['image'].publish(msg)
    return SimpleNamespace(publish=publish)


def _points(cloud: PointCloud2) -> np.ndarray:
    assert cloud.is_dense and cloud.point_step == 16 and cloud.height == 1
    assert [f.name for f in cloud.fields] == ['x', 'y', 'z', 'label']
    return np.frombuffer(bytes(cloud.data), POINT)


def _diagnostics(ros, io, text, every):
    def check():
        msg = io['diagnostics'].find(lambda m: h.diagnostic_values(m, NAME) is not None)
        values = msg and h.diagnostic_values(msg, NAME)
        return values if values and text in values['_message'] else None
    return ros.wait_for(check, what=f'diagnostics saying {text!r}', every=every)


def test_depth_cloud_of_the_cat(setup):
    ros, node, io, cat, labels = setup
    assert ros.change_state(FQN, h.CONFIGURE)
    assert ros.change_state(FQN, h.ACTIVATE)
    obstacles = h.Collector(ros.node, PointCloud2, '/segmentation/obstacles')
    frame = h.image_msg(h.encode(cat, 'rgb8'), 1280, 'rgb8', time.time_ns())

    # No camera_info yet: a WARN that says so, and no cloud.
    ros.wait_for(lambda: io['image'].get_subscription_count() > 0, what='subscription')
    values = _diagnostics(ros, io, 'needs camera_info', lambda: io['image'].publish(frame))
    assert values['_level'] == 1 and obstacles.messages == []

    stamp = time.time_ns()
    frame = h.image_msg(h.encode(cat, 'rgb8'), 1280, 'rgb8', stamp)

    cloud, = h.publish_until(ros, _camera(io, stamp, 2000), frame, [obstacles], stamp)
    assert cloud.header.frame_id == 'camera_optical'
    points = _points(cloud)
    np.testing.assert_allclose(points['z'], 2.0)  # the depth everywhere
    assert set(points['label']) == {CAT}
    u = np.rint(points['x'] / points['z'] * FX + CX).astype(int)
    v = np.rint(points['y'] / points['z'] * FY + CY).astype(int)
    assert (u % STRIDE == 0).all() and (v % STRIDE == 0).all()  # on the sampling grid
    assert (labels[v, u] == CAT).all()  # every point is a cat pixel ...
    assert points.size == (labels[::STRIDE, ::STRIDE] == CAT).sum()  # ... and all of them


def test_depth_too_far_in_time_gives_no_cloud(setup):
    ros, node, io, cat, labels = setup
    assert ros.change_state(FQN, h.DEACTIVATE)  # forget the depth images of the last test
    assert ros.change_state(FQN, h.ACTIVATE)
    obstacles = h.Collector(ros.node, PointCloud2, '/segmentation/obstacles')
    stamp = time.time_ns()
    frame = h.image_msg(h.encode(cat, 'rgb8'), 1280, 'rgb8', stamp)

    def publish():
        io['camera_info'].publish(_info(stamp))
        io['depth'].publish(_depth(stamp - 2_000_000_000, 2000))  # 2 s older than the frame
        io['image'].publish(frame)
    values = _diagnostics(ros, io, 'within depth_slop', publish)
    assert values['_level'] == 1
    assert not obstacles.find(lambda m: h.same_header(m, stamp))


def test_flat_ground_clouds(setup):
    ros, node, io, cat, labels = setup
    assert ros.change_state(FQN, h.DEACTIVATE)
    assert ros.change_state(FQN, h.CLEANUP)
    height, pitch = 1.0, 0.3
    results = ros.set_params(FQN, geometry='ground_plane', camera_height=height,
                             camera_pitch=pitch, ground_classes=['background'])
    assert all(r.successful for r in results)
    assert not ros.set_params(FQN, camera_height=-1.0)[0].successful
    assert not ros.set_params(FQN, cloud_stride=0)[0].successful
    assert ros.change_state(FQN, h.CONFIGURE)
    assert ros.change_state(FQN, h.ACTIVATE)
    clouds = {name: h.Collector(ros.node, PointCloud2, f'/segmentation/{name}')
              for name in ('obstacles', 'ground')}
    stamp = time.time_ns()
    frame = h.image_msg(h.encode(cat, 'rgb8'), 1280, 'rgb8', stamp)

    obstacles, ground = (_points(c) for c in h.publish_until(
        ros, _camera(io, stamp), frame, [clouds['obstacles'], clouds['ground']], stamp))
    up_y, up_z = math.cos(pitch), math.sin(pitch)  # y down, z forward: y cos p + z sin p = h
    for points in (ground, obstacles):
        assert points.size > 0
        np.testing.assert_allclose(points['y'] * up_y + points['z'] * up_z, height, atol=0.01)
    assert set(ground['label']) == {0} and set(obstacles['label']) == {CAT}
    # One contact point per sampled column, under the cat.
    u = np.rint(obstacles['x'] / obstacles['z'] * FX + CX).astype(int)
    assert len(set(u)) == u.size and (u % STRIDE == 0).all()
    cat_columns = np.flatnonzero((labels == CAT).any(axis=0))
    assert cat_columns.min() <= u.min() and u.max() <= cat_columns.max()
    # Nothing above the horizon (row cy - fy tan(pitch)).
    v = obstacles['y'] / obstacles['z'] * FY + CY
    assert (v > CY - FY * math.tan(pitch)).all()
