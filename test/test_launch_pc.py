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
Launch test (launch_testing, as in ros2/demos): pc.launch.py brings the node to active.

With a test publisher on ``image``, ``segmentation/labels`` arrives with the input's stamp
and size; deactivate stops the outputs and activate resumes them. Needs the pc model from
the registry (skips without it); skips where launch_testing or launch_ros is not installed
(the pip venv); runs on a ROS install: ``colcon test --packages-select deeplab_ros``.
"""

import os
import threading
import time
import unittest

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.tools.lifecycle import LifecycleClient
from launch_client import require_assets, require_launch_testing, use_private_domain
from lifecycle_msgs.msg import Transition
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

launch, launch_testing = require_launch_testing()

NAMESPACE = 'launch_test'
NODE = f'/{NAMESPACE}/deeplab'
use_private_domain()


@pytest.mark.launch_test
def generate_test_description():
    """Launch pc.launch.py as a user would, in a namespace, two threads."""
    require_assets('deeplabv3_mnv2_dm05_pascal_quant')
    pc = os.path.join(get_package_share_directory('deeplab_ros'), 'launch', 'pc.launch.py')
    return launch.LaunchDescription([
        launch.actions.IncludeLaunchDescription(
            launch.launch_description_sources.PythonLaunchDescriptionSource(pc),
            launch_arguments={'namespace': NAMESPACE, 'num_threads': '2'}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


class TestPcLaunch(unittest.TestCase):
    """The launched node goes active by itself and segments published images."""

    @classmethod
    def setUpClass(cls):
        cls.client = LifecycleClient('test_pc_launch', namespace=NAMESPACE, timeout=90.0)
        cls.node = cls.client.node

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def _transition(self, transition_id):
        self.assertTrue(self.client.change_state(NODE, transition_id))

    def _publish_until_labels(self, seconds):
        """Publish a 640x480 frame at 5 Hz until labels come back; return them."""
        received = []
        arrived = threading.Event()

        def on_labels(msg):
            received.append(msg)
            arrived.set()
        sub = self.node.create_subscription(
            Image, 'segmentation/labels', on_labels,
            QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
        pub = self.node.create_publisher(Image, 'image', qos_profile_sensor_data)
        rgb = np.zeros((480, 640, 3), np.uint8)
        rgb[:, :, 0] = np.arange(640, dtype=np.uint8)[None, :]
        stamps = []
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not arrived.is_set():
                msg = Image(height=480, width=640, encoding='rgb8', step=640 * 3,
                            data=rgb.tobytes())
                msg.header.stamp = self.node.get_clock().now().to_msg()
                msg.header.frame_id = 'test_camera'
                stamps.append((msg.header.stamp.sec, msg.header.stamp.nanosec))
                pub.publish(msg)
                arrived.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        finally:
            self.node.destroy_subscription(sub)
            self.node.destroy_publisher(pub)
        return list(received), stamps

    def test_active_then_outputs_flow_and_lifecycle_set(self):
        self.client.wait_state(NODE, 'active')
        received, stamps = self._publish_until_labels(60.0)
        self.assertTrue(received, 'no segmentation/labels within 60 s')
        labels = received[0]
        self.assertEqual((labels.height, labels.width, labels.encoding), (480, 640, 'mono8'))
        self.assertEqual(labels.header.frame_id, 'test_camera')
        self.assertIn((labels.header.stamp.sec, labels.header.stamp.nanosec), stamps)

        # ros2 lifecycle set deactivate: no outputs; activate: they come back.
        self._transition(Transition.TRANSITION_DEACTIVATE)
        self.assertEqual(self.client.state(NODE), 'inactive')
        received, _ = self._publish_until_labels(3.0)
        self.assertEqual(received, [], 'labels published while inactive')
        self._transition(Transition.TRANSITION_ACTIVATE)
        self.assertEqual(self.client.state(NODE), 'active')
        received, _ = self._publish_until_labels(30.0)
        self.assertTrue(received, 'no labels after activating again')


@launch_testing.post_shutdown_test()
class TestPcLaunchShutdown(unittest.TestCase):
    """The node exits cleanly when the launch is stopped."""

    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(
            proc_info, allowable_exit_codes=[launch_testing.asserts.EXIT_OK, -2, -15])
