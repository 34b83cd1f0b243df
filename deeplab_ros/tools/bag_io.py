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
rosbag2 files for ``deeplab bag`` through rosbags: read frames, build and write messages.

No ROS install is needed. The bag written holds what ``ros2 bag record`` would hold on the
chosen distribution: metadata version 9 on Jazzy and Kilted (8 on Humble, the newest that
Humble reads), RIHS01 type hashes in the metadata, the sqlite3 tables and the MCAP channels
(none on Humble, which records none), and message definitions assembled as rosbag2 does
(the type's .msg text, then each dependency once, sorted, after an 80 ``=`` delimiter). The
.msg texts are, by preference: those of an installed ROS package of the same distribution
(what rosbag2 reads), those the input bag recorded, the vision_msgs ones below, else
rosbags' own (the same fields without the comments). A text is used only when its fields
are the distribution's. Three threads share the work: :class:`ReadThread` reads and decodes
ahead, the caller segments, :class:`WriteThread` writes.
"""

import ctypes
import dataclasses
import functools
from importlib import metadata as package_metadata
from io import BytesIO
import os
from pathlib import Path
import queue
import re
import struct
import sys
import threading
from typing import Any, Dict, FrozenSet, Iterable, Optional, Sequence, Set, Tuple

import cv2
from deeplab_ros.errors import DeeplabError
from deeplab_ros.frame.codec import DecodeError
from deeplab_ros.frame.job import FrameJob
from deeplab_ros.frame.wire import Frame, read_compressed, read_image, WireError
from deeplab_ros.nav.camera import scale_camera_info
from deeplab_ros.nav.cloud import ORGANIZED_FIELDS, POINT_FIELDS
import numpy as np
from rosbags.interfaces import (MessageDefinitionFormat, Qos, QosDurability, QosHistory,
                                QosLiveliness, QosReliability, QosTime)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.rosbag2.storage_mcap import Channel, McapWriter, write_channel, write_string
from rosbags.rosbag2.storage_sqlite3 import Sqlite3Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED = 'sensor_msgs/msg/CompressedImage'
CAMERA_INFO = 'sensor_msgs/msg/CameraInfo'
POINT_CLOUD = 'sensor_msgs/msg/PointCloud2'
LABEL_INFO = 'vision_msgs/msg/LabelInfo'

#: Distributions a bag can be written for (rosbags' type stores).
DISTROS = {'humble': Stores.ROS2_HUMBLE, 'jazzy': Stores.ROS2_JAZZY,
           'kilted': Stores.ROS2_KILTED}
STORAGES = {'sqlite3': StoragePlugin.SQLITE3, 'mcap': StoragePlugin.MCAP}

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
_NO_HASH = 'RIHS01_' + '0' * 64  # rosbags wants a hash: stands for "none recorded"
QUEUE = 8  # items between threads (a 720p rgb8 frame is 2.7 MB)
END = None  # the last item of a queue
_DIRECT_BYTES = 256 * 1024  # MCAP messages this large are written straight to the file


class BagError(DeeplabError):
    """A bag cannot be read or written, or the command asks for something it lacks."""


def keep_freed_buffers() -> None:
    """
    Have glibc keep freed multi-megabyte buffers for reuse (a no-op elsewhere).

    By default glibc maps each buffer of a frame's size afresh and unmaps it when freed, so
    every frame read, serialized and written costs thousands of page faults; kept, the
    buffers of one frame serve the next.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 * 2**20)   # M_MMAP_THRESHOLD: its maximum
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
    except (AttributeError, OSError):
        pass


def make_typestore(distro: str):
    """Return rosbags' type store of a distribution, with vision_msgs' LabelInfo added."""
    typestore = get_typestore(DISTROS[distro])
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
        try:
            parsed = get_types_from_msg(text, name).get(name)
        except Exception:  # not a .msg text rosbags can parse
            return False
        return parsed is not None and parsed == self.typestore.fielddefs.get(name)

    def _offer(self, name: str, text: str) -> None:
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


