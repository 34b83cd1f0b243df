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
Launch deeplab_ros on an NXP i.MX 93: the Ethos-U65 NPU through NXP's Ethos-U delegate.

Give it a Vela-compiled model (model:=/path/to/model_vela.tflite, see config/README.md):
its operators run as one ethos-u custom operator. A plain int8 model is compiled by the
delegate at configure instead, and the result is kept in a per-model cache folder for the
next start. config/imx93.yaml holds the device and that folder in delegate_options;
device_name:= and cache_dir:= edit them. Every argument of the core launch file
(deeplab.launch.py) works here too.
"""

import os

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.node.launch_params import board_mismatch, OPTION_EDITS, OptionEdits
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction,
                            PopLaunchConfigurations, PushLaunchConfigurations,
                            SetLaunchConfiguration)
from launch.launch_description_sources import PythonLaunchDescriptionSource

BOARD = 'imx93'


def _user_folder(text: str) -> str:
    """Return a folder given on the command line, absolute, created, ending with /."""
    path = os.path.expanduser(text)
    if '{' not in path:  # {cache}, {model}: the node expands them (and creates a {cache} folder)
        path = os.path.abspath(path)
        os.makedirs(path, exist_ok=True)
    return path.rstrip('/') + '/'


def _board_arguments(context: LaunchContext) -> list:
    """Refuse another board; turn device_name:= and cache_dir:= into delegate option edits."""
    config = context.launch_configurations
    reason = board_mismatch(BOARD, config.get('board'))
    if reason:
        raise RuntimeError(reason)
    edits = OptionEdits()
    device_name = config.get('device_name', '').strip()
    if device_name:
        edits.replace['device_name'] = device_name
    cache_dir = config.get('cache_dir', '').strip()
    if cache_dir == 'none':
        edits.remove.append('cache_file_path')
    elif cache_dir:
        edits.replace['cache_file_path'] = _user_folder(cache_dir)
    if not edits:
        return []
    return [SetLaunchConfiguration(OPTION_EDITS, edits.to_text())]


def generate_launch_description() -> LaunchDescription:
    """Declare the Ethos-U arguments and include the core launch file."""
    core = os.path.join(get_package_share_directory('deeplab_ros'), 'launch', 'deeplab.launch.py')
    # Scoped: the board, the option edits and the arguments given to the core stay inside
    # (Jazzy includes are not scoped), so they do not leak into what the includer does next.
    return LaunchDescription([
        PushLaunchConfigurations(),
        DeclareLaunchArgument(
            'board', default_value=BOARD,
            description=f'Always {BOARD} here; another board has its own launch file'),
        DeclareLaunchArgument(
            'model', default_value='',
            description='Vela-compiled model path (recommended); empty: from the configuration '
                        '(config/common.yaml: a registry int8 model that the delegate compiles '
                        'at configure)'),
        DeclareLaunchArgument(
            'device_name', default_value='',
            description='Ethos-U device node; empty: from the configuration '
                        '(config/imx93.yaml: /dev/ethosu0)'),
        DeclareLaunchArgument(
            'cache_dir', default_value='',
            description='Folder for the delegate-compiled model ({model} and {cache} are '
                        'expanded by the node); none: no cache; empty: from the configuration '
                        '(config/imx93.yaml: {cache}/ethosu_cache/{model}/, {cache} = '
                        'DEEPLAB_ROS_HOME or ~/.cache/deeplab_ros)'),
        OpaqueFunction(function=_board_arguments),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(core),
            launch_arguments={'board': BOARD}.items(),
        ),
        PopLaunchConfigurations(),
    ])
