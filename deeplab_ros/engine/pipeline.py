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

"""The segmentation pipeline: fit, invoke, label map, and pictures of it, timed per stage."""

from dataclasses import dataclass
from pathlib import Path
import time
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from deeplab_ros import parameters
from deeplab_ros.engine import registry
from deeplab_ros.engine.labels import LabelSet, resolve_labels
from deeplab_ros.engine.model import Model
from deeplab_ros.engine.postprocess import (ArgmaxPool, OUTPUT_RESOLUTIONS, postprocess,
                                            score_geometry, target_size, UPSAMPLINGS)
from deeplab_ros.engine.preprocess import plan_fit, RESIZE_MODES, write_input
from deeplab_ros.engine.render import Renderer
from deeplab_ros.engine.runtime import expand_placeholders, load_interpreter, parse_options
from deeplab_ros.errors import AssetError
import numpy as np

#: 'auto' fits images as the registry measured best for the model (letterbox unless it says
#: otherwise; measured on the VOC train sample, see doc/performance.md, Accuracy).
DEFAULT_RESIZE_MODE = 'auto'
RESIZE_CHOICES = parameters.RESIZE_MODES
AUTO_RESIZE_MODE = 'letterbox'


@dataclass(frozen=True)
class EngineInfo:
    """What was loaded: for logs, diagnostics and the bench table."""

    model_name: str
    model_path: Path
    runtime: str
    delegate: str          # the delegate actually used
    fell_back: bool
    fallback_reason: str
    accelerator: str       # what runs the model (device, when the runtime names it)
    fully_accelerated: Optional[bool]  # None: the runtime does not say (Interpreter)
    cpu_share: str         # how much stays on the CPU, when the runtime says
    num_threads: int
    input_size: Tuple[int, int]
    auto_resize_mode: str  # what resize_mode 'auto' means for this model
    input_dtype: str
    output_kind: str
    num_classes: int
    has_scores: bool


@dataclass
class Segmentation:
    """One image's result."""

    labels: np.ndarray                # HxW class ids (uint8, uint16 above 256 classes)
    confidence: Optional[np.ndarray]  # HxW uint8 0..255 (score models, when asked)
    scale: Tuple[float, float]        # label size / image size, for camera_info
    timings: Dict[str, float]         # ms per stage: preprocess, inference, postprocess


