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
segmentation_node over real Fast DDS: parameters, counters, max_rate, bad and large frames.

One node process, driven through its services like ``ros2 lifecycle set`` and ``ros2 param
set``; a camera publisher in this process. Waits are for the state asserted, never fixed.
"""

import subprocess
import time

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
import node_harness as h
import numpy as np
import pytest
from rcl_interfaces.srv import DescribeParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'
NAME = 'deeplab_behaviour'
FQN = '/' + NAME
COUNTERS = ('processed', 'dropped', 'lost', 'throttled', 'idle', 'rejected', 'failed')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    h.require(MODEL, 'bird.bmp')
    home = tmp_path_factory.mktemp('home')  # empty cache: the node fetches from the mirror
    node = h.NodeProcess(NAME, {'model': MODEL, 'num_threads': '2', 'diagnostics_period': '0.2',
                                'class_names': '[not, the, model]'},
                         tmp_path_factory.mktemp('behaviour'),
                         env={'DEEPLAB_ROS_HOME': str(home)})
    ros = h.Ros('test_behaviour_client')
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    io = {
        'image': ros.node.create_publisher(Image, '/image', best_effort),
        'compressed': ros.node.create_publisher(CompressedImage, '/image/compressed',
                                                best_effort),
        'diagnostics': h.Collector(ros.node, DiagnosticArray, '/diagnostics'),
    }
    try:
        yield ros, node, io
    finally:
        ros.close()
        assert node.stop() == 0, node.log()


_stamp = [0]


def _frame(rgb: np.ndarray, encoding: str = 'rgb8') -> Image:
    _stamp[0] = max(time.time_ns(), _stamp[0] + 1000)
    return h.image_msg(h.encode(rgb, encoding), rgb.shape[1], encoding, _stamp[0])


def _values(ros, io, predicate=lambda v: True, what='diagnostics', every=None):
    def check():
        msg = io['diagnostics'].find(lambda m: h.diagnostic_values(m, NAME) is not None)
        values = msg and h.diagnostic_values(msg, NAME)
        return values if values and predicate(values) else None
    return ros.wait_for(check, what=what, every=every)


def _counts(values) -> dict:
    return {name: int(values[f'frames_{name}']) for name in ('received',) + COUNTERS}


def test_class_names_is_read_only_and_a_params_entry_cannot_replace_it(setup):
    ros, node, io = setup
    assert ros.change_state(FQN, h.CONFIGURE)
    names = ros.get_params(FQN, 'class_names')[0]
    assert names[:2] == ['background', 'aeroplane'] and len(names) == 21
    request = DescribeParameters.Request(names=['class_names', 'model', 'max_rate'])
    descriptors = ros.call(DescribeParameters, f'{FQN}/describe_parameters', request)
    read_only = [d.read_only for d in descriptors.descriptors]
    assert read_only == [True, False, False]
    assert 'Read at configure' in descriptors.descriptors[1].description
    assert not ros.set_params(FQN, class_names=['x'])[0].successful
    # The model was fetched from the mirror into the empty cache: one line each, no bar.
    log = node.log()
    assert log.count('fetching a model file') == 1 and 'fetched' in log
    assert '\r' not in log and '%' not in log
    assert 'configured deeplabv3_mnv2_dm05_pascal_quant' in log


def test_input_transport_is_read_at_configure(setup):
    ros, node, io = setup
    # Changed after configure: applies at the next configure, not at activate.
    assert ros.set_params(FQN, input_transport='compressed')[0].successful
    assert ros.change_state(FQN, h.ACTIVATE)
    ros.wait_for(lambda: io['image'].get_subscription_count() > 0, what='raw subscription')
    assert io['compressed'].get_subscription_count() == 0
    assert 'activated: subscribed to /image' in node.log()


def test_a_camera_info_subscriber_alone_starts_no_inference(setup):
    ros, node, io = setup
    bird = h.load_rgb('bird.bmp')
    info = h.Collector(ros.node, CameraInfo, '/segmentation/camera_info')
    before = _counts(_values(ros, io))
    values = _values(ros, io, lambda v: int(v['frames_idle']) >= before['idle'] + 5,
                     'idle frames', every=lambda: io['image'].publish(_frame(bird)))
    after = _counts(values)
    assert after['processed'] == before['processed']
    assert info.messages == []
    ros.node.destroy_subscription(info.sub)


def test_max_rate_delivers_the_asked_rate_and_every_frame_is_counted(setup):
    ros, node, io = setup
    labels = h.Collector(ros.node, Image, '/segmentation/labels')
    small = np.zeros((120, 160, 3), np.uint8)
    assert ros.set_params(FQN, max_rate=5.0)[0].successful
    ros.wait_for(lambda: labels.messages, what='first labels',
                 every=lambda: io['image'].publish(_frame(small)))
    labels.clear()
    start = time.monotonic()
    next_frame = start
    while time.monotonic() - start < 8.0:  # a 30 Hz camera for 8 s
        io['image'].publish(_frame(small))
        next_frame += 1 / 30
        time.sleep(max(0.0, next_frame - time.monotonic()))
    ros.wait_for(lambda: len(labels.messages) >= 30, what='labels at 5 Hz')
    stamps = sorted(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in labels.messages)
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert rate == pytest.approx(5.0, rel=0.05)
    values = _values(ros, io, lambda v: int(v['frames_throttled']) > 150, 'throttled frames')
    counts = _counts(values)
    assert counts['received'] == sum(counts[name] for name in COUNTERS)
    assert ros.set_params(FQN, max_rate=0.0)[0].successful
    ros.node.destroy_subscription(labels.sub)


def _burst(ros, io, labels, publisher, fqn, name, camera='/'):
    """
    Publish a good frame and 4 malformed ones while max_rate holds the camera back.

    :return: The counts before and after, the diagnostics after, and whether the good frame
        was segmented (after a second good frame, which is always segmented).
    """
    bird = h.load_rgb('bird.bmp')
    assert ros.set_params(fqn, max_rate=1.0)[0].successful
    ros.wait_for(lambda: labels.messages, what='a first frame',
                 every=lambda: publisher.publish(_frame(bird)))

    def values(predicate=lambda v: True, what='diagnostics'):
        def check():
            msg = io['diagnostics'].find(
                lambda m: h.diagnostic_values(m, name, camera) is not None)
            found = msg and h.diagnostic_values(msg, name, camera)
            return found if found and predicate(found) else None
        return ros.wait_for(check, what=what)
    before = _counts(values())
    good = _frame(bird)  # the camera is not due for ~1 s: these wait in the middleware
    bad = [_frame(bird) for _ in range(4)]
    for msg in bad:
        msg.encoding = 'rgb16'
    for msg in [good] + bad:
        publisher.publish(msg)
    after_values = values(lambda v: int(v['frames_rejected']) > before['rejected'],
                          'rejections')
    second = _frame(bird)
    stamps = [m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec
              for m in (good, second)]
    ros.wait_for(lambda: labels.find(lambda m: h.same_header(m, stamps[1])),
                 what='the next good frame', every=lambda: publisher.publish(second))
    after = _counts(values(lambda v: int(v['frames_received']) >= before['received'] + 6))
    assert ros.set_params(fqn, max_rate=0.0)[0].successful
    segmented = labels.find(lambda m: h.same_header(m, stamps[0])) is not None
    return before, after, after_values, segmented


def test_a_malformed_newest_frame_replaces_a_good_one_at_the_default_depth(setup):
    ros, node, io = setup
    labels = h.Collector(ros.node, Image, '/segmentation/labels')
    before, after, values, segmented = _burst(ros, io, labels, io['image'], FQN, NAME)
    # Depth 1: only the newest waits; the good frame and 3 malformed ones were replaced.
    assert not segmented
    assert after['rejected'] == before['rejected'] + 1
    assert (after['throttled'] + after['dropped']) - (before['throttled'] + before['dropped']) \
        >= 4
    assert after['lost'] == before['lost']
    assert "unsupported encoding 'rgb16'" in values['last_reject_reason']
    assert values['_level'] == 1  # WARN, with the reason
    ros.node.destroy_subscription(labels.sub)


def test_a_qos_depth_override_keeps_the_newest_good_frame_of_those_waiting(setup,
                                                                           tmp_path):
    ros, _, io = setup
    name, namespace = 'deeplab_depth5', '/depth5'
    node = h.NodeProcess(name, {'model': MODEL, 'num_threads': '2', 'diagnostics_period': '0.2',
                                f'qos_overrides.{namespace}/image.subscription.depth': '5'},
                         tmp_path, namespace=namespace)
    try:
        fqn = f'{namespace}/{name}'
        assert ros.change_state(fqn, h.CONFIGURE) and ros.change_state(fqn, h.ACTIVATE)
        publisher = ros.node.create_publisher(Image, f'{namespace}/image', QoSProfile(
            depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
        labels = h.Collector(ros.node, Image, f'{namespace}/segmentation/labels')
        before, after, values, segmented = _burst(ros, io, labels, publisher, fqn, name,
                                                  namespace)
        assert segmented  # the newest good frame of the 5 waiting
        assert after['rejected'] == before['rejected'] + 4
        assert after['lost'] == before['lost']
    finally:
        assert node.stop() == 0, node.log()


def test_a_message_nobody_can_read_is_rejected_and_the_node_goes_on(setup):
    ros, node, io = setup
    labels = h.Collector(ros.node, Image, '/segmentation/labels')  # the node segments
    raw = ros.node.create_publisher(Image, '/image', QoSProfile(
        depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    values = _values(ros, io, lambda v: 'unreadable message' in v.get('last_reject_reason', ''),
                     'rejection', every=lambda: raw.publish(b'\x00\x01\x00\x00' + b'\xff' * 12))
    assert values['_level'] == 1
    bird = h.load_rgb('bird.bmp')
    ros.wait_for(lambda: labels.messages, what='labels after it',
                 every=lambda: io['image'].publish(_frame(bird)))
    ros.node.destroy_subscription(labels.sub)
    ros.node.destroy_publisher(raw)


def test_two_publishers_on_one_camera_topic_are_counted_frame_for_frame(setup):
    ros, node, io = setup
    labels = h.Collector(ros.node, Image, '/segmentation/labels')
    second = ros.node.create_publisher(Image, '/image', QoSProfile(
        depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    small = np.zeros((120, 160, 3), np.uint8)
    ros.wait_for(lambda: labels.messages and second.get_subscription_count() > 0,
                 what='labels', every=lambda: io['image'].publish(_frame(small)))
    before = _counts(_values(ros, io))
    # The first publisher's numbers run well ahead of the second's, which starts at 1.
    order = [io['image']] * 30 + [io['image'], second, second] * 20
    for pub in order:
        pub.publish(_frame(small))
        time.sleep(0.05)
    values = _values(ros, io, lambda v: int(v['frames_received']) >= before['received'] +
                     len(order), 'every frame counted')
    after = _counts(values)
    assert after['lost'] == before['lost']
    assert after['received'] - before['received'] <= len(order) + 3  # + frames in flight
    ros.node.destroy_subscription(labels.sub)
    ros.node.destroy_publisher(second)


def test_frames_above_max_input_pixels_are_rejected_with_the_reason(setup):
    ros, node, io = setup
    labels = h.Collector(ros.node, Image, '/segmentation/labels')
    assert ros.set_params(FQN, max_input_pixels=100_000)[0].successful
    bird = h.load_rgb('bird.bmp')  # 512x343 = 175,616 pixels
    values = _values(ros, io, lambda v: 'max_input_pixels' in v.get('last_reject_reason', ''),
                     'rejection', every=lambda: io['image'].publish(_frame(bird)))
    assert 'rgb8 512x343 has 175616 pixels, more than the 100000 allowed' in (
        values['last_reject_reason'])
    assert labels.messages == []
    assert ros.set_params(FQN, max_input_pixels=3840 * 2160)[0].successful
    ros.wait_for(lambda: labels.messages, what='labels again',
                 every=lambda: io['image'].publish(_frame(bird)))
    ros.node.destroy_subscription(labels.sub)


def test_memory_returns_after_one_large_frame(setup):
    ros, node, io = setup
    labels = h.Collector(ros.node, Image, '/segmentation/labels')
    for output in ('color', 'overlay'):
        h.Collector(ros.node, Image, f'/segmentation/{output}')
    bird = h.load_rgb('bird.bmp')

    def frames(rgb, count, encoding='rgb8'):
        for _ in range(count):
            msg = _frame(rgb, encoding)
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            h.publish_until(ros, io['image'], msg, [labels], stamp, timeout=60.0)

    frames(bird, 10)
    baseline = node.rss_kb()
    # 4096x4096 (16 MB as mono8 on the wire, 50 MB as RGB) is above the default
    # max_input_pixels: rejected with the reason, memory back near where it was.
    large = _frame(np.zeros((4096, 4096, 3), np.uint8), 'mono8')
    _values(ros, io, lambda v: '4096x4096' in v.get('last_reject_reason', ''), 'rejection',
            every=lambda: io['image'].publish(large))
    frames(bird, 5)
    assert node.rss_kb() - baseline < 50_000


def test_transitions_log_one_line_each(setup):
    ros, node, io = setup
    assert ros.change_state(FQN, h.DEACTIVATE)
    assert ros.change_state(FQN, h.CLEANUP)
    # Not a transition from here: answered at once with success false, on every distribution.
    start = time.monotonic()
    answer = ros.call(ChangeState, f'{FQN}/change_state', ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_ACTIVE_SHUTDOWN)), timeout=10.0)
    assert answer.success is False and time.monotonic() - start < 10.0
    assert ros.state(FQN) == 'unconfigured'  # the node is still there and serving
    assert ros.change_state(FQN, Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
    ros.wait_for(lambda: 'shut down from unconfigured' in node.log(), what='shutdown log')
    log = node.log()
    for line in ('activated: subscribed to /image', 'deactivated: unsubscribed',
                 'cleaned up: model and delegate released'):
        assert log.count(line) == 1, line


def test_help_prints_usage_and_starts_no_node():
    result = subprocess.run(h.node_command() + ['--help'], capture_output=True, text=True,
                            timeout=60, env=h.node_env())
    assert result.returncode == 0
    for needed in ('usage: ros2 run deeplab_ros segmentation_node', 'ros2 lifecycle set',
                   'max_input_pixels (int', 'geometry (str', 'segmentation/obstacles'):
        assert needed in result.stdout, needed
