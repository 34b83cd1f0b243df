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
The node as Nav2's semantic segmentation layer sees it: the real node over real Fast DDS.

kiwicampus/semantic_segmentation_layer (``SemanticSegmentationLayer``) subscribes to
``segmentation_topic`` (mono8 class ids), ``confidence_topic`` and ``pointcloud_topic`` with
sensor-data QoS (best effort) and synchronizes them by stamp (exact or approximate time); it
reads pixel ``v * width + u`` of the mask with point ``v * width + u`` of the cloud and drops a
cloud whose width x height differs from the mask's. It maps ids to names with the
``vision_msgs/LabelInfo`` on ``labels_topic`` (reliable, transient local), which must be there
before the first frame. These tests subscribe as the layer does and check what it relies on,
with a depth camera and with one camera on flat ground (the shipped
``config/nav_cityscapes.yaml`` on google-coral's street image).
"""

import math
import threading
import time
from types import SimpleNamespace
from typing import Any, Dict, List, Sequence, Tuple

import cv2
import node_harness as h
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
import yaml

#: A model with score outputs, so that segmentation/confidence is published.
SCORE_MODEL = 'lite-model_deeplabv3-mobilenetv2_dm05-int8_1_default_2'
RGBD, STREET = 'nav2_rgbd', 'nav2_street'
RGBD_FRAME, STREET_FRAME = 'rgbd_camera_optical', 'street_camera_optical'
# The 1280x720 colour camera, and its registered depth image at half the size.
FX, FY, CX, CY = 1000.0, 1000.0, 640.0, 360.0
DEPTH_SIZE = (640, 360)
CAT_MM = 1200  # the cat's depth
# google-coral's 513x513 street image: a camera with this K sees the road below the horizon
# at the height and pitch of config/nav_cityscapes.yaml.
STREET_K = (600.0, 600.0, 256.0, 256.0)
CONFIG = h.ROOT / 'config' / 'nav_cityscapes.yaml'

#: The layer's subscriptions: sensor data for the mask, confidence and points ...
LAYER_QOS = QoSProfile(depth=50, history=HistoryPolicy.KEEP_LAST,
                       reliability=ReliabilityPolicy.BEST_EFFORT,
                       durability=DurabilityPolicy.VOLATILE)
#: ... and reliable, transient local for LabelInfo.
LABEL_INFO_QOS = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                            reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)
ORGANIZED = np.dtype({'names': ['x', 'y', 'z'], 'formats': ['<f4', '<f4', '<f4'],
                      'offsets': [0, 4, 8], 'itemsize': 16})
LABELLED = np.dtype({'names': ['x', 'y', 'z', 'label'], 'formats': ['<f4', '<f4', '<f4', '<u2'],
                     'offsets': [0, 4, 8, 12], 'itemsize': 16})


class LayerSink(h.Collector):
    """A Collector subscribed with the QoS the layer uses, not the harness's."""

    def __init__(self, node, msg_type, topic: str, qos: QoSProfile = LAYER_QOS) -> None:
        """Subscribe to ``topic`` with ``qos`` and keep every message."""
        self.topic = topic
        self.messages: List[Any] = []
        self._lock = threading.Lock()
        self.sub = node.create_subscription(msg_type, topic, self._on_msg, qos)


def _camera_info(size: Tuple[int, int], k: Sequence[float], stamp_ns: int,
                 frame_id: str) -> CameraInfo:
    fx, fy, cx, cy = k
    info = CameraInfo(width=size[0], height=size[1], distortion_model='plumb_bob',
                      d=[0.0] * 5, k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
                      p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0])
    info.header.stamp.sec, info.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    info.header.frame_id = frame_id
    return info