def _real_hash(connection):
    """Return the connection with the hash rosbag2 would record ('' for none)."""
    return connection._replace(digest='') if connection.digest == _NO_HASH else connection


class _Sqlite3(Sqlite3Writer):
    """rosbags' sqlite3 storage; an empty type hash where none is recorded; 64 KiB pages."""

    # A frame spans fewer pages: a sixteenth of the writes of the default 4 KiB pages.
    SQLITE_SCHEMA = 'PRAGMA page_size = 65536;' + Sqlite3Writer.SQLITE_SCHEMA

    def add_msgtype(self, connection) -> None:
        super().add_msgtype(_real_hash(connection))

    def add_connection(self, connection, offered_qos_profiles: str) -> None:
        super().add_connection(_real_hash(connection), offered_qos_profiles)


class _Mcap(McapWriter):
    """
    rosbags' MCAP storage; channels carry ``topic_type_hash`` as rosbag2 (Iron+) writes.

    A message of a frame's size goes into a chunk of its own, written around it: rosbags'
    own path copies it four times, which on a small machine takes CPU from inference.
    """

    type_hashes = True

    def add_connection(self, connection, offered_qos_profiles: str) -> None:
        connection = _real_hash(connection)
        metadata = [('offered_qos_profiles', offered_qos_profiles)]
        if self.type_hashes:
            metadata.append(('topic_type_hash', connection.digest))
        data = BytesIO()
        for key, value in metadata:
            write_string(data, key)
            write_string(data, value)
        self.channels.append(Channel(connection.id, connection.msgtype, connection.topic,
                                     connection.ext.serialization_format, data.getvalue()))
        self.channel_stats[connection.id] = 0
        write_channel(self.chunk.bio, self.channels[-1], self.schemas)

    def write(self, connection, timestamp: int, data) -> None:
        """Write a message; one of a frame's size in a chunk of its own, without copying it."""
        size = len(data)
        if size < _DIRECT_BYTES or self.compression:
            super().write(connection, timestamp, data)
            return
        if self.chunk.bio.tell():
            self.close_chunk()
        records = 31 + size  # the message record: opcode, length, 22 bytes of fields, data
        start = self.bio.tell()
        self.bio.write(struct.pack(
            '<BQQQQIIQBQHIQQ', 0x06, 40 + records, timestamp, timestamp, records, 0, 0,
            records, 0x05, 22 + size, connection.id, 0, timestamp, timestamp))
        self.bio.write(data)
        end = self.bio.tell()
        self.bio.write(struct.pack('<BQHIQQ', 0x07, 22, connection.id, 16, timestamp, 0))
        index = BytesIO()
        index.write(struct.pack('<QQQQIHQQIQQ', timestamp, timestamp, start, end - start, 10,
                                connection.id, end, self.bio.tell() - end, 0, records,
                                records))
        self.chunks.append(index)
        self.message_start_time = min(timestamp, self.message_start_time)
        self.message_end_time = max(timestamp, self.message_end_time)
        self.channel_stats[connection.id] += 1


class _McapNoHashes(_Mcap):
    type_hashes = False


def _infinite(distro: str) -> QosTime:
    """Return the 'infinite' duration rosbag2 records in offered QoS on a distribution."""
    return QosTime(2147483647, 4294967295) if distro == 'humble' else QosTime(
        9223372036, 854775807)


