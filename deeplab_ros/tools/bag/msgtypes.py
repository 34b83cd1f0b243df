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
Message types per distribution: rosbags' type stores, definitions and hashes as rosbag2's.

Definitions are assembled as rosbag2 assembles them (the type's .msg text, then each
dependency once, sorted, after an 80 ``=`` delimiter). The .msg texts are, by preference:
those of an installed ROS package of the same distribution (what rosbag2 reads), those the
input bag recorded, the vision_msgs ones below, else rosbags' own (the same fields without
the comments). A text is used only when its fields are the distribution's.
"""

import functools
from importlib import metadata as package_metadata
import os
from pathlib import Path
import re
import sys
from typing import Dict, FrozenSet, Iterable, Optional, Tuple


IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED = 'sensor_msgs/msg/CompressedImage'
CAMERA_INFO = 'sensor_msgs/msg/CameraInfo'
POINT_CLOUD = 'sensor_msgs/msg/PointCloud2'
LABEL_INFO = 'vision_msgs/msg/LabelInfo'

#: Distributions a bag can be written for (rosbags' type stores: ``Stores.ROS2_<NAME>``).
DISTROS = ('humble', 'jazzy', 'kilted')

# vision_msgs 4.1.1 (what Humble, Jazzy and Kilted ship), not in rosbags' stores: the .msg
# files verbatim, as rosbag2 records them.
_VISION_MSGS = {
    'vision_msgs/msg/LabelInfo': (
        '# Provides meta-information about a visual pipeline.\n'
        '#\n'
        '# This message serves a similar purpose to sensor_msgs/CameraInfo, but instead\n'
        '#   of being tied to hardware, it represents information about a specific\n'
        '#   computer vision pipeline. This information stays constant (or relatively\n'
        '#   constant) over time, and so it is wasteful to send it with each individual\n'
        '#   result. By listening to these messages, subscribers will receive\n'
        '#   the context in which published vision messages are to be interpreted.\n'
        '# Each vision pipeline should publish its LabelInfo messages to its own topic,\n'
        '#   in a manner similar to CameraInfo.\n'
        '# This message is meant to allow converting data from vision pipelines that\n'
        '#   return id based classifications back to human readable string class names.\n'
        '\n'
        '# Used for sequencing\n'
        'std_msgs/Header header\n'
        '\n'
        '# An array of uint16 keys and string values containing the association\n'
        '#   between class identifiers and their names. According to the amount\n'
        '#   of classes and the datatype used to store their ids internally, the\n'
        '#   maxiumum class id allowed (65535 for uint16 and 255 for uint8) belongs to\n'
        '#   the "UNLABELED" class.\n'
        'vision_msgs/VisionClass[] class_map \n'
        '\n'
        '# The value between 0-1 used as confidence threshold for the inference.\n'
        'float32 threshold\n'),
    'vision_msgs/msg/VisionClass': (
        '# A key value pair that maps an integer class_id to a string class label\n'
        '#   in computer vision systems.\n'
        '\n'
        '# The int value that identifies the class.\n'
        '# Elements identified with 65535, the maximum uint16 value are assumed\n'
        '#   to belong to the "UNLABELED" class. For vision pipelines using less\n'
        '#   than 255 classes the "UNLABELED" is the maximum value in the uint8\n'
        '#   range.\n'
        'uint16 class_id\n'
        '\n'
        '# The name of the class represented by the class_id\n'
        'string class_name\n'),
}

# rosbag2's LocalMessageDefinitionSource: delimiter, field types, primitive types.
_DELIMITER = '=' * 80 + '\n'
_FIELD_TYPE = re.compile(r'(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+')
_PRIMITIVES = frozenset(('bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8',
                         'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'string'))


def make_typestore(distro: str):
    """Return rosbags' type store of a distribution, with vision_msgs' LabelInfo added."""
    from rosbags.typesys import get_types_from_msg, get_typestore, Stores
    typestore = get_typestore(getattr(Stores, f'ROS2_{distro.upper()}'))
    types = {}
    for name, text in _VISION_MSGS.items():
        types.update(get_types_from_msg(text, name))
    typestore.register(types)
    return typestore


@functools.lru_cache(maxsize=1)
def _pip_distros() -> FrozenSet[str]:
    """Return the distributions whose ros-<distro>-... wheels this Python has."""
    names = {(d.metadata['Name'] or '').lower() for d in package_metadata.distributions()}
    return frozenset(d for d in DISTROS if any(n.startswith(f'ros-{d}-') for n in names))


def _full_name(name: str) -> str:
    """Return ``pkg/msg/Type`` for a .msg type reference ``pkg/Type``."""
    parts = name.split('/')
    return f'{parts[0]}/msg/{parts[-1]}' if len(parts) == 2 else name


class Definitions:
    """Message definitions and type hashes as rosbag2 records them on one distribution."""

    def __init__(self, typestore, distro: str, recorded: Iterable[Tuple[str, str]] = ()
                 ) -> None:
        """
        Learn .msg texts from the definitions a bag recorded: ``(type, definition)`` pairs.

        Only texts whose fields are the distribution's are kept.
        """
        self.typestore, self.distro = typestore, distro
        self._recorded: Dict[str, str] = {}
        self._texts: Dict[str, str] = {}
        for msgtype, full in recorded:
            sections = full.split('\n' + _DELIMITER)
            self._offer(msgtype, sections[0])
            for section in sections[1:]:
                head, _, text = section.partition('\n')
                if head.startswith('MSG: '):
                    self._offer(_full_name(head[5:].strip()), text)

    def _fits(self, name: str, text: str) -> bool:
        """Return whether a .msg text has the fields of the distribution's type."""
        from rosbags.typesys import get_types_from_msg
        try:
            parsed = get_types_from_msg(text, name).get(name)
        except Exception:  # not a .msg text rosbags can parse
            return False
        return parsed is not None and parsed == self.typestore.fielddefs.get(name)

    def _offer(self, name: str, text: str) -> None:
        """Keep a recorded .msg text of a type, the first that fits."""
        if name not in self._recorded and self._fits(name, text):
            self._recorded[name] = text

    def _installed(self, name: str) -> Optional[str]:
        """Return the type's .msg text from an install of this distribution, if there is one."""
        package, _, typename = name.split('/')
        sourced = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
        for prefix in sourced + [sys.prefix]:
            path = Path(prefix, 'share', package, 'msg', typename + '.msg')
            if path.is_file() and self._is_distro(Path(prefix), prefix in sourced):
                text = path.read_text(encoding='utf-8')
                if self._fits(name, text):
                    return text
        return None

    def _is_distro(self, prefix: Path, sourced: bool) -> bool:
        """Return whether an install prefix holds this distribution's packages."""
        if prefix == Path('/opt/ros', self.distro):
            return True
        if prefix == Path(sys.prefix) and self.distro in _pip_distros():  # ros-<distro>-...
            return True
        return sourced and os.environ.get('ROS_DISTRO') == self.distro

    def text(self, name: str) -> str:
        """Return the .msg text of one type (without its dependencies)."""
        if name not in self._texts:
            text = self._installed(name) or self._recorded.get(name) or _VISION_MSGS.get(name)
            if text is None or not self._fits(name, text):
                text = self.typestore.gendefhash(name, {}, 2)[0]
            self._texts[name] = text
        return self._texts[name]

    def full(self, name: str) -> str:
        """Return the type's complete definition, assembled as rosbag2 assembles it."""
        seen = set()

        def append(typename: str) -> str:
            text = self.text(typename)
            package = typename.split('/')[0]
            result = text
            for dep in sorted({t if '/' in t else f'{package}/{t}'
                               for t in _FIELD_TYPE.findall(text) if t not in _PRIMITIVES}):
                if dep not in seen:
                    seen.add(dep)
                    result += '\n' + _DELIMITER + 'MSG: ' + dep + '\n' + append(_full_name(dep))
            return result
        return append(name)

    @property
    def has_hashes(self) -> bool:
        """Return whether rosbag2 records type hashes on this distribution (Iron and later)."""
        return self.distro != 'humble'

    def type_hash(self, name: str) -> str:
        """Return the RIHS01 hash rosbag2 records for a type ('' on Humble)."""
        return self.typestore.hash_rihs01(name) if self.has_hashes else ''
