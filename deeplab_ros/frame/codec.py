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
Decode camera image bytes (sensor_msgs Image / CompressedImage fields) to RGB uint8.

Pure numpy/OpenCV, no ROS: the node passes the message fields in. :func:`check_raw` and
:func:`inspect_compressed` check in microseconds what can be checked without decoding
(encoding, sizes, step, data length, format string, the size a JPEG or PNG header claims,
a JPEG cut before its end marker), so that the node rejects a malformed frame before it
chooses which frame to segment. Raw ``rgb8`` frames decode to a zero-copy view of the
message buffer; every other encoding is converted with one OpenCV call. Malformed input
raises :class:`DecodeError` with the reason, and what the JPEG and PNG libraries would
print on stderr becomes part of that reason instead.
"""

from contextlib import contextmanager
import os
import re
import struct
import tempfile
import threading
from typing import Dict, Iterator, List, Tuple

import cv2
from deeplab_ros.errors import DeeplabError
from deeplab_ros.parameters import OPENCV_MAX_PIXELS
import numpy as np


class DecodeError(DeeplabError, ValueError):
    """An image cannot be decoded: bad encoding, step, size, or compressed data."""


# encoding -> (bytes per pixel, OpenCV conversion to RGB; -1 when the bytes are RGB already)
_RAW_ENCODINGS: Dict[str, Tuple[int, int]] = {
    'rgb8': (3, -1),
    'bgr8': (3, cv2.COLOR_BGR2RGB),
    'rgba8': (4, cv2.COLOR_RGBA2RGB),
    'bgra8': (4, cv2.COLOR_BGRA2RGB),
    'mono8': (1, cv2.COLOR_GRAY2RGB),
    'yuv422': (2, cv2.COLOR_YUV2RGB_UYVY),
    'uyvy': (2, cv2.COLOR_YUV2RGB_UYVY),
    'yuv422_yuy2': (2, cv2.COLOR_YUV2RGB_YUY2),
    'yuyv': (2, cv2.COLOR_YUV2RGB_YUY2),
}

#: Raw encodings accepted by :func:`decode_raw` (sensor_msgs/image_encodings names).
RAW_ENCODINGS = tuple(_RAW_ENCODINGS)

#: Compressed formats accepted by :func:`decode_compressed`.
COMPRESSED_FORMATS = ('jpeg', 'png')

_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the size.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SOS = 0xDA
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
_DECODES_RGB = hasattr(cv2, 'IMREAD_COLOR_RGB')  # OpenCV 4.10 and later
_IMREAD = getattr(cv2, 'IMREAD_COLOR_RGB', cv2.IMREAD_COLOR) | cv2.IMREAD_IGNORE_ORIENTATION

#: OpenCV's own limit on decoded images (CV_IO_MAX_IMAGE_PIXELS).

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _check_size(width: int, height: int, max_pixels: int, what: str) -> None:
    """Reject an empty image or one above the pixel limit."""
    if height <= 0 or width <= 0:
        raise DecodeError(f'empty image: {what} {width}x{height}')
    if width * height > min(max_pixels, OPENCV_MAX_PIXELS):
        limit = min(max_pixels, OPENCV_MAX_PIXELS)
        raise DecodeError(f'{what} {width}x{height} has {width * height} pixels, more than the '
                          f'{limit} allowed (max_input_pixels)')


def check_raw(encoding: str, height: int, width: int, step: int, size: int,
              max_pixels: int = OPENCV_MAX_PIXELS) -> None:
    """
    Check the fields of a raw sensor_msgs/Image without touching its pixels.

    :param size: Length of the data field in bytes.
    :raises DecodeError: On an unsupported encoding, a zero size or more than
        ``max_pixels`` pixels, a step too small for the width, an odd width in a YUV 4:2:2
        encoding, or fewer bytes than ``step * height``.
    """
    spec = _RAW_ENCODINGS.get(encoding)
    if spec is None:
        raise DecodeError(
            f"unsupported encoding '{encoding}'; publish one of: {', '.join(RAW_ENCODINGS)}")
    channels = spec[0]
    _check_size(width, height, max_pixels, encoding)
    row_bytes = width * channels
    if step < row_bytes:
        raise DecodeError(
            f'step {step} is smaller than width {width} x {channels} bytes per pixel '
            f'({row_bytes}) for {encoding}')
    if channels == 2 and width % 2:
        raise DecodeError(f'{encoding} needs an even width, got {width}')
    if size < step * height:
        raise DecodeError(
            f'truncated data: {size} bytes, expected step x height = '
            f'{step} x {height} = {step * height}')


def decode_raw(encoding: str, height: int, width: int, step: int, data,
               max_pixels: int = OPENCV_MAX_PIXELS) -> np.ndarray:
    """
    Decode a raw sensor_msgs/Image to an RGB uint8 array.

    The byte order flag of the message does not matter: every supported encoding has
    8-bit channels.

    :param data: The pixel bytes (any buffer: bytes, array.array, memoryview, numpy).
    :return: ``height x width x 3`` uint8 RGB. For ``rgb8`` a read-only view of ``data``
        (not C-contiguous when rows are padded); otherwise a new array.
    :raises DecodeError: As :func:`check_raw`.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    check_raw(encoding, height, width, step, buffer.size, max_pixels)
    channels, conversion = _RAW_ENCODINGS[encoding]
    rows = buffer[:step * height].reshape(height, step)[:, :width * channels]
    image = rows.reshape(height, width, channels)
    if conversion < 0:
        return image
    if channels == 1:
        image = image[:, :, 0]
    return cv2.cvtColor(image, conversion)


