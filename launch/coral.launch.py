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
Launch deeplab_ros on a Coral Edge TPU (USB or PCIe) with the _edgetpu model.

config/coral.yaml holds the board's settings (delegate_options [device=usb]); every argument
of the core launch file (deeplab.launch.py) works here too. device:= picks another Edge
TPU: it replaces the device option of the configured delegate_options.
"""

import os

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.node.launch_params import board_mismatch, OPTION_EDITS, OptionEdits
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction,
                            PopLaunchConfigurations, PushLaunchConfigurations,
                            SetLaunchConfiguration)
from launch.launch_description_sources import PythonLaunchDescriptionSource

BOARD = 'coral'


def _board_arguments(context: LaunchContext) -> list:
    """Refuse another board; turn device:= into a delegate option edit for the core."""
    config = context.launch_configurations
    reason = board_mismatch(BOARD, config.get('board'))
    if reason:
        raise RuntimeError(reason)
    device = config.get('device', '').strip()
    if not device:
        return []
    edits = OptionEdits(replace={'device': device})
    return [SetLaunchConfiguration(OPTION_EDITS, edits.to_text())]


def generate_launch_description() -> LaunchDescription:
    """Declare the Edge TPU argument and include the core launch file."""
    core = os.path.join(get_package_share_directory('deeplab_ros'), 'launch', 'deeplab.launch.py')
    # Scoped: the board, the option edits and the arguments given to the core stay inside
    # (Jazzy includes are not scoped), so they do not leak into what the includer does next.
    return LaunchDescription([
        PushLaunchConfigurations(),
        DeclareLaunchArgument(
            'board', default_value=BOARD,
            description=f'Always {BOARD} here; another board has its own launch file'),
        DeclareLaunchArgument(
            'device', default_value='',
            description='Edge TPU to open: usb (first USB), usb:N, pci (first PCIe) or pci:N; '
                        'empty: from the configuration (config/coral.yaml: usb)'),
        OpaqueFunction(function=_board_arguments),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(core),
            launch_arguments={'board': BOARD}.items(),
        ),
        PopLaunchConfigurations(),
    ])
