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
board files hold only differences from common.yaml and carry the board's defaults (the
launch files pass no parameter values); every board has a launch file that includes the
core with its board name and nothing else; the core declares the documented arguments plus
one per node parameter, and autostarts through lifecycle events (not the Jazzy-only
autostart= of LifecycleNode), acting on the first configure only.
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
CORE_ARGUMENTS = {'board', 'params_file', 'namespace', 'image', 'camera_info', 'autostart',
                  'log_level', 'use_rviz', 'rviz_config', 'dds_profile'}
# Each board launch file's own arguments (besides board); they edit delegate_options.
BOARD_ARGUMENTS = {'pc': set(), 'rpi': set(), 'coral': {'device'},
                   'imx8mp': {'use_cache', 'cache_file'},
                   'imx93': {'model', 'device_name', 'cache_dir'}}
# Fixed by the node's issue; the node must declare at least these.
ISSUE_PARAMETERS = {
    'model', 'labels', 'palette', 'runtime', 'delegate', 'delegate_library',
    'delegate_options', 'delegate_fallback', 'num_threads', 'warmup_runs', 'resize_mode',
    'output_resolution', 'cameras', 'input_transport', 'publish_color', 'publish_overlay',
    'publish_confidence', 'overlay_alpha', 'max_rate', 'mask_classes', 'latency_warn_ms',
    'diagnostics_period'}


def _node_parameters() -> Dict[str, type]:
    """Return the node's parameter names and types (the pure schema, no rclpy needed)."""
    from deeplab_ros.frame.parameters import SPECS
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


def test_board_files_carry_the_board_defaults():
    # Formerly set by the launch files, which overrode the user's params_file.
    assert _parameters(CONFIG / 'pc.yaml')['num_threads'] == 0
    assert _parameters(CONFIG / 'coral.yaml')['delegate_options'] == ['device=usb']
    assert _parameters(CONFIG / 'imx8mp.yaml')['delegate_options'] == [
        'allowed_cache_mode=true', 'cache_file_path={cache}/vx_cache/{model}.nb']
    assert _parameters(CONFIG / 'imx93.yaml')['delegate_options'] == [
        'device_name=/dev/ethosu0', 'cache_file_path={cache}/ethosu_cache/{model}/']
    assert 'model' not in _parameters(CONFIG / 'imx93.yaml')  # common.yaml's


def _module_constants(path: Path) -> Dict[str, object]:
    """Return the module-level string constants of a file."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    return {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)
            and isinstance(node.value, ast.Constant)}


def _declared_defaults(path: Path) -> Dict[str, object]:
    """Return the arguments declared in a launch file with their default (ast node)."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    declared = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, 'id', None) ==
                'DeclareLaunchArgument' and node.args and isinstance(node.args[0], ast.Constant)):
            default = next(k.value for k in node.keywords if k.arg == 'default_value')
            declared[node.args[0].value] = default
    return declared


@pytest.mark.parametrize('board', BOARDS)
def test_board_launch_includes_the_core_with_its_board_only(board):
    path = LAUNCH / f'{board}.launch.py'
    text = path.read_text(encoding='utf-8')
    assert 'IncludeLaunchDescription' in text and "'deeplab.launch.py'" in text
    assert _module_constants(path)['BOARD'] == board
    tree = ast.parse(text)
    includes = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, 'id', None) == 'IncludeLaunchDescription']
    assert len(includes) == 1
    arguments = [node for node in ast.walk(includes[0]) if isinstance(node, ast.Dict)]
    keys = [key.value for node in arguments for key in node.keys]
    values = [value.id for node in arguments for value in node.values]
    # No parameter values: they would override the user's params_file.
    assert keys == ['board'] and values == ['BOARD'], f'{path.name} passes {keys}'


@pytest.mark.parametrize('board', BOARDS)
def test_board_arguments_default_to_the_configuration(board):
    declared = _declared_defaults(LAUNCH / f'{board}.launch.py')
    assert set(declared) == {'board'} | BOARD_ARGUMENTS[board]
    assert isinstance(declared.pop('board'), ast.Name)  # BOARD
    for name, default in declared.items():
        assert isinstance(default, ast.Constant) and default.value == '', (
            f'{board}.launch.py: {name} must default to empty (= from the configuration)')


