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

"""The input bag: opening it, its cameras (image, camera_info and depth topics), its frames."""

import argparse
import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from deeplab_ros.errors import DeeplabError
from deeplab_ros.frame.clouds import CameraClouds, CLOUD_OUTPUTS
from deeplab_ros.frame.codec import RAW_ENCODINGS
from deeplab_ros.frame.wire import read_image, WireError
from deeplab_ros.tools.bag.msgtypes import CAMERA_INFO, COMPRESSED, IMAGE
import numpy as np


def open_reader(path: Path) -> Any:
    """Open a rosbag2 folder or an .mcap/.db3 file, or raise DeeplabError naming it and why."""
    if not path.exists():
        raise DeeplabError(f'{path}: no such file or folder')
    from rosbags.rosbag2 import Reader
    try:
        reader = Reader(path)
        reader.open()
    except Exception as error:  # rosbags raises many kinds; all mean "cannot read it"
        reason = str(error).strip() or type(error).__name__
        raise DeeplabError(f'{path}: cannot read the bag: {reason}') from None
    return reader


def storage_of(path: Path) -> str:
    """Return the storage format of a bag (``mcap`` or ``sqlite3``)."""
    files = [path] if path.is_file() else list(path.iterdir())
    return 'mcap' if any(f.suffix == '.mcap' for f in files) else 'sqlite3'


def recorded_definitions(reader) -> List[Tuple[str, str]]:
    """Return the ``(type, definition)`` pairs of the .msg definitions a bag recorded."""
    from rosbags.interfaces import MessageDefinitionFormat
    return [(c.msgtype, c.msgdef.data) for c in reader.connections
            if c.msgdef.data and c.msgdef.format == MessageDefinitionFormat.MSG]


def _first_encoding(reader, topic: str) -> str:
    """Return the encoding of the first message of an Image topic ('' if unreadable)."""
    connections = [c for c in reader.connections if c.topic == topic]
    for _, _, data in reader.messages(connections):
        try:
            return read_image(data).encoding
        except WireError:
            return ''
    return ''


@dataclasses.dataclass
class Item:
    """One message of the input bag, as read: what it is for, and what was read of it."""

    kind: str       # frame, skip (a frame --every leaves out), info, depth, other, error
    topic: str
    stamp: int      # bag timestamp, ns
    data: Any
    payload: Any = None   # frame: (Frame, RGB) or (None, reason); info: message; depth: Frame
    write: bool = True    # pass through into OUT


@dataclasses.dataclass(eq=False)
class BagCamera:
    """One camera of the bag: its image topic, inputs, outputs and counts."""

    namespace: str  # '/front', or '' for the root namespace
    topic: str
    info_topic: str = ''   # '' when the bag has none
    depth_topic: str = ''
    clouds: Optional[CameraClouds] = None
    info: Any = None
    newest_depth_ns: int = -1
    label_info_sent: bool = False
    frames: int = 0
    skipped: int = 0
    rejected: int = 0
    reasons: Dict[str, int] = dataclasses.field(default_factory=dict)
    notes: Dict[str, int] = dataclasses.field(default_factory=dict)
    pixels: Optional[np.ndarray] = None
    png_names: Set[str] = dataclasses.field(default_factory=set)

    def output(self, name: str) -> str:
        """Return the topic of an output of this camera."""
        return f'{self.namespace}/segmentation/{name}'

    def reject(self, reason: str) -> None:
        """Count a malformed frame."""
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def camera_of(topic: str, compressed: bool) -> str:
    """Return an image topic's camera: its namespace (/front/image_raw/compressed: /front)."""
    parts = topic.strip('/').split('/')
    if compressed and len(parts) > 1 and parts[-1] == 'compressed':
        parts = parts[:-1]
    return '/' + '/'.join(parts[:-1]) if len(parts) > 1 else ''


