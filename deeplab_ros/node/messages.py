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
Build the node's output messages from arrays: images, camera_info, clouds, diagnostics.

Uses the ROS message packages but not rclpy, so it is tested without any middleware. Every
output takes the header of its input frame unchanged. ``vision_msgs/LabelInfo`` is built
where vision_msgs is installed (:data:`HAVE_LABEL_INFO`).
"""

import array
import sys
from typing import Sequence, Tuple

from builtin_interfaces.msg import Time
from deeplab_ros.nav.geometry import POINT_FIELDS, POINT_STEP
from deeplab_ros.node.diagnostics import Report
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
import numpy as np
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

try:
    from vision_msgs.msg import LabelInfo, VisionClass
    HAVE_LABEL_INFO = True
except ImportError:  # vision_msgs is an optional dependency (not on PyPI)
    HAVE_LABEL_INFO = False

_BIG_ENDIAN = sys.byteorder == 'big'
_POINT_FIELDS = [PointField(**field._asdict()) for field in POINT_FIELDS]


def header(sec: int, nanosec: int, frame_id: str) -> Header:
    """Return a std_msgs/Header."""
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def _bytes_of(pixels: np.ndarray) -> array.array:
    """Copy a numpy array into the array.array a uint8[] message field takes as is."""
    out = array.array('B')
    out.frombytes(np.ascontiguousarray(pixels).view(np.uint8))
    return out


def image(head: Header, pixels: np.ndarray, encoding: str) -> Image:
    """Return a sensor_msgs/Image holding a copy of ``pixels`` (HxW or HxWxC)."""
    msg = Image(header=head, encoding=encoding)
    msg.height, msg.width = pixels.shape[:2]
    msg.is_bigendian = _BIG_ENDIAN and pixels.itemsize > 1
    msg.step = msg.width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
    msg.data = _bytes_of(pixels)
    return msg


def scaled_camera_info(info: CameraInfo, head: Header, size: Tuple[int, int],
                       scale: Tuple[float, float]) -> CameraInfo:
    """Return camera_info for an image of ``size`` made by scaling the camera's by ``scale``."""
    sx, sy = scale
    k, p = list(info.k), list(info.p)
    for index in (0, 2):
        k[index] *= sx
    for index in (4, 5):
        k[index] *= sy
    for index in (0, 2, 3):
        p[index] *= sx
    for index in (5, 6, 7):
        p[index] *= sy
    out = CameraInfo(header=head, width=size[0], height=size[1],
                     distortion_model=info.distortion_model, d=info.d, r=info.r, k=k, p=p,
                     binning_x=info.binning_x, binning_y=info.binning_y)
    out.roi.x_offset = int(info.roi.x_offset * sx)
    out.roi.y_offset = int(info.roi.y_offset * sy)
    out.roi.width = int(info.roi.width * sx)
    out.roi.height = int(info.roi.height * sy)
    out.roi.do_rectify = info.roi.do_rectify
    return out


def point_cloud(head: Header, packed: np.ndarray) -> PointCloud2:
    """Return a dense, unorganised PointCloud2 of points packed by geometry.pack_points."""
    return PointCloud2(header=head, height=1, width=packed.shape[0], fields=_POINT_FIELDS,
                       is_bigendian=False, point_step=POINT_STEP,
                       row_step=POINT_STEP * packed.shape[0], data=_bytes_of(packed),
                       is_dense=True)


def diagnostic_status(name: str, hardware_id: str, report: Report) -> DiagnosticStatus:
    """Return the DiagnosticStatus of a FrameStats report."""
    return DiagnosticStatus(level=bytes([report.level]), name=name, hardware_id=hardware_id,
                            message=report.message,
                            values=[KeyValue(key=k, value=v) for k, v in report.values])


def label_info(head: Header, names: Sequence[str]):
    """Return a vision_msgs/LabelInfo naming every class id (needs :data:`HAVE_LABEL_INFO`)."""
    return LabelInfo(header=head, threshold=0.0, class_map=[
        VisionClass(class_id=index, class_name=name) for index, name in enumerate(names)])