def _start(name: str, params: Dict[str, str], tmp_path_factory, topics: Sequence[str]):
    """Start a node, configure and activate it; return it, a client and input publishers."""
    # Each node in a namespace of its own: the module's two nodes live at once, and neither
    # may take the other's frames or answer for it.
    node = h.NodeProcess(name, params, tmp_path_factory.mktemp(name), namespace=f'/{name}')
    ros = None
    try:
        ros = h.Ros(f'test_{name}_layer')
        best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        pubs = {topic: ros.node.create_publisher(
            CameraInfo if topic == 'camera_info' else Image, f'/{name}/{topic}', best_effort)
            for topic in topics}
        assert ros.change_state(node.fqn, h.CONFIGURE), node.log()
        assert ros.change_state(node.fqn, h.ACTIVATE), node.log()
        names = ros.get_params(node.fqn, 'class_names')[0]
        return SimpleNamespace(node=node, ros=ros, pubs=pubs, fqn=node.fqn, names=names,
                               frames=0)
    except BaseException:
        if ros is not None:
            ros.close()
        node.stop()
        raise


def _stop(run) -> None:
    run.ros.close()
    assert run.node.stop() == 0, run.node.log()


def _send(run, frame: Image, info: CameraInfo, sinks: Sequence[h.Collector],
          depth: Image = None) -> List[Any]:
    """Publish a frame (camera_info and depth first, one stamp) until every sink has it."""
    def publish(msg: Image) -> None:
        run.pubs['camera_info'].publish(info)
        if depth is not None:
            run.pubs['depth'].publish(depth)
        run.pubs['image'].publish(msg)
    stamp = frame.header.stamp.sec * 1_000_000_000 + frame.header.stamp.nanosec
    run.frames += 1
    return h.publish_until(run.ros, SimpleNamespace(publish=publish), frame, sinks, stamp,
                           timeout=60.0)


def _wait_matched(run, sinks: Sequence[h.Collector]) -> None:
    """Wait until the node subscribes to the image and publishes to every sink."""
    run.ros.wait_for(lambda: run.pubs['image'].get_subscription_count() > 0 and all(
        s.sub.get_publisher_count() > 0 for s in sinks), what='discovery of the node')


def _organized(cloud: PointCloud2) -> np.ndarray:
    """Return the (height, width) x, y, z of an organized cloud as the layer reads it."""
    assert [(f.name, f.offset, f.datatype, f.count) for f in cloud.fields] == [
        (axis, 4 * i, PointField.FLOAT32, 1) for i, axis in enumerate('xyz')]
    assert cloud.point_step == 16 and cloud.row_step == 16 * cloud.width
    assert not cloud.is_dense and not cloud.is_bigendian
    return np.frombuffer(cloud.data, ORGANIZED).reshape(cloud.height, cloud.width)


def _xyz(points: np.ndarray) -> np.ndarray:
    return np.stack([points['x'], points['y'], points['z']], axis=-1).astype(np.float64)


def _scaled_k(width: int, height: int, size: Tuple[int, int],
              k: Sequence[float]) -> Tuple[float, float, float, float]:
    """Return K for the label map of ``width`` x ``height`` (pixel centres keep their ray)."""
    sx, sy = width / size[0], height / size[1]
    fx, fy, cx, cy = k
    return fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5


def _stamps(sink: h.Collector) -> set:
    return {(m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id)
            for m in sink.messages}


# -- a depth camera ------------------------------------------------------------------------


@pytest.fixture(scope='module')
def rgbd(tmp_path_factory):
    h.require(SCORE_MODEL, 'cat_720p.jpg')
    run = _start(RGBD, {
        'model': SCORE_MODEL, 'num_threads': '2', 'geometry': 'depth',
        'publish_confidence': 'true', 'publish_color': 'false', 'publish_overlay': 'false',
        'max_range': '20.0'}, tmp_path_factory, ('image', 'camera_info', 'depth'))
    try:
        yield run
    finally:
        _stop(run)


@pytest.mark.requires('vision_msgs', 'segmentation/label_info needs vision_msgs (no PyPI '
                      'wheel); this runs in the real-install route')
def test_label_info_is_there_before_any_frame(rgbd):
    from vision_msgs.msg import LabelInfo
    # The layer starts after the node is active, and no frame has been published yet.
    assert rgbd.frames == 0
    sink = LayerSink(rgbd.ros.node, LabelInfo, f'/{RGBD}/segmentation/label_info',
                     LABEL_INFO_QOS)
    info = rgbd.ros.wait_for(lambda: sink.find(lambda m: True), what='LabelInfo')
    assert [(c.class_id, c.class_name) for c in info.class_map] == list(enumerate(rgbd.names))
    assert 'cat' in rgbd.names