class BagWriter:
    """A new bag for one distribution and storage; use from one thread only."""

    def __init__(self, path: Path, storage: str, definitions: Definitions) -> None:
        """Prepare the bag (:meth:`open` creates it)."""
        self.definitions = definitions
        distro = definitions.distro
        writer = Writer(path, version=9 if definitions.has_hashes else 8,
                        storage_plugin=STORAGES[storage])
        writer.STORAGE_PLUGINS = {StoragePlugin.SQLITE3: _Sqlite3, StoragePlugin.MCAP: (
            _Mcap if definitions.has_hashes else _McapNoHashes)}
        self.writer = writer
        infinite = _infinite(distro)
        # What rosbag2 records of the node's publishers (DDS reports no history or depth).
        self._qos = {durability: Qos(
            QosHistory.UNKNOWN, 0, QosReliability.RELIABLE, durability, infinite, infinite,
            QosLiveliness.AUTOMATIC, infinite, False)
            for durability in (QosDurability.VOLATILE, QosDurability.TRANSIENT_LOCAL)}

    def open(self, custom: Dict[str, str]) -> None:  # noqa: A003
        """Create the bag folder and its storage file, with custom data in the metadata."""
        for key, value in custom.items():
            self.writer.set_custom_data(key, value)
        self.writer.open()

    def add_output(self, topic: str, msgtype: str, latched: bool = False):
        """Add an output topic; return its connection."""
        durability = QosDurability.TRANSIENT_LOCAL if latched else QosDurability.VOLATILE
        return self._add(topic, msgtype, self.definitions.full(msgtype),
                         self.definitions.type_hash(msgtype), 'cdr', [self._qos[durability]])

    def add_passthrough(self, connection):
        """Add an input topic as recorded (definition, hash, QoS); return its connection."""
        definitions = self.definitions
        msgdef, digest = connection.msgdef.data, connection.digest
        known = connection.msgtype in definitions.typestore.fielddefs
        if not msgdef and known:
            msgdef = definitions.full(connection.msgtype)
        if not definitions.has_hashes:
            digest = ''
        elif not digest and known:
            digest = definitions.type_hash(connection.msgtype)
        return self._add(connection.topic, connection.msgtype, msgdef, digest,
                         connection.ext.serialization_format,
                         connection.ext.offered_qos_profiles)

    def _add(self, topic: str, msgtype: str, msgdef: str, digest: str, serialization: str,
             qos: Sequence[Any]):
        """Add a connection; an empty ``digest`` is recorded as no hash."""
        connection = self.writer.add_connection(
            topic, msgtype, msgdef=msgdef, rihs01=digest or _NO_HASH,
            serialization_format=serialization, offered_qos_profiles=qos)
        if not digest:  # what the metadata is written from
            connection = self.writer.connections[-1] = _real_hash(connection)
        return connection

    def write(self, connection, timestamp: int, data) -> None:
        """Write one serialized message at a bag timestamp (ns)."""
        self.writer.write(connection, timestamp, data)

    def close(self) -> None:
        """Write the index and metadata: the bag is complete and readable."""
        self.writer.close()


