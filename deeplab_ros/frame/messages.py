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
The node's output messages of a frame, built with the message classes they are given.

One builder for both sides: the node gives rclpy's generated classes
(:mod:`deeplab_ros.node.ros_messages`), the bag tool rosbags' type store classes
(:mod:`deeplab_ros.tools.bag.labeller`). Every output carries the header of its input frame
unchanged. Pure: never imports ROS.
"""

from dataclasses import dataclass
import sys
from typing import AbstractSet, Any, Callable, Iterator, Optional, Sequence, Tuple

from deeplab_ros.frame.job import Outputs
from deeplab_ros.geometry.camera import scale_camera_info
from deeplab_ros.geometry.cloud import ORGANIZED_FIELDS, POINT_FIELDS
import numpy as np

_BIG_ENDIAN = sys.byteorder == 'big'


@dataclass(frozen=True)
class MessageTypes:
    """
    The message classes of one binding (rclpy's or rosbags'), and how it takes pixel bytes.

    ``byte_array`` returns what a ``uint8[]`` field takes, without a further copy, for a
    contiguous array's bytes. ``label_info`` and ``vision_class`` are None where vision_msgs
    is missing.
    """

    time: Any
    header: Any
    image: Any
    camera_info: Any
    region_of_interest: Any
    point_cloud: Any
    point_field: Any
    byte_array: Callable[[np.ndarray], Any]
    label_info: Any = None
    vision_class: Any = None


def _floats(values: Sequence[float]) -> np.ndarray:
    """Return a float64[] field's value (both bindings take a float64 array)."""
    return np.asarray(values, np.float64)


class MessageBuilder:
    """Build images, scaled camera_info, PointCloud2 and LabelInfo with one binding's types."""

    def __init__(self, types: MessageTypes) -> None:
        """Build with ``types``' classes."""
        self.types = types
        field = types.point_field
        self._fields = {organized: [field(**spec._asdict()) for spec in specs]
                        for organized, specs in ((False, POINT_FIELDS), (True, ORGANIZED_FIELDS))}
        self._no_bytes = types.byte_array(np.empty(0, np.uint8))

    @property
    def has_label_info(self) -> bool:
        """Return whether LabelInfo can be built (vision_msgs is there)."""
        return self.types.label_info is not None

    def header(self, sec: int, nanosec: int, frame_id: str) -> Any:
        """Return a std_msgs/Header."""
        return self.types.header(stamp=self.types.time(sec=sec, nanosec=nanosec),
                                 frame_id=frame_id)

    def image(self, head: Any, pixels: np.ndarray, encoding: str) -> Any:
        """Return a sensor_msgs/Image holding a copy of ``pixels`` (HxW or HxWxC)."""
        height, width = pixels.shape[:2]
        step = width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
        msg = self.types.image(header=head, height=height, width=width, encoding=encoding,
                               is_bigendian=int(_BIG_ENDIAN and pixels.itemsize > 1),
                               step=step, data=self._no_bytes)
        msg.data = self.types.byte_array(pixels)  # as is: a constructor may copy it again
        return msg

    def scaled_camera_info(self, info: Any, head: Any, image_size: Tuple[int, int],
                           label_size: Tuple[int, int]) -> Any:
        """
        Return camera_info for the label image: K, P and ROI scaled to ``label_size``.

        The intrinsics are for the camera_info's own size (the image's when it gives none),
        so the clouds and this message scale from the same size (see
        :mod:`deeplab_ros.geometry.camera`). ``info`` may be of either binding.
        """
        roi = info.roi
        from_size = (info.width, info.height) if info.width and info.height else image_size
        k, p, (x, y, width, height) = scale_camera_info(
            info.k, info.p, (roi.x_offset, roi.y_offset, roi.width, roi.height), from_size,
            label_size)
        return self.types.camera_info(
            header=head, height=label_size[1], width=label_size[0],
            distortion_model=info.distortion_model, d=_floats(info.d), k=_floats(k),
            r=_floats(info.r), p=_floats(p), binning_x=info.binning_x,
            binning_y=info.binning_y, roi=self.types.region_of_interest(
                x_offset=x, y_offset=y, height=height, width=width,
                do_rectify=roi.do_rectify))

    def point_cloud(self, head: Any, packed: np.ndarray) -> Any:
        """
        Return a PointCloud2 of points packed by :mod:`deeplab_ros.geometry.cloud`.

        A 1-D array is a dense list of labelled points (height 1); a 2-D one is organized, one
        point per label pixel, NaN where unknown (not dense).
        """
        organized = packed.ndim == 2
        height, width = packed.shape if organized else (1, packed.shape[0])
        step = packed.dtype.itemsize
        msg = self.types.point_cloud(
            header=head, height=height, width=width, fields=self._fields[organized],
            is_bigendian=False, point_step=step, row_step=step * width, data=self._no_bytes,
            is_dense=not organized)
        msg.data = self.types.byte_array(packed)
        return msg

    def label_info(self, head: Any, names: Sequence[str]) -> Any:
        """Return a vision_msgs/LabelInfo naming every class id (needs :attr:`has_label_info`)."""
        vision_class = self.types.vision_class
        return self.types.label_info(header=head, threshold=0.0, class_map=[
            vision_class(class_id=index, class_name=name) for index, name in enumerate(names)])

    def frame_outputs(self, head: Any, out: Outputs, wanted: AbstractSet[str],
                      info: Optional[Any]) -> Iterator[Tuple[str, Any]]:
        """
        Yield a frame's output messages, ``(output name, message)``, in publishing order.

        The wanted images (:meth:`Outputs.images`), the scaled camera_info when ``info`` is
        known and wanted, then every cloud computed.
        """
        for name, pixels, encoding in out.images(wanted):
            yield name, self.image(head, pixels, encoding)
        if info is not None and 'camera_info' in wanted:
            yield 'camera_info', self.scaled_camera_info(info, head, out.image_size,
                                                         out.labels.shape[::-1])
        for name, packed in out.clouds.items():
            yield name, self.point_cloud(head, packed)