def _depth_image(cat: np.ndarray, stamp_ns: int) -> Image:
    """
    Return a 640x360 16UC1 depth image (millimetres): a slope, no depth (0) in the top rows.

    :param cat: where the cat is, on the depth grid (it is CAT_MM away there), or None.
    """
    rows, columns = np.mgrid[0:DEPTH_SIZE[1], 0:DEPTH_SIZE[0]]
    depth = (1500 + 4 * columns + 7 * rows).astype(np.uint16)  # neighbours all differ
    depth[:12] = 0
    if cat is not None:
        depth[cat] = CAT_MM
    return h.image_msg(depth.view(np.uint8), DEPTH_SIZE[0], '16UC1', stamp_ns, RGBD_FRAME)


def _depth_expected(width: int, height: int, depth: np.ndarray) -> Tuple[np.ndarray, ...]:
    """
    Return where each label pixel's point must be: (H, W, 3) for both candidate depth pixels.

    A label pixel reads the depth pixel that holds its centre: column
    floor((u + 0.5) * 640 / W). Where the centre lies on a depth pixel edge, either
    neighbour is right (floating point decides), so both are returned.
    """
    fx, fy, cx, cy = _scaled_k(width, height, (1280, 720), (FX, FY, CX, CY))
    u, v = np.arange(width), np.arange(height)
    ray_x, ray_y = (u - cx) / fx, (v - cy) / fy
    candidates = []
    for nudge in (-1e-6, 1e-6):
        du = np.clip(np.floor((u + 0.5) * DEPTH_SIZE[0] / width + nudge).astype(int), 0,
                     DEPTH_SIZE[0] - 1)
        dv = np.clip(np.floor((v + 0.5) * DEPTH_SIZE[1] / height + nudge).astype(int), 0,
                     DEPTH_SIZE[1] - 1)
        z = depth[dv][:, du] * 0.001
        z = np.where(z > 0, z, np.nan)
        candidates.append(np.stack([ray_x[None, :] * z, ray_y[:, None] * z, z], axis=-1))
    return tuple(candidates)


def _check_depth_cloud(labels: np.ndarray, points: np.ndarray, depth: np.ndarray,
                       cat: np.ndarray = None) -> None:
    """
    Check that every point lies on its pixel's ray at the depth found there.

    :param cat: the cat's label pixels, when the depth image puts the cat CAT_MM away.
    """
    xyz = _xyz(points)
    first, second = _depth_expected(labels.shape[1], labels.shape[0], depth)
    unknown = np.isnan(xyz[..., 2])
    np.testing.assert_array_equal(unknown, np.isnan(first[..., 2]) & np.isnan(second[..., 2]))
    close = [np.isclose(xyz, e, rtol=1e-5, atol=1e-5).all(axis=-1) for e in (first, second)]
    assert (close[0] | close[1] | unknown).all()
    if cat is not None:
        at_cat_depth = np.isclose(xyz[..., 2], CAT_MM / 1000.0, atol=1e-4)
        assert cat.sum() > 0.2 * cat.size
        assert at_cat_depth[cat].mean() > 0.97  # the points under the cat lie where it is ...
        assert at_cat_depth[~cat].mean() < 0.03  # ... and the others do not


