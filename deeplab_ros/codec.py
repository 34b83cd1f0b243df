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

Pure numpy/OpenCV, no ROS: the node passes the message fields in. Raw ``rgb8`` frames are
returned as a zero-copy view of the message buffer; every other encoding is converted with
one OpenCV call. Malformed input raises :class:`DecodeError` with the reason.
"""

from typing import Dict, Tuple

import cv2
from deeplab_ros.errors import DeeplabError
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
_IMREAD_RGB = getattr(cv2, 'IMREAD_COLOR_RGB', None)


def decode_raw(encoding: str, height: int, width: int, step: int, data) -> np.ndarray:
    """
    Decode a raw sensor_msgs/Image to an RGB uint8 array.

    :param encoding: The image encoding, one of :data:`RAW_ENCODINGS`.
    :param height: Rows.
    :param width: Columns.
    :param step: Bytes per row, at least ``width`` times the bytes per pixel.
    :param data: The pixel bytes (any buffer: bytes, array.array, memoryview, numpy).
    :return: ``height x width x 3`` uint8 RGB. For ``rgb8`` a read-only view of ``data``
        (not C-contiguous when rows are padded); otherwise a new array.
    :raises DecodeError: On an unsupported encoding, a zero size, a step too small for the
        width, odd width in a YUV 4:2:2 encoding, or fewer bytes than ``step * height``.
    """
    spec = _RAW_ENCODINGS.get(encoding)
    if spec is None:
        raise DecodeError(
            f"unsupported encoding '{encoding}'; publish one of: {', '.join(RAW_ENCODINGS)}")
    channels, conversion = spec
    if height <= 0 or width <= 0:
        raise DecodeError(f'empty image: {width}x{height}')
    row_bytes = width * channels
    if step < row_bytes:
        raise DecodeError(
            f'step {step} is smaller than width {width} x {channels} bytes per pixel '
            f'({row_bytes}) for {encoding}')
    if channels == 2 and width % 2:
        raise DecodeError(f'{encoding} needs an even width, got {width}')
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < step * height:
        raise DecodeError(
            f'truncated data: {buffer.size} bytes, expected step x height = '
            f'{step} x {height} = {step * height}')
    rows = buffer[:step * height].reshape(height, step)[:, :row_bytes]
    image = rows.reshape(height, width, channels)
    if conversion < 0:
        return image
    if channels == 1:
        image = image[:, :, 0]
    return cv2.cvtColor(image, conversion)


def decode_compressed(image_format: str, data) -> np.ndarray:
    """
    Decode a sensor_msgs/CompressedImage (JPEG or PNG) to an RGB uint8 array.

    :param image_format: The message's ``format`` field, e.g. ``jpeg``, ``png`` or
        ``bgr8; jpeg compressed bgr8``; empty means detect from the data.
    :param data: The compressed bytes (any buffer).
    :return: ``height x width x 3`` uint8 RGB, C-contiguous.
    :raises DecodeError: On an unsupported format (e.g. compressedDepth), empty or truncated
        data, or data OpenCV cannot decode.
    """
    fmt = image_format.lower()
    if 'compresseddepth' in fmt:
        raise DecodeError(
            f"unsupported compressed format '{image_format}': depth images are not camera "
            'images; subscribe the node to a colour or mono camera')
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size == 0:
        raise DecodeError('empty compressed image')
    head = buffer[:8].tobytes()
    if head.startswith(_JPEG_SOI):
        kind = 'jpeg'
        tail = buffer[-2:].tobytes() if buffer.size >= 4 else b''
        if tail != _JPEG_EOI:
            raise DecodeError(
                f'truncated JPEG: {buffer.size} bytes without the end-of-image marker')
    elif head == _PNG_SIGNATURE:
        kind = 'png'
    else:
        raise DecodeError(
            f"corrupt compressed image (format '{image_format}'): data is neither JPEG nor "
            'PNG')
    if fmt and kind not in fmt and not (kind == 'jpeg' and 'jpg' in fmt):
        raise DecodeError(f"format says '{image_format}' but the data is {kind}")
    if _IMREAD_RGB is not None:
        image = cv2.imdecode(buffer, _IMREAD_RGB)
    else:
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        if image is not None:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image is None or image.size == 0:
        raise DecodeError(f'corrupt {kind}: OpenCV cannot decode {buffer.size} bytes')
    return image
