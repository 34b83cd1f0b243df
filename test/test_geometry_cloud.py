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

"""PointCloud2 layouts: selected points with labels, organized points, class tables."""

from deeplab_ros.geometry.camera import Intrinsics
from deeplab_ros.geometry.cloud import (class_lut, ORGANIZED_DTYPE, ORGANIZED_FIELDS,
                                        ORGANIZED_STEP, pack_organized, pack_points, POINT_DTYPE,
                                        POINT_FIELDS, POINT_STEP)
from deeplab_ros.geometry.depth import depth_organized
from deeplab_ros.geometry.ground import GroundModel
import numpy as np
import pytest


def test_pack_points_gives_point_step_bytes_per_point_that_read_back():
    assert [(f.name, f.offset, f.datatype, f.count) for f in POINT_FIELDS] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1), ('label', 12, 4, 1)]
    assert POINT_STEP == 16 and POINT_DTYPE.itemsize == 16
    xyz = np.array([[1.5, -2.0, 3.25], [0.0, 0.5, 9.0], [-1.0, 1.0, 2.0]], np.float32)
    label = np.array([7, 65535, 0], np.uint16)
    data = pack_points(xyz, label).tobytes()
    assert len(data) == 3 * 16
    assert np.array_equal(np.frombuffer(data, '<f4').reshape(3, 4)[:, :3], xyz)
    halves = np.frombuffer(data, '<u2').reshape(3, 8)
    assert np.array_equal(halves[:, 6], label) and np.all(halves[:, 7] == 0)
    back = np.frombuffer(data, POINT_DTYPE)
    assert np.array_equal(back['label'], label) and np.array_equal(back['z'], xyz[:, 2])
    assert len(pack_points(np.empty((0, 3), np.float32), np.empty(0, np.uint16)).tobytes()) == 0
    with pytest.raises(ValueError, match='N labels'):
        pack_points(xyz, label[:2])


def test_pack_organized_gives_16_bytes_per_pixel_row_major_that_read_back():
    assert [(f.name, f.offset, f.datatype, f.count) for f in ORGANIZED_FIELDS] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1)]
    assert ORGANIZED_STEP == 16 and ORGANIZED_DTYPE.itemsize == 16
    xyz = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    xyz[1, 2] = np.nan
    packed = pack_organized(xyz)
    assert packed.shape == (2, 3) and packed.dtype == ORGANIZED_DTYPE
    data = packed.tobytes()
    assert len(data) == 2 * 3 * 16  # row_step 16 * width, rows one after another
    floats = np.frombuffer(data, '<f4').reshape(2, 3, 4)
    assert np.array_equal(floats[..., :3], xyz, equal_nan=True)
    assert np.all(np.frombuffer(data, '<u4').reshape(2, 3, 4)[..., 3] == 0)  # padding
    back = np.frombuffer(data, ORGANIZED_DTYPE).reshape(2, 3)
    assert np.array_equal(back['y'], xyz[..., 1], equal_nan=True)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        pack_organized(xyz.reshape(-1, 3))


def test_pack_organized_of_the_organized_clouds_needs_no_copy():
    k = Intrinsics(fx=450.0, fy=450.0, cx=319.5, cy=179.5, width=640, height=360)
    labels = np.ones((360, 640), np.uint8)
    ground = GroundModel(k, 1.0, 0.3, 0.0).organized_points(labels, class_lut([1], 2))
    depth = depth_organized(np.full((480, 848), 2.0, np.float32), 1.0, k, 10.0)
    for xyz in (ground, depth):
        packed = pack_organized(xyz)
        assert np.shares_memory(packed, xyz)
        floats = np.frombuffer(packed.tobytes(), '<f4').reshape(360, 640, 4)
        assert np.array_equal(floats[..., :3], xyz, equal_nan=True)
        assert np.all(floats[..., 3] == 0)
    copied = pack_organized(np.ascontiguousarray(depth))  # not a view of 16-byte rows
    assert not np.shares_memory(copied, depth)
    assert np.array_equal(copied['z'], depth[..., 2])


def test_class_lut_marks_the_chosen_ids():
    lut = class_lut([3, 0], 21)
    assert lut.dtype == bool and lut.shape == (21,) and list(np.flatnonzero(lut)) == [0, 3]
    with pytest.raises(ValueError, match='outside 0..20'):
        class_lut([3, 21], 21)
    with pytest.raises(ValueError, match='at least 1 entry'):
        class_lut([], 0)
