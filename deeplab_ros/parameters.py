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
The node's parameters: names, defaults, descriptions, ranges and validation.

Plain data and pure Python (no ROS, NumPy or OpenCV), so that launch files can import it
cheaply: the node declares one ROS parameter per :class:`Spec` (descriptor from the spec),
the launch files declare one launch argument per spec and type its text with
:func:`parse_text`, and both validate with :func:`check`. :class:`Live` is the snapshot of
the settings that apply at once, swapped as a whole so that a frame sees one consistent set.
"""

from dataclasses import dataclass
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from deeplab_ros.engine.runtime import DELEGATES, RUNTIMES
import yaml

CONFIGURE = 'configure'
LIVE = 'live'

_SUFFIX = {
    CONFIGURE: ' Read at configure: change it, then cleanup and configure again.',
    LIVE: ' Takes effect at once.',
}

INPUT_TRANSPORTS = ('raw', 'compressed')
#: How an image fits the model input; auto: the registry's choice for the model.
RESIZE_MODES = ('auto', 'stretch', 'letterbox')
#: Size of the image outputs: the camera's or the model's.
OUTPUT_RESOLUTIONS = ('input', 'model')
#: OpenCV's own limit on the pixels of one image (CV_IO_MAX_IMAGE_PIXELS).
OPENCV_MAX_PIXELS = 1 << 30
GEOMETRIES = ('none', 'depth', 'ground_plane')
#: Whether a frame's pictures are made while the next frame is segmented; auto: where a core
#: is free for them.
OVERLAP_MODES = ('auto', 'on', 'off')

#: The words a boolean launch argument takes.
FLAGS = {'true': True, 'yes': True, 'on': True, '1': True,
         'false': False, 'no': False, 'off': False, '0': False}

#: 3840x2160 (4K UHD): larger frames are rejected; ~0.2 GB of work buffers at that size.
DEFAULT_MAX_INPUT_PIXELS = 3840 * 2160


@dataclass(frozen=True)
class Spec:
    """One parameter: default (its type is the parameter's), meaning, when it applies, range."""

    name: str
    default: Any
    description: str
    applies: str = LIVE
    choices: Tuple[str, ...] = ()
    bounds: Optional[Tuple[float, float]] = None  # inclusive, for int and float parameters

    @property
    def takes_booleans(self) -> bool:
        """Return whether the choices include on and off, which YAML reads as booleans."""
        return 'on' in self.choices and 'off' in self.choices

    @property
    def full_description(self) -> str:
        """Return the description with when the value takes effect."""
        return self.description + _SUFFIX[self.applies]


_SPECS = [
    Spec('model', 'deeplabv3_mnv2_dm05_pascal_quant',
         'Registry model name (see `deeplab models list`) or path to a .tflite file.',
         CONFIGURE),
    Spec('labels', '', "Label file (one class name per line); empty: the model's own.",
         CONFIGURE),
    Spec('palette', '', "Palette file (one 'r g b' per class); empty: the dataset's.",
         CONFIGURE),
    Spec('runtime', 'auto', 'TFLite runtime; auto: the first of ai_edge_litert, '
         'tflite_runtime, tensorflow that imports.', CONFIGURE, RUNTIMES),
    Spec('delegate', 'cpu', 'Delegate: cpu (XNNPACK), edgetpu (Coral), vx (i.MX 8M Plus NPU), '
         'ethosu (i.MX 93), external (delegate_library, e.g. a TFLite GPU delegate), gpu '
         "(LiteRT's GPU accelerator, Vulkan), openvino (Intel NPU/GPU/CPU, option device), "
         'qualcomm, mediatek (NPU dispatches), or auto (first accelerator that loads, else '
         'cpu).', CONFIGURE, DELEGATES),
    Spec('delegate_library', '', 'Delegate shared library to load instead of the standard one '
         '(qualcomm, mediatek: their LiteRT dispatch library or its folder).', CONFIGURE),
    Spec('delegate_options', [], 'Delegate options as key=value strings, e.g. device=usb:1 '
         '(edgetpu) or device=NPU (openvino: AUTO, CPU, GPU or NPU); a '
         'later key wins, an empty value (key=) leaves the option out. In values, {model} '
         'stands for the file name (no suffix) of the model loaded and {cache} for the cache '
         'folder (DEEPLAB_ROS_HOME, default ~/.cache/deeplab_ros).', CONFIGURE),
    Spec('delegate_fallback', False, 'Run on the CPU when the delegate cannot load '
         '(diagnostics then WARN with the reason).', CONFIGURE),
    Spec('num_threads', 0, 'CPU threads for inference and post-processing; 0: one per CPU '
         'core.', CONFIGURE, bounds=(0, 64)),
    Spec('overlap', 'auto', "Make a frame's pictures and clouds (colour, overlay, confidence, "
         'mask, clouds) on a second thread while the next frame is segmented; its labels '
         'leave first either way. auto: where a core is free for it (num_threads below the '
         "cores the process may use, or an accelerator's delegate); on; off: one frame at a "
         'time.', CONFIGURE, OVERLAP_MODES),
    Spec('warmup_runs', 1, 'Inferences run at configure so that the first frame is not slow '
         '(and an NPU compiles its graph before going active).', CONFIGURE, bounds=(0, 100)),
    Spec('cameras', [], 'Camera namespaces, e.g. [front, rear]: topics <camera>/image and '
         "<camera>/segmentation/*; empty: one camera in the node's namespace.", CONFIGURE),
    Spec('input_transport', 'raw', 'raw: subscribe to <camera>/image; compressed: to '
         '<camera>/image/compressed (JPEG or PNG).', CONFIGURE, INPUT_TRANSPORTS),
    Spec('geometry', 'none', 'Semantic point clouds (segmentation/obstacles, '
         'segmentation/ground, and segmentation/points with one point per label pixel for '
         "Nav2's semantic segmentation layer): none; depth (from <camera>/depth, registered "
         'to the colour camera); ground_plane (flat ground, camera_height/pitch/roll). Needs '
         'camera_info.', CONFIGURE, GEOMETRIES),
    Spec('resize_mode', 'auto', 'How images fit the model input: letterbox (keep aspect, pad '
         'as DeepLab does), stretch (whole input, aspect changed), or auto (the measured best '
         'for the model: letterbox unless the registry says otherwise).', LIVE, RESIZE_MODES),
    Spec('output_resolution', 'input', 'Size of the image outputs: input (camera size) or '
         'model (model scale, cheaper; camera_info is scaled to match).', LIVE,
         OUTPUT_RESOLUTIONS),
    Spec('publish_color', True, 'Publish segmentation/color (rgb8).'),
    Spec('publish_overlay', True, 'Publish segmentation/overlay (rgb8).'),
    Spec('publish_confidence', False, 'Publish segmentation/confidence (mono8, 0..255): the '
         'softmax probability of the winning class, from the dequantized scores (score models '
         'only). For a model whose outputs are already probabilities this is a softmax of '
         'probabilities: it ranks pixels but is not itself a probability.'),
    Spec('overlay_alpha', 0.5, 'Opacity of the class colours in the overlay.',
         bounds=(0.0, 1.0)),
    Spec('overlay_background', False, 'Blend the background class (id 0) into the overlay '
         'too, which darkens it; false: background pixels show the camera image unchanged.'),
    Spec('max_rate', 0.0, 'Most frames per second segmented per camera; 0: every frame the '
         'node can keep up with (always the newest).', bounds=(0.0, 1000.0)),
    Spec('max_input_pixels', DEFAULT_MAX_INPUT_PIXELS, 'Largest camera frame accepted '
         '(width x height); larger frames are rejected as malformed, so that one huge frame '
         'cannot exhaust the memory of a small board.', bounds=(1, OPENCV_MAX_PIXELS)),
    Spec('mask_classes', [], 'Class names (or ids) for segmentation/mask, mono8 255 where the '
         'pixel is one of them, e.g. [person].'),
    Spec('obstacle_classes', [], 'Class names (or ids) whose pixels go to '
         'segmentation/obstacles, e.g. [person, car].'),
    Spec('ground_classes', [], 'Class names (or ids) whose pixels go to segmentation/ground '
         '(traversable surface), e.g. [road, sidewalk].'),
    Spec('rectified', False, 'The camera images are rectified (an image_rect topic): the '
         "clouds use camera_info's projection P and no distortion; false: raw images, whose "
         'rays are undistorted with K and D (D all zero or no distortion model: as they are).'),
    Spec('cloud_stride', 4, 'Point clouds use every n-th pixel in x and y (bounds the cloud '
         'size).', bounds=(1, 64)),
    Spec('max_range', 10.0, 'Points farther than this from the camera (metres) are dropped.',
         bounds=(0.1, 1000.0)),
    Spec('depth_slop', 0.05, 'geometry depth: most seconds between the stamps of a colour '
         'frame and the depth image paired with it.', bounds=(0.0, 10.0)),
    Spec('camera_height', 0.0, 'geometry ground_plane: height of the optical centre above the '
         'ground in metres (must be set, > 0).', bounds=(0.0, 100.0)),
    Spec('camera_pitch', 0.0, 'geometry ground_plane: radians the camera looks down toward the '
         'ground (positive down, negative up).', bounds=(-math.pi / 2, math.pi / 2)),
    Spec('camera_roll', 0.0, 'geometry ground_plane: radians the camera is turned about its '
         'optical axis (positive: image content turns counter-clockwise, the camera '
         'clockwise as seen from behind).', bounds=(-math.pi / 2, math.pi / 2)),
    Spec('latency_warn_ms', 500.0, 'End-to-end latency p95 above which diagnostics WARN; 0: '
         'never.', bounds=(0.0, 100000.0)),
    Spec('diagnostics_period', 1.0, 'Seconds between diagnostics on /diagnostics.',
         bounds=(0.1, 3600.0)),
]

#: Every parameter by name, in the order the node declares them.
SPECS: Dict[str, Spec] = {spec.name: spec for spec in _SPECS}

#: Read only, declared at configure with the classes of the loaded model.
CLASS_NAMES = 'class_names'
CLASS_NAMES_DESCRIPTION = ('Class names of the loaded model, index = class id. Read only: '
                           'declared at configure, removed at cleanup.')

#: Parameters holding class names or ids, validated against the model's class names.
CLASS_LISTS = ('mask_classes', 'obstacle_classes', 'ground_classes')


def _is_namespace(text: str) -> bool:
    """Return whether text is a valid relative ROS namespace (a/b, no leading digit)."""
    tokens = text.strip('/').split('/')
    return bool(text) and '//' not in text and all(
        t and not t[0].isdigit() and all(c.isalnum() or c == '_' for c in t) for t in tokens)


def as_choice(name: str, value: Any) -> Any:
    """
    Return a parameter's value, a boolean given for an on/off choice as that word.

    ROS reads ``-p overlap:=off`` and ``overlap: off`` in a parameter file as YAML, in which
    on and off are booleans: such parameters take a boolean too (true: on, false: off).
    """
    spec = SPECS.get(name)
    if spec is not None and spec.takes_booleans and isinstance(value, bool):
        return 'on' if value else 'off'
    return value


def check(name: str, value: Any,
          class_ids: Optional[Callable[[Sequence[str]], List[int]]] = None) -> Optional[str]:
    """
    Return why ``value`` is invalid for parameter ``name``, or None when it is fine.

    :param class_ids: Resolves class names or ids for the loaded model (raises ValueError
        naming the valid classes); class lists are checked only when it is given.
    """
    spec = SPECS.get(name)
    if spec is None:
        return None
    value = as_choice(name, value)
    if spec.choices and value not in spec.choices:
        return f"{name} must be one of {', '.join(spec.choices)}, not '{value}'"
    if spec.bounds is not None and not spec.bounds[0] <= value <= spec.bounds[1]:
        return f'{name} must be from {spec.bounds[0]:g} to {spec.bounds[1]:g}, not {value}'
    if name == 'model' and not value.strip():
        return 'model must name a registry model or a .tflite file'
    if name == 'delegate_options':
        bad = [o for o in value if '=' not in o or not o.split('=', 1)[0].strip()]
        if bad:
            return f'delegate_options entries must be key=value, not {list(bad)}'
    if name == 'cameras':
        if len(set(value)) != len(value):
            return f'cameras must not repeat a namespace: {list(value)}'
        for namespace in value:
            if not _is_namespace(namespace):
                return f"camera namespace '{namespace}' is not a valid ROS namespace"
    if name in CLASS_LISTS and class_ids is not None:
        try:
            class_ids(list(value))
        except ValueError as error:
            return f'{name}: {error}'
    return None


def check_together(values: Dict[str, Any]) -> Optional[str]:
    """Return why a complete set of values cannot be configured together, or None."""
    if values['geometry'] == 'ground_plane' and values['camera_height'] <= 0.0:
        return ('geometry ground_plane needs camera_height, the height of the optical centre '
                'above the ground in metres (> 0)')
    return None


def parse_text(name: str, text: str) -> Any:
    """
    Turn a launch argument's text into a value of the parameter's type.

    Booleans take true/false (yes/no, on/off, 1/0); lists take a YAML flow list
    (``[front, rear]``) or comma-separated words (``front,rear``).

    :raises ValueError: with the parameter name and what was expected.
    """
    default = SPECS[name].default
    text = text.strip()
    if isinstance(default, bool):
        if text.lower() not in FLAGS:
            raise ValueError(f"{name} takes true or false, not '{text}'")
        return FLAGS[text.lower()]
    if isinstance(default, (int, float)):
        try:
            return type(default)(float(text) if isinstance(default, float) else int(text))
        except ValueError:
            kind = 'an integer' if isinstance(default, int) else 'a number'
            raise ValueError(f"{name} takes {kind}, not '{text}'") from None
    if isinstance(default, list):
        if text.startswith('['):
            try:
                items = yaml.safe_load(text)
            except yaml.YAMLError:
                items = None
            if not isinstance(items, list) or any(isinstance(i, (list, dict)) for i in items):
                raise ValueError(f"{name} takes a list such as [a, b], not '{text}'")
        else:
            items = text.split(',')
        return [str(item).strip() for item in items if str(item).strip()]
    return text


@dataclass(frozen=True)
class Live:
    """The settings that take effect at once, resolved for the loaded model."""

    resize_mode: str
    output_resolution: str
    publish_color: bool
    publish_overlay: bool
    publish_confidence: bool
    overlay_alpha: float
    overlay_background: bool
    max_rate: float
    max_input_pixels: int
    mask_ids: Tuple[int, ...]
    obstacle_ids: Tuple[int, ...]
    ground_ids: Tuple[int, ...]
    rectified: bool
    cloud_stride: int
    max_range: float
    depth_slop: float
    camera_height: float
    camera_pitch: float
    camera_roll: float
    latency_warn_ms: float

    @classmethod
    def from_values(cls, values: Dict[str, Any],
                    class_ids: Callable[[Sequence[str]], List[int]]) -> 'Live':
        """Snapshot the live values, class lists resolved to ids with ``class_ids``."""
        fields = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        for name in CLASS_LISTS:
            fields[name.replace('_classes', '_ids')] = tuple(
                class_ids(list(values[name]))) if values[name] else ()
        return cls(**fields)
