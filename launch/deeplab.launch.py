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
Core launch file: one ``segmentation_node`` (lifecycle) with its board configuration.

The per-board launch files (``pc``, ``rpi``, ``coral``, ``imx8mp``, ``imx93``) include this
one. Parameters are layered, later wins: ``config/common.yaml``, ``config/<board>.yaml``,
the user's ``params_file``, then the non-empty override arguments (``model``, ``delegate``,
``delegate_options``, ``num_threads``, ``cameras``).

With ``autostart`` the node is configured, and activated as soon as it reaches ``inactive``
from ``configuring``, through launch lifecycle events (works on Humble and Jazzy). The Fast
DDS large-data profile is exported to everything launched after this point unless the user
already set ``FASTRTPS_DEFAULT_PROFILES_FILE``.
"""

import os
from typing import List

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction,
                            RegisterEventHandler, SetEnvironmentVariable)
from launch.events import matches_action
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition
import yaml

PACKAGE = 'deeplab_ros'
NODE_NAME = 'deeplab'
PROFILE_VARIABLE = 'FASTRTPS_DEFAULT_PROFILES_FILE'
TRUE_WORDS = ('true', '1', 'yes', 'on')


def _string_list(text: str) -> List[str]:
    """
    Turn a launch argument into a list of strings.

    Accepts a YAML flow list (``[front, rear]``) or a comma-separated string
    (``front,rear``); blanks are dropped.
    """
    text = text.strip()
    if not text:
        return []
    if text.startswith('['):
        value = yaml.safe_load(text)
        if not isinstance(value, list):
            raise ValueError(f'expected a list, got {text!r}')
        return [str(item).strip() for item in value if str(item).strip()]
    return [item.strip() for item in text.split(',') if item.strip()]


def _is_true(text: str) -> bool:
    """Read a launch argument as a boolean."""
    return text.strip().lower() in TRUE_WORDS


def _overrides(context: LaunchContext) -> dict:
    """Collect the parameter overrides given as non-empty launch arguments."""
    def arg(name: str) -> str:
        return context.launch_configurations.get(name, '').strip()

    overrides = {}
    for name in ('model', 'delegate', 'delegate_library'):
        if arg(name):
            overrides[name] = arg(name)
    if arg('num_threads'):
        overrides['num_threads'] = int(arg('num_threads'))
    for name in ('delegate_options', 'cameras'):
        if arg(name):
            overrides[name] = _string_list(arg(name))
    return overrides


def _remappings(context: LaunchContext) -> List[tuple]:
    """Remap the camera topics given as launch arguments (image_transport naming)."""
    image = context.launch_configurations.get('image', '').strip()
    camera_info = context.launch_configurations.get('camera_info', '').strip()
    remappings = []
    if image:
        remappings.append(('image', image))
        remappings.append(('image/compressed', image + '/compressed'))
    if camera_info:
        remappings.append(('camera_info', camera_info))
    return remappings


def _launch_setup(context: LaunchContext) -> list:
    """Build the node, its lifecycle autostart handlers and RViz from the arguments."""
    share = get_package_share_directory(PACKAGE)
    config = context.launch_configurations
    board = config['board'].strip()
    namespace = config['namespace'].strip()
    log_level = config['log_level'].strip()

    common_file = os.path.join(share, 'config', 'common.yaml')
    board_file = os.path.join(share, 'config', board + '.yaml')
    if not os.path.isfile(board_file):
        boards = sorted(
            name[:-len('.yaml')] for name in os.listdir(os.path.join(share, 'config'))
            if name.endswith('.yaml') and name != 'common.yaml')
        raise RuntimeError(
            f'board {board!r} has no configuration {board_file}; known boards: '
            + ', '.join(boards))
    parameters = [common_file, board_file]
    params_file = os.path.expanduser(config['params_file'].strip())
    if params_file:
        if not os.path.isfile(params_file):
            raise RuntimeError(f'params_file {params_file!r} does not exist')
        parameters.append(params_file)
    overrides = _overrides(context)
    if overrides:
        parameters.append(overrides)
    remappings = _remappings(context)

    node = LifecycleNode(
        package=PACKAGE,
        executable='segmentation_node',
        name=NODE_NAME,
        namespace=namespace,
        parameters=parameters,
        remappings=remappings,
        arguments=['--ros-args', '--log-level', log_level],
        output='screen',
        emulate_tty=True,
    )
    actions = [
        LogInfo(msg=f'deeplab_ros: board {board}, parameters from '
                + ', '.join(p if isinstance(p, str) else 'launch arguments'
                            for p in parameters)),
        node,
    ]

    if _is_true(config['autostart']):
        # Activate once, on the first configuring -> inactive; a later deactivate by the
        # user (active -> inactive) is left alone.
        actions.append(RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node,
            start_state='configuring',
            goal_state='inactive',
            entities=[
                LogInfo(msg='deeplab_ros: configured, activating'),
                EmitEvent(event=ChangeState(
                    lifecycle_node_matcher=matches_action(node),
                    transition_id=Transition.TRANSITION_ACTIVATE)),
            ],
            handle_once=True,
        )))
        actions.append(EmitEvent(event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=Transition.TRANSITION_CONFIGURE)))

    if _is_true(config['use_rviz']):
        actions.append(Node(
            package='rviz2',
            executable='rviz2',
            name='deeplab_rviz',
            namespace=namespace,
            arguments=['-d', config['rviz_config'], '--ros-args', '--log-level', 'warn'],
            remappings=remappings,
            output='log',
        ))
    return actions


def _set_dds_profile(context: LaunchContext) -> list:
    """Export the Fast DDS profile unless it is empty (user opt-out)."""
    profile = context.launch_configurations['dds_profile'].strip()
    if not profile:
        return []
    return [SetEnvironmentVariable(PROFILE_VARIABLE, profile)]


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments and the node."""
    share = get_package_share_directory(PACKAGE)
    default_profile = os.environ.get(
        PROFILE_VARIABLE, os.path.join(share, 'config', 'fastdds_large_data.xml'))
    arguments = [
        DeclareLaunchArgument(
            'board', default_value='pc',
            description='Board configuration config/<board>.yaml: pc, rpi, coral, imx8mp, '
                        'imx93'),
        DeclareLaunchArgument(
            'params_file', default_value='',
            description='Extra YAML parameter file applied after the board file (keys '
                        '"/**:" or "/**/deeplab:", then "ros__parameters:")'),
        DeclareLaunchArgument(
            'namespace', default_value='', description='Namespace of the node and its topics'),
        DeclareLaunchArgument(
            'image', default_value='',
            description='Camera image topic to remap "image" to (and "image/compressed" to '
                        '<image>/compressed); empty: no remap'),
        DeclareLaunchArgument(
            'camera_info', default_value='',
            description='Camera info topic to remap "camera_info" to; empty: no remap'),
        DeclareLaunchArgument(
            'cameras', default_value='',
            description='Camera namespaces for the "cameras" parameter, e.g. "[front, rear]" '
                        'or "front,rear"; empty: from the configuration'),
        DeclareLaunchArgument(
            'model', default_value='',
            description='Model registry name or .tflite path; empty: from the configuration'),
        DeclareLaunchArgument(
            'delegate', default_value='',
            description='auto, cpu, edgetpu, vx, ethosu, gpu or external; empty: from the '
                        'configuration'),
        DeclareLaunchArgument(
            'delegate_library', default_value='',
            description='Delegate shared library path; empty: from the configuration'),
        DeclareLaunchArgument(
            'delegate_options', default_value='',
            description='Delegate key=value options, "[k=v, k2=v2]" or "k=v,k2=v2"; empty: from '
                        'the configuration'),
        DeclareLaunchArgument(
            'num_threads', default_value='',
            description='CPU threads for the interpreter; empty: from the configuration'),
        DeclareLaunchArgument(
            'autostart', default_value='true',
            description='Configure and activate the node at start'),
        DeclareLaunchArgument(
            'log_level', default_value='info', description='Log level of the node'),
        DeclareLaunchArgument(
            'use_rviz', default_value='false',
            description='Start RViz with config/deeplab.rviz'),
        DeclareLaunchArgument(
            'rviz_config', default_value=os.path.join(share, 'config', 'deeplab.rviz'),
            description='RViz configuration file'),
        DeclareLaunchArgument(
            'dds_profile', default_value=default_profile,
            description=f'Fast DDS XML profile exported as {PROFILE_VARIABLE} to everything '
                        'launched from here (default: the value already set, else the '
                        'package large-data profile); empty: export nothing'),
    ]
    return LaunchDescription(arguments + [
        OpaqueFunction(function=_set_dds_profile),
        OpaqueFunction(function=_launch_setup),
    ])
