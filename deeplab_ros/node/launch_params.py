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
Parameter layering for the launch files: launch arguments, parameter files, board options.

Pure Python (YAML and the parameter schema, no ROS), so that the launch files and the tests
share it. The core launch file layers, later wins: ``config/common.yaml``,
``config/<board>.yaml``, the user's ``params_file``, then the launch arguments given on the
command line (:func:`argument_overrides`). A board launch file turns its own arguments
(``device:=``, ``cache_dir:=``, ...) into edits of ``delegate_options``
(:class:`OptionEdits`) that the core applies to the value the layers above give.
"""

from dataclasses import asdict, dataclass, field
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from deeplab_ros.frame import parameters
import yaml

#: Launch configuration through which a board launch file hands its delegate option edits
#: to the core (JSON of :class:`OptionEdits`); not a launch argument.
OPTION_EDITS = 'deeplab_ros.delegate_option_edits'

#: Board launch files, by the board (config/<board>.yaml) they run.
BOARDS = ('pc', 'rpi', 'coral', 'imx8mp', 'imx93')

_PARAMETERS_KEY = 'ros__parameters'


def argument_overrides(arguments: Mapping[str, str]) -> Dict[str, Any]:
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


def node_fqn(namespace: str, name: str) -> str:
    """Return the fully qualified name of a node (``/ns/name``, ``/name``)."""
    namespace = namespace.strip().strip('/')
    return f'/{namespace}/{name}' if namespace else f'/{name}'


def _key_pattern(key: str) -> 're.Pattern':
    """Compile a parameter file node key (``/**``, ``/*/name``, ``ns/name``) as rcl reads it."""
    parts = []
    for token in key.strip('/').split('/'):
        if token == '**':
            parts.append('(/[^/]+)*')
        elif token == '*':
            parts.append('/[^/]+')
        else:
            parts.append('/' + re.escape(token))
    return re.compile(''.join(parts) + '$')


def _file_entries(data: Any, prefix: str = '') -> List[tuple]:
    """Return ``(node key, parameters)`` of a parameter file's content, nested keys joined."""
    entries = []
    if not isinstance(data, dict):
        return entries
    for key, value in data.items():
        if key == _PARAMETERS_KEY:
            entries.append((prefix or '/', value if isinstance(value, dict) else {}))
        elif isinstance(value, dict):
            entries.extend(_file_entries(value, prefix + '/' + str(key).strip('/')))
    return entries


def file_values(paths: Sequence[str], fqn: str) -> Dict[str, Any]:
    """
    Return the parameters that a stack of parameter files sets for one node, as rclpy does.

    As in rcl, entries with the same node key merge across files (later files win) and keep
    the place of their first appearance; the entries whose key matches ``fqn`` then apply in
    that order. So a ``/**/deeplab`` entry wins over a ``/**`` one from a later file.
    """
    entries: Dict[str, Dict[str, Any]] = {}
    for path in paths:
        with open(path, encoding='utf-8') as stream:
            data = yaml.safe_load(stream)
        for key, values in _file_entries(data):
            entries.setdefault('/' + key.strip('/'), {}).update(values)
    merged: Dict[str, Any] = {}
    for key, values in entries.items():
        if _key_pattern(key).match(fqn):
            merged.update(values)
    return merged


def overrides_file_text(fqn: str, values: Mapping[str, Any]) -> str:
    """
    Return a parameter file that sets ``values`` on node ``fqn``, each value keeping its type.

    Keyed by the node's full name, not ``/**``: rcl keeps the order in which node keys first
    appear, so a ``/**`` entry would lose to a ``/**/deeplab`` entry in the user's file.
    Strings are quoted where YAML would read them as another type (``'15'``, ``'true'``).
    """
    return yaml.safe_dump({fqn: {_PARAMETERS_KEY: dict(values)}}, default_flow_style=False)


@dataclass
class OptionEdits:
    """Changes a board launch file makes to ``delegate_options`` (``key=value`` strings)."""

    #: Set these keys (in place when present, else appended).
    replace: Dict[str, str] = field(default_factory=dict)
    #: Append these keys only when absent.
    default: Dict[str, str] = field(default_factory=dict)
    #: Remove these keys.
    remove: List[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Return whether there is anything to change."""
        return bool(self.replace or self.default or self.remove)

    def to_text(self) -> str:
        """Encode for the :data:`OPTION_EDITS` launch configuration."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> 'OptionEdits':
        """Decode :meth:`to_text` (empty text: no edits)."""
        return cls(**json.loads(text)) if text.strip() else cls()

    def apply(self, options: Sequence[str]) -> List[str]:
        """Return ``options`` edited: removals, then replacements, then defaults appended."""
        result: List[str] = []
        seen = set()
        for option in options:
            key = option.split('=', 1)[0].strip()
            if key in self.remove or (key in self.replace and key in seen):
                continue
            seen.add(key)
            result.append(f'{key}={self.replace[key]}' if key in self.replace else option)
        for key, value in list(self.replace.items()) + list(self.default.items()):
            if key not in seen:
                seen.add(key)
                result.append(f'{key}={value}')
        return result


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
