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
Segment the frames the reader hands over into their outputs, in the input's order.

The outputs are the node's messages (:mod:`deeplab_ros.frame.messages`), with rosbags' types
of the output bag's distribution.
"""

from collections import deque
import dataclasses
from typing import AbstractSet, Any, Deque, Dict, Iterable, List, Optional, Sequence, Tuple

from deeplab_ros.frame.clouds import CLOUD_OUTPUTS
from deeplab_ros.frame.job import FrameJob, IMAGE_OUTPUTS, Outputs
from deeplab_ros.frame.messages import MessageBuilder, MessageTypes
from deeplab_ros.frame.wire import Frame
from deeplab_ros.parameters import Live
from deeplab_ros.tools.bag import msgtypes
from deeplab_ros.tools.bag.reader import BagCamera, Item
from deeplab_ros.tools.bag.report import Progress
import numpy as np

_WAIT_NS = 250_000_000  # how long (bag time, past depth_slop) a frame waits for its inputs


def message_types(typestore) -> MessageTypes:
    """Return the message classes of a rosbags type store (:func:`msgtypes.make_typestore`)."""
    types = typestore.types
    return MessageTypes(
        time=types['builtin_interfaces/msg/Time'], header=types['std_msgs/msg/Header'],
        image=types[msgtypes.IMAGE], camera_info=types[msgtypes.CAMERA_INFO],
        region_of_interest=types['sensor_msgs/msg/RegionOfInterest'],
        point_cloud=types[msgtypes.POINT_CLOUD], point_field=types['sensor_msgs/msg/PointField'],
        byte_array=lambda pixels: np.ascontiguousarray(pixels).reshape(-1).view(np.uint8),
        label_info=types[msgtypes.LABEL_INFO], vision_class=types['vision_msgs/msg/VisionClass'])


class BagMessages:
    """The node's messages of one run, serialized: its outputs, with its model's class names."""

    def __init__(self, typestore, names: Sequence[str], outputs: AbstractSet[str]) -> None:
        """Build ``outputs`` with ``typestore``'s classes."""
        self.typestore, self.names, self.outputs = typestore, names, outputs
        self.build = MessageBuilder(message_types(typestore))

    def of_frame(self, camera: BagCamera, frame: Frame, out: Outputs, stamp: int,
                 label_info: bool) -> List[Tuple[str, int, Any]]:
        """
        Return a frame's output messages, ``(topic, bag time, serialized)``, in writing order.

        Each carries the frame's header.

        :param label_info: Whether to include the camera's LabelInfo (sent once per camera).
        """
        build = self.build
        head = build.header(frame.sec, frame.nanosec, frame.frame_id)
        made = list(build.frame_outputs(head, out, self.outputs, camera.info))
        if label_info and 'label_info' in self.outputs:
            made.insert(0, ('label_info', build.label_info(head, self.names)))
        return [(camera.output(name), stamp,
                 self.typestore.serialize_cdr(msg, type(msg).__msgtype__))
                for name, msg in made]


@dataclasses.dataclass
class _Entry:
    """A place in the output order: messages ready to write, or a frame not yet segmented."""

    messages: List[Tuple[str, int, Any]]
    item: Optional[Item] = None   # a frame waiting for its camera_info or depth image
    camera: Optional[BagCamera] = None
    png: Any = None


