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

"""The output bag: its storage, and connections with rosbag2's definitions, hashes and QoS."""

from pathlib import Path
from typing import Any, Dict

from deeplab_ros.tools.bag import rosbags_internals
from deeplab_ros.tools.bag.msgtypes import Definitions

#: Output storages, by name (rosbags' ``StoragePlugin`` members).
STORAGES = ('sqlite3', 'mcap')


def _infinite(distro: str) -> Any:
    """Return the 'infinite' duration (a QosTime) rosbag2 records in offered QoS."""
    from rosbags.interfaces import QosTime
    return QosTime(2147483647, 4294967295) if distro == 'humble' else QosTime(
        9223372036, 854775807)


class BagWriter:
    """
    A new bag as ``ros2 bag record`` writes it on one distribution; use from one thread only.

    Metadata version 9 on Jazzy and Kilted (8 on Humble, the newest that Humble reads), type
    hashes where the distribution records them, the node's publishers' QoS on the outputs.
    """

    def __init__(self, path: Path, storage: str, definitions: Definitions) -> None:
        """Prepare the bag (:meth:`open` creates it)."""
        from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                        QosReliability)
        from rosbags.rosbag2 import StoragePlugin
        self.path, self.definitions = path, definitions
        self.writer = rosbags_internals.open_writer(
            path, 9 if definitions.has_hashes else 8, getattr(StoragePlugin, storage.upper()),
            definitions.has_hashes)
        self._durability = QosDurability
        infinite = _infinite(definitions.distro)
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
        durability = self._durability.TRANSIENT_LOCAL if latched else (
            self._durability.VOLATILE)
        return rosbags_internals.add_connection(
            self.writer, topic, msgtype, self.definitions.full(msgtype),
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
        return rosbags_internals.add_connection(
            self.writer, connection.topic, connection.msgtype, msgdef, digest,
            connection.ext.serialization_format, connection.ext.offered_qos_profiles)

    def write(self, connection, timestamp: int, data) -> None:
        """Write one serialized message at a bag timestamp (ns)."""
        self.writer.write(connection, timestamp, data)

    def close(self) -> None:
        """Write the index and metadata: the bag is complete and readable."""
        self.writer.close()
