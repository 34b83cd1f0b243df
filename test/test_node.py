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
Integration tests of segmentation_node over real FastDDS in a private domain.

One node process goes through every lifecycle transition, driven through its services like
``ros2 lifecycle set``; outputs are compared with the engine run in this process.
"""

import time

from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.frame.codec import decode_raw
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
import node_harness as h
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'
NAME = 'deeplab_test'
FQN = '/' + NAME
ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', 'yuv422', 'yuv422_yuy2')
STAGE_KEYS = [f'{s}_ms_{p}' for s in ('preprocess', 'inference', 'postprocess', 'publish',
                                      'end_to_end') for p in ('p50', 'p95', 'max')]


@pytest.fixture(scope='module')
def segmenter():
    h.require(MODEL, MODEL + '_edgetpu')
    seg = Segmenter.open(MODEL, num_threads=2)
    yield seg
    seg.close()


@pytest.fixture(scope='module')
def ros():
    ros = h.Ros('test_node_client')
    yield ros
    ros.close()


@pytest.fixture(scope='module')
def node(tmp_path_factory, segmenter):
    # overlap on: the pictures on their own thread, given as YAML reads it (a boolean)
    proc = h.NodeProcess(NAME, {'model': 'does_not_exist', 'num_threads': '2',
                                'diagnostics_period': '0.25', 'overlap': 'on'},
                         tmp_path_factory.mktemp('node'))
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope='module')
def io(ros):
    n = ros.node
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    pubs = {
        'image': n.create_publisher(Image, '/image', best_effort),
        'camera_info': n.create_publisher(CameraInfo, '/camera_info', 1),
    }
    subs = {name: h.Collector(n, Image, f'/segmentation/{name}')
            for name in ('labels', 'color', 'overlay', 'mask')}
    subs['camera_info'] = h.Collector(n, CameraInfo, '/segmentation/camera_info')
    subs['diagnostics'] = h.Collector(n, DiagnosticArray, '/diagnostics')
    return pubs, subs


@pytest.fixture(scope='module')
def bird():
    return h.load_rgb('bird.bmp')


def _camera_info(width: int, height: int) -> CameraInfo:
    info = CameraInfo()
    info.width, info.height = width, height
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [500.0, 0.0, width / 2, 0.0, 500.0, height / 2, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [500.0, 0.0, width / 2, 0.0, 0.0, 500.0, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


_stamp = [0]


def _next_stamp() -> int:
    """Return a unique stamp close to now, so that end-to-end latencies are real."""
    _stamp[0] = max(time.time_ns(), _stamp[0] + 1000)
    return _stamp[0]


def _send(ros, io, msg, outputs=('labels',)):
    pubs, subs = io
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    info = _camera_info(msg.width, msg.height)
    info.header = msg.header

    class _Both:
        @staticmethod
        def publish(m):
            pubs['camera_info'].publish(info)
            pubs['image'].publish(m)
    return h.publish_until(ros, _Both, msg, [subs[o] for o in outputs], stamp)


def _diagnostics(ros, io, predicate, what, every=None, camera='/', name=NAME):
    subs = io[1]['diagnostics']

    def check():
        msg = subs.find(lambda m: h.diagnostic_values(m, name, camera) is not None)
        values = msg and h.diagnostic_values(msg, name, camera)
        return values if values and predicate(values) else None
    return ros.wait_for(check, what=what, every=every)


def test_configure_fails_cleanly_then_succeeds(ros, node):
    assert ros.state(FQN) == 'unconfigured'
    assert not ros.change_state(FQN, h.CONFIGURE)
    assert ros.state(FQN) == 'unconfigured'
    ros.wait_for(lambda: "configure failed: model 'does_not_exist'" in node.log(),
                 what='configure error in the log')

    edgetpu = MODEL + '_edgetpu'
    assert ros.set_params(FQN, model=edgetpu)[0].successful
    assert not ros.change_state(FQN, h.CONFIGURE)
    assert ros.state(FQN) == 'unconfigured'
    ros.wait_for(lambda: 'runs only with delegate edgetpu' in node.log(),
                 what='Edge TPU error in the log')
    assert ros.get_params(FQN, 'class_names') == []  # not declared

    assert ros.set_params(FQN, model=MODEL)[0].successful
    assert ros.change_state(FQN, h.CONFIGURE)
    assert ros.state(FQN) == 'inactive'
    names = ros.get_params(FQN, 'class_names')[0]
    assert names[0] == 'background' and names[15] == 'person' and len(names) == 21


def test_nothing_published_while_inactive(ros, node, io, bird):
    pubs, subs = io
    time.sleep(0.5)  # let the collectors match the node's publishers
    assert pubs['image'].get_subscription_count() == 0  # no camera bandwidth while inactive
    for _ in range(5):
        pubs['image'].publish(h.image_msg(h.encode(bird, 'rgb8'), bird.shape[1], 'rgb8',
                                          _next_stamp()))
        time.sleep(0.1)
    time.sleep(0.5)
    for collector in subs.values():
        assert collector.messages == [], collector.topic


def test_outputs_match_engine(ros, node, io, bird, segmenter):
    pubs, subs = io
    assert ros.change_state(FQN, h.ACTIVATE)
    assert ros.state(FQN) == 'active'
    ros.wait_for(lambda: pubs['image'].get_subscription_count() > 0, what='node subscription')
    stamp = _next_stamp()
    msg = h.image_msg(h.encode(bird, 'rgb8'), bird.shape[1], 'rgb8', stamp, 'bird_frame')
    labels, color, overlay, info = _send(ros, io, msg,
                                         ('labels', 'color', 'overlay', 'camera_info'))
    expected = segmenter.segment(bird).labels
    for out, encoding in ((labels, 'mono8'), (color, 'rgb8'), (overlay, 'rgb8')):
        assert h.same_header(out, stamp, 'bird_frame')
        assert (out.width, out.height, out.encoding) == (512, 343, encoding)
    np.testing.assert_array_equal(h.as_array(labels), expected)
    np.testing.assert_array_equal(h.as_array(color), segmenter.colorize(expected))
    np.testing.assert_array_equal(h.as_array(overlay), segmenter.overlay(
        bird, segmenter.colorize(expected), 0.5, expected))
    # Background pixels show the camera image unchanged; the bird is tinted.
    background, bird_pixels = expected == 0, expected == 3
    np.testing.assert_array_equal(h.as_array(overlay)[background], bird[background])
    assert (h.as_array(overlay)[bird_pixels] != bird[bird_pixels]).any()
    assert (expected == 3).mean() > 0.1  # a bird was found
    assert h.same_header(info, stamp, 'bird_frame')
    assert (info.width, info.height) == (512, 343)
    assert list(info.k) == list(_camera_info(512, 343).k)
    assert subs['mask'].messages == []  # no mask_classes: nothing computed


@pytest.mark.parametrize('encoding', ENCODINGS)
def test_every_encoding(ros, node, io, bird, segmenter, encoding):
    rows = h.encode(bird, encoding)
    stamp = _next_stamp()
    labels, = _send(ros, io, h.image_msg(rows, bird.shape[1], encoding, stamp))
    decoded = decode_raw(encoding, rows.shape[0], bird.shape[1], rows.shape[1], rows)
    assert labels.encoding == 'mono8' and (labels.width, labels.height) == (512, 343)
    np.testing.assert_array_equal(h.as_array(labels), segmenter.segment(decoded).labels)


def test_malformed_frames_are_rejected_and_counted(ros, node, io, bird, segmenter):
    pubs = io[0]
    good = h.encode(bird, 'rgb8')
    w = bird.shape[1]
    bad = [
        h.image_msg(good, w, 'rgb16', _next_stamp()),
        h.image_msg(good[:, :-5], w, 'rgb8', _next_stamp()),  # step < width * 3
        h.image_msg(good[:100], w, 'rgb8', _next_stamp()),
        h.image_msg(good[:0], 0, 'rgb8', _next_stamp()),
    ]
    bad[2].height = 343  # claims more rows than it carries
    subs = io[1]['diagnostics']
    for msg in bad:
        before = int(_diagnostics(ros, io, lambda v: True, 'diagnostics')['frames_rejected'])
        subs.clear()
        _diagnostics(ros, io, lambda v: int(v['frames_rejected']) > before,
                     f'rejection of {msg.encoding} {msg.width}x{msg.height} step {msg.step}',
                     every=lambda m=msg: pubs['image'].publish(m))
    values = _diagnostics(ros, io, lambda v: int(v['frames_rejected']) >= 4, 'rejections')
    assert values['last_reject_reason']
    assert 'rejected a malformed frame' in node.log()
    stamp = _next_stamp()
    labels, = _send(ros, io, h.image_msg(good, w, 'rgb8', stamp))
    np.testing.assert_array_equal(h.as_array(labels), segmenter.segment(bird).labels)


def test_diagnostics_keys_and_values(ros, node, io):
    values = _diagnostics(ros, io, lambda v: int(v['frames_processed']) >= 8, 'diagnostics')
    for key in ['model', 'runtime', 'delegate', 'delegate_fell_back', 'input_size',
                'frames_received', 'frames_processed', 'frames_dropped', 'frames_throttled',
                'frames_idle', 'frames_rejected', 'frames_failed', 'fps'] + STAGE_KEYS:
        assert key in values, key
    assert 'frames_skipped' not in values
    assert values['model'] == MODEL
    assert values['runtime'] == 'ai_edge_litert'
    assert values['delegate'] == 'cpu' and values['delegate_fell_back'] == 'False'
    assert values['input_size'] == '513x513'
    assert values['overlap'] == 'on (set)'
    assert 0 <= int(values['pictures_skipped']) <= int(values['frames_processed'])
    assert int(values['frames_received']) >= int(values['frames_processed'])
    assert float(values['fps']) >= 0.0
    for stage in ('preprocess', 'inference', 'postprocess', 'publish', 'end_to_end'):
        p50, p95, top = (float(values[f'{stage}_ms_{p}']) for p in ('p50', 'p95', 'max'))
        assert 0.0 <= p50 <= p95 <= top < 60000.0, stage
    assert float(values['inference_ms_p50']) > 1.0
    assert float(values['end_to_end_ms_p50']) >= float(values['inference_ms_p50'])


def test_live_parameters(ros, node, io, bird, segmenter):
    results = ros.set_params(FQN, resize_mode='fisheye')
    assert not results[0].successful and 'resize_mode must be one of' in results[0].reason
    assert not ros.set_params(FQN, overlay_alpha=1.5)[0].successful
    assert not ros.set_params(FQN, max_rate=-1.0)[0].successful
    results = ros.set_params(FQN, mask_classes=['unicorn'])
    assert not results[0].successful and 'person' in results[0].reason
    assert not ros.set_params(FQN, cameras=['a', 'a'])[0].successful
    assert not ros.set_params(FQN, delegate_options=['novalue'])[0].successful
    assert not ros.set_params(FQN, class_names=['x'])[0].successful  # read only
    assert ros.get_params(FQN, 'resize_mode', 'overlay_alpha') == [segmenter.resize_mode, 0.5]

    # output_resolution=model: labels at model scale, camera_info K and P scaled.
    assert ros.set_params(FQN, output_resolution='model', mask_classes=['bird'],
                          publish_color=False)[0].successful
    stamp = _next_stamp()
    msg = h.image_msg(h.encode(bird, 'rgb8'), bird.shape[1], 'rgb8', stamp)
    io[1]['color'].clear()
    labels, mask, info = _send(ros, io, msg, ('labels', 'mask', 'camera_info'))
    segmenter.output_resolution = 'model'
    try:
        result = segmenter.segment(bird)
    finally:
        segmenter.output_resolution = 'input'
    np.testing.assert_array_equal(h.as_array(labels), result.labels)
    height, width = result.labels.shape
    assert (labels.width, labels.height) == (width, height) == (info.width, info.height)
    assert max(width, height) == 513
    sx, sy = result.scale  # pixel centres: c' = (c + 0.5) * s - 0.5
    assert info.k[0] == pytest.approx(500.0 * sx)
    assert info.k[5] == pytest.approx(172.0 * sy - 0.5)
    assert info.p[2] == pytest.approx(256.5 * sx - 0.5)
    np.testing.assert_array_equal(h.as_array(mask), (result.labels == 3) * 255)
    assert h.same_header(mask, stamp)
    assert io[1]['color'].find(lambda m: h.same_header(m, stamp)) is None

    assert ros.set_params(FQN, output_resolution='input', mask_classes=[],
                          publish_color=True)[0].successful
    stamp = _next_stamp()
    labels, color = _send(ros, io, h.image_msg(h.encode(bird, 'rgb8'), bird.shape[1], 'rgb8',
                                               stamp), ('labels', 'color'))
    assert (labels.width, labels.height) == (512, 343)


def test_latest_frame_only(ros, node, io):
    pubs, subs = io
    cat = h.load_rgb('cat_720p.jpg')
    time.sleep(1.0)  # let frames republished by earlier tests settle, then count afresh
    subs['diagnostics'].clear()
    before = _diagnostics(ros, io, lambda v: True, 'diagnostics')
    rows = h.encode(cat, 'rgb8')
    stamps = [_next_stamp() for _ in range(40)]
    for stamp in stamps:  # every 5 ms: faster than inference, slow enough to reach the node
        pubs['image'].publish(h.image_msg(rows, 1280, 'rgb8', stamp))
        time.sleep(0.005)
    values = _diagnostics(
        ros, io, lambda v: int(v['frames_dropped']) > int(before['frames_dropped']),
        'dropped frames')
    time.sleep(1.0)  # no backlog: everything still to come is already out
    done = {s for s in stamps if subs['labels'].find(lambda m, s=s: h.same_header(m, s))}
    assert 0 < len(done) < len(stamps)
    received = int(values['frames_received']) - int(before['frames_received'])
    assert received <= len(stamps)


def test_deactivate_cleanup_cycles(ros, node, io, bird):
    pubs, subs = io
    assert ros.change_state(FQN, h.DEACTIVATE)
    assert ros.state(FQN) == 'inactive'
    ros.wait_for(lambda: pubs['image'].get_subscription_count() == 0, what='unsubscribe')
    for collector in subs.values():
        collector.clear()
    for _ in range(3):
        pubs['image'].publish(h.image_msg(h.encode(bird, 'rgb8'), 512, 'rgb8', _next_stamp()))
        time.sleep(0.1)
    time.sleep(0.5)
    assert all(c.messages == [] for c in subs.values())

    assert ros.change_state(FQN, h.CLEANUP)
    assert ros.state(FQN) == 'unconfigured'
    assert ros.get_params(FQN, 'class_names') == []  # not declared
    threads, rss = node.thread_count(), node.rss_kb()
    for _ in range(3):
        assert ros.change_state(FQN, h.CONFIGURE)
        assert ros.change_state(FQN, h.ACTIVATE)
        _send(ros, io, h.image_msg(h.encode(bird, 'rgb8'), 512, 'rgb8', _next_stamp()))
        assert ros.change_state(FQN, h.DEACTIVATE)
        assert ros.change_state(FQN, h.CLEANUP)
    assert node.thread_count() <= threads
    assert node.rss_kb() - rss < 60_000


def test_shutdown_from_active(ros, node, io, bird):
    assert ros.change_state(FQN, h.CONFIGURE)
    assert ros.change_state(FQN, h.ACTIVATE)
    _send(ros, io, h.image_msg(h.encode(bird, 'rgb8'), 512, 'rgb8', _next_stamp()))
    assert ros.change_state(FQN, Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert ros.state(FQN) == 'finalized'
    assert node.proc.poll() is None