def _jpeg_size(data: bytes) -> Tuple[int, int]:
    """Return the (width, height) a JPEG's frame header claims; check it has an end marker."""
    pos, size = 2, None
    while True:
        while data[pos:pos + 1] == b'\xff' and data[pos + 1:pos + 2] == b'\xff':
            pos += 1  # fill bytes
        if pos + 4 > len(data):
            raise DecodeError(f'truncated JPEG: {len(data)} bytes end inside its headers')
        if data[pos] != 0xFF:
            raise DecodeError(f'corrupt jpeg: no marker at byte {pos} of its headers')
        marker = data[pos + 1]
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        length, = struct.unpack_from('>H', data, pos + 2)
        if length < 2:
            raise DecodeError(f'corrupt jpeg: segment {marker:#04x} of length {length}')
        if marker in _JPEG_SOF:
            if length < 8 or pos + 9 > len(data):
                raise DecodeError('truncated JPEG: frame header cut short')
            height, width = struct.unpack_from('>HH', data, pos + 5)
            size = (width, height)
        if marker == _JPEG_SOS:
            break
        pos += 2 + length
    if size is None:
        raise DecodeError('corrupt jpeg: no frame header (SOF) before the image data')
    # 0xFFD9 cannot occur inside entropy-coded data (0xFF is stuffed): the first one after
    # the scan header is the end of the image. Bytes after it (USB cameras pad) are fine.
    if data.find(_JPEG_EOI, pos) < 0:
        raise DecodeError(f'truncated JPEG: {len(data)} bytes without the end-of-image marker')
    return size


def _png_size(data: bytes) -> Tuple[int, int]:
    """Return the (width, height) a PNG's IHDR claims; check its chunks reach IEND."""
    if len(data) < 33 or data[12:16] != b'IHDR':
        raise DecodeError(f'corrupt png: {len(data)} bytes without an IHDR header chunk')
    width, height = struct.unpack_from('>II', data, 16)
    pos = 8
    while pos + 8 <= len(data):
        length, = struct.unpack_from('>I', data, pos)
        if data[pos + 4:pos + 8] == b'IEND':
            return width, height
        pos += 12 + length
    raise DecodeError(f'truncated PNG: {len(data)} bytes end before the IEND chunk')


def inspect_compressed(image_format: str, data, max_pixels: int = OPENCV_MAX_PIXELS
                       ) -> Tuple[str, int, int]:
    """
    Check a sensor_msgs/CompressedImage without decoding it.

    :param image_format: The message's ``format`` field, e.g. ``jpeg``, ``png`` or
        ``bgr8; jpeg compressed bgr8``; empty means detect from the data.
    :param data: The compressed bytes (any buffer).
    :return: ``(kind, width, height)``, kind ``jpeg`` or ``png``, the size from the header.
    :raises DecodeError: On an unsupported format (e.g. compressedDepth), empty data, data
        that is neither JPEG nor PNG or not what the format says, a header cut short or
        claiming more than ``max_pixels`` pixels, or a JPEG without its end marker.
    """
    fmt = image_format.lower()
    if 'compresseddepth' in fmt:
        raise DecodeError(
            f"unsupported compressed format '{image_format}': depth images are not camera "
            'images; subscribe the node to a colour or mono camera')
    raw = bytes(data) if not isinstance(data, bytes) else data
    if not raw:
        raise DecodeError('empty compressed image')
    if raw.startswith(_JPEG_SOI):
        kind = 'jpeg'
    elif raw.startswith(_PNG_SIGNATURE):
        kind = 'png'
    else:
        raise DecodeError(
            f"corrupt compressed image (format '{image_format}'): data is neither JPEG nor "
            'PNG')
    if fmt and kind not in fmt and not (kind == 'jpeg' and 'jpg' in fmt):
        raise DecodeError(f"format says '{image_format}' but the data is {kind}")
    width, height = _jpeg_size(raw) if kind == 'jpeg' else _png_size(raw)
    _check_size(width, height, max_pixels, kind)
    return kind, width, height


_STDERR_LOCK = threading.Lock()
_STDERR_CAPTURE: List[int] = []  # one in-memory file, reused
_DECODER_MESSAGES = 4  # distinct decoder messages kept for the reject reason
# How libpng and libjpeg word what they print (libjpeg's messages have no common prefix).
_DECODER_LINE = re.compile(
    r'^(libpng |Corrupt JPEG|Premature end of JPEG|Invalid JPEG|Not a JPEG|Bogus |'
    r'Unsupported (JPEG|marker)|Huffman table|Quantization table|Invalid SOS|'
    r'Inconsistent progression|Warning: unknown JFIF|JPEG datastream)')


