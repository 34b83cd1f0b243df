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
The bags a run labels, found under its inputs, and where each one's output goes.

An input is a bag (a rosbag2 folder, which holds a metadata.yaml, or an .mcap or .db3 file)
or a folder holding bags, found at any depth. Each bag's output goes under the output folder
at the bag's path relative to the input it was found under (a file's without its suffix);
with one input that is a bag, OUT is the output bag itself.
"""

import dataclasses
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from deeplab_ros.errors import DeeplabError

BAG_FILES = ('.mcap', '.db3')


@dataclasses.dataclass
class BagTask:
    """One bag to label: where it is, where its output and PNG pairs go, and the settings."""

    index: int
    source: Path
    out: Path
    png: str = ''     # the folder of its PNG pairs ('' without --png)
    digest: str = ''  # of the settings (plan.settings_digest)


def is_bag(path: Path) -> bool:
    """Return whether a path is a bag: a folder with a metadata.yaml, or an .mcap/.db3 file."""
    if path.is_dir():
        return (path / 'metadata.yaml').is_file()
    return path.suffix in BAG_FILES


def _bags_under(folder: Path, skip: Path) -> Iterator[Path]:
    """Yield the bags in a folder, at any depth, in name order; hidden entries and ``skip`` out."""
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith('.') or entry.resolve() == skip:
            continue
        if is_bag(entry):
            yield entry
        elif entry.is_dir():
            yield from _bags_under(entry, skip)


def _relative(bag: Path, root: Path) -> Path:
    """Return the output path of a bag found under ``root``, relative to the output folder."""
    relative = bag.relative_to(root) if bag != root else Path(bag.name)
    return relative.with_suffix('') if bag.is_file() else relative


def find_bags(inputs: Sequence[str], out: Path, png: str) -> Tuple[List[BagTask], bool]:
    """
    Return the bags to label, and whether OUT is the output bag itself (one input, a bag).

    :raises DeeplabError: An input does not exist or holds no bag, or two bags would write
        the same output.
    """
    if len(inputs) == 1 and (is_bag(Path(inputs[0])) or not Path(inputs[0]).exists()):
        return [BagTask(0, Path(inputs[0]), out, png)], True
    found: List[Tuple[Path, Path]] = []
    for name in inputs:
        root = Path(name)
        if not root.exists():
            raise DeeplabError(f'{root}: no such file or folder')
        bags = [root] if is_bag(root) else list(_bags_under(root, out.resolve()))
        if not bags:
            raise DeeplabError(f'{root}: no bags in it (rosbag2 folders with a metadata.yaml, '
                               f'{" or ".join(BAG_FILES)} files)')
        found += [(bag, _relative(bag, root)) for bag in bags]
    tasks, taken = [], {}
    for bag, relative in found:
        if relative in taken:
            raise DeeplabError(f'{taken[relative]} and {bag} would both be written to '
                               f'{out / relative}: give them as separate folders')
        taken[relative] = bag
        tasks.append(BagTask(len(tasks), bag, out / relative,
                             str(Path(png) / relative) if png else ''))
    return tasks, False
