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
Launch deeplab_ros on a Raspberry Pi 4 or 5: XNNPACK on 4 threads, at most 5 Hz.

config/rpi.yaml holds the board's settings; every argument of the core launch file
(deeplab.launch.py) works here too.
"""

import os

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.node.launch_params import board_mismatch
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction,
                            PopLaunchConfigurations, PushLaunchConfigurations)
from launch.launch_description_sources import PythonLaunchDescriptionSource

BOARD = 'rpi'


def _check_board(context: LaunchContext) -> list:
    """Refuse board:= naming another board (it would be silently ignored)."""
    reason = board_mismatch(BOARD, context.launch_configurations.get('board'))
    if reason:
        raise RuntimeError(reason)
    return []


def generate_launch_description() -> LaunchDescription:
    """Include the core launch file with this board's configuration."""
    core = os.path.join(get_package_share_directory('deeplab_ros'), 'launch', 'deeplab.launch.py')
    # Scoped: the board, the option edits and the arguments given to the core stay inside
    # (Jazzy includes are not scoped), so they do not leak into what the includer does next.
    return LaunchDescription([
        PushLaunchConfigurations(),
        DeclareLaunchArgument(
            'board', default_value=BOARD,
            description=f'Always {BOARD} here; another board has its own launch file'),
        OpaqueFunction(function=_check_board),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(core),
            launch_arguments={'board': BOARD}.items(),
        ),
        PopLaunchConfigurations(),
    ])
