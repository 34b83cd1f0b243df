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

``deeplab.launch.py board:=<board>`` runs any board; each board launch file (``pc``, ``rpi``,
``coral``, ``imx8mp``, ``imx93``, ``gpu``, ``intel``) is this description with its board fixed
and only that board's arguments. What differs between boards is data: the parameters in
``config/<board>.yaml``, and the board's launch arguments (``deeplab_ros.launch_args.BOARDS``),
which that file uses as ``$(var name)`` (given as ``none``: put in empty, the option left
out by the node). Every node parameter is also a launch argument
(default empty: from the configuration). Parameters are layered, later wins:
``config/common.yaml``, ``config/<board>.yaml`` (with the board arguments), the user's
``params_file``, then the parameter arguments given, typed as the parameter
(``num_threads:=4``, ``delegate_fallback:=true``, ``cameras:=[front, rear]``).

With ``autostart`` the node is configured, and activated if that first configure reaches
``inactive``; if it fails, the node stays unconfigured and a later configure by the user
does not activate it (launch lifecycle events; works on Humble and Jazzy). The Fast DDS
large-data profile is exported to everything launched after this point unless the user
already set ``FASTRTPS_DEFAULT_PROFILES_FILE``.
"""

import os
from typing import List, Optional, Tuple

from deeplab_ros.launch_args import (board_mismatch, board_values, BOARDS,
                                     parameter_overrides)
from deeplab_ros.parameters import FLAGS, SPECS
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction,
                            PopLaunchConfigurations, PushLaunchConfigurations,
                            RegisterEventHandler, SetEnvironmentVariable)
from launch.events import matches_action
from launch.logging import get_logger
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterFile, ParameterValue
from lifecycle_msgs.msg import Transition

PACKAGE = 'deeplab_ros'
NODE_NAME = 'deeplab'
PROFILE_VARIABLE = 'FASTRTPS_DEFAULT_PROFILES_FILE'
#: The package's config/ folder: next to launch/, installed (share/deeplab_ros) or not.
CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'config')


def _flag(context: LaunchContext, name: str) -> bool:
    """Read a true/false launch argument."""
    text = context.launch_configurations[name].strip().lower()
    if text not in FLAGS:
        raise RuntimeError(f'{name} takes true or false, not {text!r}')
    return FLAGS[text]


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


def _parameters(context: LaunchContext, board: str) -> Tuple[list, str]:
    """Return the layers (common.yaml, board file, params_file, arguments), and in words."""
    config = context.launch_configurations
    board_file = os.path.join(CONFIG, board + '.yaml')
    layers = [os.path.join(CONFIG, 'common.yaml'), ParameterFile(board_file, allow_substs=True)]
    words = [layers[0], board_file + ''.join(
        f' {name}={config[name]!r}' for name in BOARDS[board])]
    params_file = os.path.expanduser(config['params_file'].strip())
    if params_file:
        if not os.path.isfile(params_file):
            raise RuntimeError(f'params_file {params_file!r} does not exist')
        layers.append(os.path.abspath(params_file))
        words.append(layers[-1])
    try:
        overrides = parameter_overrides(config)
    except ValueError as error:
        raise RuntimeError(f'launch argument {error}') from None
    if overrides:
        # Typed, so that launch_ros does not re-read '15' as a number; launch_ros keys its
        # file by the node's full name, which rcl applies after "/**" and "/**/deeplab".
        layers.append({name: ParameterValue(value, value_type=List[str] if isinstance(
            value, list) else type(value)) for name, value in overrides.items()})
        words.append('launch arguments ' + ', '.join(
            f'{name}={value}' for name, value in overrides.items()))
    return layers, ', '.join(words)


def _after_first_configure(context: LaunchContext, node: LifecycleNode) -> list:
    """Autostart: activate if the first configure reached inactive, else say so and stop."""
    event = context.locals.event
    name = node.node_name
    if event.goal_state == 'inactive':
        return [
            LogInfo(msg=f'deeplab_ros: autostart: {name} configured, activating'),
            EmitEvent(event=ChangeState(
                lifecycle_node_matcher=matches_action(node),
                transition_id=Transition.TRANSITION_ACTIVATE)),
        ]
    get_logger('deeplab_ros').warning(
        f'autostart: configure of {name} failed (now {event.goal_state}; the node log says '
        f'why). Autostart is over: fix the cause, then `ros2 lifecycle set {name} configure` '
        f'and `ros2 lifecycle set {name} activate`')
    return []


def _launch_setup(context: LaunchContext, launch_board: Optional[str]) -> list:
    """Build the node, its lifecycle autostart handlers and RViz from the arguments."""
    config = context.launch_configurations
    reason = board_mismatch(launch_board, config['board']) if launch_board else None
    if reason:
        raise RuntimeError(reason)
    board = config['board'].strip()
    config.update(board_values(board, config))  # what the board file's $(var name) puts in
    namespace = config['namespace'].strip()
    parameters, layers = _parameters(context, board)
    remappings = _remappings(context)

    node = LifecycleNode(
        package=PACKAGE,
        executable='segmentation_node',
        name=NODE_NAME,
        namespace=namespace,
        parameters=parameters,
        remappings=remappings,
        arguments=['--ros-args', '--log-level', config['log_level'].strip()],
        output='screen',
        emulate_tty=True,
    )
    actions = [
        LogInfo(msg=f'deeplab_ros: board {board}, parameters from {layers}'),
        node,
    ]

    if _flag(context, 'autostart'):
        # Acts on the first transition out of configuring only, whatever its outcome: a
        # configure the user makes later (after a failure) is not followed by an activate.
        actions.append(RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node,
            start_state='configuring',
            entities=[OpaqueFunction(function=_after_first_configure, args=[node])],
            handle_once=True,
        )))
        actions.append(EmitEvent(event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=Transition.TRANSITION_CONFIGURE)))

    if _flag(context, 'use_rviz'):
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


def _parameter_argument(name: str) -> DeclareLaunchArgument:
    """Declare the launch argument of one node parameter (empty: from the configuration)."""
    spec = SPECS[name]
    if isinstance(spec.default, bool):
        form = 'true or false'
    elif isinstance(spec.default, list):
        form = 'a list: [a, b] or a,b'
    elif spec.choices:
        form = 'one of ' + ', '.join(spec.choices)
    elif spec.bounds is not None:
        form = f'{type(spec.default).__name__} from {spec.bounds[0]:g} to {spec.bounds[1]:g}'
    else:
        form = type(spec.default).__name__
    return DeclareLaunchArgument(
        name, default_value='',
        description=f'Parameter {name} ({form}): {spec.description} Unset: from the '
                    'configuration.')


def _board_arguments(boards: List[str]) -> List[DeclareLaunchArgument]:
    """Declare the arguments of these boards, which their parameter files use."""
    return [DeclareLaunchArgument(
        name, default_value=argument.default,
        choices=list(argument.choices) if argument.choices else None,
        description=f'Board {board} (config/{board}.yaml): {argument.description}')
        for board in boards for name, argument in BOARDS[board].items()]


def _board_argument(board: Optional[str]) -> DeclareLaunchArgument:
    """Declare ``board``: a choice here, fixed in a board launch file."""
    if board is None:
        return DeclareLaunchArgument(
            'board', default_value='pc', choices=list(BOARDS),
            description='Board configuration config/<board>.yaml (a board launch file, '
                        '<board>.launch.py, runs the same with only its own arguments)')
    return DeclareLaunchArgument(
        'board', default_value=board,
        description=f'Always {board} here; another board has its own launch file')


def _common_arguments() -> List[DeclareLaunchArgument]:
    """Declare the arguments every launch takes: files, names, start-up, RViz, DDS."""
    default_profile = os.environ.get(
        PROFILE_VARIABLE, os.path.join(CONFIG, 'fastdds_large_data.xml'))
    return [
        DeclareLaunchArgument(
            'params_file', default_value='',
            description='Your YAML parameter file, applied after the board file (keys "/**:" '
                        'or "/**/deeplab:", then "ros__parameters:"); parameter arguments '
                        'given here still win over it'),
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
            'autostart', default_value='true',
            description='Configure at start, then activate if that configure succeeds; a '
                        'failed start leaves the node unconfigured for you to fix'),
        DeclareLaunchArgument(
            'log_level', default_value='info', description='Log level of the node'),
        DeclareLaunchArgument(
            'use_rviz', default_value='false',
            description='Start RViz with config/deeplab.rviz'),
        DeclareLaunchArgument(
            'rviz_config', default_value=os.path.join(CONFIG, 'deeplab.rviz'),
            description='RViz configuration file'),
        DeclareLaunchArgument(
            'dds_profile', default_value=default_profile,
            description=f'Fast DDS XML profile exported as {PROFILE_VARIABLE} to everything '
                        'launched from here (default: the value already set, else the '
                        'package large-data profile); empty: export nothing'),
    ]


def generate_launch_description(board: Optional[str] = None) -> LaunchDescription:
    """
    Declare the arguments (one per node parameter too) and the node.

    :param board: The board of a board launch file (only its arguments, and ``board:=``
        another board refused); None: the ``board`` argument chooses, every board's
        arguments are declared.
    """
    arguments = [_board_argument(board)] + _common_arguments()
    arguments += _board_arguments([board] if board else list(BOARDS))
    arguments += [_parameter_argument(name) for name in SPECS]
    # Scoped: the arguments stay inside (Jazzy includes are not scoped), so that they do not
    # leak into what an including launch file does next.
    return LaunchDescription([PushLaunchConfigurations()] + arguments + [
        OpaqueFunction(function=_set_dds_profile),
        OpaqueFunction(function=_launch_setup, args=[board]),
        PopLaunchConfigurations(),
    ])
