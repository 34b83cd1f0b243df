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
delegate at configure instead, and the result is kept in cache_dir for the next start.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource

PACKAGE = 'deeplab_ros'
DEFAULT_MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'


def _cache_root() -> str:
    """Return the deeplab_ros cache root (DEEPLAB_ROS_HOME or ~/.cache/deeplab_ros)."""
    return os.path.expanduser(
        os.environ.get('DEEPLAB_ROS_HOME') or os.path.join('~', '.cache', PACKAGE))


def _include_core(context: LaunchContext) -> list:
    """Include the core with the Ethos-U device and compile cache as delegate options."""
    share = get_package_share_directory(PACKAGE)
    config = context.launch_configurations
    model = config.get('model', '').strip() or DEFAULT_MODEL
    options = [f'device_name={config["device_name"].strip()}']
    cache_dir = os.path.expanduser(config['cache_dir'].strip())
    if not cache_dir:
        stem = os.path.splitext(os.path.basename(model))[0]
        cache_dir = os.path.join(_cache_root(), 'ethosu_cache', stem)
    if cache_dir != 'none':
        os.makedirs(cache_dir, exist_ok=True)
        options.append(f'cache_file_path={os.path.abspath(cache_dir)}')
    core = os.path.join(share, 'launch', 'deeplab.launch.py')
    return [IncludeLaunchDescription(
        PythonLaunchDescriptionSource(core),
        launch_arguments={
            'board': 'imx93',
            'model': model,
            'delegate_options': '[' + ', '.join(options) + ']',
        }.items(),
    )]


def generate_launch_description() -> LaunchDescription:
    """Declare the Ethos-U arguments and include the core launch file."""
    return LaunchDescription([
        DeclareLaunchArgument(
            'model', default_value='',
            description='Vela-compiled model path (recommended); empty: '
                        f'{DEFAULT_MODEL}, compiled by the delegate at configure'),
        DeclareLaunchArgument(
            'device_name', default_value='/dev/ethosu0',
            description='Ethos-U device node'),
        DeclareLaunchArgument(
            'cache_dir', default_value='',
            description='Directory for the delegate-compiled model; empty: <DEEPLAB_ROS_HOME '
                        'or ~/.cache/deeplab_ros>/ethosu_cache/<model>; none: no cache'),
        OpaqueFunction(function=_include_core),
    ])