def _capture_file() -> int:
    """Return the in-memory file decoder output goes to (created once)."""
    if not _STDERR_CAPTURE:
        make = getattr(os, 'memfd_create', None)
        _STDERR_CAPTURE.append(make('deeplab_decoder') if make else os.dup(
            tempfile.TemporaryFile().fileno()))
    return _STDERR_CAPTURE[0]


@contextmanager
def _decoder_messages() -> Iterator[List[str]]:
    """
    Collect what libpng and libjpeg write to stderr (fd 2) meanwhile, instead of printing it.

    Those libraries print warnings straight to fd 2, where they would look like errors of the
    process. fd 2 points at an in-memory file for the call (a file, so that writing never
    blocks however much is written); lines other threads write meanwhile are written back.
    """
    messages: List[str] = []
    with _STDERR_LOCK:
        capture = _capture_file()
        os.lseek(capture, 0, os.SEEK_SET)
        saved = os.dup(2)
        os.dup2(capture, 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.lseek(capture, 0, os.SEEK_SET)
            with os.fdopen(os.dup(capture), 'rb') as said:
                text = said.read().decode('utf-8', 'replace')
            os.ftruncate(capture, 0)
            others = []
            for line in text.splitlines():
                if not _DECODER_LINE.match(line.strip()):
                    others.append(line)
                elif line.strip() not in messages and len(messages) < _DECODER_MESSAGES:
                    messages.append(line.strip())
            if any(others):
                os.write(2, ('\n'.join(filter(None, others)) + '\n').encode())


def decode_compressed(image_format: str, data, max_pixels: int = OPENCV_MAX_PIXELS
                      ) -> np.ndarray:
    """
    Decode a sensor_msgs/CompressedImage (JPEG or PNG) to an RGB uint8 array.

    :param image_format: As :func:`inspect_compressed`.
    :param data: The compressed bytes (any buffer).
    :return: ``height x width x 3`` uint8 RGB, C-contiguous, of the size the header claims
        (EXIF orientation is ignored, as for every other camera frame).
    :raises DecodeError: As :func:`inspect_compressed`, or when the decoder cannot decode
        the data (with what the decoder said).
    """
    kind, width, height = inspect_compressed(image_format, data, max_pixels)
    buffer = np.frombuffer(data, dtype=np.uint8)
    with _decoder_messages() as said:
        try:
            image = cv2.imdecode(buffer, _IMREAD)
        except cv2.error as error:
            image = None
            said.insert(0, str(error).strip().splitlines()[-1])
    detail = f' ({"; ".join(said[:3])}{"; ..." if len(said) > 3 else ""})' if said else ''
    if image is None or image.size == 0:
        raise DecodeError(f'corrupt {kind}: OpenCV cannot decode {buffer.size} bytes{detail}')
    if image.shape[:2] != (height, width):
        raise DecodeError(f'corrupt {kind}: decoded {image.shape[1]}x{image.shape[0]}, header '
                          f'says {width}x{height}')
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif not _DECODES_RGB:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


# depth encoding -> (element type, metres per unit)
_DEPTH_ENCODINGS = {
    '16UC1': (np.dtype(np.uint16), 0.001),
    'mono16': (np.dtype(np.uint16), 0.001),
    '32FC1': (np.dtype(np.float32), 1.0),
}

#: Depth encodings accepted by :func:`decode_depth`: millimetres (16-bit) or metres (float).
DEPTH_ENCODINGS = tuple(_DEPTH_ENCODINGS)


def decode_depth(encoding: str, height: int, width: int, step: int, is_bigendian: bool, data,
                 max_pixels: int = OPENCV_MAX_PIXELS) -> Tuple[np.ndarray, float]:
    """
    Return a depth image as an array (a view of ``data`` when it can be) and metres per unit.

    :return: ``(depth, scale)``: HxW uint16 millimetres (scale 0.001) or float32 metres
        (scale 1.0), in this machine's byte order.
    :raises DecodeError: On another encoding, a bad size or step, or too few bytes.
    """
    spec = _DEPTH_ENCODINGS.get(encoding)
    if spec is None:
        raise DecodeError(f"unsupported depth encoding '{encoding}'; publish one of: "
                          f"{', '.join(DEPTH_ENCODINGS)} (registered to the colour camera)")
    dtype, scale = spec
    _check_size(width, height, max_pixels, encoding)
    buffer = np.frombuffer(data, dtype=np.uint8)
    if step < width * dtype.itemsize or step % dtype.itemsize:
        raise DecodeError(f'depth step {step} does not fit width {width} x '
                          f'{dtype.itemsize} bytes per pixel for {encoding}')
    if buffer.size < step * height:
        raise DecodeError(f'truncated depth data: {buffer.size} bytes, expected step x '
                          f'height = {step * height}')
    order = '>' if is_bigendian else '<'
    rows = buffer[:step * height].view(dtype.newbyteorder(order)).reshape(height, -1)
    depth = rows[:, :width]
    return (depth if depth.dtype.isnative else depth.astype(dtype)), scale
