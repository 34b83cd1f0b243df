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

"""Tests of deeplab_ros.codec against OpenCV conversions, and of every malformed case."""

import array
import os
import struct
import threading
import zlib

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.frame.codec import (check_raw, decode_compressed, decode_depth, decode_raw,
                                     DecodeError, inspect_compressed, RAW_ENCODINGS)
import numpy as np
import pytest


@pytest.fixture(scope='module')
def rgb() -> np.ndarray:
    """Return bird.bmp as RGB (512x343: odd height, even width)."""
    return cv2.cvtColor(cv2.imread(str(registry.fetch('bird.bmp'))), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope='module')
def cat_jpeg() -> bytes:
    """Return the bytes of cat_720p.jpg."""
    return registry.fetch('cat_720p.jpg').read_bytes()


def _uyvy(rgb: np.ndarray, yuy2: bool) -> np.ndarray:
    """Pack RGB into 4:2:2 (UYVY or YUY2) bytes the way a camera does."""
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)
    y = yuv[:, :, 0]
    u = yuv[:, 0::2, 1]
    v = yuv[:, 0::2, 2]
    packed = np.empty((rgb.shape[0], rgb.shape[1] * 2), np.uint8)
    if yuy2:
        packed[:, 0::2] = y
        packed[:, 1::4] = u
        packed[:, 3::4] = v
    else:
        packed[:, 1::2] = y
        packed[:, 0::4] = u
        packed[:, 2::4] = v
    return packed


