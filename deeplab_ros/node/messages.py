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
from deeplab_ros.geometry.camera import scale_camera_info
from deeplab_ros.geometry.cloud import ORGANIZED_FIELDS, POINT_FIELDS
from deeplab_ros.node.diagnostics import Report
from deeplab_ros.parameters import Spec
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

try:
    from vision_msgs.msg import LabelInfo, VisionClass
    HAVE_LABEL_INFO = True
except ImportError:  # vision_msgs is an optional dependency (not on PyPI)
    HAVE_LABEL_INFO = False

_BIG_ENDIAN = sys.byteorder == 'big'
_POINT_FIELDS = [PointField(**field._asdict()) for field in POINT_FIELDS]
_ORGANIZED_FIELDS = [PointField(**field._asdict()) for field in ORGANIZED_FIELDS]


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


def scaled_camera_info(info: CameraInfo, head: Header, image_size: Tuple[int, int],
                       label_size: Tuple[int, int]) -> CameraInfo:
    """
    Return camera_info for the label image: K, P and ROI scaled to ``label_size``.

    The intrinsics are for the camera_info's own size (the image's when it gives none), so
    the clouds and this message scale from the same size (see :mod:`deeplab_ros.geometry.camera`).
    """
    from_size = (info.width, info.height) if info.width and info.height else image_size
    k, p, roi = scale_camera_info(info.k, info.p, (info.roi.x_offset, info.roi.y_offset,
                                                   info.roi.width, info.roi.height),
                                  from_size, label_size)
    out = CameraInfo(header=head, width=label_size[0], height=label_size[1],
                     distortion_model=info.distortion_model, d=info.d, r=info.r, k=k, p=p,
                     binning_x=info.binning_x, binning_y=info.binning_y)
    out.roi.x_offset, out.roi.y_offset, out.roi.width, out.roi.height = roi
    out.roi.do_rectify = info.roi.do_rectify
    return out


def point_cloud(head: Header, packed: np.ndarray) -> PointCloud2:
    """
    Return a PointCloud2 of points packed by :mod:`deeplab_ros.geometry.cloud`.

    A 1-D array is a dense list of labelled points (height 1); a 2-D one is organized, one
    point per label pixel, NaN where unknown (not dense).
    """
    organized = packed.ndim == 2
    height, width = packed.shape if organized else (1, packed.shape[0])
    step = packed.dtype.itemsize
    msg = PointCloud2(header=head, height=height, width=width,
                      fields=_ORGANIZED_FIELDS if organized else _POINT_FIELDS,
                      is_bigendian=False, point_step=step, row_step=step * width,
                      is_dense=not organized)
    msg.data = _bytes_of(packed)  # as is: the constructor would copy it once more
    return msg


def parameter_descriptor(spec: Spec) -> ParameterDescriptor:
    """Return the ParameterDescriptor of a parameter: description, choices or range."""
    descriptor = ParameterDescriptor(description=spec.full_description,
                                     dynamic_typing=spec.takes_booleans)
    if spec.choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    elif spec.bounds is not None and isinstance(spec.default, int):
        descriptor.integer_range = [IntegerRange(
            from_value=int(spec.bounds[0]), to_value=int(spec.bounds[1]), step=1)]
    elif spec.bounds is not None:
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(spec.bounds[0]), to_value=float(spec.bounds[1]), step=0.0)]
    return descriptor


def diagnostic_status(name: str, hardware_id: str, report: Report) -> DiagnosticStatus:
    """Return the DiagnosticStatus of a FrameStats report."""
    return DiagnosticStatus(level=bytes([report.level]), name=name, hardware_id=hardware_id,
                            message=report.message,
                            values=[KeyValue(key=k, value=v) for k, v in report.values])


def label_info(head: Header, names: Sequence[str]):
    """Return a vision_msgs/LabelInfo naming every class id (needs :data:`HAVE_LABEL_INFO`)."""
    return LabelInfo(header=head, threshold=0.0, class_map=[
        VisionClass(class_id=index, class_name=name) for index, name in enumerate(names)])