class Messages:
    """Serialized output messages of the node's kinds, built with a distribution's types."""

    def __init__(self, typestore) -> None:
        """Build messages with ``typestore``'s classes."""
        self.typestore = typestore
        types = typestore.types
        self._time, self._header = types['builtin_interfaces/msg/Time'], types[
            'std_msgs/msg/Header']
        self._image, self._info = types[IMAGE], types[CAMERA_INFO]
        self._roi, self._cloud = types['sensor_msgs/msg/RegionOfInterest'], types[POINT_CLOUD]
        self._label_info, self._class = types[LABEL_INFO], types['vision_msgs/msg/VisionClass']
        field = types['sensor_msgs/msg/PointField']
        self._fields = {kind: [field(**spec._asdict()) for spec in specs]
                        for kind, specs in (('points', POINT_FIELDS),
                                            ('organized', ORGANIZED_FIELDS))}

    def _serialize(self, message, msgtype: str):
        return self.typestore.serialize_cdr(message, msgtype)

    def header(self, frame: Frame):
        """Return the std_msgs/Header of a camera frame."""
        return self._header(stamp=self._time(sec=frame.sec, nanosec=frame.nanosec),
                            frame_id=frame.frame_id)

    def image(self, head, pixels: np.ndarray, encoding: str):
        """Return a serialized sensor_msgs/Image of an HxW or HxWxC array."""
        height, width = pixels.shape[:2]
        step = width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
        data = np.ascontiguousarray(pixels).reshape(-1).view(np.uint8)
        return self._serialize(self._image(
            header=head, height=height, width=width, encoding=encoding,
            is_bigendian=int(sys.byteorder == 'big' and pixels.itemsize > 1), step=step,
            data=data), IMAGE)

    def camera_info(self, info, head, image_size: Tuple[int, int],
                    label_size: Tuple[int, int]):
        """
        Return the serialized camera_info of a label map: K, P and ROI scaled to its size.

        As the node: from the camera_info's own size (the image's when it gives none).
        """
        roi = info.roi
        from_size = (info.width, info.height) if info.width and info.height else image_size
        k, p, (x, y, w, h) = scale_camera_info(
            info.k, info.p, (roi.x_offset, roi.y_offset, roi.width, roi.height), from_size,
            label_size)
        return self._serialize(self._info(
            header=head, height=label_size[1], width=label_size[0],
            distortion_model=info.distortion_model, d=np.asarray(info.d, np.float64),
            k=np.asarray(k, np.float64), r=np.asarray(info.r, np.float64),
            p=np.asarray(p, np.float64), binning_x=info.binning_x, binning_y=info.binning_y,
            roi=self._roi(x_offset=x, y_offset=y, height=h, width=w,
                          do_rectify=roi.do_rectify)), CAMERA_INFO)

    def point_cloud(self, head, packed: np.ndarray):
        """Return a serialized PointCloud2 of nav.cloud points (2-D: organized, not dense)."""
        organized = packed.ndim == 2
        height, width = packed.shape if organized else (1, packed.shape[0])
        step = packed.dtype.itemsize
        return self._serialize(self._cloud(
            header=head, height=height, width=width,
            fields=self._fields['organized' if organized else 'points'], is_bigendian=False,
            point_step=step, row_step=step * width,
            data=np.ascontiguousarray(packed).reshape(-1).view(np.uint8),
            is_dense=not organized), POINT_CLOUD)

    def label_info(self, head, names: Sequence[str]):
        """Return a serialized vision_msgs/LabelInfo naming every class id."""
        return self._serialize(self._label_info(header=head, threshold=0.0, class_map=[
            self._class(class_id=i, class_name=name) for i, name in enumerate(names)]),
            LABEL_INFO)


def open_reader(path: Path) -> Any:
    """Open a rosbag2 folder or an .mcap/.db3 file, or raise BagError naming it and why."""
    if not path.exists():
        raise BagError(f'{path}: no such file or folder')
    try:
        reader = Reader(path)
        reader.open()
    except Exception as error:  # rosbags raises many kinds; all mean "cannot read it"
        reason = str(error).strip() or type(error).__name__
        raise BagError(f'{path}: cannot read the bag: {reason}') from None
    return reader


def storage_of(path: Path) -> str:
    """Return the storage format of a bag (``mcap`` or ``sqlite3``)."""
    files = [path] if path.is_file() else list(path.iterdir())
    return 'mcap' if any(f.suffix == '.mcap' for f in files) else 'sqlite3'


def recorded_definitions(reader) -> list:
    """Return the ``(type, definition)`` pairs of the .msg definitions a bag recorded."""
    return [(c.msgtype, c.msgdef.data) for c in reader.connections
            if c.msgdef.data and c.msgdef.format == MessageDefinitionFormat.MSG]


def first_encoding(reader, topic: str) -> str:
    """Return the encoding of the first message of an Image topic ('' if unreadable)."""
    connections = [c for c in reader.connections if c.topic == topic]
    for _, _, data in reader.messages(connections):
        try:
            return read_frame(None, IMAGE, data).encoding
        except (ValueError, AttributeError):
            return ''
    return ''


