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
Transport loss is reported as lost, at the default queue depth, over real Fast DDS.

A camera process without the large-data profile loses most 720p frames on the way (Fast DDS
fragments them); the node, which keeps only the newest frame, must still say so
(``frames_lost``, a WARN naming the profile), from the middleware's message-lost count, and
keep every frame accounted for.
"""

import subprocess
import sys

from diagnostic_msgs.msg import DiagnosticArray
import node_harness as h
from sensor_msgs.msg import Image

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'
NAME = 'deeplab_loss'
CAMERA = """
import sys, time, rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node('lossy_camera')
pub = node.create_publisher(Image, 'image', QoSProfile(
    depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
deadline = time.monotonic() + 30
while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
    time.sleep(0.05)
msg = Image(height=720, width=1280, encoding='rgb8', step=3840)
msg.data = bytes(720 * 3840)
for _ in range(int(sys.argv[1])):
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
    pub.publish(msg)
    time.sleep(1 / 30)
"""


def test_frames_lost_without_the_large_data_profile_are_counted_lost(tmp_path):
    h.require(MODEL)
    node = h.NodeProcess(NAME, {'model': MODEL, 'num_threads': '2', 'diagnostics_period': '0.2',
                                'publish_color': 'false', 'publish_overlay': 'false'},
                         tmp_path)
    ros = h.Ros('test_loss_client')
    try:
        diagnostics = h.Collector(ros.node, DiagnosticArray, '/diagnostics')
        h.Collector(ros.node, Image, '/segmentation/labels')
        assert ros.change_state(f'/{NAME}', h.CONFIGURE)
        assert ros.change_state(f'/{NAME}', h.ACTIVATE)
        env = h.node_env()
        env.pop('FASTRTPS_DEFAULT_PROFILES_FILE', None)  # the camera: Fast DDS defaults
        camera = subprocess.run([sys.executable, '-c', CAMERA, '150'], env=env, timeout=120)
        assert camera.returncode == 0

        def counted():
            msg = diagnostics.find(lambda m: h.diagnostic_values(m, NAME) is not None)
            values = msg and h.diagnostic_values(msg, NAME)
            if not values or int(values['frames_lost']) == 0:
                return None
            counts = {k[len('frames_'):]: int(v) for k, v in values.items()
                      if k.startswith('frames_')}
            balanced = counts['received'] == sum(v for k, v in counts.items()
                                                 if k != 'received')
            # Frames lost after the last one taken are counted too (the middleware says so).
            return (values, counts) if balanced and counts['received'] >= 140 else None
        _, counts = ros.wait_for(counted, what='every frame counted, losses as lost',
                                 timeout=30)
        assert counts['lost'] > counts['received'] // 4, counts

        def warned(msg):  # in the periods with losses: WARN, naming the cure
            values = h.diagnostic_values(msg, NAME)
            return values is not None and values['_level'] == 1 and \
                'lost in transport' in values['_message'] and \
                'large-data Fast DDS profile' in values['_message']
        assert diagnostics.find(warned) is not None
    finally:
        ros.close()
        assert node.stop() == 0, node.log()