def test_depth_cloud_lines_up_with_mask_and_confidence(rgbd):
    ros = rgbd.ros
    sinks = [LayerSink(ros.node, kind, f'/{RGBD}/segmentation/{name}') for name, kind in (
        ('labels', Image), ('confidence', Image), ('points', PointCloud2))]
    _wait_matched(rgbd, sinks)
    image = h.encode(h.load_rgb('cat_720p.jpg'), 'rgb8')
    cat_id = rgbd.names.index('cat')
    sent = set()

    def frame(cat_on_depth: np.ndarray = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        stamp = time.time_ns()
        sent.add((*divmod(stamp, 1_000_000_000), RGBD_FRAME))
        depth = _depth_image(cat_on_depth, stamp)
        labels, confidence, points = _send(
            rgbd, h.image_msg(image, 1280, 'rgb8', stamp, RGBD_FRAME),
            _camera_info((1280, 720), (FX, FY, CX, CY), stamp, RGBD_FRAME), sinks, depth)
        # One header for all three, the frame's: exact-time synchronization pairs them, and
        # nothing carries a stamp or frame_id no frame had.
        assert labels.header == confidence.header == points.header
        assert all(_stamps(sink) <= sent for sink in sinks)
        assert labels.encoding == 'mono8' and labels.step == labels.width
        assert (confidence.width, confidence.height) == (labels.width, labels.height)
        # One point per mask pixel, in the mask's order.
        assert (points.width, points.height) == (labels.width, labels.height)
        for sink in sinks:  # a 720p cloud is 15 MB
            sink.clear()
        return h.as_array(labels), _organized(points), \
            np.frombuffer(depth.data, np.uint16).reshape(DEPTH_SIZE[1], DEPTH_SIZE[0])

    # A first frame finds the cat; the depth images after it put the cat 1.2 m away (the
    # depth pixels whose centre is a cat pixel of the 1280x720 label map).
    labels, points, depth = frame()
    _check_depth_cloud(labels, points, depth)
    cat_on_depth = (labels == cat_id)[1::2, 1::2]
    sizes = []
    for resolution in ('input', 'model'):
        assert all(r.successful for r in ros.set_params(rgbd.fqn,
                                                        output_resolution=resolution))
        for _ in range(2):
            labels, points, depth = frame(cat_on_depth)
            _check_depth_cloud(labels, points, depth, labels == cat_id)
            sizes.append(labels.shape)
    assert sizes[0] == (720, 1280) and sizes[-1] != sizes[0]  # both resolutions were seen


# -- one camera on flat ground: config/nav_cityscapes.yaml on a street ----------------------


def _shipped_parameters() -> Dict[str, Any]:
    """Return the node parameters of config/nav_cityscapes.yaml."""
    return yaml.safe_load(CONFIG.read_text())['/**']['ros__parameters']


def _argument(value: Any) -> str:
    """Return a parameter value as ``-p name:=value`` text (YAML, as a params file has it)."""
    if isinstance(value, list):
        return '[' + ', '.join(_argument(v) for v in value) + ']'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return repr(value) if isinstance(value, float) else str(value)


@pytest.fixture(scope='module')
def street(tmp_path_factory):
    """Run the node with the shipped file on the street image; return one frame's outputs."""
    shipped = _shipped_parameters()
    h.require(shipped['model'], 'cityscapes_segmentation.bmp')
    params = {name: _argument(value) for name, value in shipped.items()}
    params.update({'num_threads': '2', 'publish_color': 'false', 'publish_overlay': 'false'})
    run = _start(STREET, params, tmp_path_factory, ('image', 'camera_info'))
    try:
        outputs = (('labels', Image), ('points', PointCloud2), ('ground', PointCloud2))
        sinks = [LayerSink(run.ros.node, kind, f'/{STREET}/segmentation/{name}')
                 for name, kind in outputs]
        _wait_matched(run, sinks)
        rgb = h.load_rgb('cityscapes_segmentation.bmp')
        stamp = time.time_ns()
        labels, points, ground = _send(
            run, h.image_msg(h.encode(rgb, 'rgb8'), rgb.shape[1], 'rgb8', stamp, STREET_FRAME),
            _camera_info((rgb.shape[1], rgb.shape[0]), STREET_K, stamp, STREET_FRAME), sinks)
        assert labels.header == points.header == ground.header
        yield SimpleNamespace(shipped=shipped, names=run.names, labels=h.as_array(labels),
                              points=points, ground=ground)
    finally:
        _stop(run)


def _ground_hits(u: np.ndarray, v: np.ndarray, height: float, pitch: float, roll: float,
                 max_range: float) -> np.ndarray:
    """Return where the rays of pixel coordinates u, v meet the ground: (..., 3), NaN if not."""
    fx, fy, cx, cy = STREET_K
    up = np.array([-math.cos(pitch) * math.sin(roll), -math.cos(pitch) * math.cos(roll),
                   -math.sin(pitch)])
    u, v = np.broadcast_arrays(u, v)
    ray = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones(u.shape)], axis=-1)
    down = -(ray @ up)  # the plane is up . p = -height
    with np.errstate(divide='ignore', invalid='ignore'):
        point = ray * (height / down)[..., None]
    point[(down <= 0) | (np.linalg.norm(point, axis=-1) > max_range)] = np.nan
    return point