def _choose_topics(reader, args: argparse.Namespace) -> Tuple[Dict[str, str], List[str]]:
    """Return the image topics to segment (topic: type) and notes on those left out."""
    images = {t: i.msgtype for t, i in reader.topics.items()
              if i.msgtype in (IMAGE, COMPRESSED)}
    listing = ', '.join(sorted(images)) or 'none'
    if args.topics:
        unknown = [t for t in args.topics if t not in images]
        if unknown:
            raise DeeplabError(f'{args.input} has no image topic {", ".join(unknown)}; its '
                               f'image topics: {listing}')
        return {t: images[t] for t in args.topics}, []
    depths = {topic for _, topic in args.depth}
    chosen, notes = {}, []
    for topic, msgtype in sorted(images.items()):
        tokens = topic.lower().strip('/').split('/')
        if topic in depths or 'segmentation' in tokens or any('depth' in t for t in tokens):
            continue
        if msgtype == IMAGE:
            encoding = _first_encoding(reader, topic)
            if encoding and encoding not in RAW_ENCODINGS:
                notes.append(f'left out {topic}: {encoding} images are not camera images')
                continue
        chosen[topic] = msgtype
    if not chosen:
        raise DeeplabError(f'{args.input} has no camera image topic to segment; its image '
                           f'topics: {listing}')
    return chosen, notes


def find_cameras(reader, args: argparse.Namespace, geometry: str, outputs: Set[str]
                 ) -> Tuple[List[BagCamera], List[str]]:
    """Return the cameras of the chosen image topics, with their inputs, and notes."""
    chosen, notes = _choose_topics(reader, args)
    cameras: Dict[str, BagCamera] = {}
    for topic, msgtype in chosen.items():
        namespace = camera_of(topic, msgtype == COMPRESSED)
        other = cameras.get(namespace)
        if other is not None:
            raw = topic if msgtype == IMAGE else other.topic
            if args.topics or chosen[other.topic] == msgtype:
                raise DeeplabError(f'{other.topic} and {topic} are both images of camera '
                                   f'{namespace or "/"}, whose outputs they would share: '
                                   'choose one with --topics')
            notes.append(f'camera {namespace or "/"}: segmenting {raw}, not '
                         f'{topic if raw == other.topic else other.topic}')
            other.topic = raw
            continue
        cameras[namespace] = BagCamera(namespace, topic)
    types = {t: i.msgtype for t, i in reader.topics.items()}
    depths = dict(args.depth)
    unknown = sorted(set(depths) - set(cameras))
    if unknown:
        raise DeeplabError(f'--depth names camera {", ".join(unknown)}; the cameras are '
                           f'{", ".join(c or "/" for c in sorted(cameras))}')
    clouds = geometry == 'depth' and bool(outputs & set(CLOUD_OUTPUTS))
    for camera in cameras.values():
        info = camera.namespace + '/camera_info'
        camera.info_topic = info if types.get(info) == CAMERA_INFO else ''
        if not camera.info_topic and outputs & ({'camera_info'} | set(CLOUD_OUTPUTS)):
            notes.append(f'no {info} in the bag: no camera_info or clouds for {camera.topic}')
        if clouds:
            candidates = [depths[camera.namespace]] if camera.namespace in depths else [
                camera.namespace + '/depth', camera.namespace + '/depth/image_raw']
            found = [t for t in candidates if types.get(t) == IMAGE]
            if found:
                camera.depth_topic = found[0]
            elif camera.namespace in depths:
                raise DeeplabError(f'--depth: {args.input} has no Image topic {candidates[0]}')
            else:
                notes.append(f'no depth image topic {" or ".join(candidates)}: no clouds for '
                             f'{camera.topic} (name one with --depth '
                             f'{camera.namespace or "/"}=TOPIC)')
    if clouds and not any(c.depth_topic for c in cameras.values()):
        raise DeeplabError('geometry depth needs a registered depth image topic: ' + '; '.join(
            n for n in notes if n.startswith('no depth')))
    return list(cameras.values()), notes