class Segmenter:
    """
    A model with its labels and palette, turning RGB images into label maps.

    Not thread-safe: one interpreter must not be invoked from two threads at once.
    """

    def __init__(self, model: Model, labels: LabelSet, resize_mode: str = DEFAULT_RESIZE_MODE,
                 output_resolution: str = 'input', auto_resize_mode: str = AUTO_RESIZE_MODE,
                 upsampling: str = 'auto'):
        """
        Wrap a loaded model; see :meth:`open` to load one by name.

        :param resize_mode: one of :data:`RESIZE_CHOICES`; 'auto' means ``auto_resize_mode``.
        :param upsampling: geometry of low-resolution scores, one of
            :data:`deeplab_ros.postprocess.UPSAMPLINGS`.
        """
        for name, value, choices in (('resize_mode', resize_mode, RESIZE_CHOICES),
                                     ('auto_resize_mode', auto_resize_mode, RESIZE_MODES),
                                     ('output_resolution', output_resolution,
                                      OUTPUT_RESOLUTIONS),
                                     ('upsampling', upsampling, UPSAMPLINGS)):
            if value not in choices:
                raise ValueError(f'{name} must be one of {", ".join(choices)}, not {value!r}')
        self.model = model
        self.labels = labels
        self.renderer = Renderer(labels.palette)
        self.resize_mode = resize_mode
        self.output_resolution = output_resolution
        self.upsampling = upsampling
        facts, loaded = model.facts, model.loaded
        self.info = EngineInfo(
            model_name=model.name, model_path=model.path, runtime=loaded.runtime,
            delegate=loaded.delegate, fell_back=loaded.fell_back,
            fallback_reason=loaded.fallback_reason, accelerator=loaded.accelerator,
            fully_accelerated=loaded.fully_accelerated, cpu_share=loaded.cpu_share,
            num_threads=loaded.num_threads,
            input_size=facts.input_size, auto_resize_mode=auto_resize_mode,
            input_dtype=str(facts.input_dtype), output_kind=facts.output_kind,
            num_classes=len(labels.names), has_scores=facts.output_kind == 'scores')
        self._argmax = ArgmaxPool(loaded.num_threads)

    @property
    def fit_mode(self) -> str:
        """Return the resize mode in effect ('auto' resolved for this model)."""
        if self.resize_mode == 'auto':
            return self.info.auto_resize_mode
        return self.resize_mode

    @classmethod
    def open(cls, model: str, *, runtime: str = 'auto', delegate: str = 'cpu',  # noqa: A003
             delegate_library: str = '',
             delegate_options: Union[Sequence[str], Mapping, None] = (),
             delegate_fallback: bool = False, num_threads: Optional[int] = None,
             labels: str = '', palette: str = '', resize_mode: str = DEFAULT_RESIZE_MODE,
             output_resolution: str = 'input', upsampling: str = 'auto',
             progress: Optional[registry.Progress] = None) -> 'Segmenter':
        """
        Load a registry model or a .tflite path with a runtime and delegate.

        :param progress: download progress, as for :func:`deeplab_ros.registry.fetch`.
        :raises deeplab_ros.errors.DeeplabError: with a message saying what to do.
        """
        path, asset = registry.resolve_model(model, delegate, progress)
        variants = asset.variants if asset is not None else {}
        # The plain model is needed only when settling on the CPU is possible.
        cpu_path = None
        if variants.get('cpu') and (delegate_fallback or delegate == 'auto'):
            cpu_path = registry.fetch(variants['cpu'], progress)
        auto_models, skipped = None, ''
        if delegate == 'auto' and asset is not None:
            auto_models = {'vx': path}
            if asset.auto_openvino:
                auto_models['openvino'] = path
            if variants.get('edgetpu'):
                try:  # optional: auto must work offline without the compiled file
                    auto_models['edgetpu'] = registry.fetch(variants['edgetpu'], progress)
                except AssetError as exc:
                    skipped = f'; edgetpu: not tried, {exc}'
        options = expand_placeholders(parse_options(delegate_options), Path(path).stem,
                                      registry.cache_dir())
        loaded = load_interpreter(path, runtime=runtime, delegate=delegate,
                                  num_threads=num_threads, delegate_library=delegate_library,
                                  delegate_options=options, fallback=delegate_fallback,
                                  auto_models=auto_models, cpu_model_path=cpu_path)
        if loaded.delegate == 'cpu' and skipped:
            loaded.fallback_reason += skipped
        if loaded.delegate == 'cpu' and cpu_path is not None:
            path = cpu_path
        elif loaded.delegate == 'edgetpu' and auto_models and 'edgetpu' in auto_models:
            path = auto_models['edgetpu']
        name = Path(path).stem  # the file actually running (registry files are <name>.tflite)
        loaded_model = Model(loaded, path, name)
        classes = loaded_model.facts.num_classes or (asset.classes if asset else 0)
        label_set = resolve_labels(
            classes, labels, palette, default_labels=asset.labels if asset else '',
            default_palette=asset.palette if asset else '', model_path=path)
        return cls(loaded_model, label_set, resize_mode, output_resolution,
                   auto_resize_mode=(asset.resize_mode if asset else '') or AUTO_RESIZE_MODE,
                   upsampling=upsampling)

    def protocol(self) -> Dict[str, str]:
        """Return how images are fitted and scores upsampled for this model (for reports)."""
        facts = self.model.facts
        if facts.output_kind == 'ids' or facts.output_size == facts.input_size:
            upsampling = 'none (output at input size)'
        else:
            geometry = score_geometry(facts.output_size, facts.input_size, self.upsampling)
            (out_w, out_h), (in_w, in_h) = facts.output_size, facts.input_size
            upsampling = f'{geometry} ({out_w}x{out_h} scores, {in_w}x{in_h} input)'
        return {'resize_mode': self.fit_mode, 'upsampling': upsampling}

    @property
    def class_names(self) -> Tuple[str, ...]:
        """Return the class names, index = class id."""
        return self.labels.names

    def segment(self, rgb: np.ndarray, confidence: bool = False,
                before_invoke: Optional[Callable[[], None]] = None) -> Segmentation:
        """
        Segment an RGB uint8 image of any size.

        :param confidence: also return the max class probability (score models only).
        :param before_invoke: called once the input is written, just before the invoke
            (which lets other Python threads run).
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f'expected an RGB uint8 image HxWx3, got {rgb.dtype} {rgb.shape}')
        height, width = rgb.shape[:2]
        start = time.perf_counter()
        fit = plan_fit((width, height), self.info.input_size, self.fit_mode)
        write_input(rgb, fit, self.model.input_view())
        fitted = time.perf_counter()
        if before_invoke is not None:
            before_invoke()
        self.model.invoke()
        invoked = time.perf_counter()
        size = target_size(fit, self.output_resolution)
        labels, conf = postprocess(self.model.output_view(), self.model.facts, fit, size,
                                   self.info.num_classes, confidence, self.upsampling,
                                   self._argmax)
        done = time.perf_counter()
        return Segmentation(
            labels=labels, confidence=conf, scale=(size[0] / width, size[1] / height),
            timings={'preprocess': (fitted - start) * 1e3, 'inference': (invoked - fitted) * 1e3,
                     'postprocess': (done - invoked) * 1e3})

    def warmup(self, runs: int = 1) -> None:
        """Invoke the model ``runs`` times so that delegates compile and caches fill."""
        for _ in range(max(0, runs)):
            self.model.invoke()

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """Return the rgb8 colour mask of a label map."""
        return self.renderer.colorize(labels)

    def overlay(self, rgb: np.ndarray, color: np.ndarray, alpha: float = 0.5,
                labels: Optional[np.ndarray] = None) -> np.ndarray:
        """
        Return the colour mask blended over the image.

        :param labels: the label map of ``color`` (image size): pixels of the background
            class (see :attr:`LabelSet.background_id`) then show the image unchanged;
            None blends every class.
        """
        background = self.labels.background_id
        keep = None
        if labels is not None and background is not None:
            keep = self.renderer.class_pixels(labels, background)
        return self.renderer.overlay(rgb, color, alpha, keep)

    def class_ids(self, names: Sequence[str]) -> list:
        """Return the ids of class names; ValueError lists the valid names for unknown ones."""
        return self.labels.class_ids(names)

    def class_mask(self, labels: np.ndarray, class_ids: Sequence[int]) -> np.ndarray:
        """Return a mono8 0/255 mask of the given classes."""
        return self.renderer.class_mask(labels, class_ids)

    def close(self) -> None:
        """Release the interpreter, its delegate and the argmax threads."""
        self._argmax.close()
        self.model.close()


def open_segmenter(values: Dict[str, Any],
                   progress: Optional[Callable[[int, int], None]] = None) -> 'Segmenter':
    """
    Check a complete set of parameter values, then load, check and warm up the model.

    What configure does, shared by the node and the bag tool.

    :raises ValueError: A value, or a class list for this model, is invalid (the reason).
    :raises deeplab_ros.errors.DeeplabError: The model or delegate cannot be loaded (what
        to do).
    """
    reason = next(filter(None, (parameters.check(n, v) for n, v in values.items())), None)
    reason = reason or parameters.check_together(values)
    if reason:
        raise ValueError(reason)
    segmenter = Segmenter.open(
        values['model'], runtime=values['runtime'], delegate=values['delegate'],
        delegate_library=values['delegate_library'],
        delegate_options=values['delegate_options'],
        delegate_fallback=values['delegate_fallback'],
        num_threads=values['num_threads'] or None, labels=values['labels'],
        palette=values['palette'], resize_mode=values['resize_mode'],
        output_resolution=values['output_resolution'], progress=progress)
    try:
        reason = next(filter(None, (
            parameters.check(name, values[name], class_ids=segmenter.class_ids)
            for name in parameters.CLASS_LISTS)), None)
        if reason:
            raise ValueError(reason)
        segmenter.warmup(values['warmup_runs'])
    except Exception:
        segmenter.close()
        raise
    return segmenter
