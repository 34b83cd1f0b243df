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
What a run reads and writes, settled before the model loads; OUT refused, skipped or replaced.

A bag is written under a temporary name beside OUT (``.OUT.partial/OUT``) and renamed to OUT
when it is complete: a bag at OUT is complete. Its metadata records a digest of the settings
it was made with, so that a run again with the same settings skips it.
"""

import argparse
import dataclasses
import hashlib
import json
import os
from pathlib import Path
import shutil
from typing import Any, Dict, List, Set, Tuple

from deeplab_ros.errors import DeeplabError
from deeplab_ros.tools.bag import reader as bag_reader
from deeplab_ros.tools.bag.msgtypes import DISTROS
from deeplab_ros.tools.bag.settings import chosen_outputs, node_values


@dataclasses.dataclass
class Plan:
    """What a run reads and writes."""

    source: Path
    out: Path
    values: Dict[str, Any]     # the node's parameters
    outputs: Set[str]
    cameras: List[bag_reader.BagCamera]
    distro: str
    window: Tuple[int, int]    # bag times, ns: from (inclusive), to (exclusive)
    frames: int                # about how many frames will be segmented
    recorded: List[Tuple[str, str]]  # the input's message definitions
    inputs: List[Any]          # the input's connections, one per topic
    digest: str = ''           # of the settings (settings_digest)


#: The output bag's custom metadata key of the settings' digest.
SETTINGS_KEY = 'deeplab_ros.settings'
#: Options that change nothing in an output bag.
_NEUTRAL = ('input', 'out', 'overwrite', 'jobs', 'ray', 'summary', 'threads', 'func',
            'command', 'png', 'params_file')


def settings_digest(args: argparse.Namespace, values: Dict[str, Any], source: Path) -> str:
    """Return a digest of what makes an output bag what it is: the input and the settings."""
    options = {k: v for k, v in sorted(vars(args).items()) if k not in _NEUTRAL}
    node = {k: v for k, v in sorted(values.items()) if k != 'num_threads'}
    text = json.dumps([str(source.resolve()), options, node, bool(args.png)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def output_state(out: Path, digest: str) -> str:
    """Return 'complete' (a bag of these settings at OUT), 'other' (something else), or ''."""
    if not out.exists() and not out.is_symlink():
        return ''
    try:
        import yaml
        with open(out / 'metadata.yaml', encoding='utf-8') as stream:
            metadata = yaml.safe_load(stream)['rosbag2_bagfile_information']
        custom = metadata.get('custom_data') or {}
    except (OSError, TypeError, KeyError, ValueError, AttributeError):
        return 'other'
    return 'complete' if custom.get(SETTINGS_KEY) == digest else 'other'


def start_partial(out: Path) -> Path:
    """Return the temporary folder to write OUT's bag into, after removing a stale one."""
    holder = out.parent / f'.{out.name}.partial'
    if holder.exists():
        shutil.rmtree(holder)
    holder.mkdir(parents=True)
    return holder / out.name


def finish_partial(partial: Path, out: Path) -> None:
    """Move a complete bag to OUT (replacing the bag --overwrite replaces)."""
    remove_out(out)
    os.replace(partial, out)
    partial.parent.rmdir()


def make_plan(args: argparse.Namespace, digest: str = '') -> Tuple[Plan, List[str]]:
    """
    Read the settings and the input bag's topics; return the plan and notes.

    :param digest: The settings' digest (default: computed here).
    """
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise DeeplabError(f'--end {args.end:g} is not after --start {args.start:g}')
    values, notes = node_values(args)
    outputs = chosen_outputs(args.outputs, values)
    source = Path(args.input)
    reader = bag_reader.open_reader(source)
    try:
        cameras, more = bag_reader.find_cameras(reader, args, values['geometry'], outputs)
        first, last = reader.start_time, reader.end_time
        window = (first + int((args.start or 0) * 1e9),
                  last if args.end is None else first + int(args.end * 1e9))
        share = (window[1] - window[0]) / max(last - first, 1)
        counts = {t: i.msgcount for t, i in reader.topics.items()}
        plan = Plan(source, Path(args.out), values, outputs, cameras,
                    args.distro or (reader.ros_distro if reader.ros_distro in DISTROS
                                    else 'jazzy'),
                    window, int(sum(counts[c.topic] for c in cameras) * share / args.every),
                    bag_reader.recorded_definitions(reader),
                    list({c.topic: c for c in reader.connections}.values()),
                    digest or settings_digest(args, values, source))
    finally:
        reader.close()
    _check_out(source, plan.out, args.overwrite)
    return plan, notes + more


def _check_out(source: Path, out: Path, overwrite: bool) -> None:
    """Refuse to write into the input, or over anything but a bag (and that with --overwrite)."""
    src, dst = source.resolve(), out.resolve()
    if dst == src or src.is_relative_to(dst) or (src.is_dir() and dst.is_relative_to(src)):
        raise DeeplabError(f'{out}: refusing to write into or over the input bag {source}')
    if not out.exists() and not out.is_symlink():
        return
    if not overwrite:
        raise DeeplabError(f'{out} exists (not a bag deeplab bag wrote with these settings): '
                           'choose another --out, or add --overwrite')
    if out.is_dir() and not out.is_symlink():
        strays = [p.name for p in out.iterdir() if p.suffix not in ('.yaml', '.db3', '.mcap')]
        if strays:
            raise DeeplabError(f'{out} is not a bag folder ({", ".join(strays[:3])} in it): '
                               '--overwrite replaces bags only')


def remove_out(out: Path) -> None:
    """Remove the bag --overwrite replaces (checked when the plan was made)."""
    if out.is_dir() and not out.is_symlink():
        shutil.rmtree(out)
    elif out.exists() or out.is_symlink():
        out.unlink()
