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

from concurrent.futures import ThreadPoolExecutor
import os
from typing import Optional, Tuple

import cv2
from deeplab_ros.model import TensorFacts
from deeplab_ros.preprocess import Fit
import numpy as np

OUTPUT_RESOLUTIONS = ('input', 'model')

# Score maps at least this large are argmaxed in horizontal bands on several threads (numpy
# releases the GIL): 513x513x21 logits take 3.9 ms on one core, 2.2 ms on two.
_PARALLEL_PIXELS = 1 << 16
_pool: Optional[ThreadPoolExecutor] = None


def _argmax_channels(scores: np.ndarray) -> np.ndarray:
    """Return the argmax over the last axis of an [h, w, C] array, in bands on all cores."""
    global _pool
    height = scores.shape[0]
    workers = min(4, os.cpu_count() or 1, height)
    if workers < 2 or scores.shape[0] * scores.shape[1] < _PARALLEL_PIXELS:
        return scores.argmax(axis=2)
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix='deeplab_argmax')
    out = np.empty(scores.shape[:2], dtype=np.intp)
    bounds = [height * i // workers for i in range(workers + 1)]
    bands = [slice(a, b) for a, b in zip(bounds, bounds[1:])]
    for done in [_pool.submit(np.argmax, scores[b], 2, out[b]) for b in bands]:
        done.result()
    return out


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
        labels = _argmax_channels(crop).astype(dtype)
        if want_confidence:
            confidence = _confidence(crop, facts)
    if (labels.shape[1], labels.shape[0]) != size:
        labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        if confidence is not None:
            confidence = cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR)
    return labels, confidence
