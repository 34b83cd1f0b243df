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
The work on one camera frame: decode, segment, pictures and clouds, timed per stage.

Pure: the node runs it on the frames it takes from the middleware and the bag tool on every
frame of a bag, so both produce the same outputs from the same frame and settings. Outputs
are arrays; each side wraps them in its own messages with the frame's header.
"""

from dataclasses import dataclass, field
import time
from typing import AbstractSet, Callable, Dict, FrozenSet, Iterator, Optional, Tuple

import cv2
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.frame.clouds import CameraClouds
from deeplab_ros.frame.codec import decode_compressed, decode_raw
from deeplab_ros.frame.wire import Frame
from deeplab_ros.parameters import Live
import numpy as np

#: Image outputs, by output name (``segmentation/<name>``).
IMAGE_OUTPUTS = ('labels', 'color', 'overlay', 'confidence', 'mask')


@dataclass
class Outputs:
    """What one frame produced: the outputs asked for, and the time each stage took."""

    labels: np.ndarray                   # HxW class ids, uint8 (uint16 above 256 classes)
    image_size: Tuple[int, int]          # (width, height) of the decoded camera image
    color: Optional[np.ndarray] = None   # HxWx3 rgb8
    overlay: Optional[np.ndarray] = None  # HxWx3 rgb8
    confidence: Optional[np.ndarray] = None  # HxW mono8 (score models only)
    mask: Optional[np.ndarray] = None    # HxW mono8, 255 on mask classes
    clouds: Dict[str, np.ndarray] = field(default_factory=dict)  # packed points by output
    timings: Dict[str, float] = field(default_factory=dict)  # ms by stage

    def images(self, wanted: AbstractSet[str]) -> Iterator[Tuple[str, np.ndarray, str]]:
        """Yield the image outputs made and wanted: ``(name, pixels, encoding)``, in order."""
        for name in IMAGE_OUTPUTS:
            pixels = getattr(self, name)
            if pixels is not None and name in wanted:
                yield name, pixels, image_encoding(name, pixels)


def image_encoding(name: str, pixels: np.ndarray) -> str:
    """
    Return the sensor_msgs/Image encoding of an image output.

    The label map is mono8, or mono16 above 256 classes; the pictures are rgb8 (HxWx3) or
    mono8 (HxW).
    """
    if name == 'labels':
        return 'mono8' if pixels.dtype == np.uint8 else 'mono16'
    return 'rgb8' if pixels.ndim == 3 else 'mono8'


@dataclass(frozen=True)
class Labelled:
    """A frame after the first stage: its label map, and what the second stage needs."""

    frame: Frame
    live: Live                # the settings the frame was segmented with
    wanted: FrozenSet[str]    # the outputs asked for
    rgb: np.ndarray           # the decoded camera image
    labels: np.ndarray
    confidence: Optional[np.ndarray]
    timings: Dict[str, float]  # ms by stage so far


class FrameJob:
    """
    Segment camera frames with one model, in two stages.

    :meth:`labels` (decode, segment: the label map) runs one frame at a time; :meth:`pictures`
    (colour, overlay, mask, clouds) of a frame may run on another thread while
    :meth:`labels` runs for the next one: it reads only the labelled frame it is given and
    the segmenter's colour tables. :attr:`stage` and :attr:`pictures_stage` name the stage a
    frame is in (``idle`` between frames), so that a stage that hangs (a delegate's invoke)
    can be named from another thread.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        """Run frames through ``segmenter``."""
        self.segmenter = segmenter
        self.stage = 'idle'
        self.pictures_stage = 'idle'

    def decode(self, frame: Frame, max_pixels: int) -> np.ndarray:
        """Return the frame as RGB uint8, or raise :class:`DecodeError` with the reason."""
        if frame.fmt:
            return decode_compressed(frame.fmt, frame.data, max_pixels)
        return decode_raw(frame.encoding, frame.height, frame.width, frame.step, frame.data,
                          max_pixels)

    def run(self, frame: Frame, live: Live, wanted: AbstractSet[str],
            clouds: Optional[CameraClouds] = None, rgb: Optional[np.ndarray] = None
            ) -> Outputs:
        """
        Decode, segment and compute the wanted outputs of one frame (both stages).

        :param wanted: Output names (:data:`IMAGE_OUTPUTS`, :data:`CLOUD_OUTPUTS`); the label
            map is always computed.
        :param clouds: The camera's clouds, for the cloud outputs.
        :param rgb: The frame already decoded (by :meth:`decode`), not to decode it again.
        :raises deeplab_ros.frame.codec.DecodeError: The frame cannot be decoded.
        """
        return self.pictures(self.labels(frame, live, wanted, rgb=rgb), clouds)

    def labels(self, frame: Frame, live: Live, wanted: AbstractSet[str],
               before_invoke: Optional[Callable[[], None]] = None,
               rgb: Optional[np.ndarray] = None) -> Labelled:
        """
        Decode and segment one frame: the first stage, up to the label map.

        The confidence map is made here too (when wanted): it needs the model's output,
        which the next frame's inference overwrites.

        :param before_invoke: Called just before the model's invoke (see
            :meth:`Segmenter.segment`).
        :param rgb: The frame already decoded, not to decode it again.
        :raises deeplab_ros.frame.codec.DecodeError: The frame cannot be decoded.
        """
        segmenter = self.segmenter
        try:
            self.stage = 'decode'
            start = time.perf_counter()
            rgb = self.decode(frame, live.max_input_pixels) if rgb is None else rgb
            decoded = time.perf_counter()
            self.stage = 'inference'
            segmenter.resize_mode = live.resize_mode
            segmenter.output_resolution = live.output_resolution
            result = segmenter.segment(rgb, confidence='confidence' in wanted,
                                       before_invoke=before_invoke)
        finally:
            self.stage = 'idle'
        timings = dict(result.timings, decode=(decoded - start) * 1e3)
        return Labelled(frame, live, frozenset(wanted), rgb, result.labels,
                        result.confidence if 'confidence' in wanted else None, timings)

    def pictures(self, labelled: Labelled, clouds: Optional[CameraClouds] = None) -> Outputs:
        """Compute the wanted pictures and clouds of a labelled frame: the second stage."""
        segmenter, live, wanted = self.segmenter, labelled.live, labelled.wanted
        labels, rgb = labelled.labels, labelled.rgb
        try:
            self.pictures_stage = 'render'
            start = time.perf_counter()
            out = Outputs(labels=labels, image_size=(rgb.shape[1], rgb.shape[0]),
                          confidence=labelled.confidence)
            if wanted & {'color', 'overlay'}:
                color = segmenter.colorize(labels)
                out.color = color if 'color' in wanted else None
                if 'overlay' in wanted:
                    base = rgb
                    if base.shape[:2] != labels.shape:
                        base = cv2.resize(rgb, (labels.shape[1], labels.shape[0]),
                                          interpolation=cv2.INTER_AREA)
                    out.overlay = segmenter.overlay(
                        base, color, live.overlay_alpha,
                        None if live.overlay_background else labels)
            if 'mask' in wanted:
                out.mask = segmenter.class_mask(labels, live.mask_ids)
            rendered = time.perf_counter()
            self.pictures_stage = 'clouds'
            if clouds is not None:
                out.clouds = clouds.compute(labels, labelled.frame.stamp_ns, out.image_size,
                                            live, wanted)
            done = time.perf_counter()
        finally:
            self.pictures_stage = 'idle'
        out.timings = dict(labelled.timings, render=(rendered - start) * 1e3,
                           clouds=(done - rendered) * 1e3)
        return out