def read_frame(typestore, msgtype: str, data) -> Frame:
    """
    Return the fields of a serialized Image or CompressedImage.

    Straight from the CDR bytes; other encodings through rosbags' deserializer.

    :raises ValueError: The message cannot be read (the reason).
    """
    try:
        return read_compressed(data) if msgtype == COMPRESSED else read_image(data)
    except WireError:
        pass
    try:
        msg = typestore.deserialize_cdr(data, msgtype)
    except Exception as error:
        raise ValueError(f'unreadable message: {type(error).__name__}: {error}') from None
    stamp = msg.header.stamp
    pixels = memoryview(np.ascontiguousarray(msg.data, np.uint8))
    if msgtype == COMPRESSED:
        return Frame(stamp.sec, stamp.nanosec, msg.header.frame_id, pixels, fmt=msg.format)
    return Frame(stamp.sec, stamp.nanosec, msg.header.frame_id, pixels, msg.encoding,
                 msg.height, msg.width, msg.step, bool(msg.is_bigendian))


@dataclasses.dataclass
class Item:
    """One message from the reader thread: what it is for, and what was read of it."""

    kind: str       # frame, skip (a frame --every leaves out), info, depth, other, error
    topic: str
    stamp: int      # bag timestamp, ns
    data: Any
    payload: Any = None   # frame: (Frame or None, reason); info: message; depth: Frame
    write: bool = True    # pass through into OUT


class ReadThread(threading.Thread):
    """Read the bag's messages in order and prepare them for the labeller."""

    def __init__(self, path: Path, topics: Dict[str, str], window: Tuple[int, int],
                 every: int, job: FrameJob, max_pixels: int, typestore,
                 passthrough: Set[str]) -> None:
        """
        Prepare to read ``topics`` of the bag at ``path`` (:meth:`start` reads).

        :param topics: The topics to read, by role (frame, info, depth or other).
        :param window: Bag times, ns, from (inclusive) and to (exclusive).
        :param passthrough: The topics whose messages go into the new bag too.
        """
        super().__init__(name='deeplab_bag_reader', daemon=True)
        self.path, self.topics, self.window = path, topics, window
        self.every, self.job, self.max_pixels = every, job, max_pixels
        self.typestore, self.passthrough = typestore, passthrough
        self.queue: 'queue.Queue[Optional[Item]]' = queue.Queue(QUEUE)
        self.stopping = threading.Event()
        self.counts: Dict[str, int] = {}

    def _put(self, item: Optional[Item]) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        """Read until the end of the window, or until stopped."""
        try:
            reader = open_reader(self.path)
            try:
                self._read(reader)
            finally:
                reader.close()
            self._put(END)
        except Exception as error:  # hand it to the labeller, which raises it
            if not isinstance(error, DeeplabError):
                error = BagError(f'{self.path}: cannot read the bag: {error}')
            self._put(Item('error', '', 0, None, error))

    def _read(self, reader) -> None:
        connections = [c for c in reader.connections if c.topic in self.topics]
        start, stop = self.window
        infos = [c for c in connections if self.topics[c.topic] == 'info']
        if infos and start > reader.start_time:  # the newest camera_info before the window
            latest = {}
            for connection, stamp, data in reader.messages(infos, stop=start):
                latest[connection.topic] = (connection, stamp, data)
            for connection, stamp, data in latest.values():
                self._put(self._item(connection, stamp, data, write=False))
        for connection, stamp, data in reader.messages(connections, start=start, stop=stop):
            if self.stopping.is_set():
                return
            self._put(self._item(connection, stamp, data))

    def _item(self, connection, stamp: int, data, write: bool = True) -> Item:
        topic, role = connection.topic, self.topics[connection.topic]
        item = Item(role, topic, stamp, data, write=write and topic in self.passthrough)
        if role == 'info':
            try:
                item.payload = self.typestore.deserialize_cdr(data, connection.msgtype)
            except Exception:  # an unreadable camera_info: the previous one stays
                item.payload = None
        elif role == 'depth':
            try:
                item.payload = read_frame(self.typestore, connection.msgtype, data)
            except ValueError:
                item.payload = None
        elif role == 'frame':
            index = self.counts[topic] = self.counts.get(topic, -1) + 1
            if index % self.every:
                item.kind = 'skip'
            else:
                item.payload = self._frame(connection.msgtype, data)
        return item

    def _frame(self, msgtype: str, data) -> Tuple[Any, str]:
        """Return (frame, '') with compressed and non-rgb8 frames decoded ahead, or (None, why)."""
        try:
            frame = read_frame(self.typestore, msgtype, data)
            if frame.fmt or frame.encoding != 'rgb8':
                rgb = self.job.decode(frame, self.max_pixels)
                frame = dataclasses.replace(
                    frame, data=memoryview(rgb.reshape(-1)), encoding='rgb8',
                    height=rgb.shape[0], width=rgb.shape[1], step=rgb.shape[1] * 3,
                    is_bigendian=False, fmt='')
            return frame, ''
        except (ValueError, DecodeError) as error:
            return None, str(error)


