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
Read sensor_msgs Image and CompressedImage straight from their serialized (CDR) bytes.

Pure Python, no ROS: the node takes camera frames serialized and reads the header fields
here in microseconds, so that it can check every waiting frame before choosing one and hand
the pixel bytes to the codec as a zero-copy view, without deserializing a message. Plain
CDR (XCDR1, little or big endian, what ROS 2 middlewares publish) is read here; anything
else raises :class:`WireError`; :func:`read_frame` then falls back to the deserializer it is
given (the middleware's in the node, rosbags' in the bag tool).
"""

from dataclasses import dataclass
import struct
from typing import Any, Callable, Tuple

_ENCAPSULATION = 4  # representation id (2 bytes) and options (2 bytes)
_BIG, _LITTLE = b'\x00\x00', b'\x00\x01'


class WireError(ValueError):
    """Bytes that are not a plain-CDR Image or CompressedImage (or are cut short)."""


@dataclass(frozen=True)
class Frame:
    """
    The fields of a camera message; ``data`` views the serialized bytes without a copy.

    ``fmt`` is the CompressedImage format (empty for raw images); ``encoding``, ``height``,
    ``width``, ``step`` and ``is_bigendian`` are those of an Image (empty or 0 for
    compressed ones).
    """

    sec: int
    nanosec: int
    frame_id: str
    data: memoryview
    encoding: str = ''
    height: int = 0
    width: int = 0
    step: int = 0
    is_bigendian: bool = False
    fmt: str = ''

    @classmethod
    def of_message(cls, msg, compressed: bool) -> 'Frame':
        """
        Return the fields of a deserialized Image or CompressedImage (of rclpy or rosbags).

        For messages the CDR reader cannot read; ``data`` views the message's pixel bytes.
        """
        stamp, data = msg.header.stamp, memoryview(msg.data).cast('B')
        if compressed:
            return cls(stamp.sec, stamp.nanosec, msg.header.frame_id, data, fmt=msg.format)
        return cls(stamp.sec, stamp.nanosec, msg.header.frame_id, data, msg.encoding,
                   msg.height, msg.width, msg.step, bool(msg.is_bigendian))

    @property
    def stamp_ns(self) -> int:
        """Return the header stamp in nanoseconds."""
        return self.sec * 1_000_000_000 + self.nanosec


class _Reader:
    """Sequential CDR reader; offsets align relative to the end of the encapsulation."""

    def __init__(self, buffer: bytes) -> None:
        self.view = memoryview(buffer)
        if len(self.view) < _ENCAPSULATION:
            raise WireError(f'{len(self.view)} bytes: too short for a serialized message')
        kind = bytes(self.view[:2])
        if kind not in (_BIG, _LITTLE):
            raise WireError(f'representation {kind.hex()} is not plain CDR')
        self.order = '<' if kind == _LITTLE else '>'
        self.pos = _ENCAPSULATION

    def _take(self, size: int, align: int) -> int:
        self.pos += -(self.pos - _ENCAPSULATION) % align
        start, self.pos = self.pos, self.pos + size
        if self.pos > len(self.view):
            raise WireError(f'message cut short: {len(self.view)} bytes, needs more than '
                            f'{start} for the next field')
        return start

    def uint32s(self, count: int) -> Tuple[int, ...]:
        start = self._take(4 * count, 4)
        return struct.unpack_from(f'{self.order}{count}I', self.view, start)

    def uint8(self) -> int:
        return self.view[self._take(1, 1)]

    def string(self) -> str:
        length, = self.uint32s(1)
        start = self._take(length, 1)
        if length == 0 or self.view[start + length - 1] != 0:
            raise WireError('string field without its terminating NUL')
        try:
            return bytes(self.view[start:start + length - 1]).decode('utf-8')
        except UnicodeDecodeError:
            raise WireError('string field is not UTF-8') from None

    def octets(self) -> memoryview:
        length, = self.uint32s(1)
        start = self._take(length, 1)
        return self.view[start:start + length]

    def header(self) -> Tuple[int, int, str]:
        sec, nanosec = self.uint32s(2)
        if sec >= 1 << 31:
            sec -= 1 << 32  # int32
        return sec, nanosec, self.string()


def read_image(buffer: bytes) -> Frame:
    """Return the fields of a serialized sensor_msgs/Image, or raise :class:`WireError`."""
    reader = _Reader(buffer)
    sec, nanosec, frame_id = reader.header()
    height, width = reader.uint32s(2)
    encoding = reader.string()
    is_bigendian = bool(reader.uint8())
    step, = reader.uint32s(1)
    data = reader.octets()
    return Frame(sec, nanosec, frame_id, data, encoding, height, width, step, is_bigendian)


def read_compressed(buffer: bytes) -> Frame:
    """Return the fields of a serialized sensor_msgs/CompressedImage, or raise WireError."""
    reader = _Reader(buffer)
    sec, nanosec, frame_id = reader.header()
    fmt = reader.string()
    return Frame(sec, nanosec, frame_id, reader.octets(), fmt=fmt)


def read_frame(buffer: bytes, compressed: bool, deserialize: Callable[[bytes], Any]) -> Frame:
    """
    Return the fields of a serialized Image or CompressedImage.

    Straight from the CDR bytes; what the CDR reader cannot read, through ``deserialize``
    (bytes to a message of rclpy or rosbags), whose errors propagate.
    """
    try:
        return read_compressed(buffer) if compressed else read_image(buffer)
    except WireError:
        return Frame.of_message(deserialize(buffer), compressed)
