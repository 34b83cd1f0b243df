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
Static checks of the launch files and board configurations (no launch install needed).

Every key in config/*.yaml must be a parameter the node declares, with the declared type;
board files hold only differences from common.yaml; every board has a launch file that
includes the core with its board name; the core declares the documented arguments and
uses lifecycle events (not the Jazzy-only autostart= of LifecycleNode).
"""

import ast
from pathlib import Path
from typing import Dict, Set

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / 'config'
LAUNCH = ROOT / 'launch'
BOARDS = ('pc', 'rpi', 'coral', 'imx8mp', 'imx93')
CORE_ARGUMENTS = {'board', 'params_file', 'namespace', 'image', 'camera_info', 'cameras',
                  'autostart', 'log_level', 'use_rviz'}
# Fixed by the node's issue; the node must declare at least these.
ISSUE_PARAMETERS = {
    'model', 'labels', 'palette', 'runtime', 'delegate', 'delegate_library',
    'delegate_options', 'delegate_fallback', 'num_threads', 'warmup_runs', 'resize_mode',
    'output_resolution', 'cameras', 'input_transport', 'publish_color', 'publish_overlay',
    'publish_confidence', 'overlay_alpha', 'max_rate', 'mask_classes', 'latency_warn_ms',
    'diagnostics_period'}


def _node_parameters() -> Dict[str, type]:
    """Return the node's parameter names and types (the pure schema, no rclpy needed)."""
    from deeplab_ros.parameters import SPECS
    return {name: type(spec.default) for name, spec in SPECS.items()}


def _parameters(path: Path) -> dict:
    """Load one parameter file; it must use the "/**: ros__parameters:" layout."""
    data = yaml.safe_load(path.read_text(encoding='utf-8'))
    assert list(data) == ['/**'], f'{path.name}: expected the single key "/**"'
    assert list(data['/**']) == ['ros__parameters'], f'{path.name}: expected ros__parameters'
    return data['/**']['ros__parameters']


def _call_strings(path: Path, function: str) -> Set[str]:
    """Return the first string argument of every call to function in a file."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == function:
            if node.args and isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
    return names


def test_node_declares_the_issue_parameters():
    assert ISSUE_PARAMETERS <= set(_node_parameters())


@pytest.mark.parametrize('name', ('common',) + BOARDS)
def test_config_keys_are_declared_parameters_with_their_types(name):
    declared = _node_parameters()
    for key, value in _parameters(CONFIG / f'{name}.yaml').items():
        assert key in declared, f'{name}.yaml: {key} is not a parameter of the node'
        expected = declared[key]
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
    common = _parameters(CONFIG / 'common.yaml')
    board_parameters = _parameters(CONFIG / f'{board}.yaml')
    assert board_parameters, f'{board}.yaml is empty'
    same = {k for k, v in board_parameters.items() if k in common and common[k] == v}
    assert not same, f'{board}.yaml repeats common.yaml values: {sorted(same)}'


def test_accelerator_boards_name_their_delegate():
    expected = {
        'coral': ('edgetpu', None), 'imx8mp': ('vx', '/usr/lib/libvx_delegate.so'),
        'imx93': ('ethosu', '/usr/lib/libethosu_delegate.so')}
    for board, (delegate, library) in expected.items():
        parameters = _parameters(CONFIG / f'{board}.yaml')
        assert parameters['delegate'] == delegate
        if library:
            assert parameters['delegate_library'] == library
    assert _parameters(CONFIG / 'coral.yaml')['model'].endswith('_edgetpu')
    assert _parameters(CONFIG / 'imx8mp.yaml')['model'] == (
        'lite-model_deeplabv3-mobilenetv2_dm05-int8_1_default_2')
    assert _parameters(CONFIG / 'rpi.yaml')['num_threads'] == 4


@pytest.mark.parametrize('board', BOARDS)
def test_board_launch_includes_the_core_with_its_board(board):
    path = LAUNCH / f'{board}.launch.py'
    text = path.read_text(encoding='utf-8')
    assert 'IncludeLaunchDescription' in text and "'deeplab.launch.py'" in text
    tree = ast.parse(text)
    boards = [
        value.value for node in ast.walk(tree) if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values)
        if isinstance(key, ast.Constant) and key.value == 'board'
        and isinstance(value, ast.Constant)]
    assert boards == [board], f'{path.name} passes board {boards}'


def test_core_declares_the_documented_arguments():
    declared = _call_strings(LAUNCH / 'deeplab.launch.py', 'DeclareLaunchArgument')
    assert CORE_ARGUMENTS <= declared, sorted(CORE_ARGUMENTS - declared)


def test_core_autostarts_through_lifecycle_events():
    text = (LAUNCH / 'deeplab.launch.py').read_text(encoding='utf-8')
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'LifecycleNode':
            keywords = {k.arg for k in node.keywords}
            assert 'autostart' not in keywords, 'LifecycleNode(autostart=) is Jazzy-only'
            assert {'name', 'namespace'} <= keywords, 'Humble needs name and namespace'
    for needed in ('OnStateTransition', 'TRANSITION_CONFIGURE', 'TRANSITION_ACTIVATE',
                   "start_state='configuring'", "goal_state='inactive'"):
        assert needed in text, needed


def test_launch_applies_the_shipped_fastdds_profile():
    text = (LAUNCH / 'deeplab.launch.py').read_text(encoding='utf-8')
    assert 'FASTRTPS_DEFAULT_PROFILES_FILE' in text
    assert "'fastdds_large_data.xml'" in text
    assert (CONFIG / 'fastdds_large_data.xml').is_file()


def test_npu_launch_files_use_the_delegates_cache_options():
    imx8mp = (LAUNCH / 'imx8mp.launch.py').read_text(encoding='utf-8')
    assert 'allowed_cache_mode=true' in imx8mp and 'cache_file_path=' in imx8mp
    imx93 = (LAUNCH / 'imx93.launch.py').read_text(encoding='utf-8')
    assert 'device_name=' in imx93 and 'cache_file_path=' in imx93
    coral = (LAUNCH / 'coral.launch.py').read_text(encoding='utf-8')
    assert "'device='" in coral


def test_rviz_view_shows_image_colour_and_overlay():
    view = yaml.safe_load((CONFIG / 'deeplab.rviz').read_text(encoding='utf-8'))
    displays = view['Visualization Manager']['Displays']
    topics = {d['Topic']['Value'] for d in displays
              if d['Class'] == 'rviz_default_plugins/Image'}
    assert topics == {'image', 'segmentation/color', 'segmentation/overlay'}


def test_setup_installs_launch_and_config_files():
    text = (ROOT / 'setup.py').read_text(encoding='utf-8')
    assert "glob('launch/*.launch.py')" in text and "glob('config/*')" in text


def test_core_list_arguments_parse_yaml_and_comma_forms():
    pytest.importorskip('launch')
    pytest.importorskip('launch_ros')
    import importlib.util

    spec = importlib.util.spec_from_file_location('deeplab_core_launch',
                                                  LAUNCH / 'deeplab.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._string_list('[front, rear]') == ['front', 'rear']
    assert module._string_list(' front , rear,') == ['front', 'rear']
    assert module._string_list('') == []


@pytest.mark.parametrize('board', BOARDS)
def test_board_launch_descriptions_build(board):
    pytest.importorskip('launch')
    pytest.importorskip('launch_ros')
    from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
    from launch import LaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    try:
        get_package_share_directory('deeplab_ros')
    except PackageNotFoundError:
        pytest.skip('deeplab_ros is not installed in the ament index (AMENT_PREFIX_PATH)')
    source = PythonLaunchDescriptionSource(str(LAUNCH / f'{board}.launch.py'))
    description = source.try_get_launch_description_without_context()
    assert isinstance(description, LaunchDescription) and description.entities
