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

Class ids are taken by argmax on the raw scores (quantized or float, before any cast).
Scores smaller than the model input are interpolated bilinearly straight onto the pixels of
the image content inside the input (padding is never interpolated into it), with the
output's geometry: align-corners where the output size is (n - 1) * k + 1 of the input size
n (DeepLab's 65x65 logits of a 513x513 input), half-pixel centres otherwise. Label maps are
only ever resized with nearest neighbour.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

import cv2
from deeplab_ros.engine.model import TensorFacts
from deeplab_ros.engine.preprocess import Fit
from deeplab_ros.parameters import OUTPUT_RESOLUTIONS
import numpy as np

#: How low-resolution scores map onto the input: auto picks per axis from the sizes.
UPSAMPLINGS = ('auto', 'align_corners', 'half_pixel')

# Score maps at least this large are argmaxed in horizontal bands on several threads (numpy
# releases the GIL): 513x513x21 logits take 3.9 ms on one core, 2.2 ms on two.
_PARALLEL_PIXELS = 1 << 16


class ArgmaxPool:
    """Argmax over the class axis in horizontal bands on up to ``threads`` threads."""

    def __init__(self, threads: int) -> None:
        """Create the pool lazily; ``threads`` is the inference thread count (>= 1)."""
        self.threads = max(1, min(4, threads))
        self._pool: Optional[ThreadPoolExecutor] = None

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Return the argmax over the last axis of an [h, w, C] array."""
        height = scores.shape[0]
        workers = min(self.threads, height)
        if workers < 2 or height * scores.shape[1] < _PARALLEL_PIXELS:
            return scores.argmax(axis=2)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads,
                                            thread_name_prefix='deeplab_argmax')
        out = np.empty(scores.shape[:2], dtype=np.intp)
        bounds = [height * i // workers for i in range(workers + 1)]
        bands = [slice(a, b) for a, b in zip(bounds, bounds[1:])]
        for done in [self._pool.submit(np.argmax, scores[b], 2, out[b]) for b in bands]:
            done.result()
        return out

    def close(self) -> None:
        """Stop the threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def target_size(fit: Fit, output_resolution: str) -> Tuple[int, int]:
    """Return the label map size: the image's, or the content's size at model scale."""
    if output_resolution == 'input':
        return fit.image_size
    if output_resolution == 'model':
        return fit.content_size
    raise ValueError(f'output resolution must be one of {", ".join(OUTPUT_RESOLUTIONS)}, not '
                     f'{output_resolution!r}')


def _content_in_output(fit: Fit, output_size: Tuple[int, int]) -> Tuple[int, int]:
    """Return the part of an output of ``output_size`` that covers the image (no padding)."""
    (model_w, model_h), (content_w, content_h) = fit.model_size, fit.content_size
    out_w, out_h = output_size
    return (max(1, min(out_w, round(content_w * out_w / model_w))),
            max(1, min(out_h, round(content_h * out_h / model_h))))


def label_dtype(num_classes: int) -> np.dtype:
    """Return uint8 for up to 256 classes, else uint16."""
    return np.dtype(np.uint8 if num_classes <= 256 else np.uint16)


def _axis_geometry(out: int, model: int, upsampling: str) -> str:
    """Return align_corners or half_pixel for one axis ('auto' decided by the sizes)."""
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f'upsampling must be one of {", ".join(UPSAMPLINGS)}, not '
                         f'{upsampling!r}')
    if upsampling == 'auto':
        aligned = 1 < out < model and (model - 1) % (out - 1) == 0
        return 'align_corners' if aligned else 'half_pixel'
    return upsampling


def score_geometry(output_size: Tuple[int, int], model_size: Tuple[int, int],
                   upsampling: str = 'auto') -> str:
    """Return the geometry used for scores of ``output_size`` (both axes agree, or 'mixed')."""
    x, y = (_axis_geometry(o, m, upsampling) for o, m in zip(output_size, model_size))
    return x if x == y else f'mixed: {x} x, {y} y'


def axis_map(out: int, model: int, upsampling: str) -> Tuple[float, float]:
    """
    Return ``(a, b)`` such that output coordinate = a * input pixel + b along one axis.

    Pixel centres sit at integer coordinates. align_corners maps the first and last pixels
    of the input onto those of the output (auto picks it when ``out - 1`` divides
    ``model - 1``: DeepLab's (n - 1) * k + 1 sizes); half_pixel treats both grids as
    covering the same extent (the geometry of strided convolutions on even sizes).
    """
    if _axis_geometry(out, model, upsampling) == 'align_corners' and out > 1 and model > 1:
        return (out - 1) / (model - 1), 0.0
    return out / model, 0.5 * out / model - 0.5


def upsample_scores(scores: np.ndarray, fit: Fit, upsampling: str = 'auto') -> np.ndarray:
    """
    Interpolate [h, w, C] scores bilinearly onto the image content at model scale.

    :return: float32 [content_h, content_w, C], in the units of ``scores`` (quantized
        scores stay quantized: dequantization is monotonic and not needed for the argmax).
    """
    (model_w, model_h), (out_h, out_w) = fit.model_size, scores.shape[:2]
    ax, bx = axis_map(out_w, model_w, upsampling)
    ay, by = axis_map(out_h, model_h, upsampling)
    transform = np.float32([[ax, 0.0, bx], [0.0, ay, by]])
    source = np.ascontiguousarray(scores, dtype=np.float32)
    upsampled = cv2.warpAffine(source, transform, fit.content_size,
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
    return upsampled.reshape(fit.content_size[1], fit.content_size[0], -1)


def _confidence(scores: np.ndarray, facts: TensorFacts) -> np.ndarray:
    """Return the softmax probability of the winning class per pixel as uint8 0..255."""
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
                num_classes: int, want_confidence: bool = False, upsampling: str = 'auto',
                argmax: Optional[ArgmaxPool] = None
                ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """
    Return ``(labels, confidence)`` of ``size`` (width, height) from a model output.

    :param output: the model's [h, w] class ids or [h, w, C] scores (float, uint8 or int8;
        may be a view).
    :param num_classes: classes the label map must hold (picks uint8 or uint16).
    :param want_confidence: also compute confidence (score outputs only, else None).
    :param upsampling: geometry of scores smaller than the input, see :func:`axis_map`.
    :param argmax: the argmax to use (a pool sized by the inference threads); default: one
        thread.
    """
    dtype = label_dtype(num_classes)
    confidence = None
    if facts.output_kind == 'ids':
        crop_w, crop_h = _content_in_output(fit, (output.shape[1], output.shape[0]))
        labels = output[:crop_h, :crop_w].astype(dtype)
    else:
        if (output.shape[1], output.shape[0]) == fit.model_size:
            content_w, content_h = fit.content_size
            scores = output[:content_h, :content_w]
        else:
            scores = upsample_scores(output, fit, upsampling)
        labels = (argmax or ArgmaxPool(1))(scores).astype(dtype)
        if want_confidence:
            confidence = _confidence(scores, facts)
    if (labels.shape[1], labels.shape[0]) != size:
        labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        if confidence is not None:
            confidence = cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR)
    return labels, confidence
