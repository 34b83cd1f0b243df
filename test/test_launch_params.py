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
The launch files' parameter layering (deeplab_ros.launch_params), without launch installed.

Launch arguments typed as their parameters; which parameter file entries reach a node, as
rclpy reads them; the override file; delegate option edits; the board check.
"""

from pathlib import Path

from deeplab_ros.node.launch_params import (argument_overrides, board_mismatch, file_values,
                                            node_fqn, OptionEdits, overrides_file_text)
import pytest
import yaml

CONFIG = Path(__file__).resolve().parent.parent / 'config'


def test_argument_overrides_type_the_given_parameter_arguments():
    given = {'num_threads': '4', 'delegate_fallback': 'true', 'cameras': '[front, rear]',
             'max_rate': '5', 'model': 'x.tflite', 'mask_classes': '15,person',
             'labels': '', 'namespace': 'not_a_parameter', 'board': 'pc'}
    assert argument_overrides(given) == {
        'num_threads': 4, 'delegate_fallback': True, 'cameras': ['front', 'rear'],
        'max_rate': 5.0, 'model': 'x.tflite', 'mask_classes': ['15', 'person']}
    assert argument_overrides({'num_threads': ' ', 'model': ''}) == {}


@pytest.mark.parametrize('name, text, words', [
    ('num_threads', 'abc', 'num_threads'),
    ('num_threads', '100', 'from 0 to 64'),
    ('delegate', 'tpu', 'one of'),
    ('delegate_fallback', 'maybe', 'true or false'),
    ('cameras', '[]', 'empty list'),
    ('delegate_options', '[device]', 'key=value'),
])
def test_argument_overrides_refuse_bad_values_with_the_reason(name, text, words):
    with pytest.raises(ValueError, match=words):
        argument_overrides({name: text})


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding='utf-8')
    return str(path)


def test_file_values_match_node_keys_as_rclpy_does(tmp_path):
    # Measured with rclpy (Jazzy): which entries reach /ns/deeplab, /deeplab, /a/b/deeplab.
    keys = _write(tmp_path / 'keys.yaml', '\n'.join([
        '/**/deeplab: {ros__parameters: {a: 1}}',
        '/*/deeplab: {ros__parameters: {b: 1}}',
        'ns/deeplab: {ros__parameters: {c: 1}}',
        '/ns: {deeplab: {ros__parameters: {d: 1}}}',
        'deeplab: {ros__parameters: {e: 1}}',
        '/ns/*: {ros__parameters: {f: 1}}',
        '/**: {ros__parameters: {g: 1}}',
        '/**/ns/deeplab: {ros__parameters: {h: 1}}',
    ]))
    assert sorted(file_values([keys], '/ns/deeplab')) == list('abcdfgh')
    assert sorted(file_values([keys], '/deeplab')) == list('aeg')
    assert sorted(file_values([keys], '/a/b/deeplab')) == list('ag')


def test_file_values_layer_like_rcl(tmp_path):
    # rcl merges entries by node key and keeps the order of first appearance: a later
    # "/**" file loses to an earlier "/**/deeplab" entry (measured with rclpy).
    first = _write(tmp_path / 'a.yaml', '/**: {ros__parameters: {x: 1, y: 1}}')
    second = _write(tmp_path / 'b.yaml', '/**/deeplab: {ros__parameters: {x: 2}}')
    third = _write(tmp_path / 'c.yaml', '/**: {ros__parameters: {x: 3, y: 3}}')
    assert file_values([first, second, third], '/deeplab') == {'x': 2, 'y': 3}


def test_board_configuration_layers_over_common():
    files = [str(CONFIG / 'common.yaml'), str(CONFIG / 'imx93.yaml')]
    values = file_values(files, node_fqn('robot', 'deeplab'))
    assert values['delegate'] == 'ethosu'
    assert values['model'] == 'deeplabv3_mnv2_dm05_pascal_quant'
    assert values['delegate_options'] == [
        'device_name=/dev/ethosu0', 'cache_file_path={cache}/ethosu_cache/{model}/']


def test_node_fqn():
    assert node_fqn('', 'deeplab') == '/deeplab'
    assert node_fqn('/robot/', 'deeplab') == '/robot/deeplab'
    assert node_fqn('a/b', 'deeplab') == '/a/b/deeplab'


def test_overrides_file_keeps_types_and_is_keyed_by_the_node():
    values = {'mask_classes': ['15', 'true'], 'model': '1.5', 'num_threads': 2,
              'max_rate': 5.0, 'delegate_fallback': True,
              'delegate_options': ['cache_file_path={cache}/x/{model}.nb']}
    assert yaml.safe_load(overrides_file_text('/ns/deeplab', values)) == {
        '/ns/deeplab': {'ros__parameters': values}}


def test_option_edits_replace_in_place_append_remove_and_default():
    options = ['device=usb', 'cache_file_path=/a', 'x=1', 'device=pci']
    assert OptionEdits(replace={'device': 'usb:1'}).apply(options) == [
        'device=usb:1', 'cache_file_path=/a', 'x=1']
    assert OptionEdits(remove=['cache_file_path']).apply(options[:3]) == ['device=usb', 'x=1']
    assert OptionEdits(replace={'allowed_cache_mode': 'true'},
                       default={'cache_file_path': '{cache}/c.nb'}).apply(['x=1']) == [
        'x=1', 'allowed_cache_mode=true', 'cache_file_path={cache}/c.nb']
    assert OptionEdits(default={'cache_file_path': '/b'}).apply(options[:3]) == options[:3]


def test_option_edits_travel_as_text():
    edits = OptionEdits(replace={'device_name': '/dev/ethosu1'}, remove=['cache_file_path'])
    assert OptionEdits.from_text(edits.to_text()) == edits
    assert not OptionEdits.from_text('')
    assert edits


def test_board_mismatch_points_to_the_right_launch_file():
    assert board_mismatch('pc', None) is None
    assert board_mismatch('pc', 'pc') is None
    reason = board_mismatch('pc', 'coral')
    assert 'coral.launch.py' in reason and 'pc.launch.py' in reason
    assert 'known boards: pc, rpi, coral, imx8mp, imx93' in board_mismatch('rpi', 'jetson')
