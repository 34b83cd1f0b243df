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

"""The serialized-message reader against the middleware's own serializer."""

import dataclasses
import struct

from deeplab_ros.frame.wire import Frame, read_compressed, read_frame, read_image, WireError
import pytest

hypothesis = pytest.importorskip('hypothesis')
given, settings, st = hypothesis.given, hypothesis.settings, hypothesis.strategies
serialization = pytest.importorskip('rclpy.serialization')
sensor_msgs = pytest.importorskip('sensor_msgs.msg')

TEXT = st.text(st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00'),
               max_size=20)
U32 = st.integers(0, 2**32 - 1)


def _image(sec, nanosec, frame_id, height, width, encoding, big, step, data):
    msg = sensor_msgs.Image(height=height, width=width, encoding=encoding,
                            is_bigendian=big, step=step)
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    msg.header.frame_id = frame_id
    msg.data = data
    return msg


@settings(max_examples=200, deadline=None)
@given(sec=st.integers(-2**31, 2**31 - 1), nanosec=U32, frame_id=TEXT, height=U32,
       width=U32, encoding=TEXT, big=st.booleans(), step=U32, data=st.binary(max_size=64))
def test_image_fields_match_the_message(sec, nanosec, frame_id, height, width, encoding, big,
                                        step, data):
    msg = _image(sec, nanosec, frame_id, height, width, encoding, big, step, data)
    frame = read_image(serialization.serialize_message(msg))
    assert (frame.sec, frame.nanosec, frame.frame_id) == (sec, nanosec, frame_id)
    assert (frame.height, frame.width, frame.encoding, frame.is_bigendian, frame.step) == (
        height, width, encoding, big, step)
    assert bytes(frame.data) == data and frame.fmt == ''
    assert frame.stamp_ns == sec * 1_000_000_000 + nanosec


@settings(max_examples=100, deadline=None)
@given(sec=st.integers(0, 2**31 - 1), frame_id=TEXT, fmt=TEXT, data=st.binary(max_size=64))
def test_compressed_fields_match_the_message(sec, frame_id, fmt, data):
    msg = sensor_msgs.CompressedImage(format=fmt)
    msg.header.stamp.sec = sec
    msg.header.frame_id = frame_id
    msg.data = data
    frame = read_compressed(serialization.serialize_message(msg))
    assert (frame.sec, frame.frame_id, frame.fmt, bytes(frame.data)) == (
        sec, frame_id, fmt, data)


def test_a_deserialized_message_gives_the_same_fields_as_its_bytes():
    # The fallback for bytes the CDR reader cannot read (the middleware's deserializer).
    image = _image(-3, 7, 'camera', 2, 2, 'rgb8', True, 6, bytes(range(12)))
    compressed = sensor_msgs.CompressedImage(format='jpeg')
    compressed.header.frame_id, compressed.data = 'camera', b'\xff\xd8\xff\xd9'
    for msg, read, is_compressed in ((image, read_image, False),
                                     (compressed, read_compressed, True)):
        expected = read(serialization.serialize_message(msg))
        frame = Frame.of_message(msg, is_compressed)
        assert frame == dataclasses.replace(expected, data=frame.data)
        assert bytes(frame.data) == bytes(expected.data)


def test_read_frame_falls_back_to_the_deserializer_it_is_given():
    image = _image(5, 6, 'camera', 1, 2, 'mono8', False, 2, b'\x01\x02')
    serialized = serialization.serialize_message(image)
    calls = []

    def deserialize(buffer):
        calls.append(buffer)
        return serialization.deserialize_message(buffer, sensor_msgs.Image)
    assert read_frame(serialized, False, deserialize) == read_image(serialized)
    assert calls == []  # plain CDR is read straight from the bytes
    not_plain = b'\x00\x07' + bytes(serialized)[2:]  # a representation the reader leaves
    frame = read_frame(not_plain, False, lambda buffer: image)
    assert (frame.sec, frame.frame_id, frame.encoding, bytes(frame.data)) == (
        5, 'camera', 'mono8', b'\x01\x02')
    with pytest.raises(RuntimeError, match='deserialize'):  # the deserializer's own error
        read_frame(b'\x00\x07\x00\x00', False, deserialize)


def test_pixel_data_is_a_view_of_the_serialized_bytes():
    raw = serialization.serialize_message(
        _image(1, 2, 'camera', 2, 2, 'rgb8', False, 6, bytes(range(12))))
    frame = read_image(raw)
    assert frame.data.obj is raw  # no copy
    assert bytes(frame.data) == bytes(range(12))


def test_big_endian_cdr_is_read():
    def string(text):
        data = text.encode() + b'\0'
        return struct.pack('>I', len(data)) + data
    body = struct.pack('>iI', -5, 7) + string('cam')
    body += b'\0' * (-len(body) % 4) + struct.pack('>II', 3, 4) + string('mono8')
    body += struct.pack('>B', 1)
    body += b'\0' * (-len(body) % 4) + struct.pack('>I', 4) + struct.pack('>I', 12)
    raw = b'\x00\x00\x00\x00' + body + bytes(range(12))
    frame = read_image(raw)
    assert (frame.sec, frame.nanosec, frame.frame_id, frame.height, frame.width) == (
        -5, 7, 'cam', 3, 4)
    assert (frame.encoding, frame.is_bigendian, frame.step, bytes(frame.data)) == (
        'mono8', True, 4, bytes(range(12)))


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 200))
def test_cut_messages_raise_wire_error(cut):
    raw = serialization.serialize_message(
        _image(1, 2, 'camera_optical', 4, 4, 'rgb8', False, 12, bytes(48)))
    if cut >= len(raw):
        return
    with pytest.raises(WireError):
        read_image(raw[:cut])


@pytest.mark.parametrize('raw, match', [
    (b'\x00\x07\x00\x00' + bytes(64), 'not plain CDR'),
    (b'\x00', 'too short'),
    (b'\x00\x01\x00\x00' + struct.pack('<iII', 0, 0, 3) + b'abc', 'NUL'),
    (b'\x00\x01\x00\x00' + struct.pack('<iII', 0, 0, 2) + b'\xff\x00', 'UTF-8'),
])
def test_what_is_not_a_plain_cdr_image_says_why(raw, match):
    with pytest.raises(WireError, match=match):
        read_image(raw)
