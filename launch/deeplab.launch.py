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
one. Every node parameter is also a launch argument (default empty: from the
configuration). Parameters are layered, later wins: ``config/common.yaml``,
``config/<board>.yaml``, the user's ``params_file``, then the parameter arguments given on
the command line, typed as the parameter (``num_threads:=4``, ``delegate_fallback:=true``,
``cameras:=[front, rear]``). A board launch file's own arguments (``device:=``,
``cache_dir:=``, ...) edit the ``delegate_options`` that the layers give.

With ``autostart`` the node is configured, and activated if that first configure reaches
``inactive``; if it fails, the node stays unconfigured and a later configure by the user
does not activate it (launch lifecycle events; works on Humble and Jazzy). The Fast DDS
large-data profile is exported to everything launched after this point unless the user
already set ``FASTRTPS_DEFAULT_PROFILES_FILE``.
"""

import os
import tempfile
from typing import List

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.frame.parameters import SPECS
from deeplab_ros.node.launch_params import (argument_overrides, file_values, node_fqn,
                                            OPTION_EDITS, OptionEdits, overrides_file_text)
from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction,
                            RegisterEventHandler, SetEnvironmentVariable)
from launch.event_handlers import OnShutdown
from launch.events import matches_action
from launch.logging import get_logger
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition

PACKAGE = 'deeplab_ros'
NODE_NAME = 'deeplab'
PROFILE_VARIABLE = 'FASTRTPS_DEFAULT_PROFILES_FILE'
FLAGS = {'true': True, 'yes': True, 'on': True, '1': True,
         'false': False, 'no': False, 'off': False, '0': False}


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


def _parameter_files(context: LaunchContext, share: str) -> List[str]:
    """Return common.yaml, the board file and the user's params_file, checked."""
    config = context.launch_configurations
    board = config['board'].strip()
    board_file = os.path.join(share, 'config', board + '.yaml')
    if not os.path.isfile(board_file):
        boards = sorted(
            name[:-len('.yaml')] for name in os.listdir(os.path.join(share, 'config'))
            if name.endswith('.yaml') and name != 'common.yaml')
        raise RuntimeError(
            f'board {board!r} has no configuration {board_file}; known boards: '
            + ', '.join(boards))
    files = [os.path.join(share, 'config', 'common.yaml'), board_file]
    params_file = os.path.expanduser(config['params_file'].strip())
    if params_file:
        if not os.path.isfile(params_file):
            raise RuntimeError(f'params_file {params_file!r} does not exist')
        files.append(os.path.abspath(params_file))
    return files


def _overrides(context: LaunchContext, files: List[str], fqn: str) -> dict:
    """Type the parameter arguments given; apply a board launch file's option edits."""
    config = context.launch_configurations
    try:
        overrides = argument_overrides(config)
    except ValueError as error:
        raise RuntimeError(f'launch argument {error}') from None
    edits = OptionEdits.from_text(config.get(OPTION_EDITS, ''))
    if edits:
        options = overrides.get('delegate_options')
        if options is None:
            options = file_values(files, fqn).get('delegate_options', [])
        options = edits.apply(options)
        if not options:
            raise RuntimeError('the board arguments leave delegate_options empty, which a ROS '
                               '2 parameter file cannot express; give delegate_options:=')
        overrides['delegate_options'] = options
    return overrides


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


def _launch_setup(context: LaunchContext) -> list:
    """Build the node, its lifecycle autostart handlers and RViz from the arguments."""
    share = get_package_share_directory(PACKAGE)
    config = context.launch_configurations
    namespace = config['namespace'].strip()
    log_level = config['log_level'].strip()
    fqn = node_fqn(namespace, NODE_NAME)

    files = _parameter_files(context, share)
    overrides = _overrides(context, files, fqn)
    parameters = list(files)
    actions = []
    if overrides:
        # A file of our own (not a dict for launch_ros, which re-types strings such as '15'),
        # removed when the launch ends.
        with tempfile.NamedTemporaryFile('w', prefix='deeplab_ros_launch_', suffix='.yaml',
                                         delete=False) as stream:
            stream.write(overrides_file_text(fqn, overrides))
        parameters.append(stream.name)
        actions.append(RegisterEventHandler(OnShutdown(
            on_shutdown=lambda event, context, path=stream.name: os.remove(path))))
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
    given = ', '.join(f'{k}={v}' for k, v in overrides.items())
    actions += [
        LogInfo(msg=f'deeplab_ros: board {config["board"].strip()}, parameters from '
                + ', '.join(files) + (f', then launch arguments {given}' if given else '')),
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


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments (one per node parameter too) and the node."""
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
            'rviz_config', default_value=os.path.join(share, 'config', 'deeplab.rviz'),
            description='RViz configuration file'),
        DeclareLaunchArgument(
            'dds_profile', default_value=default_profile,
            description=f'Fast DDS XML profile exported as {PROFILE_VARIABLE} to everything '
                        'launched from here (default: the value already set, else the '
                        'package large-data profile); empty: export nothing'),
    ] + [_parameter_argument(name) for name in SPECS]
    return LaunchDescription(arguments + [
        OpaqueFunction(function=_set_dds_profile),
        OpaqueFunction(function=_launch_setup),
    ])
