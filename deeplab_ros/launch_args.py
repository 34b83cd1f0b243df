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
The launch files' data: the boards and their arguments, and parameter arguments typed.

Pure Python (the parameter schema, no ROS), so that the launch files and the tests share it.
What differs between boards is data: the parameters in ``config/<board>.yaml``, and the board
arguments below, which that file uses as launch substitutions (``$(var device)``) and which
``launch/deeplab.launch.py`` declares with these defaults. A board argument given as ``none``
is put in empty (``ros2 launch`` takes no empty ``name:=``): the option it fills then has no
value, and the node leaves such options out.
"""

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from deeplab_ros import parameters


@dataclass(frozen=True)
class BoardArgument:
    """A launch argument of one board, used as ``$(var <name>)`` in its parameter file."""

    default: str
    description: str
    choices: Optional[Tuple[str, ...]] = None


#: A board argument given as this word is put in empty.
NONE = 'none'

_CACHE = ('({cache}: DEEPLAB_ROS_HOME or ~/.cache/deeplab_ros; {model}: the name of the '
          'model file loaded; the node expands both)')

#: The boards (``config/<board>.yaml``, ``launch/<board>.launch.py``) and their arguments.
BOARDS: Dict[str, Dict[str, BoardArgument]] = {
    'pc': {},
    'rpi': {},
    'coral': {
        'device': BoardArgument(
            'usb', 'Edge TPU to open (option device): usb (first USB), usb:N, pci (first '
            'PCIe) or pci:N; none: the first Edge TPU found'),
    },
    'imx8mp': {
        'use_cache': BoardArgument(
            'true', 'Keep the NPU-compiled graph in cache_file between starts (option '
            'allowed_cache_mode)', ('true', 'false')),
        'cache_file': BoardArgument(
            '{cache}/vx_cache/{model}.nb', 'NPU graph cache file (option cache_file_path) '
            + _CACHE + '; delete it after replacing a model file of the same name'),
    },
    'imx93': {
        'device_name': BoardArgument(
            '/dev/ethosu0', 'Ethos-U device node (option device_name)'),
        'cache_dir': BoardArgument(
            '{cache}/ethosu_cache/{model}/', 'Folder, ending with /, for the model the '
            'delegate compiles (option cache_file_path) ' + _CACHE + '; none: no cache'),
    },
    'gpu': {},
    'intel': {
        'openvino_device': BoardArgument(
            'AUTO', 'OpenVINO device (option device): AUTO (the NPU where there is one, else '
            'the GPU, else the CPU), NPU (Core Ultra), GPU (the integrated GPU) or CPU',
            ('AUTO', 'NPU', 'GPU', 'CPU')),
    },
}


def board_values(board: str, arguments: Mapping[str, str]) -> Dict[str, str]:
    """
    Return what ``$(var <name>)`` puts in the board's parameter file, per board argument.

    :param arguments: Launch configurations by name; a board argument not given takes its
        default, one given as ``none`` is empty.
    """
    values = {}
    for name, argument in BOARDS[board].items():
        value = arguments.get(name, argument.default).strip()
        values[name] = '' if value == NONE else value
    return values


def parameter_overrides(arguments: Mapping[str, str]) -> Dict[str, Any]:
    """
    Type the parameter launch arguments that were given (non-empty) as parameter values.

    :param arguments: Launch configurations by name; other names and empty values are
        ignored (empty means "from the configuration").
    :raises ValueError: naming the argument and what it takes.
    """
    overrides = {}
    for name in parameters.SPECS:
        text = arguments.get(name, '').strip()
        if not text:
            continue
        value = parameters.parse_text(name, text)
        reason = parameters.check(name, value)
        if reason:
            raise ValueError(f'{name}:={text}: {reason}')
        if value == []:
            raise ValueError(
                f'{name}:={text}: a ROS 2 parameter file cannot set an empty list (it would '
                'leave the configured value in place); leave the argument out to keep the '
                'configuration, or give the list you want')
        overrides[name] = value
    return overrides


def board_mismatch(launch_board: str, given: Optional[str]) -> Optional[str]:
    """Return why a board launch file refuses ``board:=given``, or None when it is its own."""
    given = (given or '').strip()
    if not given or given == launch_board:
        return None
    if given in BOARDS:
        use = f'use {given}.launch.py'
    else:
        use = f'known boards: {", ".join(BOARDS)}'
    return (f'{launch_board}.launch.py runs board {launch_board} and does not take '
            f'board:={given}; {use} (or deeplab.launch.py board:={given})')