def test_flat_ground_points_lie_on_the_ground_at_each_objects_foot(street):
    shipped, labels = street.shipped, street.labels
    height, pitch, roll, max_range = (shipped[k] for k in (
        'camera_height', 'camera_pitch', 'camera_roll', 'max_range'))
    assert (street.points.width, street.points.height) == (labels.shape[1], labels.shape[0])
    xyz = _xyz(_organized(street.points))
    ground = np.isin(labels, [street.names.index(n) for n in shipped['ground_classes']])
    rows, columns = np.mgrid[0:labels.shape[0], 0:labels.shape[1]]
    # A ground pixel: its own ray's hit. Any other: the hit of the edge above the first
    # ground pixel below it in its column, NaN when there is none.
    below = np.minimum.accumulate(np.where(ground, rows, labels.shape[0])[::-1], axis=0)[::-1]
    foot_row = np.where(below < labels.shape[0], below - 0.5, np.nan)
    expected = np.where(ground[..., None],
                        _ground_hits(columns, rows, height, pitch, roll, max_range),
                        _ground_hits(columns, foot_row, height, pitch, roll, max_range))
    # Hits within float32 rounding of max_range may fall either side.
    edge = np.abs(np.linalg.norm(np.nan_to_num(expected), axis=-1) - max_range) < 1e-4
    known = ~np.isnan(xyz[..., 2])
    assert ((known == ~np.isnan(expected[..., 2])) | edge).all()
    both = known & ~np.isnan(expected[..., 2])
    np.testing.assert_allclose(xyz[both], expected[both], rtol=1e-5, atol=1e-5)
    # Every point is on the plane: up . p = -height.
    up = np.array([-math.cos(pitch) * math.sin(roll), -math.cos(pitch) * math.cos(roll),
                   -math.sin(pitch)])
    np.testing.assert_allclose(xyz[known] @ up, -height, atol=1e-4)
    # There is ground, and objects standing on it (cars, fences, poles).
    assert (known & ground).sum() > 10000 and (known & ~ground).sum() > 1000


def test_street_ground_comes_from_the_ground_classes_only(street):
    """
    The shipped config/nav_cityscapes.yaml on the street image: ground is what its names say.

    Names are the node's own (its class_names); the image is google-coral's Cityscapes golden
    input, whose reference mask has the road at 0, the sidewalk at 1 and terrain at 9.
    """
    shipped, names, labels = street.shipped, street.names, street.labels
    assert shipped['geometry'] == 'ground_plane'
    cloud = street.ground
    assert [f.name for f in cloud.fields] == ['x', 'y', 'z', 'label']
    points = np.frombuffer(cloud.data, LABELLED)
    assert points.size > 1000  # the road is below the horizon
    found = {names[i] for i in np.unique(points['label'])}
    assert 'road' in found and found <= set(shipped['ground_classes'])
    assert not found & {'building', 'vegetation', 'sky'}
    # Each point comes from a pixel of the class it carries.
    fx, fy, cx, cy = STREET_K
    u = np.rint(points['x'] / points['z'] * fx + cx).astype(int)
    v = np.rint(points['y'] / points['z'] * fy + cy).astype(int)
    np.testing.assert_array_equal(labels[v, u], points['label'])
    # And the scene agrees: the reference mask has road, sidewalk or terrain there.
    path, = h.require('cityscapes_segmentation_mask.bmp')
    reference = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert np.isin(reference[v, u], [0, 1, 9]).mean() > 0.95