@pytest.mark.parametrize('board', BOARDS)
def test_board_launch_refuses_another_board_and_scopes_itself(board):
    text = (LAUNCH / f'{board}.launch.py').read_text(encoding='utf-8')
    assert 'board_mismatch(BOARD' in text and 'raise RuntimeError(reason)' in text
    assert text.index('PushLaunchConfigurations()') < text.index('IncludeLaunchDescription(')
    assert text.index('IncludeLaunchDescription(') < text.index('PopLaunchConfigurations()')


def test_core_declares_the_documented_arguments_and_one_per_parameter():
    from deeplab_ros.frame.parameters import SPECS

    text = (LAUNCH / 'deeplab.launch.py').read_text(encoding='utf-8')
    declared = _call_strings(LAUNCH / 'deeplab.launch.py', 'DeclareLaunchArgument')
    assert CORE_ARGUMENTS <= declared, sorted(CORE_ARGUMENTS - declared)
    assert not declared & set(SPECS), 'parameters are declared from SPECS, not by hand'
    assert '[_parameter_argument(name) for name in SPECS]' in text
    assert 'argument_overrides(' in text


def test_core_autostarts_through_lifecycle_events_on_the_first_configure_only():
    text = (LAUNCH / 'deeplab.launch.py').read_text(encoding='utf-8')
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'LifecycleNode':
            keywords = {k.arg for k in node.keywords}
            assert 'autostart' not in keywords, 'LifecycleNode(autostart=) is Jazzy-only'
            assert {'name', 'namespace'} <= keywords, 'Humble needs name and namespace'
    handlers = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, 'id', None) == 'OnStateTransition']
    assert len(handlers) == 1
    keywords = {k.arg: k.value for k in handlers[0].keywords}
    # Any outcome of the first configure disarms it: a goal_state filter would stay armed
    # after a failure and activate after the user's own configure.
    assert 'goal_state' not in keywords
    assert keywords['start_state'].value == 'configuring'
    assert keywords['handle_once'].value is True
    for needed in ('TRANSITION_CONFIGURE', 'TRANSITION_ACTIVATE', 'context.locals.event',
                   "event.goal_state == 'inactive'"):
        assert needed in text, needed


def test_launch_applies_the_shipped_fastdds_profile():
    text = (LAUNCH / 'deeplab.launch.py').read_text(encoding='utf-8')
    assert 'FASTRTPS_DEFAULT_PROFILES_FILE' in text
    assert "'fastdds_large_data.xml'" in text
    assert (CONFIG / 'fastdds_large_data.xml').is_file()


def test_imx8mp_default_cache_file_is_the_configured_one():
    default = _module_constants(LAUNCH / 'imx8mp.launch.py')['DEFAULT_CACHE_FILE']
    options = _parameters(CONFIG / 'imx8mp.yaml')['delegate_options']
    assert f'cache_file_path={default}' in options


def test_rviz_view_shows_image_colour_and_overlay():
    view = yaml.safe_load((CONFIG / 'deeplab.rviz').read_text(encoding='utf-8'))
    displays = view['Visualization Manager']['Displays']
    topics = {d['Topic']['Value'] for d in displays
              if d['Class'] == 'rviz_default_plugins/Image'}
    assert topics == {'image', 'segmentation/color', 'segmentation/overlay'}


def test_setup_installs_launch_and_config_files():
    text = (ROOT / 'setup.py').read_text(encoding='utf-8')
    assert "glob('launch/*.launch.py')" in text and "glob('config/*')" in text


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
    # What `ros2 launch deeplab_ros <board>.launch.py --show-args` lists: every parameter,
    # the core's arguments, this board's own and no other board's.
    from deeplab_ros.frame.parameters import SPECS
    shown = {argument.name for argument in description.get_launch_arguments()}
    assert set(SPECS) | CORE_ARGUMENTS | BOARD_ARGUMENTS[board] <= shown
    others = set().union(*BOARD_ARGUMENTS.values()) - BOARD_ARGUMENTS[board] - set(SPECS)
    assert not shown & others, sorted(shown & others)
