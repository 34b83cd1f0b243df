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

"""The node's parameters for a bag run: its parameter file, the options over it, the outputs."""

import argparse
from typing import Any, Dict, List, Sequence, Set, Tuple

from deeplab_ros import parameters
from deeplab_ros.errors import DeeplabError
from deeplab_ros.frame.clouds import CLOUD_OUTPUTS
from deeplab_ros.frame.job import IMAGE_OUTPUTS
import yaml

#: Every output a run can write, in the order they are written.
OUTPUTS = ('labels', 'camera_info', 'label_info') + IMAGE_OUTPUTS[1:] + CLOUD_OUTPUTS
#: Node parameters about live streams: a bag has what it has.
LIVE_ONLY = ('max_rate', 'cameras', 'input_transport')
NODE_NAME = 'deeplab'


def read_params(path: str) -> Tuple[Dict[str, Any], List[str]]:
    """
    Return the parameters a node parameter file sets for the node, and notes about them.

    Entries for every node (``/**``, ``/*``) and for a node named ``deeplab`` (in any
    namespace) apply, in file order; values are typed as the node types them.

    :raises DeeplabError: The file cannot be read, applies to no such node, names unknown
        parameters or holds invalid values.
    """
    try:
        with open(path, encoding='utf-8') as stream:
            data = yaml.safe_load(stream)
    except OSError as error:
        raise DeeplabError(f'{path}: cannot read the parameter file: {error.strerror}')
    except yaml.YAMLError as error:
        raise DeeplabError(f'{path}: not a YAML parameter file: {error}')
    entries: List[Tuple[str, Any]] = []

    def walk(node: Any, key: str) -> None:
        for name, value in (node.items() if isinstance(node, dict) else ()):
            if name == 'ros__parameters':
                entries.append((key, value))
            elif isinstance(value, dict):
                walk(value, f'{key}/{str(name).strip("/")}')
    walk(data, '')
    if not entries:
        raise DeeplabError(f'{path}: no ros__parameters in it (a node parameter file is keyed '
                           'by node, e.g. /**: ros__parameters: ...)')
    given: Dict[str, Any] = {}
    for key, values in entries:
        if key.rsplit('/', 1)[-1] in ('**', '*', NODE_NAME) and isinstance(values, dict):
            given.update(values)
    if not given:
        raise DeeplabError(f'{path}: nothing for a node named {NODE_NAME}: its entries are for '
                           f'{", ".join(k for k, _ in entries)} (key them /** or /**/deeplab)')
    unknown = sorted(set(given) - set(parameters.SPECS))
    if unknown:
        raise DeeplabError(f'{path}: unknown parameters: {", ".join(unknown)} (see doc/node.md, '
                           'Parameters)')
    values = {name: _typed(path, name, value) for name, value in given.items()}
    for name, value in values.items():
        reason = parameters.check(name, value)
        if reason:
            raise DeeplabError(f'{path}: {reason}')
    notes = []
    live = [name for name in LIVE_ONLY if name in values]
    if live:
        notes.append(f'parameters for live streams do not apply to a bag: {", ".join(live)}')
    return values, notes


def _typed(path: str, name: str, value: Any) -> Any:
    """Return a parameter file value as the node's parameter type, or raise DeeplabError."""
    default = parameters.SPECS[name].default
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            isinstance(default, float) or isinstance(value, int))
        value = type(default)(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value)
        value = [str(v) for v in value] if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        kind = {bool: 'true or false', int: 'a whole number', float: 'a number',
                list: 'a list of strings', str: 'a string'}[type(default)]
        raise DeeplabError(f'{path}: {name} takes {kind}, not {value!r}')
    return value


def node_values(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[str]]:
    """Return the node parameter values for this run (defaults, file, options) and notes."""
    values = {name: spec.default for name, spec in parameters.SPECS.items()}
    notes: List[str] = []
    if args.params_file:
        given, notes = read_params(args.params_file)
        values.update(given)
    if args.model is not None:
        values['model'] = args.model
    if args.threads is not None:
        values['num_threads'] = args.threads
    return values, notes


def chosen_outputs(chosen: Sequence[str], values: Dict[str, Any]) -> Set[str]:
    """Return the outputs to write: --outputs with 'default' expanded, checked against values."""
    geometry = values['geometry']
    needs = {'mask': 'mask_classes', 'obstacles': 'obstacle_classes',
             'ground': 'ground_classes'}
    default = {'labels', 'camera_info', 'label_info'}
    if geometry != 'none':
        default |= {name for name in CLOUD_OUTPUTS if name == 'points' or values[needs[name]]}
    outputs: Set[str] = set()
    for name in chosen:
        outputs |= default if name == 'default' else {name}
    for name, parameter in needs.items():
        if name in outputs and not values[parameter]:
            raise DeeplabError(f'output {name} needs {parameter} (in the params file)')
    if outputs & set(CLOUD_OUTPUTS) and geometry == 'none':
        raise DeeplabError('the cloud outputs need geometry depth or ground_plane (in the '
                           'params file) and its parameters')
    return outputs
