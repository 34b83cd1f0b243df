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
runs in configure, before the node goes active. The cache file is per model.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription, LogInfo,
                            OpaqueFunction)
from launch.launch_description_sources import PythonLaunchDescriptionSource
import yaml

PACKAGE = 'deeplab_ros'


def _cache_root() -> str:
    """Return the deeplab_ros cache root (DEEPLAB_ROS_HOME or ~/.cache/deeplab_ros)."""
    return os.path.expanduser(
        os.environ.get('DEEPLAB_ROS_HOME') or os.path.join('~', '.cache', PACKAGE))


def _board_model(share: str) -> str:
    """Return the model named in config/imx8mp.yaml."""
    with open(os.path.join(share, 'config', 'imx8mp.yaml'), encoding='utf-8') as stream:
        return yaml.safe_load(stream)['/**']['ros__parameters']['model']


def _include_core(context: LaunchContext) -> list:
    """Include the core with delegate_options naming the per-model graph cache file."""
    share = get_package_share_directory(PACKAGE)
    config = context.launch_configurations
    options = ''
    actions = []
    if config['use_cache'].strip().lower() in ('true', '1', 'yes', 'on'):
        cache_file = os.path.expanduser(config['cache_file'].strip())
        if not cache_file:
            model = config.get('model', '').strip() or _board_model(share)
            stem = os.path.splitext(os.path.basename(model))[0]
            cache_file = os.path.join(_cache_root(), 'vx_cache', stem + '.nb')
        os.makedirs(os.path.dirname(os.path.abspath(cache_file)), exist_ok=True)
        options = f'[allowed_cache_mode=true, cache_file_path={os.path.abspath(cache_file)}]'
        actions.append(LogInfo(msg=f'deeplab_ros: VX delegate graph cache {cache_file}'))
    core = os.path.join(share, 'launch', 'deeplab.launch.py')
    actions.append(IncludeLaunchDescription(
        PythonLaunchDescriptionSource(core),
        launch_arguments={'board': 'imx8mp', 'delegate_options': options}.items(),
    ))
    return actions


def generate_launch_description() -> LaunchDescription:
    """Declare the NPU cache arguments and include the core launch file."""
    return LaunchDescription([
        DeclareLaunchArgument(
            'use_cache', default_value='true',
            description='Keep the NPU-compiled graph in a cache file between starts'),
        DeclareLaunchArgument(
            'cache_file', default_value='',
            description='Graph cache file; empty: <DEEPLAB_ROS_HOME or ~/.cache/deeplab_ros>'
                        '/vx_cache/<model>.nb (delete it after changing the model file)'),
        OpaqueFunction(function=_include_core),
    ])
