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
The node's messages with rclpy's classes: the shared builder's binding, parameters, diagnostics.

Uses the ROS message packages but not rclpy, so it is tested without any middleware.
:data:`MESSAGES` builds the outputs (:class:`deeplab_ros.frame.messages.MessageBuilder`); its
LabelInfo where vision_msgs is installed (:data:`HAVE_LABEL_INFO`).
"""

import array

from builtin_interfaces.msg import Time
from deeplab_ros.frame.messages import MessageBuilder, MessageTypes
from deeplab_ros.node.diagnostics import Report
from deeplab_ros.parameters import Spec
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField, RegionOfInterest
from std_msgs.msg import Header

try:
    from vision_msgs.msg import LabelInfo, VisionClass
    HAVE_LABEL_INFO = True
except ImportError:  # vision_msgs is an optional dependency (not on PyPI)
    LabelInfo = VisionClass = None
    HAVE_LABEL_INFO = False


def _bytes_of(pixels: np.ndarray) -> array.array:
    """Copy a numpy array into the array.array a uint8[] message field takes as is."""
    out = array.array('B')
    out.frombytes(np.ascontiguousarray(pixels).view(np.uint8))
    return out


#: rclpy's message classes, for the shared builder.
TYPES = MessageTypes(time=Time, header=Header, image=Image, camera_info=CameraInfo,
                     region_of_interest=RegionOfInterest, point_cloud=PointCloud2,
                     point_field=PointField, byte_array=_bytes_of, label_info=LabelInfo,
                     vision_class=VisionClass)
#: The node's output messages.
MESSAGES = MessageBuilder(TYPES)


def parameter_descriptor(spec: Spec) -> ParameterDescriptor:
    """Return the ParameterDescriptor of a parameter: description, choices or range."""
    descriptor = ParameterDescriptor(description=spec.full_description)
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
