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
One camera's topics: its publishers and subscriptions, clouds, statistics, and what to compute.

The node creates one per camera namespace; the worker thread calls
:meth:`CameraTopics.wanted`, :meth:`CameraTopics.take_inputs` and :meth:`CameraTopics.publish`
for the frames it segments.
"""

import time
from typing import Any, Dict, FrozenSet, Optional

from deeplab_ros.frame.clouds import CameraClouds, CLOUD_OUTPUTS, DEPTH_QUEUE
from deeplab_ros.frame.job import image_encoding, IMAGE_OUTPUTS, Outputs
from deeplab_ros.frame.wire import Frame, read_frame
from deeplab_ros.node import intake
from deeplab_ros.node.diagnostics import FrameStats
from deeplab_ros.node.ros_messages import MESSAGES
from deeplab_ros.parameters import Live
import numpy as np
from sensor_msgs.msg import CameraInfo

_SUBSCRIBERS_REFRESH_S = 0.1  # how often who subscribes to what is read again


class CameraTopics:
    """One camera's topics, clouds and statistics."""

    def __init__(self, prefix: str, geometry: str, num_classes: int) -> None:
        """
        Start with no publishers or subscriptions (the node creates them).

        :param prefix: The camera namespace with a trailing slash, or '' (the node's own).
        """
        self.prefix = prefix
        self.stats = FrameStats(now=time.monotonic())
        self.pubs: Dict[str, Any] = {}
        self.image_sub = self.info_sub = self.depth_sub = None
        self.info: Optional[CameraInfo] = None
        self.clouds = None if geometry == 'none' else CameraClouds(
            geometry, num_classes, prefix + 'camera_info', prefix + 'depth')
        self._wanted: FrozenSet[str] = frozenset()
        self._wanted_key = (None, -1.0)

    def wanted(self, now: float, live: Live, has_scores: bool) -> FrozenSet[str]:
        """Return the outputs to compute: subscribed to and enabled (re-read every 0.1 s)."""
        if self._wanted_key[0] is live and now - self._wanted_key[1] < _SUBSCRIBERS_REFRESH_S:
            return self._wanted
        wanted = {name for name, pub in self.pubs.items()
                  if name != 'label_info' and pub.get_subscription_count() > 0}
        enabled = {'color': live.publish_color, 'overlay': live.publish_overlay,
                   'confidence': live.publish_confidence and has_scores,
                   'mask': bool(live.mask_ids), 'obstacles': bool(live.obstacle_ids),
                   'ground': bool(live.ground_ids)}
        wanted -= {name for name, on in enabled.items() if not on}
        if not wanted & (set(IMAGE_OUTPUTS) | set(CLOUD_OUTPUTS)):
            wanted = set()  # camera_info alone is no reason to segment
        self._wanted, self._wanted_key = frozenset(wanted), (live, now)
        return self._wanted

    def take_inputs(self, wanted: FrozenSet[str]) -> None:
        """Take the newest camera_info and the waiting depth images, when outputs need them."""
        if wanted & ({'camera_info'} | set(CLOUD_OUTPUTS)):
            self.info = intake.take_latest(self.info_sub) or self.info
        if self.clouds is None:
            return
        self.clouds.info = self.info
        if self.depth_sub is not None:
            for serialized, _ in intake.take_serialized(self.depth_sub, DEPTH_QUEUE):
                try:
                    self.clouds.add_depth(
                        read_frame(serialized, False, intake.DESERIALIZE[False]))
                except Exception as error:  # unreadable: say so, use the others
                    self.clouds.notes['depth'] = f'unreadable depth message: {error}'

    def publish_labels(self, labels: np.ndarray, frame: Frame) -> float:
        """Publish a frame's label map with its header; return the ms taken."""
        start = time.perf_counter()
        head = MESSAGES.header(frame.sec, frame.nanosec, frame.frame_id)
        self.pubs['labels'].publish(MESSAGES.image(head, labels, image_encoding('labels', labels)))
        return (time.perf_counter() - start) * 1e3

    def publish(self, out: Outputs, frame: Frame, wanted: FrozenSet[str]) -> float:
        """Publish a frame's outputs that are wanted, with its header; return the ms taken."""
        start = time.perf_counter()
        head = MESSAGES.header(frame.sec, frame.nanosec, frame.frame_id)
        for name, msg in MESSAGES.frame_outputs(head, out, wanted, self.info):
            self.pubs[name].publish(msg)
        return (time.perf_counter() - start) * 1e3

    def unsubscribe(self, node) -> None:
        """Destroy the subscriptions and forget the inputs (at deactivate)."""
        for name in ('image_sub', 'info_sub', 'depth_sub'):
            if getattr(self, name) is not None:
                node.destroy_subscription(getattr(self, name))
                setattr(self, name, None)
        if self.clouds is not None:
            self.clouds.clear()
