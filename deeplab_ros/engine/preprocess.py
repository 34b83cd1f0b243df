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

"""Fit a camera image into the model input: stretch, or letterbox with DeepLab's padding."""

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

RESIZE_MODES = ('stretch', 'letterbox')


@dataclass(frozen=True)
class Fit:
    """
    Where an image of ``image_size`` lands in a model input of ``model_size``.

    The content is placed at the top-left corner (as DeepLab pads during training and
    evaluation); the rest of the input is padding.
    """

    image_size: Tuple[int, int]    # (width, height) of the camera image
    model_size: Tuple[int, int]    # (width, height) of the model input
    content_size: Tuple[int, int]  # (width, height) of the resized image inside the input


def plan_fit(image_size: Tuple[int, int], model_size: Tuple[int, int], mode: str) -> Fit:
    """Compute the placement of an image in the model input for a resize mode."""
    if mode not in RESIZE_MODES:
        raise ValueError(f'resize mode must be one of {", ".join(RESIZE_MODES)}, not {mode!r}')
    (width, height), (model_w, model_h) = image_size, model_size
    if width < 1 or height < 1:
        raise ValueError(f'image has no pixels ({width}x{height})')
    if mode == 'stretch':
        return Fit(image_size, model_size, model_size)
    scale = min(model_w / width, model_h / height)
    content = (min(model_w, max(1, round(width * scale))),
               min(model_h, max(1, round(height * scale))))
    return Fit(image_size, model_size, content)


def pad_value(dtype: np.dtype):
    """Return the input value that stands for a pixel of 127.5 (zero after normalisation)."""
    if dtype == np.uint8:
        return 128
    return 0


def write_input(rgb: np.ndarray, fit: Fit, dst: np.ndarray) -> None:
    """
    Resize ``rgb`` into ``dst`` (the model input) and normalise for its dtype.

    uint8 inputs take raw pixels (their quantization does the normalisation), int8 inputs
    take pixel - 128, float inputs take (pixel - 127.5) / 127.5; padding reads as zero.
    """
    content_w, content_h = fit.content_size
    model_w, model_h = fit.model_size
    region = dst[:content_h, :content_w]
    same_size = (rgb.shape[1], rgb.shape[0]) == fit.content_size
    if dst.dtype == np.uint8:
        if same_size:
            region[...] = rgb
        else:  # resize straight into the interpreter's input
            cv2.resize(rgb, fit.content_size, dst=region, interpolation=cv2.INTER_LINEAR)
    else:
        resized = rgb if same_size else cv2.resize(
            rgb, fit.content_size, interpolation=cv2.INTER_LINEAR)
        if dst.dtype == np.int8:
            np.subtract(resized, 128, out=region, casting='unsafe')  # wraps: 0 -> -128
        else:
            np.multiply(resized, np.float32(1 / 127.5), out=region, casting='unsafe')
            np.subtract(region, np.float32(1.0), out=region)
    fill = pad_value(dst.dtype)
    if content_w < model_w:
        dst[:content_h, content_w:] = fill
    if content_h < model_h:
        dst[content_h:] = fill
