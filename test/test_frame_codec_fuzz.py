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

"""Fuzzing the codec: any input decodes to the right shape or raises DecodeError with a reason."""

import cv2
from deeplab_ros.frame.codec import (decode_compressed, decode_raw, DecodeError,
                                     inspect_compressed, RAW_ENCODINGS)
import numpy as np
import pytest

hypothesis = pytest.importorskip('hypothesis')
given, settings, st = hypothesis.given, hypothesis.settings, hypothesis.strategies


SEEDS = {}


def _seeds():
    """Return valid compressed frames to mutate (built once)."""
    if not SEEDS:
        rng = np.random.default_rng(3)
        pixels = rng.integers(0, 255, (24, 40, 3), dtype=np.uint8)
        for ext in ('.jpg', '.png'):
            ok, data = cv2.imencode(ext, pixels)
            assert ok
            SEEDS[ext] = data.tobytes()
        ok, grey = cv2.imencode('.jpg', pixels[:, :, 0])
        SEEDS['grey'] = grey.tobytes()
    return SEEDS


@settings(max_examples=400, deadline=None)
@given(encoding=st.sampled_from(RAW_ENCODINGS + ('rgb16', '32FC1', '', 'RGB8', 'bgr8 ')),
       height=st.integers(-2, 40), width=st.integers(-2, 40), extra_step=st.integers(-8, 8),
       size_delta=st.integers(-50, 50), big_endian=st.booleans(),
       max_pixels=st.sampled_from([1, 100, 1 << 30]))
def test_fuzz_raw_frames(encoding, height, width, extra_step, size_delta, big_endian,
                         max_pixels):
    channels = {'yuv422': 2, 'uyvy': 2, 'yuv422_yuy2': 2, 'yuyv': 2, 'mono8': 1,
                'rgba8': 4, 'bgra8': 4}.get(encoding, 3)
    step = max(0, width * channels + extra_step)
    data = bytes(max(0, step * max(height, 0) + size_delta))
    try:
        out = decode_raw(encoding, height, width, step, data, max_pixels)
    except DecodeError as error:
        assert str(error)
        return
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


@settings(max_examples=400, deadline=None)
@given(seed=st.sampled_from(['.jpg', '.png', 'grey', 'random']),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10**6)), tail=st.binary(max_size=16),
       noise=st.binary(max_size=256),
       image_format=st.sampled_from(['', 'jpeg', 'png', 'bgr8; jpeg compressed bgr8', 'tiff']))
def test_fuzz_compressed_frames(seed, flips, cut, tail, noise, image_format):
    data = bytearray(noise if seed == 'random' else _seeds()[seed])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    if cut is not None:
        data = data[:cut % (len(data) + 1)]
    data = bytes(data) + tail
    try:
        kind, width, height = inspect_compressed(image_format, data)
        out = decode_compressed(image_format, data)
    except DecodeError as error:
        assert str(error)
        return
    assert out.shape == (height, width, 3) and out.dtype == np.uint8 and kind in ('jpeg', 'png')
