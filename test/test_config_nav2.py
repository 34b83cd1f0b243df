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
The Nav2 examples in config/nav2/ as Nav2 would load them, against the node that feeds them.

Each file is parsed as Nav2 reads its parameter file. The cloud layer's sources must mark from
``segmentation/obstacles`` and clear from ``segmentation/ground``; the semantic segmentation
layer's from the node's labels, label_info and points. A semantic layer file
``semantic_layer_<name>.yaml`` goes with the node's ``config/nav_<name>.yaml``: that model is
opened as configure opens it, and every class name the layer lists must be one of the model's
(spelled as LabelInfo spells it: the layer matches names as they are), every model class in
exactly one class type (the layer logs an ERROR for the others), and no ``confidence_topic``
for a model without scores (the layer's synchronizer would wait for it for ever).
"""

from pathlib import Path
from typing import Any, Dict

from deeplab_ros.engine.pipeline import open_segmenter
from deeplab_ros.frame.clouds import CLOUD_OUTPUTS
from deeplab_ros.frame.job import IMAGE_OUTPUTS
from deeplab_ros.parameters import SPECS
import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[1] / 'config'
#: What the node publishes per camera, as segmentation/<output>.
NODE_OUTPUTS = {*IMAGE_OUTPUTS, *CLOUD_OUTPUTS, 'camera_info', 'label_info'}
SEMANTIC = sorted((CONFIG / 'nav2').glob('semantic_layer_*.yaml'))


def costmap(path: Path) -> Dict[str, Any]:
    """Return the local costmap's parameters, each listed plugin checked to have a type."""
    params = yaml.safe_load(path.read_text())['local_costmap']['local_costmap']['ros__parameters']
    for plugin in params['plugins']:
        assert '::' in params[plugin]['plugin'], (path.name, plugin)
    return params


def node_output(topic: str) -> str:
    """Return the node output a topic of the examples names (the node in the root namespace)."""
    prefix, _, output = topic.rpartition('/')
    assert prefix == '/segmentation' and output in NODE_OUTPUTS, topic
    return output


def node_example(name: str) -> Dict[str, Any]:
    """Return the parameter values of config/nav_<name>.yaml over the defaults."""
    values = yaml.safe_load((CONFIG / f'nav_{name}.yaml').read_text())['/**']['ros__parameters']
    return {**{n: spec.default for n, spec in SPECS.items()}, **values, 'num_threads': 1}


def test_the_cloud_layer_marks_obstacles_and_clears_ground_within_the_node_range():
    layer = costmap(CONFIG / 'nav2' / 'obstacle_layer.yaml')['semantic_layer']
    assert layer['plugin'] == 'nav2_costmap_2d::ObstacleLayer'
    sources = {name: layer[name] for name in layer['observation_sources'].split()}
    roles = {node_output(s['topic']): (s['marking'], s['clearing']) for s in sources.values()}
    assert roles == {'obstacles': (True, False), 'ground': (False, True)}
    assert all(s['data_type'] == 'PointCloud2' for s in sources.values())
    for source in sources.values():  # flat-ground points lie at z = 0: inside the band
        assert source['min_obstacle_height'] < 0.0 < source['max_obstacle_height']
    reach = max(s.get('raytrace_max_range', s.get('obstacle_max_range', 0.0))
                for s in sources.values())
    for path in sorted(CONFIG.glob('nav_*.yaml')):
        values = node_example(path.stem[len('nav_'):])
        if values['ground_classes']:  # the examples the clearing source can serve
            assert values['max_range'] >= reach, path.name


@pytest.mark.parametrize('path', SEMANTIC, ids=lambda p: p.stem)
def test_the_semantic_layer_names_the_classes_of_its_model(path):
    layer = costmap(path)['semantic_segmentation_layer']
    assert layer['plugin'] == 'semantic_segmentation_layer::SemanticSegmentationLayer'
    values = node_example(path.stem[len('semantic_layer_'):])
    assert values['geometry'] != 'none'  # segmentation/points needs it
    segmenter = open_segmenter(values)
    try:
        names, has_scores = segmenter.labels.names, segmenter.info.has_scores
    finally:
        segmenter.close()
    for name in layer['observation_sources'].split():
        source = layer[name]
        assert node_output(source['segmentation_topic']) == 'labels'
        assert node_output(source['labels_topic']) == 'label_info'
        assert node_output(source['pointcloud_topic']) == 'points'
        assert ('confidence_topic' in source) == has_scores, name
        listed = [c for kind in source['class_types'] for c in source[kind]['classes']]
        assert sorted(listed) == sorted(set(listed)), 'a class in two class types'
        assert set(listed) == set(names), (set(listed) - set(names), set(names) - set(listed))
        assert source['max_obstacle_distance'] <= values['max_range']
