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

"""The parameter schema without ROS: descriptions, validation, launch text, live snapshot."""

from pathlib import Path

from deeplab_ros.engine import registry
from deeplab_ros.engine.labels import resolve_labels
from deeplab_ros.parameters import (check, check_together, CLASS_LISTS, CONFIGURE, LIVE,
                                    Live, parse_text, SPECS)
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VOC = resolve_labels(21, default_labels='voc')


def defaults() -> dict:
    return {name: spec.default for name, spec in SPECS.items()}


def test_every_parameter_says_what_it_means_and_when_it_applies():
    for spec in SPECS.values():
        assert spec.applies in (CONFIGURE, LIVE)
        assert len(spec.description) > 20 and spec.description.endswith('.'), spec.name
        suffix = 'Read at configure' if spec.applies == CONFIGURE else 'Takes effect at once'
        assert suffix in spec.full_description
        assert check(spec.name, spec.default) is None, spec.name
    assert SPECS['input_transport'].applies == CONFIGURE
    assert SPECS['geometry'].applies == CONFIGURE and SPECS['max_rate'].applies == LIVE
    assert 'probabilities' in SPECS['publish_confidence'].description


@pytest.mark.parametrize('name, value, match', [
    ('resize_mode', 'fisheye', 'resize_mode must be one of auto, stretch, letterbox'),
    ('geometry', 'lidar', 'geometry must be one of none, depth, ground_plane'),
    ('num_threads', 65, 'num_threads must be from 0 to 64'),
    ('cloud_stride', 0, 'cloud_stride must be from 1 to 64'),
    ('camera_height', -0.5, 'camera_height must be from 0 to 100'),
    ('camera_pitch', 2.0, 'camera_pitch must be from'),
    ('max_range', 0.0, 'max_range must be from 0.1'),
    ('max_input_pixels', 0, 'max_input_pixels must be from 1'),
    ('model', ' ', 'model must name'),
    ('delegate_options', ['device'], 'key=value'),
    ('cameras', ['a', 'a'], 'must not repeat'),
    ('cameras', ['1st'], 'not a valid ROS namespace'),
    ('cameras', ['front/left', 'rear'], None),
])
def test_bad_values_are_rejected_with_a_reason(name, value, match):
    reason = check(name, value)
    if match is None:
        assert reason is None
    else:
        assert reason and match in reason


@pytest.mark.parametrize('name', CLASS_LISTS)
def test_class_lists_take_names_or_ids_of_the_loaded_model(name):
    assert check(name, ['person', 'Dining Table', '7'], class_ids=VOC.class_ids) is None
    reason = check(name, ['unicorn'], class_ids=VOC.class_ids)
    assert reason.startswith(f'{name}: unknown class name') and 'person' in reason
    assert check(name, ['unicorn']) is None  # before configure: checked at configure


def test_ground_plane_needs_a_camera_height():
    values = defaults()
    assert check_together(values) is None
    values['geometry'] = 'ground_plane'
    assert 'needs camera_height' in check_together(values)
    values['camera_height'] = 0.6
    assert check_together(values) is None


@pytest.mark.parametrize('name, text, value', [
    ('delegate_fallback', 'true', True), ('delegate_fallback', 'False', False),
    ('num_threads', '4', 4), ('max_rate', '5', 5.0), ('camera_pitch', '-0.25', -0.25),
    ('cameras', '[front, rear]', ['front', 'rear']), ('cameras', 'front, rear', ['front', 'rear']),
    ('mask_classes', '[person]', ['person']), ('model', ' dm05 ', 'dm05'),
    ('delegate_options', '[device=usb:1]', ['device=usb:1']),
])
def test_launch_argument_text_is_typed(name, text, value):
    parsed = parse_text(name, text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize('name, text', [('delegate_fallback', 'maybe'), ('num_threads', 'two'),
                                        ('cameras', '[a: b]'), ('cameras', '[a')])
def test_launch_argument_text_of_the_wrong_type_says_so(name, text):
    with pytest.raises(ValueError, match=name):
        parse_text(name, text)


def test_live_snapshot_resolves_class_lists():
    values = defaults()
    values.update(mask_classes=['person'], obstacle_classes=['cat', '12'], max_rate=5.0)
    live = Live.from_values(values, VOC.class_ids)
    assert live.mask_ids == (15,) and live.obstacle_ids == (8, 12) and live.ground_ids == ()
    assert live.max_rate == 5.0 and live.resize_mode == 'auto'


@pytest.mark.parametrize('path', sorted((ROOT / 'config').glob('nav_*.yaml')),
                         ids=lambda p: p.name)
def test_navigation_examples_are_valid_for_their_models(path):
    values = yaml.safe_load(path.read_text())['/**']['ros__parameters']
    labels = resolve_labels(registry.MODELS[values['model']].classes,
                            default_labels=registry.MODELS[values['model']].labels)
    merged = {**{name: spec.default for name, spec in SPECS.items()}, **values}
    for name, value in values.items():
        assert name in SPECS, name
        assert check(name, value, class_ids=labels.class_ids) is None, name
    assert check_together(merged) is None
    assert values['geometry'] != 'none' and values['obstacle_classes']


def _row_words(spec) -> tuple:
    """Return how the reference writes a parameter's type, default and range."""
    default = spec.default
    if isinstance(default, bool):
        kind, text = 'bool', str(default).lower()
    elif isinstance(default, (int, float)):
        kind, text = ('int' if isinstance(default, int) else 'double'), repr(default)
    elif isinstance(default, list):
        kind, text = 'string array', repr(default)
    else:
        kind, text = 'string', default or '""'
    bounds = spec.bounds and '..'.join(
        str(b) if isinstance(b, int) else f'{b:g}' for b in spec.bounds)
    return kind, text, bounds and f'Range {bounds}.'


def test_the_node_reference_lists_every_parameter_as_the_schema_has_it():
    text = (ROOT / 'doc' / 'node.md').read_text()
    section = text[text.index('\n## Parameters\n'):text.index('\n## Lifecycle\n')]
    rows = {row.split('`')[1]: ' '.join(row.split()) for row in section.split('\n- ')[1:]}
    assert set(rows) == {*SPECS, 'class_names'}
    for name, spec in SPECS.items():
        kind, default, bounds = _row_words(spec)
        assert rows[name].startswith(f'`{name}` ({kind}, `{default}`): '), rows[name]
        assert rows[name].endswith('*configure*') == (spec.applies == CONFIGURE), name
        assert (bounds in rows[name]) if bounds else 'Range' not in rows[name], name
