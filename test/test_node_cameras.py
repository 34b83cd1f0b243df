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

"""Two cameras served by one segmentation_node over JPEG CompressedImage topics."""

import struct
import threading
import time
import zlib

import cv2
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.frame.codec import decode_compressed
from diagnostic_msgs.msg import DiagnosticArray
import node_harness as h
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

NAME = 'deeplab_cams'
FQN = '/' + NAME


def _jpeg(stamp_ns: int, data: bytes) -> CompressedImage:
    msg = CompressedImage()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = 'camera_optical'
    msg.format = 'jpeg'
    msg.data = data
    return msg


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    h.require('deeplabv3_mnv2_dm05_pascal_quant')
    node = h.NodeProcess(NAME, {'cameras': '[left, right]', 'input_transport': 'compressed',
                                'num_threads': '2', 'diagnostics_period': '0.25',
                                'publish_overlay': 'false'},
                         tmp_path_factory.mktemp('cams'))
    ros = h.Ros('test_cameras_client')
    seg = Segmenter.open('deeplabv3_mnv2_dm05_pascal_quant', num_threads=2)
    try:
        yield ros, node, seg
    finally:
        seg.close()
        ros.close()
        assert node.stop() == 0, node.log()


def test_two_cameras_compressed(setup):
    ros, node, seg = setup
    jpeg = h.require('cat_720p.jpg')[0].read_bytes()
    assert ros.change_state(FQN, h.CONFIGURE)
    assert ros.change_state(FQN, h.ACTIVATE)
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    pubs = {c: ros.node.create_publisher(CompressedImage, f'/{c}/image/compressed', qos)
            for c in ('left', 'right')}
    labels = {c: h.Collector(ros.node, Image, f'/{c}/segmentation/labels')
              for c in ('left', 'right')}
    diagnostics = h.Collector(ros.node, DiagnosticArray, '/diagnostics')
    for pub in pubs.values():
        ros.wait_for(lambda p=pub: p.get_subscription_count() > 0, what='subscription')
    expected = seg.segment(decode_compressed('jpeg', jpeg)).labels
    for camera in ('left', 'right'):
        stamp = time.time_ns()
        out, = h.publish_until(ros, pubs[camera], _jpeg(stamp, jpeg), [labels[camera]], stamp)
        assert (out.width, out.height, out.encoding) == (1280, 720, 'mono8')
        np.testing.assert_array_equal(h.as_array(out), expected)

    # A corrupt JPEG on the left is rejected and counted; the left camera keeps working.
    bad = _jpeg(time.time_ns(), jpeg[:2] + bytes(3000) + jpeg[3002:])

    def rejected():
        msg = diagnostics.find(lambda m: h.diagnostic_values(m, NAME, '/left') is not None)
        values = msg and h.diagnostic_values(msg, NAME, '/left')
        return values and int(values['frames_rejected']) > 0 and values
    values = ros.wait_for(rejected, what='rejection', every=lambda: pubs['left'].publish(bad))
    assert 'corrupt jpeg' in values['last_reject_reason']
    stamp = time.time_ns()
    h.publish_until(ros, pubs['left'], _jpeg(stamp, jpeg), [labels['left']], stamp)

    # Fairness: the left camera floods, the right one is still served.
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            pubs['left'].publish(_jpeg(time.time_ns(), jpeg))
            time.sleep(0.01)
    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        for _ in range(3):
            stamp = time.time_ns()
            h.publish_until(ros, pubs['right'], _jpeg(stamp, jpeg), [labels['right']], stamp,
                            timeout=10.0)
    finally:
        stop.set()
        flooder.join()
    msg = ros.wait_for(lambda: diagnostics.find(
        lambda m: h.diagnostic_values(m, NAME, '/right') is not None), what='diagnostics')
    assert h.diagnostic_values(msg, NAME, '/left') is not None
    assert ros.change_state(FQN, h.DEACTIVATE)
    assert ros.change_state(FQN, h.CLEANUP)


def test_padded_jpeg_huge_png_and_decoder_noise(setup):
    ros, node, seg = setup
    assert ros.change_state(FQN, h.CONFIGURE)
    assert ros.change_state(FQN, h.ACTIVATE)
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    pub = ros.node.create_publisher(CompressedImage, '/left/image/compressed', qos)
    labels = h.Collector(ros.node, Image, '/left/segmentation/labels')
    diagnostics = h.Collector(ros.node, DiagnosticArray, '/diagnostics')
    ros.wait_for(lambda: pub.get_subscription_count() > 0, what='subscription')
    jpeg = h.require('cat_720p.jpg')[0].read_bytes()

    # A USB-camera JPEG padded after its end marker is segmented like the plain one.
    stamp = time.time_ns()
    out, = h.publish_until(ros, pub, _jpeg(stamp, jpeg + bytes(2048)), [labels], stamp)
    np.testing.assert_array_equal(h.as_array(out),
                                  seg.segment(decode_compressed('jpeg', jpeg)).labels)

    def rejected_with(text):
        def check():
            msg = diagnostics.find(lambda m: h.diagnostic_values(m, NAME, '/left') is not None)
            values = msg and h.diagnostic_values(msg, NAME, '/left')
            return values if values and text in values.get('last_reject_reason', '') else None
        return check

    ok, png = cv2.imencode('.png', np.zeros((32, 32, 3), np.uint8))
    huge = bytearray(png.tobytes())
    struct.pack_into('>II', huge, 16, 65535, 65535)  # a header claiming 4.3 G pixels
    struct.pack_into('>I', huge, 29, zlib.crc32(bytes(huge[12:29])))
    bad_png = _jpeg(time.time_ns(), bytes(huge))
    bad_png.format = 'png'
    values = ros.wait_for(rejected_with('png 65535x65535'), what='huge PNG rejected',
                          every=lambda: pub.publish(bad_png))
    assert 'more than the' in values['last_reject_reason']

    at = png.tobytes().index(b'IDAT') + 6
    corrupt = bytearray(png.tobytes())
    corrupt[at] ^= 0xFF  # a CRC error libpng would print on stderr
    bad_crc = _jpeg(time.time_ns(), bytes(corrupt))
    bad_crc.format = 'png'
    ros.wait_for(rejected_with('libpng error'), what='corrupt PNG rejected',
                 every=lambda: pub.publish(bad_crc))
    assert not [line for line in node.log().splitlines() if 'libpng' in line
                and not line.startswith('[')]
    assert ros.change_state(FQN, h.DEACTIVATE)
    assert ros.change_state(FQN, h.CLEANUP)
