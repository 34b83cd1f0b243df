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
How segmentation_node ends: quietly on a signal, within a bound when a delegate hangs.

A signal while frames stream: exit code 0, no ERROR. A frame hung in a delegate: deactivate
fails naming the stage, SIGTERM exits 1 within the bound. A distribution without what the
node needs: exit 2 with what is missing.
"""

import signal
import subprocess
import sys
import threading
import time

import node_harness as h
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_a_signal_while_streaming_exits_0_without_errors(tmp_path, sig):
    h.require(MODEL)
    name = f'deeplab_exit_{sig.name.lower()}'
    node = h.NodeProcess(name, {'model': MODEL, 'num_threads': '2'}, tmp_path)
    ros = h.Ros(f'test_exit_client_{sig.name.lower()}')
    stop = threading.Event()
    try:
        pub = ros.node.create_publisher(
            Image, '/image', QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        outputs = [h.Collector(ros.node, Image, f'/segmentation/{o}')
                   for o in ('labels', 'color', 'overlay')]
        assert ros.change_state(f'/{name}', h.CONFIGURE)
        assert ros.change_state(f'/{name}', h.ACTIVATE)
        rgb = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)

        def stream():
            while not stop.is_set():
                pub.publish(h.image_msg(rgb.reshape(480, -1), 640, 'rgb8', time.time_ns()))
                stop.wait(1 / 30)
        streamer = threading.Thread(target=stream)
        streamer.start()
        ros.wait_for(lambda: all(len(c.messages) >= 5 for c in outputs), what='outputs flowing')
        code = node.stop(sig)  # while frames keep coming
        stop.set()
        streamer.join()
    finally:
        stop.set()
        ros.close()
        node.stop()
    log = node.log()
    assert code == 0, log
    for bad in ('[ERROR]', 'Traceback', 'Failed to publish', 'failed to'):
        assert bad not in log, log


#: segmentation_node with a delegate that hangs: every invoke after the warm-up blocks (an
#: invoke cannot be interrupted), after writing the file named by HANG_MARK.
HANGING_NODE = """
import os, sys, time
from deeplab_ros.engine.model import Model
calls = [0]
invoke = Model.invoke
def hanging(self):
    calls[0] += 1
    if calls[0] <= 1:
        return invoke(self)
    open(os.environ['HANG_MARK'], 'w').close()
    time.sleep(3600)
Model.invoke = hanging
from deeplab_ros.node.main import main
sys.exit(main())
"""


def test_a_hung_delegate_fails_deactivate_and_sigterm_exits_1_within_the_bound(tmp_path):
    h.require(MODEL)
    name, mark = 'deeplab_hung', tmp_path / 'hanging'
    node = h.NodeProcess(name, {'model': MODEL, 'num_threads': '2', 'warmup_runs': '1'},
                         tmp_path, env={'HANG_MARK': str(mark)},
                         command=[sys.executable, '-c', HANGING_NODE])
    ros = h.Ros('test_exit_client_hung')
    try:
        pub = ros.node.create_publisher(
            Image, '/image', QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        h.Collector(ros.node, Image, '/segmentation/labels')
        assert ros.change_state(f'/{name}', h.CONFIGURE)
        assert ros.change_state(f'/{name}', h.ACTIVATE)
        rgb = np.zeros((120, 160, 3), np.uint8)
        ros.wait_for(mark.exists, what='a frame in a hanging invoke', every=lambda: pub.publish(
            h.image_msg(rgb.reshape(120, -1), 160, 'rgb8', time.time_ns())))
        start = time.monotonic()
        assert not ros.change_state(f'/{name}', h.DEACTIVATE)  # refused, within the bound
        assert time.monotonic() - start < 15.0
        assert ros.state(f'/{name}') == 'active'  # the node still answers
        start = time.monotonic()
        code = node.stop(signal.SIGTERM)
        assert time.monotonic() - start < 12.0
    finally:
        ros.close()
        node.stop(signal.SIGKILL)
    log = node.log()
    assert code == 1, log
    assert 'deactivate failed: the frame in progress does not finish (stage inference' in log
    assert 'stop failed: the frame in progress does not finish' in log


def test_a_distribution_without_what_the_node_needs_exits_2_naming_it(tmp_path):
    # rclpy as Humble has it: no post-set parameters callback (rclpy from Iron on).
    script = ('import sys, rclpy.node\n'
              'del rclpy.node.Node.add_post_set_parameters_callback\n'
              'from deeplab_ros.node.main import main\n'
              'sys.exit(main())\n')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=60, env={**h.node_env(), 'ROS_DISTRO': 'humble'})
    assert result.returncode == 2, result.stderr
    assert 'add_post_set_parameters_callback' in result.stderr
    assert 'ROS 2 humble does not have it' in result.stderr and 'Traceback' not in result.stderr
