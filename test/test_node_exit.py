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

"""A signal while frames stream ends segmentation_node quietly: exit code 0, no ERROR."""

import signal
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