class Labeller:
    """
    Segment frames with the node's per-frame job; hand their messages to the writer in order.

    A frame's outputs go out right after it. A frame waits (in bag time) for its camera's first
    camera_info and for a depth image as new as it, which a bag may record just after it.
    """

    def __init__(self, job: FrameJob, live: Live, outputs: AbstractSet[str],
                 cameras: Sequence[BagCamera], messages: BagMessages, writer, png: bool,
                 progress: Progress) -> None:
        """Label frames of ``cameras`` with ``job`` into ``outputs``, for ``writer.put``."""
        self.job, self.live, self.messages = job, live, messages
        self.wanted = frozenset(outputs & (set(IMAGE_OUTPUTS) | set(CLOUD_OUTPUTS)))
        self.needs_info = bool(outputs & ({'camera_info'} | set(CLOUD_OUTPUTS)))
        self.writer, self.png, self.progress = writer, png, progress
        self.by_topic: Dict[str, BagCamera] = {}
        for camera in cameras:
            for topic in (camera.topic, camera.info_topic, camera.depth_topic):
                if topic:
                    self.by_topic[topic] = camera
        self.entries: Deque[_Entry] = deque()
        self.frames, self.bag_ns = 0, 0

    def run(self, items: Iterable[Item]) -> None:
        """Handle the reader's items to the last; raise the reader's error, if any."""
        for item in items:
            if item.kind == 'error':
                raise item.payload
            self.bag_ns = item.stamp
            camera = self.by_topic.get(item.topic)
            if item.kind == 'info' and item.payload is not None:
                camera.info = item.payload
                if camera.clouds is not None:
                    camera.clouds.info = item.payload
            elif item.kind == 'depth' and item.payload is not None:
                camera.clouds.add_depth(item.payload)
                camera.newest_depth_ns = max(camera.newest_depth_ns, item.payload.stamp_ns)
            elif item.kind == 'skip':
                camera.skipped += 1
            passed = [(item.topic, item.stamp, item.data)] if item.write else []
            if item.kind == 'frame':  # the frame and its outputs go out together
                self.entries.append(_Entry(passed, item, camera))
            elif passed:
                self.entries.append(_Entry(passed))
            for entry in self.entries:
                if entry.item is not None and not self._waits(entry):
                    self._segment(entry)
            self._flush()
            self.progress.show(self.frames, self.bag_ns)
        for entry in self.entries:
            if entry.item is not None:
                self._segment(entry)
        self._flush()
        self.progress.show(self.frames, self.bag_ns, final=True)

    def _waits(self, entry: _Entry) -> bool:
        """Return whether a frame waits for its camera's first camera_info or a newer depth."""
        camera, item = entry.camera, entry.item
        frame = item.payload[0]
        if frame is None:
            return False
        waits = (camera.info_topic and camera.info is None and self.needs_info) or (
            camera.depth_topic and camera.newest_depth_ns < frame.stamp_ns)
        return bool(waits) and self.bag_ns < (
            item.stamp + self.live.depth_slop * 1e9 + _WAIT_NS)

    def _flush(self) -> None:
        """Hand the ready entries at the front to the writer."""
        while self.entries and self.entries[0].item is None:
            entry = self.entries.popleft()
            self.writer.put((entry.messages, entry.png))

    def _segment(self, entry: _Entry) -> None:
        """Segment a frame into its entry's messages; count it or its rejection."""
        camera, item = entry.camera, entry.item
        entry.item = None
        frame, rgb = item.payload
        if frame is None:
            camera.reject(rgb)  # the reason it could not be read
            return
        out = self.job.run(frame, self.live, self.wanted, camera.clouds, rgb=rgb)
        entry.messages += self.messages.of_frame(camera, frame, out, item.stamp,
                                                 not camera.label_info_sent)
        camera.label_info_sent = True
        if camera.clouds is not None:
            for note in camera.clouds.notes.values():
                camera.notes[note] = camera.notes.get(note, 0) + 1
        counts = np.bincount(out.labels[::4, ::4].ravel(), minlength=len(self.messages.names))
        camera.pixels = counts if camera.pixels is None else camera.pixels + counts
        camera.frames += 1
        self.frames += 1
        if self.png:
            camera_name = camera.namespace.strip('/').replace('/', '_') or 'camera'
            name = f'{camera_name}_{frame.sec}_{frame.nanosec:09d}'
            unique, n = name, 1
            while unique in camera.png_names:
                n += 1
                unique = f'{name}_{n}'
            camera.png_names.add(unique)
            entry.png = (unique, rgb, out.labels.copy())