def _encode(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Return the raw pixel rows of rgb in the given encoding (height x row bytes)."""
    h, w = rgb.shape[:2]
    if encoding == 'rgb8':
        out = rgb
    elif encoding == 'bgr8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif encoding == 'rgba8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    elif encoding == 'bgra8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    elif encoding == 'mono8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    elif encoding in ('yuv422', 'uyvy'):
        out = _uyvy(rgb, yuy2=False)
    else:
        out = _uyvy(rgb, yuy2=True)
    return np.ascontiguousarray(out).reshape(h, -1)


def _expected(rows: np.ndarray, encoding: str, w: int) -> np.ndarray:
    """Convert raw rows to RGB with the plain OpenCV call for that encoding."""
    h = rows.shape[0]
    table = {
        'rgb8': None,
        'bgr8': cv2.COLOR_BGR2RGB,
        'rgba8': cv2.COLOR_RGBA2RGB,
        'bgra8': cv2.COLOR_BGRA2RGB,
        'mono8': cv2.COLOR_GRAY2RGB,
        'yuv422': cv2.COLOR_YUV2RGB_UYVY,
        'uyvy': cv2.COLOR_YUV2RGB_UYVY,
        'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2,
        'yuyv': cv2.COLOR_YUV2RGB_YUY2,
    }
    code = table[encoding]
    if code is None:
        return rows.reshape(h, w, 3)
    channels = rows.shape[1] // w
    src = rows.reshape(h, w) if channels == 1 else rows.reshape(h, w, channels)
    return cv2.cvtColor(np.ascontiguousarray(src), code)


@pytest.mark.parametrize('encoding', RAW_ENCODINGS)
@pytest.mark.parametrize('padding', [0, 7])
def test_raw_encodings_match_opencv(rgb, encoding, padding):
    rows = _encode(rgb, encoding)
    h, row_bytes = rows.shape
    w = rgb.shape[1]
    step = row_bytes + padding
    padded = np.full((h, step), 0xAB, np.uint8)
    padded[:, :row_bytes] = rows
    data = array.array('B', padded.tobytes())  # what rclpy gives a callback
    out = decode_raw(encoding, h, w, step, data)
    assert out.shape == (h, w, 3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, _expected(rows, encoding, w))
    if encoding in ('rgb8', 'bgr8'):
        # Lossless encodings give back the original pixels.
        np.testing.assert_array_equal(out, rgb)


def test_rgb8_is_a_zero_copy_view(rgb):
    data = np.ascontiguousarray(rgb).tobytes()
    out = decode_raw('rgb8', rgb.shape[0], rgb.shape[1], rgb.shape[1] * 3, data)
    assert not out.flags['OWNDATA']
    assert np.shares_memory(out, np.frombuffer(data, np.uint8))


def test_extra_trailing_bytes_are_ignored(rgb):
    h, w = rgb.shape[:2]
    data = rgb.tobytes() + b'\x00' * 10
    np.testing.assert_array_equal(decode_raw('rgb8', h, w, w * 3, data), rgb)


@pytest.mark.parametrize('encoding, height, width, step, size, match', [
    ('rgb16', 4, 4, 24, 96, "unsupported encoding 'rgb16'"),
    ('32FC1', 4, 4, 16, 64, 'unsupported encoding'),
    ('', 4, 4, 12, 48, "unsupported encoding ''"),
    ('rgb8', 0, 4, 12, 0, 'empty image'),
    ('rgb8', 4, 0, 0, 0, 'empty image'),
    ('rgb8', 4, 4, 11, 48, 'step 11 is smaller'),
    ('bgra8', 4, 4, 12, 48, 'step 12 is smaller'),
    ('rgb8', 4, 4, 12, 47, 'truncated data: 47 bytes'),
    ('mono8', 4, 4, 4, 0, 'truncated data'),
    ('yuv422', 4, 3, 6, 24, 'even width'),
    ('yuv422_yuy2', 4, 5, 10, 40, 'even width'),
])
def test_malformed_raw_frames_raise(encoding, height, width, step, size, match):
    with pytest.raises(DecodeError, match=match):
        decode_raw(encoding, height, width, step, bytes(size))


def test_decode_error_is_a_value_error():
    with pytest.raises(ValueError):
        decode_raw('rgb8', 1, 1, 3, b'')


def test_jpeg_matches_opencv(cat_jpeg):
    out = decode_compressed('jpeg', array.array('B', cat_jpeg))
    expected = cv2.cvtColor(cv2.imdecode(np.frombuffer(cat_jpeg, np.uint8), cv2.IMREAD_COLOR),
                            cv2.COLOR_BGR2RGB)
    assert out.shape == (720, 1280, 3)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize('image_format', ['png', 'rgb8; png compressed rgb8', ''])
def test_png_is_lossless(rgb, image_format):
    ok, png = cv2.imencode('.png', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    np.testing.assert_array_equal(decode_compressed(image_format, png.tobytes()), rgb)


@pytest.mark.parametrize('image_format', ['jpeg', 'jpg', 'bgr8; jpeg compressed bgr8', ''])
def test_jpeg_format_strings(rgb, image_format):
    ok, jpg = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    out = decode_compressed(image_format, jpg.tobytes())
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 6


def test_grey_jpeg_becomes_rgb(rgb):
    ok, jpg = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert ok
    out = decode_compressed('jpeg', jpg.tobytes())
    assert out.shape == rgb.shape
    assert (out[:, :, 0] == out[:, :, 1]).all()


def _png16() -> bytes:
    ok, png = cv2.imencode('.png', np.zeros((16, 16, 3), np.uint8))
    assert ok
    return png.tobytes()


# (format, bytes built from the sample JPEG, expected message)
CORRUPT = {
    'empty': ('jpeg', lambda jpeg: b'', 'empty compressed image'),
    'not an image': ('jpeg', lambda jpeg: b'not an image at all', 'neither JPEG nor PNG'),
    'truncated jpeg': ('jpeg', lambda jpeg: jpeg[:len(jpeg) // 2], 'truncated JPEG'),
    'zeroed jpeg': ('jpeg', lambda jpeg: jpeg[:2] + bytes(2000) + jpeg[2002:], 'corrupt jpeg'),
    'jpeg cut in its headers': ('jpeg', lambda jpeg: jpeg[:400] + jpeg[-2:], 'truncated JPEG'),
    'truncated png': ('png', lambda jpeg: _png16()[:len(_png16()) // 2], 'truncated PNG'),
    'format mismatch': ('png', lambda jpeg: jpeg, "format says 'png' but the data is jpeg"),
    'depth': ('16UC1; compressedDepth png', lambda jpeg: _png16(), 'depth images'),
}


@pytest.mark.parametrize('case', sorted(CORRUPT))
def test_malformed_compressed_frames_raise(cat_jpeg, case):
    image_format, make, match = CORRUPT[case]
    with pytest.raises(DecodeError, match=match):
        decode_compressed(image_format, make(cat_jpeg))


def _with_size(png: bytes, width: int, height: int) -> bytes:
    """Return a PNG whose IHDR claims another size (CRC fixed, so only the size is odd)."""
    data = bytearray(png)
    struct.pack_into('>II', data, 16, width, height)
    struct.pack_into('>I', data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_a_png_claiming_more_pixels_than_opencv_allows_is_rejected_before_decoding():
    with pytest.raises(DecodeError, match=r'png 65535x65535 has 4294836225 pixels, more than'):
        decode_compressed('png', _with_size(_png16(), 65535, 65535))


def test_compressed_frames_above_max_pixels_are_rejected_with_the_limit(cat_jpeg):
    with pytest.raises(DecodeError, match=r'jpeg 1280x720 .* more than the 640000 allowed'):
        inspect_compressed('jpeg', cat_jpeg, max_pixels=640000)
    assert inspect_compressed('jpeg', cat_jpeg) == ('jpeg', 1280, 720)


def test_raw_frames_above_max_pixels_are_rejected_before_touching_the_pixels():
    with pytest.raises(DecodeError, match=r'rgb8 7680x4320 has 33177600 pixels'):
        check_raw('rgb8', 4320, 7680, 7680 * 3, 0, max_pixels=3840 * 2160)


def test_a_jpeg_padded_after_its_end_marker_decodes(cat_jpeg):
    # USB MJPEG cameras pad frames after the end-of-image marker; the decoder accepts them.
    padded = decode_compressed('jpeg', cat_jpeg + bytes(4096))
    np.testing.assert_array_equal(padded, decode_compressed('jpeg', cat_jpeg))


def test_decoder_complaints_become_the_reason_not_stderr_noise(capfd):
    png = _png16()
    at = png.index(b'IDAT') + 6
    corrupt = png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1:]  # CRC error in IDAT
    with pytest.raises(DecodeError, match='corrupt png.*libpng error'):
        decode_compressed('png', corrupt)
    assert capfd.readouterr().err == ''


def test_lines_other_threads_write_while_decoding_still_reach_stderr(capfd, cat_jpeg):
    import threading
    done = threading.Event()
    lines = (b'\x1b[0m[INFO] [1.0] [other_thread]: still here\x1b[0m\n',
             b'Traceback (most recent call last): from another thread\n')

    def log():
        while not done.is_set():
            for line in lines:
                os.write(2, line)
            done.wait(0.0005)
    thread = threading.Thread(target=log)
    thread.start()
    try:
        for _ in range(20):
            decode_compressed('jpeg', cat_jpeg)
    finally:
        done.set()
        thread.join()
    err = capfd.readouterr().err.splitlines()
    assert set(err) == {line.decode().rstrip('\n') for line in lines}


def test_a_png_making_libpng_print_a_lot_decodes_without_blocking(capfd):
    png = _png16()
    chunk = b'gAMA' + struct.pack('>I', 45455)
    gamma = struct.pack('>I', 4) + chunk + struct.pack('>I', zlib.crc32(chunk))
    many = png[:33] + gamma * 5000 + png[33:]  # a warning per duplicate chunk: > 64 KB
    result = []
    worker = threading.Thread(target=lambda: result.append(decode_compressed('png', many)))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), 'decoding blocked on what libpng printed'
    assert result[0].shape == (16, 16, 3)
    assert 'libpng' not in capfd.readouterr().err


@pytest.mark.parametrize('encoding, dtype, scale', [('16UC1', np.uint16, 0.001),
                                                    ('mono16', np.uint16, 0.001),
                                                    ('32FC1', np.float32, 1.0)])
@pytest.mark.parametrize('big_endian', [False, True])
def test_depth_images_decode_in_native_order_with_their_unit(encoding, dtype, scale,
                                                             big_endian):
    depth = (np.arange(12, dtype=np.float64).reshape(3, 4) * 250).astype(dtype)
    order = '>' if big_endian else '<'
    rows = np.zeros((3, 5), np.dtype(dtype).newbyteorder(order))  # one padding column
    rows[:, :4] = depth
    out, unit = decode_depth(encoding, 3, 4, rows.strides[0], big_endian, rows.tobytes())
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and unit == scale
    np.testing.assert_array_equal(out, depth)


@pytest.mark.parametrize('encoding, step, size, match', [
    ('rgb8', 12, 48, "unsupported depth encoding 'rgb8'"),
    ('16UC1', 7, 28, 'step 7 does not fit'),
    ('32FC1', 16, 40, 'truncated depth data'),
])
def test_bad_depth_images_say_why(encoding, step, size, match):
    with pytest.raises(DecodeError, match=match):
        decode_depth(encoding, 4, 4, step, False, bytes(size))
