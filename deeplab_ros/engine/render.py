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

"""Pictures of a label map: colour mask, overlay on the camera image, binary class masks."""

from typing import Optional, Sequence

import cv2
import numpy as np


class Renderer:
    """Colour lookup tables built once per palette; every call is vectorised."""

    def __init__(self, palette: np.ndarray):
        """Prepare lookup tables for a (N >= 256, 3) uint8 palette."""
        self.palette = np.ascontiguousarray(palette, dtype=np.uint8)
        self._lut = self.palette[:256].reshape(256, 1, 3).copy()

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """Return the rgb8 colour mask of a class-id map."""
        if labels.dtype == np.uint8:
            return cv2.applyColorMap(labels, self._lut)  # one table look-up per pixel
        return self.palette[labels]

    @staticmethod
    def overlay(rgb: np.ndarray, color: np.ndarray, alpha: float,
                keep: Optional[np.ndarray] = None) -> np.ndarray:
        """
        Blend the colour mask over the image: ``(1 - alpha) * rgb + alpha * color``.

        :param keep: mono8 mask (image size), non-zero where the image stays as it is.
        """
        if rgb.shape != color.shape:
            color = cv2.resize(color, (rgb.shape[1], rgb.shape[0]),
                               interpolation=cv2.INTER_NEAREST)
        blended = cv2.addWeighted(rgb, 1.0 - alpha, color, alpha, 0.0)
        if keep is not None:
            cv2.copyTo(rgb, keep, blended)
        return blended

    @staticmethod
    def class_pixels(labels: np.ndarray, class_id: int) -> np.ndarray:
        """Return a mono8 mask, 255 where the label is ``class_id``."""
        if labels.dtype == np.uint8:
            return cv2.compare(labels, class_id, cv2.CMP_EQ)
        return (labels == class_id).astype(np.uint8) * np.uint8(255)

    @staticmethod
    def class_mask(labels: np.ndarray, class_ids: Sequence[int]) -> np.ndarray:
        """Return a mono8 mask, 255 where the label is one of ``class_ids``, else 0."""
        if labels.dtype == np.uint8:
            lut = np.zeros(256, dtype=np.uint8)
            lut[[i for i in class_ids if 0 <= i < 256]] = 255
            return cv2.LUT(labels, lut)
        return np.isin(labels, list(class_ids)).astype(np.uint8) * np.uint8(255)