class WriteThread(threading.Thread):
    """Write messages (and PNG pairs) in the order given; open and close the bag."""

    def __init__(self, bag, custom: Dict[str, str], outputs: Sequence[Tuple[str, str, bool]],
                 passthrough: Sequence[Any], png: Optional[Path]) -> None:
        """
        Prepare to write ``bag`` (:meth:`start` opens it).

        :param outputs: ``(topic, type, latched)`` of each output topic.
        :param passthrough: The input connections to copy.
        :param png: The folder of the PNG pairs, if any.
        """
        super().__init__(name='deeplab_bag_writer')  # not a daemon: the bag is always closed
        self.bag, self.custom, self.outputs, self.inputs = bag, custom, outputs, passthrough
        self.png = png
        self.queue: 'queue.Queue[Any]' = queue.Queue(QUEUE)
        self.ready = threading.Event()
        self.error: Optional[BaseException] = None
        self.written: Dict[str, int] = {}

    def run(self) -> None:
        """Open the bag, write until told to stop, close it."""
        opened = False
        try:
            self.bag.open(self.custom)
            opened = True
            connections = {t: self.bag.add_output(t, kind, latched)
                           for t, kind, latched in self.outputs}
            for connection in self.inputs:
                if connection.topic not in connections:
                    connections[connection.topic] = self.bag.add_passthrough(connection)
            self.ready.set()
            while True:
                try:
                    batch = self.queue.get(timeout=0.5)
                except queue.Empty:  # a main thread gone (a second Ctrl-C) ends it too
                    if threading.main_thread().is_alive():
                        continue
                    break
                if batch is END:
                    break
                messages, png = batch
                for topic, stamp, data in messages:
                    self.bag.write(connections[topic], stamp, data)
                    self.written[topic] = self.written.get(topic, 0) + 1
                if png is not None:
                    self._png(*png)
        except BaseException as error:
            self.error = error
        finally:
            self.ready.set()
            if opened:
                try:
                    self.bag.close()
                except BaseException as error:
                    self.error = self.error or error

    def _png(self, name: str, rgb: np.ndarray, labels: np.ndarray) -> None:
        for folder, image in (('images', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)),
                              ('masks', labels)):
            path = self.png / folder / (name + '.png')
            if not cv2.imwrite(str(path), image):
                raise OSError(f'cannot write {path}')

    def put(self, batch: Any) -> None:
        """Queue a batch ``(messages, png)`` or :data:`END`; raise when the writer failed."""
        while True:
            if self.error is not None or not self.is_alive():
                raise DeeplabError(f'cannot write {self.bag.writer.path}: '
                                   f'{self.error or "the writer stopped"}')
            try:
                self.queue.put(batch, timeout=0.1)
                return
            except queue.Full:
                continue
