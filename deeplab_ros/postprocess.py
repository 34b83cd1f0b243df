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
Turn the model output into a class-id map (and confidence) at the size the user asked for.

Class ids are taken by argmax on the raw scores (quantized or float, before any cast), low
resolution scores are upsampled bilinearly to the model-scale content first, padding is
cropped, and label maps are only ever resized with nearest neighbour.
"""

from typing import Optional, Tuple

import cv2
from deeplab_ros.model import TensorFacts
from deeplab_ros.preprocess import Fit
import numpy as np

OUTPUT_RESOLUTIONS = ('input', 'model')


def target_size(fit: Fit, output_resolution: str) -> Tuple[int, int]:
    """Return the label map size: the image's, or the content's size at model scale."""
    if output_resolution == 'input':
        return fit.image_size
    if output_resolution == 'model':
        return fit.content_size
    raise ValueError('output resolution must be one of %s, not %r' % (
        ', '.join(OUTPUT_RESOLUTIONS), output_resolution))


def _content_in_output(fit: Fit, output_size: Tuple[int, int]) -> Tuple[int, int]:
    """Return the part of an output of ``output_size`` that covers the image (no padding)."""
    (model_w, model_h), (content_w, content_h) = fit.model_size, fit.content_size
    out_w, out_h = output_size
    return (max(1, min(out_w, round(content_w * out_w / model_w))),
            max(1, min(out_h, round(content_h * out_h / model_h))))


def label_dtype(num_classes: int) -> np.dtype:
    """Return uint8 for up to 256 classes, else uint16."""
    return np.dtype(np.uint8 if num_classes <= 256 else np.uint16)


def _confidence(scores: np.ndarray, facts: TensorFacts) -> np.ndarray:
    """Return the max softmax probability per pixel as uint8 0..255."""
    scale, zero_point = facts.output_quantization
    logits = scores.astype(np.float32)
    if scale:
        logits = (logits - zero_point) * np.float32(scale)
    peak = logits.max(axis=2, keepdims=True)
    np.subtract(logits, peak, out=logits)
    np.exp(logits, out=logits)
    total = logits.sum(axis=2)
    return np.clip(255.0 / total + 0.5, 0, 255).astype(np.uint8)


def postprocess(output: np.ndarray, facts: TensorFacts, fit: Fit, size: Tuple[int, int],
                num_classes: int, want_confidence: bool = False
                ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """
    Return ``(labels, confidence)`` of ``size`` (width, height) from a model output.

    :param output: the model's [h, w] class ids or [h, w, C] scores (may be a view).
    :param num_classes: classes the label map must hold (picks uint8 or uint16).
    :param want_confidence: also compute confidence (score outputs only, else None).
    """
    dtype = label_dtype(num_classes)
    crop_w, crop_h = _content_in_output(fit, (output.shape[1], output.shape[0]))
    crop = output[:crop_h, :crop_w]
    confidence = None
    if facts.output_kind == 'ids':
        labels = crop.astype(dtype)
    else:
        content_w, content_h = fit.content_size
        if crop_w < content_w or crop_h < content_h:
            crop = cv2.resize(crop, fit.content_size, interpolation=cv2.INTER_LINEAR)
        labels = crop.argmax(axis=2).astype(dtype)
        if want_confidence:
            confidence = _confidence(crop, facts)
    if (labels.shape[1], labels.shape[0]) != size:
        labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        if confidence is not None:
            confidence = cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR)
    return labels, confidence
