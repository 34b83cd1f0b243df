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
Launch deeplab_ros on an NXP i.MX 8M Plus: the NPU through NXP's VX delegate.

The VX delegate compiles the graph for the NPU at the first inference, which takes long
(tens of seconds for DeepLab). With allowed_cache_mode=true and cache_file_path it
stores the compiled graph and later starts load it, so only the first start pays; warm-up
runs in configure, before the node goes active. config/imx8mp.yaml turns the cache on with
one file per model ({cache}/vx_cache/{model}.nb, expanded by the node). use_cache:= and
cache_file:= edit those options of the configured delegate_options; every argument of
the core launch file (deeplab.launch.py) works here too.
"""

import os

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.node.launch_params import board_mismatch, OPTION_EDITS, OptionEdits
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction,
                            PopLaunchConfigurations, PushLaunchConfigurations,
                            SetLaunchConfiguration)
from launch.launch_description_sources import PythonLaunchDescriptionSource

BOARD = 'imx8mp'
#: The cache file of config/imx8mp.yaml, for use_cache:=true when the configuration has none.
DEFAULT_CACHE_FILE = '{cache}/vx_cache/{model}.nb'


def _user_path(text: str) -> str:
    """Return a path given on the command line, absolute, its folder created."""
    path = os.path.expanduser(text)
    if '{' in path:  # {cache}, {model}: the node expands them (and creates a {cache} folder)
        return path
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _board_arguments(context: LaunchContext) -> list:
    """Refuse another board; turn use_cache:= and cache_file:= into delegate option edits."""
    config = context.launch_configurations
    reason = board_mismatch(BOARD, config.get('board'))
    if reason:
        raise RuntimeError(reason)
    use_cache = config.get('use_cache', '').strip().lower()
    cache_file = config.get('cache_file', '').strip()
    if use_cache not in ('', 'true', 'false'):
        raise RuntimeError(f'use_cache takes true or false, not {use_cache!r}')
    if use_cache == 'false':
        if cache_file:
            raise RuntimeError('use_cache:=false contradicts cache_file:=; give one of them')
        edits = OptionEdits(replace={'allowed_cache_mode': 'false'}, remove=['cache_file_path'])
    elif cache_file:
        edits = OptionEdits(replace={'allowed_cache_mode': 'true',
                                     'cache_file_path': _user_path(cache_file)})
    elif use_cache == 'true':
        edits = OptionEdits(replace={'allowed_cache_mode': 'true'},
                            default={'cache_file_path': DEFAULT_CACHE_FILE})
    else:
        return []
    return [SetLaunchConfiguration(OPTION_EDITS, edits.to_text())]


def generate_launch_description() -> LaunchDescription:
    """Declare the NPU cache arguments and include the core launch file."""
    core = os.path.join(get_package_share_directory('deeplab_ros'), 'launch', 'deeplab.launch.py')
    # Scoped: the board, the option edits and the arguments given to the core stay inside
    # (Jazzy includes are not scoped), so they do not leak into what the includer does next.
    return LaunchDescription([
        PushLaunchConfigurations(),
        DeclareLaunchArgument(
            'board', default_value=BOARD,
            description=f'Always {BOARD} here; another board has its own launch file'),
        DeclareLaunchArgument(
            'use_cache', default_value='',
            description='true: keep the NPU-compiled graph in a cache file between starts; '
                        'false: no cache (allowed_cache_mode=false, no cache_file_path); empty: '
                        'from the configuration (config/imx8mp.yaml: on)'),
        DeclareLaunchArgument(
            'cache_file', default_value='',
            description='Graph cache file ({model} and {cache} are expanded by the node); '
                        'empty: from the configuration (config/imx8mp.yaml: '
                        f'{DEFAULT_CACHE_FILE}, {{cache}} = DEEPLAB_ROS_HOME or '
                        '~/.cache/deeplab_ros; delete it after changing the model file)'),
        OpaqueFunction(function=_board_arguments),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(core),
            launch_arguments={'board': BOARD}.items(),
        ),
        PopLaunchConfigurations(),
    ])
