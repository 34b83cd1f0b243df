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

"""The node's output messages of a frame, serialized with rosbags' types of a distribution."""

import sys
from typing import AbstractSet, Any, List, Sequence, Tuple

from deeplab_ros.frame.job import IMAGE_OUTPUTS, Outputs
from deeplab_ros.frame.wire import Frame
from deeplab_ros.geometry.camera import scale_camera_info
from deeplab_ros.geometry.cloud import ORGANIZED_FIELDS, POINT_FIELDS
from deeplab_ros.tools.bag.msgtypes import CAMERA_INFO, IMAGE, LABEL_INFO, POINT_CLOUD
from deeplab_ros.tools.bag.reader import Camera
import numpy as np


class Messages:
    """Build the node's messages of one run: its outputs, with its model's class names."""

    def __init__(self, typestore, names: Sequence[str], outputs: AbstractSet[str]) -> None:
        """Build ``outputs`` with ``typestore``'s classes."""
        self.typestore, self.names, self.outputs = typestore, names, outputs
        types = typestore.types
        self._time, self._header = types['builtin_interfaces/msg/Time'], types[
            'std_msgs/msg/Header']
        self._image, self._info = types[IMAGE], types[CAMERA_INFO]
        self._roi, self._cloud = types['sensor_msgs/msg/RegionOfInterest'], types[POINT_CLOUD]
        self._label_info, self._class = types[LABEL_INFO], types['vision_msgs/msg/VisionClass']
        field = types['sensor_msgs/msg/PointField']
        self._fields = {kind: [field(**spec._asdict()) for spec in specs]
                        for kind, specs in (('points', POINT_FIELDS),
                                            ('organized', ORGANIZED_FIELDS))}

    def of_frame(self, camera: Camera, frame: Frame, out: Outputs, stamp: int,
                 label_info: bool) -> List[Tuple[str, int, Any]]:
        """
        Return a frame's output messages, ``(topic, bag time, serialized)``, in writing order.

        Each carries the frame's header.

        :param label_info: Whether to include the camera's LabelInfo (sent once per camera).
        """
        head = self._header(stamp=self._time(sec=frame.sec, nanosec=frame.nanosec),
                            frame_id=frame.frame_id)
        messages = []
        if label_info and 'label_info' in self.outputs:
            messages.append((camera.output('label_info'), stamp, self._label_info_of(head)))
        for name in IMAGE_OUTPUTS:
            pixels = getattr(out, name)
            if pixels is not None and name in self.outputs:
                encoding = out.labels_encoding if name == 'labels' else (
                    'rgb8' if pixels.ndim == 3 else 'mono8')
                messages.append((camera.output(name), stamp,
                                 self._image_of(head, pixels, encoding)))
        if camera.info is not None and 'camera_info' in self.outputs:
            messages.append((camera.output('camera_info'), stamp, self._camera_info_of(
                camera.info, head, out.image_size, out.labels.shape[::-1])))
        for name, packed in out.clouds.items():
            messages.append((camera.output(name), stamp, self._point_cloud_of(head, packed)))
        return messages

    def _image_of(self, head, pixels: np.ndarray, encoding: str):
        """Return a serialized sensor_msgs/Image of an HxW or HxWxC array."""
        height, width = pixels.shape[:2]
        step = width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
        data = np.ascontiguousarray(pixels).reshape(-1).view(np.uint8)
        return self.typestore.serialize_cdr(self._image(
            header=head, height=height, width=width, encoding=encoding,
            is_bigendian=int(sys.byteorder == 'big' and pixels.itemsize > 1), step=step,
            data=data), IMAGE)

    def _camera_info_of(self, info, head, image_size: Tuple[int, int],
                        label_size: Tuple[int, int]):
        """
        Return the serialized camera_info of a label map: K, P and ROI scaled to its size.

        As the node: from the camera_info's own size (the image's when it gives none).
        """
        roi = info.roi
        from_size = (info.width, info.height) if info.width and info.height else image_size
        k, p, (x, y, w, h) = scale_camera_info(
            info.k, info.p, (roi.x_offset, roi.y_offset, roi.width, roi.height), from_size,
            label_size)
        return self.typestore.serialize_cdr(self._info(
            header=head, height=label_size[1], width=label_size[0],
            distortion_model=info.distortion_model, d=np.asarray(info.d, np.float64),
            k=np.asarray(k, np.float64), r=np.asarray(info.r, np.float64),
            p=np.asarray(p, np.float64), binning_x=info.binning_x, binning_y=info.binning_y,
            roi=self._roi(x_offset=x, y_offset=y, height=h, width=w,
                          do_rectify=roi.do_rectify)), CAMERA_INFO)

    def _point_cloud_of(self, head, packed: np.ndarray):
        """Return a serialized PointCloud2 of geometry.cloud points (2-D: organized, not dense)."""
        organized = packed.ndim == 2
        height, width = packed.shape if organized else (1, packed.shape[0])
        step = packed.dtype.itemsize
        return self.typestore.serialize_cdr(self._cloud(
            header=head, height=height, width=width,
            fields=self._fields['organized' if organized else 'points'], is_bigendian=False,
            point_step=step, row_step=step * width,
            data=np.ascontiguousarray(packed).reshape(-1).view(np.uint8),
            is_dense=not organized), POINT_CLOUD)

    def _label_info_of(self, head):
        """Return a serialized vision_msgs/LabelInfo naming every class id."""
        return self.typestore.serialize_cdr(self._label_info(
            header=head, threshold=0.0, class_map=[
                self._class(class_id=i, class_name=name) for i, name in enumerate(self.names)]),
            LABEL_INFO)
