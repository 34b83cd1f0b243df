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
One camera's navigation clouds: its intrinsics, depth pairing, ground model and notes.

Pure Python/numpy: the node feeds it the camera_info and depth images it takes, the bag tool
those it reads; both get the same clouds. What a cloud lacks (camera_info, a depth image
within ``depth_slop``, ground classes) is kept in :attr:`CameraClouds.notes`, in words, for
the diagnostics or the bag tool's summary.
"""

from collections import deque
from typing import AbstractSet, Any, Deque, Dict, Optional, Tuple

from deeplab_ros.frame.codec import decode_depth, DecodeError
from deeplab_ros.frame.wire import Frame
from deeplab_ros.geometry.camera import Intrinsics
from deeplab_ros.geometry.cloud import class_lut, pack_organized, pack_points
from deeplab_ros.geometry.depth import depth_organized, depth_points
from deeplab_ros.geometry.ground import GroundModel
from deeplab_ros.parameters import Live
import numpy as np

#: Clouds of the ``geometry`` parameter, by output name: obstacle points, ground points, and
#: one point per label pixel (organized, for Nav2's semantic segmentation layer).
CLOUD_OUTPUTS = ('obstacles', 'ground', 'points')
#: Depth images kept to pair with colour frames by stamp.
DEPTH_QUEUE = 5


class CameraClouds:
    """The clouds of one camera, computed from label maps with its camera_info and depth."""

    def __init__(self, geometry: str, num_classes: int, info_topic: str = 'camera_info',
                 depth_topic: str = 'depth') -> None:
        """
        Start with no camera_info and no depth image.

        :param geometry: ``depth`` or ``ground_plane``.
        :param num_classes: Classes of the model (class tables cover every id it outputs).
        :param info_topic: Named in the notes when camera_info is missing.
        :param depth_topic: Named in the notes when no depth image pairs with a frame.
        """
        self.geometry = geometry
        self.info: Any = None
        self.depths: Deque[Frame] = deque(maxlen=DEPTH_QUEUE)  # data views their bytes
        self.notes: Dict[str, str] = {}
        self._size = max(int(num_classes), 256)
        self._info_topic, self._depth_topic = info_topic, depth_topic
        self._luts: Tuple[Any, Dict[str, np.ndarray]] = (None, {})
        self._ground: Tuple[Any, Optional[GroundModel]] = (None, None)

    def add_depth(self, frame: Frame) -> None:
        """Keep a registered depth image (the newest :data:`DEPTH_QUEUE`) for pairing."""
        self.depths.append(frame)

    def clear(self) -> None:
        """Forget camera_info, depth images and notes (at deactivate)."""
        self.info = None
        self.depths.clear()
        self.notes.clear()

    def _class_luts(self, live: Live) -> Dict[str, np.ndarray]:
        """Return the obstacle and ground class tables of the live settings (cached)."""
        if self._luts[0] is not live:
            self._luts = (live, {'obstacles': class_lut(live.obstacle_ids, self._size),
                                 'ground': class_lut(live.ground_ids, self._size)})
        return self._luts[1]

    def _paired_depth(self, stamp_ns: int, live: Live) -> Optional[Tuple[np.ndarray, float]]:
        """Return the depth image closest in stamp within depth_slop, decoded, or None."""
        best = min(self.depths, key=lambda d: abs(d.stamp_ns - stamp_ns), default=None)
        if best is None or abs(best.stamp_ns - stamp_ns) > live.depth_slop * 1e9:
            self.notes['depth'] = (
                f'no depth image on {self._depth_topic} within depth_slop '
                f'{live.depth_slop:g} s of the colour frame: no clouds for it')
            return None
        try:
            depth = decode_depth(best.encoding, best.height, best.width, best.step,
                                 best.is_bigendian, best.data, live.max_input_pixels)
        except DecodeError as error:
            self.notes['depth'] = f'depth image on {self._depth_topic} rejected: {error}'
            return None
        self.notes.pop('depth', None)
        return depth

    def _ground_model(self, intrinsics: Intrinsics, live: Live) -> GroundModel:
        """Return the flat-ground model of these intrinsics and parameters (cached)."""
        key = (intrinsics, live.camera_height, live.camera_pitch, live.camera_roll,
               live.cloud_stride, live.max_range)
        if self._ground[0] != key:
            self._ground = (key, GroundModel(intrinsics, *key[1:]))
        return self._ground[1]

    def compute(self, labels: np.ndarray, stamp_ns: int, image_size: Tuple[int, int],
                live: Live, wanted: AbstractSet[str]) -> Dict[str, np.ndarray]:
        """
        Return the wanted clouds of one label map, packed for PointCloud2, by output name.

        :param image_size: ``(width, height)`` of the camera image the labels come from
            (the intrinsics' size when camera_info gives none).
        :return: ``obstacles`` and ``ground``: :func:`deeplab_ros.geometry.cloud.pack_points`
            arrays; ``points``: an organized (H, W) :func:`pack_organized` array. Clouds that
            cannot be computed are left out, and :attr:`notes` says why.
        """
        wanted = set(wanted) & set(CLOUD_OUTPUTS)
        if not wanted:  # what the notes said no longer applies
            self.notes.clear()
            return {}
        info = self.info
        if info is None or len(info.k) != 9 or info.k[0] <= 0 or info.k[4] <= 0:
            self.notes['camera_info'] = (
                f'geometry {self.geometry} needs camera_info on {self._info_topic} '
                '(intrinsics): no clouds until it arrives')
            return {}
        height, width = labels.shape
        try:
            intrinsics = Intrinsics.from_camera_info(info, image_size, live.rectified).scaled(
                width, height)
        except ValueError as error:
            self.notes['camera_info'] = f'camera_info on {self._info_topic} unusable: {error}'
            return {}
        self.notes.pop('camera_info', None)
        luts = self._class_luts(live)
        clouds: Dict[str, np.ndarray] = {}
        if self.geometry == 'depth':
            depth = self._paired_depth(stamp_ns, live)
            if depth is None:
                return {}
            array, unit = depth
            for name in wanted - {'points'}:
                clouds[name] = pack_points(*depth_points(
                    labels, luts[name], array, unit, intrinsics, live.cloud_stride,
                    live.max_range))
            if 'points' in wanted:
                clouds['points'] = pack_organized(
                    depth_organized(array, unit, intrinsics, live.max_range))
            return clouds
        model = self._ground_model(intrinsics, live)
        if wanted & {'obstacles', 'points'} and not live.ground_ids:
            self.notes['ground_classes'] = (
                'geometry ground_plane places objects where they stand on the ground: set '
                'ground_classes, else segmentation/obstacles stays empty and '
                'segmentation/points has only NaN')
        else:
            self.notes.pop('ground_classes', None)
        if 'ground' in wanted:
            clouds['ground'] = pack_points(*model.ground_points(labels, luts['ground']))
        if 'obstacles' in wanted:
            clouds['obstacles'] = pack_points(*model.contact_points(
                labels, luts['obstacles'], luts['ground']))
        if 'points' in wanted:
            clouds['points'] = pack_organized(model.organized_points(labels, luts['ground']))
        return clouds
