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
The board configurations and launch descriptions, as a user gets them.

Every key in config/*.yaml is a parameter the node declares, with the declared type, once the
board arguments are put in; board files hold only differences from common.yaml; every board
has its configuration, its launch file and its arguments, each used; parameter arguments
are typed as their parameters, and a bad one is refused with the reason; a board launch
file refuses another board, naming the launch file to use. Where ``launch`` is
installed: the board files' substitutions evaluate as launch evaluates them, and each launch
file offers (``--show-args``) every parameter, the core's arguments and its board's only.
The launch tests (test_launch_*.py, launch_testing) start them for real.
"""

from pathlib import Path
import re
from typing import Dict, Mapping, Optional

from deeplab_ros.launch_args import board_mismatch, board_values, BOARDS, parameter_overrides
from deeplab_ros.parameters import SPECS
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / 'config'
LAUNCH = ROOT / 'launch'
CORE_ARGUMENTS = {'board', 'params_file', 'namespace', 'image', 'camera_info', 'autostart',
                  'log_level', 'use_rviz', 'rviz_config', 'dds_profile'}
# Fixed by the node's issue; the node must declare at least these.
ISSUE_PARAMETERS = {
    'model', 'labels', 'palette', 'runtime', 'delegate', 'delegate_library',
    'delegate_options', 'delegate_fallback', 'num_threads', 'warmup_runs', 'resize_mode',
    'output_resolution', 'cameras', 'input_transport', 'publish_color', 'publish_overlay',
    'publish_confidence', 'overlay_alpha', 'max_rate', 'mask_classes', 'latency_warn_ms',
    'diagnostics_period'}
SUBSTITUTION = re.compile(r'\$\((\S+) ([^)]*)\)')


def _text_raw(board: str) -> str:
    """Return a configuration file as it is."""
    return (CONFIG / f'{board}.yaml').read_text(encoding='utf-8')


def _text(board: str, given: Optional[Mapping[str, str]] = None) -> str:
    """Return a board file with its ``$(var name)`` put in: given values, else defaults."""
    text = _text_raw(board)
    values = board_values(board, given or {}) if board in BOARDS else {}

    def put_in(match: 're.Match') -> str:
        kind, name = match.groups()
        assert kind == 'var' and name in values, (
            f'{board}.yaml: $({kind} {name}) is not an argument of board {board}')
        return values[name]
    return SUBSTITUTION.sub(put_in, text)


def _parameters(board: str, given: Optional[Mapping[str, str]] = None) -> dict:
    """Load one parameter file; it must use the "/**: ros__parameters:" layout."""
    data = yaml.safe_load(_text(board, given))
    assert list(data) == ['/**'], f'{board}.yaml: expected the single key "/**"'
    assert list(data['/**']) == ['ros__parameters'], f'{board}.yaml: expected ros__parameters'
    return data['/**']['ros__parameters']


def test_node_declares_the_issue_parameters():
    assert ISSUE_PARAMETERS <= set(SPECS)


def test_every_board_has_its_configuration_and_launch_file():
    configured = {path.stem for path in CONFIG.glob('*.yaml')}
    assert set(BOARDS) | {'common'} <= configured
    launch_files = {path.name.split('.')[0] for path in LAUNCH.glob('*.launch.py')}
    assert launch_files == set(BOARDS) | {'deeplab'}


@pytest.mark.parametrize('name', ('common',) + tuple(BOARDS))
def test_config_keys_are_declared_parameters_with_their_types(name):
    for key, value in _parameters(name).items():
        assert key in SPECS, f'{name}.yaml: {key} is not a parameter of the node'
        expected = type(SPECS[key].default)
        if expected is list:
            assert isinstance(value, list) and value, f'{name}.yaml: {key} must be a list'
            assert all(isinstance(item, str) for item in value), f'{name}.yaml: {key}'
        else:
            # bool is an int subclass in Python but not in ROS: compare exact types.
            assert type(value) is expected, (
                f'{name}.yaml: {key}: {value!r} is {type(value).__name__}, the node '
                f'declares {expected.__name__}')


@pytest.mark.parametrize('board', BOARDS)
def test_board_files_hold_only_differences(board):
    common = _parameters('common')
    board_parameters = _parameters(board)
    assert board_parameters, f'{board}.yaml is empty'
    same = {k for k, v in board_parameters.items() if k in common and common[k] == v}
    assert not same, f'{board}.yaml repeats common.yaml values: {sorted(same)}'


@pytest.mark.parametrize('board', BOARDS)
def test_board_arguments_are_used_by_the_board_file_and_named_once(board):
    used = {name for kind, name in SUBSTITUTION.findall(_text_raw(board))}
    assert used == set(BOARDS[board]), f'{board}: arguments {sorted(BOARDS[board])}, used {used}'
    others = {name for other in BOARDS if other != board for name in BOARDS[other]}
    for name, argument in BOARDS[board].items():
        assert name not in others and name not in SPECS and name not in CORE_ARGUMENTS, name
        assert argument.choices is None or argument.default in argument.choices


def test_accelerator_boards_name_their_delegate():
    expected = {
        'coral': ('edgetpu', None), 'imx8mp': ('vx', '/usr/lib/libvx_delegate.so'),
        'imx93': ('ethosu', '/usr/lib/libethosu_delegate.so'), 'gpu': ('gpu', None),
        'intel': ('openvino', None)}
    for board, (delegate, library) in expected.items():
        parameters = _parameters(board)
        assert parameters['delegate'] == delegate
        if library:
            assert parameters['delegate_library'] == library
    assert _parameters('coral')['model'].endswith('_edgetpu')
    assert _parameters('imx8mp')['model'] == (
        'lite-model_deeplabv3-mobilenetv2_dm05-int8_1_default_2')
    assert _parameters('rpi')['num_threads'] == 4
    assert _parameters('pc')['num_threads'] == 0
    assert 'model' not in _parameters('imx93')  # common.yaml's, or the user's Vela model


def test_board_arguments_set_the_delegate_options():
    assert _parameters('coral')['delegate_options'] == ['device=usb']
    assert _parameters('coral', {'device': 'pci:1'})['delegate_options'] == ['device=pci:1']
    assert _parameters('imx8mp')['delegate_options'] == [
        'allowed_cache_mode=true', 'cache_file_path={cache}/vx_cache/{model}.nb']
    assert _parameters('imx8mp', {'use_cache': 'false', 'cache_file': '/data/g.nb'})[
        'delegate_options'] == ['allowed_cache_mode=false', 'cache_file_path=/data/g.nb']
    assert _parameters('imx93')['delegate_options'] == [
        'device_name=/dev/ethosu0', 'cache_file_path={cache}/ethosu_cache/{model}/']
    # none: put in empty, the option unset (the node leaves key= options out at configure).
    assert _parameters('imx93', {'cache_dir': 'none', 'device_name': '/dev/ethosu1'})[
        'delegate_options'] == ['device_name=/dev/ethosu1', 'cache_file_path=']
    assert _parameters('coral', {'device': 'none'})['delegate_options'] == ['device=']
    assert _parameters('intel')['delegate_options'] == ['device=AUTO']
    assert _parameters('intel', {'openvino_device': 'NPU'})['delegate_options'] == [
        'device=NPU']


def test_parameter_arguments_are_typed_as_their_parameters():
    given = {'num_threads': '4', 'delegate_fallback': 'true', 'cameras': '[front, rear]',
             'max_rate': '5', 'model': 'x.tflite', 'mask_classes': '15,person',
             'labels': '', 'namespace': 'not_a_parameter', 'board': 'pc', 'device': 'usb'}
    assert parameter_overrides(given) == {
        'num_threads': 4, 'delegate_fallback': True, 'cameras': ['front', 'rear'],
        'max_rate': 5.0, 'model': 'x.tflite', 'mask_classes': ['15', 'person']}
    assert parameter_overrides({'num_threads': ' ', 'model': ''}) == {}


@pytest.mark.parametrize('name, text, words', [
    ('num_threads', 'abc', 'num_threads'),
    ('num_threads', '100', 'from 0 to 64'),
    ('delegate', 'tpu', 'one of'),
    ('delegate_fallback', 'maybe', 'true or false'),
    ('cameras', '[]', 'empty list'),
    ('delegate_options', '[device]', 'key=value'),
])
def test_bad_parameter_arguments_are_refused_with_the_reason(name, text, words):
    with pytest.raises(ValueError, match=words):
        parameter_overrides({name: text})


def test_board_launch_file_refuses_another_board_naming_the_right_one():
    assert board_mismatch('pc', None) is None
    assert board_mismatch('pc', 'pc') is None
    reason = board_mismatch('pc', 'coral')
    assert 'coral.launch.py' in reason and 'pc.launch.py' in reason
    assert 'known boards: pc, rpi, coral, imx8mp, imx93, gpu, intel' in board_mismatch(
        'rpi', 'jetson')


def test_rviz_view_shows_image_colour_and_overlay():
    view = yaml.safe_load((CONFIG / 'deeplab.rviz').read_text(encoding='utf-8'))
    displays = view['Visualization Manager']['Displays']
    topics = {d['Topic']['Value'] for d in displays
              if d['Class'] == 'rviz_default_plugins/Image'}
    assert topics == {'image', 'segmentation/color', 'segmentation/overlay'}


#: Tests that build launch descriptions need launch and launch_ros (not on PyPI).
needs_launch = pytest.mark.requires(
    'launch_ros', 'builds the launch descriptions (launch and launch_ros are not on PyPI); '
    'runs in the real-install route')


@pytest.mark.parametrize('board', BOARDS)
@needs_launch
def test_board_files_evaluate_as_launch_does(board):
    from launch import LaunchContext
    from launch_ros.parameter_descriptions import ParameterFile

    given = {name: f'given_{name}' for name in BOARDS[board]}
    context = LaunchContext()
    context.launch_configurations.update(given)
    parameter_file = ParameterFile(str(CONFIG / f'{board}.yaml'), allow_substs=True)
    try:
        evaluated = yaml.safe_load(Path(parameter_file.evaluate(context)).read_text())
    finally:
        parameter_file.cleanup()
    assert evaluated['/**']['ros__parameters'] == _parameters(board, given)


def _shown(launch_file: str) -> Dict[str, object]:
    """Return the arguments ``ros2 launch deeplab_ros <launch_file> --show-args`` lists."""
    from launch import LaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    source = PythonLaunchDescriptionSource(str(LAUNCH / launch_file))
    description = source.try_get_launch_description_without_context()
    assert isinstance(description, LaunchDescription) and description.entities
    return {argument.name: argument for argument in description.get_launch_arguments()}


@pytest.mark.parametrize('board', BOARDS)
@needs_launch
def test_board_launch_files_offer_the_parameters_and_their_board_arguments(board):
    shown = _shown(f'{board}.launch.py')
    assert set(shown) == set(SPECS) | CORE_ARGUMENTS | set(BOARDS[board])
    for name, argument in BOARDS[board].items():
        assert shown[name].default_value[0].text == argument.default
    assert shown['board'].default_value[0].text == board


@needs_launch
def test_core_launch_file_offers_every_board_and_its_arguments():
    shown = _shown('deeplab.launch.py')
    every = {name for arguments in BOARDS.values() for name in arguments}
    assert set(shown) == set(SPECS) | CORE_ARGUMENTS | every
    assert shown['board'].choices == list(BOARDS)


@needs_launch
def test_launch_exports_the_shipped_fastdds_profile(monkeypatch):
    monkeypatch.delenv('FASTRTPS_DEFAULT_PROFILES_FILE', raising=False)
    profile = Path(_shown('pc.launch.py')['dds_profile'].default_value[0].text)
    assert profile.name == 'fastdds_large_data.xml' and profile.is_file()
