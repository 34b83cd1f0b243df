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

"""The node configured with LiteRT's accelerators publishes the CPU's labels (>= 99 %)."""

from deeplab_ros.engine.pipeline import Segmenter
from diagnostic_msgs.msg import DiagnosticArray
import node_harness as h
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

GOLDEN = 'bird_segmentation.bmp'
CASES = [
    pytest.param('gpu', 'deeplabv3_257_mv_gpu', marks=pytest.mark.accelerator('gpu'), id='gpu'),
    pytest.param('openvino', 'deeplabv3_mnv2_pascal_quant', marks=pytest.mark.requires(
        'openvino', 'the openvino extra (requirements-openvino.txt)'), id='openvino'),
]


@pytest.fixture(scope='module')
def ros():
    ros = h.Ros('test_node_accelerators_client')
    yield ros
    ros.close()


@pytest.mark.parametrize('delegate,model', CASES)
def test_node_publishes_the_cpu_labels(ros, tmp_path, delegate, model):
    name = f'deeplab_{delegate}'
    h.require(model, GOLDEN)
    node = h.NodeProcess(name, {'model': model, 'delegate': delegate, 'num_threads': '2',
                                'diagnostics_period': '0.25'}, tmp_path)
    try:
        best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        image_pub = ros.node.create_publisher(Image, '/image', best_effort)
        labels = h.Collector(ros.node, Image, '/segmentation/labels')
        diagnostics = h.Collector(ros.node, DiagnosticArray, '/diagnostics')
        assert ros.change_state(f'/{name}', h.CONFIGURE), node.log()
        assert ros.change_state(f'/{name}', h.ACTIVATE)
        rgb = h.load_rgb(GOLDEN)
        stamp = 1_700_000_000_000_000_000
        msg = h.image_msg(h.encode(rgb, 'rgb8'), rgb.shape[1], 'rgb8', stamp, 'camera_optical')
        published = h.publish_until(ros, image_pub, msg, [labels], stamp)[0]
        cpu = Segmenter.open(model, num_threads=2)
        expected = cpu.segment(rgb).labels
        cpu.close()
        assert (h.as_array(published) == expected).mean() >= 0.99

        def accelerator():
            found = diagnostics.find(
                lambda m: h.diagnostic_values(m, name) is not None)
            return found and h.diagnostic_values(found, name)
        values = ros.wait_for(accelerator, what='diagnostics')
        assert values['delegate'] == delegate and values['accelerator'].startswith(delegate)
        assert values['fully_accelerated'] == 'True' and values['delegate_fell_back'] == 'False'
        assert f'on ai_edge_litert/{delegate}: ' in node.log()
    finally:
        assert node.stop() == 0, node.log()
