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
The one place where ``deeplab bag`` uses rosbags beyond its public API; each use is checked.

Written against rosbags 0.11.9: its storage writers (``rosbags.rosbag2.storage_sqlite3`` and
``storage_mcap``: classes, methods, attributes) and ``Writer.STORAGE_PLUGINS``. Through them
the bag gets what ``ros2 bag record`` writes and rosbags' public API does not: no type hash
where rosbag2 records none (Humble, or a type it cannot hash), ``topic_type_hash`` in MCAP
channels, 64 KiB sqlite3 pages, and frame-sized MCAP messages written without copies.

Each use is checked when it runs, not by rosbags' version. Where rosbags is not as expected,
the bag is written through rosbags' public API: still a valid bag with the same messages,
written slower (rosbags copies each message on its way into a chunk), with rosbags' own
sqlite3 pages and MCAP channel metadata, and a placeholder type hash in the storage file
where rosbag2 records none.
"""

from collections.abc import Mapping
import inspect
from io import BytesIO, IOBase
from pathlib import Path
import struct
from typing import Any, Sequence

try:
    from rosbags.rosbag2 import StoragePlugin, Writer
except ImportError:  # no rosbags: this module loads (deeplab bag says how to install it)
    StoragePlugin = Writer = None
try:  # rosbags 0.11.9's storage writers, which the classes below extend
    from rosbags.rosbag2.storage_mcap import Channel, McapWriter, write_channel, write_string
    from rosbags.rosbag2.storage_sqlite3 import Sqlite3Writer
except ImportError:  # laid out otherwise: _tunable() is false and rosbags is used as it is
    Channel = McapWriter = Sqlite3Writer = write_channel = write_string = None

_NO_HASH = 'RIHS01_' + '0' * 64  # rosbags wants a hash: stands for "none recorded"
_DIRECT_BYTES = 256 * 1024  # MCAP messages this large are written straight to the file
# The storage writer methods overridden below, with their parameters in rosbags 0.11.9.
_PROTOCOL = {'__init__': ('self', 'path', 'compression'),
             'add_msgtype': ('self', 'connection'),
             'add_connection': ('self', 'connection', 'offered_qos_profiles'),
             'write': ('self', 'connection', 'timestamp', 'data')}
_CHANNEL_FIELDS = ('id', 'schema', 'topic', 'message_encoding', 'metadata')
# The attributes of rosbags 0.11.9's McapWriter used below, and their types.
_MCAP_STATE = {'bio': IOBase, 'chunks': list, 'channels': list, 'channel_stats': dict,
               'schemas': list, 'compression': str, 'message_start_time': int,
               'message_end_time': int}


def _tunable() -> bool:
    """Return whether rosbags writes through the storage classes extended here, as expected."""
    plugins = getattr(Writer, 'STORAGE_PLUGINS', None)
    if McapWriter is None or not isinstance(plugins, Mapping) or (
            plugins.get(StoragePlugin.SQLITE3) is not Sqlite3Writer
            or plugins.get(StoragePlugin.MCAP) is not McapWriter):
        return False
    for cls in (Sqlite3Writer, McapWriter):
        for name, expected in _PROTOCOL.items():
            try:
                if tuple(inspect.signature(getattr(cls, name)).parameters) != expected:
                    return False
            except (AttributeError, TypeError, ValueError):
                return False
    return (isinstance(getattr(Sqlite3Writer, 'SQLITE_SCHEMA', None), str)
            and getattr(Channel, '_fields', None) == _CHANNEL_FIELDS
            and callable(write_channel) and callable(write_string))


def _mcap_as_expected(storage: Any) -> bool:
    """Return whether an MCAP storage writer has the attributes rosbags 0.11.9's has."""
    try:
        return (all(isinstance(getattr(storage, name), kind)
                    for name, kind in _MCAP_STATE.items())
                and isinstance(storage.chunk.bio, BytesIO) and callable(storage.close_chunk)
                and all(isinstance(chunk, BytesIO) for chunk in storage.chunks))
    except AttributeError:
        return False


def open_writer(path: Path, version: int, plugin: StoragePlugin, hashes: bool) -> Writer:
    """
    Return a rosbags writer of a new bag (not yet open), with the storage tuned where it can be.

    :param hashes: Whether the distribution records type hashes (MCAP ``topic_type_hash``).
    """
    writer = Writer(path, version=version, storage_plugin=plugin)
    if _tunable():
        writer.STORAGE_PLUGINS = {StoragePlugin.SQLITE3: _Sqlite3,
                                  StoragePlugin.MCAP: _Mcap if hashes else _McapNoHashes}
    return writer


def add_connection(writer: Writer, topic: str, msgtype: str, msgdef: str, digest: str,
                   serialization: str, qos: Sequence[Any]):
    """Add a connection to an open writer and return it; an empty ``digest`` records no hash."""
    connection = writer.add_connection(
        topic, msgtype, msgdef=msgdef, rihs01=digest or _NO_HASH,
        serialization_format=serialization, offered_qos_profiles=qos)
    connections = getattr(writer, 'connections', None)
    if not digest and isinstance(connections, list) and connections[-1:] == [connection]:
        connection = connections[-1] = _real_hash(connection)  # the metadata's source
    return connection


def _real_hash(connection):
    """Return the connection with the hash rosbag2 would record ('' for none)."""
    return connection._replace(digest='') if connection.digest == _NO_HASH else connection


class _Sqlite3(Sqlite3Writer or object):
    """rosbags' sqlite3 storage; an empty type hash where none is recorded; 64 KiB pages."""

    # A frame spans fewer pages: a sixteenth of the writes of the default 4 KiB pages.
    SQLITE_SCHEMA = 'PRAGMA page_size = 65536;' + getattr(Sqlite3Writer, 'SQLITE_SCHEMA', '')

    def add_msgtype(self, connection) -> None:
        """Add a message type's definition."""
        super().add_msgtype(_real_hash(connection))

    def add_connection(self, connection, offered_qos_profiles: str) -> None:
        """Add a topic."""
        super().add_connection(_real_hash(connection), offered_qos_profiles)


class _Mcap(McapWriter or object):
    """
    rosbags' MCAP storage; channels carry ``topic_type_hash`` as rosbag2 (Iron+) writes.

    A message of a frame's size goes into a chunk of its own, written around it: rosbags'
    own path copies it on its way into a chunk, which takes CPU from inference.
    """

    type_hashes = True

    def __init__(self, path: Path, compression) -> None:
        """Create the storage file; use the internals below only if they are as expected."""
        super().__init__(path, compression)
        self.tuned = _mcap_as_expected(self)

    def add_connection(self, connection, offered_qos_profiles: str) -> None:
        """Add a channel (with its type hash in its metadata, where that can be done)."""
        connection = _real_hash(connection)
        if not self.tuned:
            super().add_connection(connection, offered_qos_profiles)
            return
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
        if not self.tuned or size < _DIRECT_BYTES or self.compression:
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
    """The MCAP storage of a distribution that records no type hashes (Humble)."""

    type_hashes = False
