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
The ``segmentation_node`` lifecycle node: camera images in, label maps and pictures out.

This is the only module that imports rclpy. Subscription callbacks only park the newest
message of each camera in a one-frame slot; one worker thread decodes, segments and
publishes, serving the cameras round robin with the single shared interpreter.
"""

import array
from dataclasses import dataclass
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
from deeplab_ros.codec import decode_compressed, decode_raw, DecodeError
from deeplab_ros.diagnostics import EngineSummary, FrameStats
from deeplab_ros.pipeline import DEFAULT_RESIZE_MODE, Segmenter
from deeplab_ros.postprocess import OUTPUT_RESOLUTIONS
from deeplab_ros.preprocess import RESIZE_MODES
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
import rclpy
from rclpy.exceptions import ParameterUninitializedException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

INPUT_TRANSPORTS = ('raw', 'compressed')
OUTPUTS = ('labels', 'color', 'overlay', 'confidence', 'mask', 'camera_info')
_LOG_THROTTLE_S = 5.0
_BIG_ENDIAN = sys.byteorder == 'big'

_CONFIGURE = ' Read at configure: change it, then cleanup and configure again.'
_LIVE = ' Takes effect at once.'

# name -> (default, description, range or choices); ranges are (min, max, step).
_PARAMETERS: Dict[str, Tuple[Any, str, Any]] = {
    'model': ('deeplabv3_mnv2_dm05_pascal_quant',
              'Registry model name (see `deeplab models`) or path to a .tflite file.'
              + _CONFIGURE, None),
    'labels': ('', "Label file (one class name per line); empty: the model's own."
               + _CONFIGURE, None),
    'palette': ('', 'Palette file (one "r g b" per class); empty: the model\'s own.'
                + _CONFIGURE, None),
    'runtime': ('auto', 'TFLite runtime: auto, ai_edge_litert, tflite_runtime or tensorflow.'
                + _CONFIGURE, None),
    'delegate': ('cpu', 'Delegate: cpu (XNNPACK), edgetpu, vx (i.MX 8M Plus NPU), ethosu '
                 '(i.MX 93), gpu, external, or auto.' + _CONFIGURE, None),
    'delegate_library': ('', 'Delegate shared library to load instead of the default one.'
                         + _CONFIGURE, None),
    'delegate_options': ([], 'Delegate options as key=value strings.' + _CONFIGURE, None),
    'delegate_fallback': (False, 'Fall back to the CPU when the delegate cannot load '
                          '(diagnostics then WARN).' + _CONFIGURE, None),
    'num_threads': (0, 'CPU threads for inference; 0: one per CPU core.' + _CONFIGURE,
                    (0, 64, 1)),
    'warmup_runs': (1, 'Inferences run at configure so that the first frame is not slow.'
                    + _CONFIGURE, (0, 100, 1)),
    'cameras': ([], 'Camera namespaces, e.g. [front, rear]: topics <camera>/image and '
                "<camera>/segmentation/*; empty: one camera in the node's namespace."
                + _CONFIGURE, None),
    'input_transport': ('raw', 'raw: subscribe to <camera>/image; compressed: to '
                        '<camera>/image/compressed (JPEG or PNG).' + _CONFIGURE,
                        INPUT_TRANSPORTS),
    'resize_mode': (DEFAULT_RESIZE_MODE, 'How images fit the model input: stretch (whole '
                    'image, aspect changed) or letterbox (keep aspect, pad).' + _LIVE,
                    RESIZE_MODES),
    'output_resolution': ('input', 'Size of the outputs: input (camera size) or model '
                          '(model scale, cheaper; camera_info is scaled).' + _LIVE,
                          OUTPUT_RESOLUTIONS),
    'publish_color': (True, 'Publish segmentation/color (rgb8).' + _LIVE, None),
    'publish_overlay': (True, 'Publish segmentation/overlay (rgb8).' + _LIVE, None),
    'publish_confidence': (False, 'Publish segmentation/confidence (mono8; models with '
                           'score outputs only).' + _LIVE, None),
    'overlay_alpha': (0.5, 'Opacity of the colour mask in the overlay.' + _LIVE,
                      (0.0, 1.0, 0.0)),
    'max_rate': (0.0, 'Most frames per second segmented per camera; 0: every frame the '
                 'node can keep up with.' + _LIVE, (0.0, 1000.0, 0.0)),
    'mask_classes': ([], 'Class names (or ids) for segmentation/mask, mono8 255 where the '
                     'pixel is one of them, e.g. [person].' + _LIVE, None),
    'latency_warn_ms': (500.0, 'End-to-end latency p95 above which diagnostics WARN; '
                        '0: never.' + _LIVE, (0.0, 100000.0, 0.0)),
    'diagnostics_period': (1.0, 'Seconds between diagnostics on /diagnostics.' + _LIVE,
                           (0.1, 3600.0, 0.0)),
}
_CLASS_NAMES_DESCRIPTION = ('Class names of the loaded model, index = class id. Read only: '
                            'declared at configure, removed at cleanup.')
_LIVE_PARAMETERS = frozenset(n for n, (_, d, _) in _PARAMETERS.items() if d.endswith(_LIVE))


@dataclass(frozen=True)
class _Live:
    """The live settings, swapped as a whole so that a frame sees one consistent set."""

    resize_mode: str
    output_resolution: str
    publish_color: bool
    publish_overlay: bool
    publish_confidence: bool
    overlay_alpha: float
    max_rate: float
    mask_ids: Tuple[int, ...]
    latency_warn_ms: float


class _Camera:
    """One camera's topics, newest waiting frame and statistics."""

    def __init__(self, namespace: str, prefix: str, now: float) -> None:
        self.namespace = namespace
        self.prefix = prefix
        self.stats = FrameStats(now=now)
        self.pubs: Dict[str, Any] = {}
        self.subs: List[Any] = []
        self.pending: Optional[Any] = None
        self.info: Optional[CameraInfo] = None
        self.last_accepted = -1e9


def _to_array(buffer: np.ndarray) -> array.array:
    """Copy a C-contiguous numpy array into the array.array a message field takes as is."""
    out = array.array('B')
    out.frombytes(np.ascontiguousarray(buffer))
    return out


def _image(header, pixels: np.ndarray, encoding: str) -> Image:
    """Build a sensor_msgs/Image around a pixel array with one memory copy."""
    msg = Image()
    msg.header = header
    msg.height, msg.width = pixels.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = _BIG_ENDIAN and pixels.itemsize > 1
    msg.step = msg.width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
    msg.data = _to_array(pixels)
    return msg


def _scaled_info(info: CameraInfo, header, size: Tuple[int, int],
                 scale: Tuple[float, float]) -> CameraInfo:
    """Return camera_info for the label image: same header, size, K and P scaled."""
    sx, sy = scale
    out = CameraInfo()
    out.header = header
    out.width, out.height = size
    out.distortion_model = info.distortion_model
    out.d = info.d
    out.r = info.r
    k = list(info.k)
    k[0] *= sx
    k[2] *= sx
    k[4] *= sy
    k[5] *= sy
    out.k = k
    p = list(info.p)
    p[0] *= sx
    p[2] *= sx
    p[3] *= sx
    p[5] *= sy
    p[6] *= sy
    p[7] *= sy
    out.p = p
    out.binning_x = info.binning_x
    out.binning_y = info.binning_y
    out.roi.x_offset = int(info.roi.x_offset * sx)
    out.roi.y_offset = int(info.roi.y_offset * sy)
    out.roi.width = int(info.roi.width * sx)
    out.roi.height = int(info.roi.height * sy)
    out.roi.do_rectify = info.roi.do_rectify
    return out


def _stamp_ns(header) -> int:
    """Return a header stamp in nanoseconds."""
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


class SegmentationNode(LifecycleNode):
    """Lifecycle node segmenting one or more cameras with one DeepLab model."""

    def __init__(self, node_name: str = 'deeplab', **kwargs) -> None:
        """
        Declare the parameters; nothing is loaded until configure.

        :param node_name: Node name (``--ros-args -r __node:=...`` overrides it).
        :param kwargs: Passed to :class:`rclpy.lifecycle.LifecycleNode`.
        """
        super().__init__(node_name, **kwargs)
        for name, (default, description, bounds) in _PARAMETERS.items():
            self._declare(name, default, description, bounds)
        self._segmenter: Optional[Segmenter] = None
        self._engine: Optional[EngineSummary] = None
        self._cameras: List[_Camera] = []
        self._live: Optional[_Live] = None
        self._diag_pub = None
        self._diag_timer = None
        self._worker: Optional[threading.Thread] = None
        self._cond = threading.Condition()
        self._stop = False
        self._next_camera = 0
        self._declaring_class_names = False
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._on_parameters_set)

    # -- parameters ------------------------------------------------------------------------

    def _declare(self, name: str, default: Any, description: str, bounds: Any) -> None:
        """Declare one parameter with its descriptor (ranges, choices in the description)."""
        descriptor = ParameterDescriptor(description=description)
        if isinstance(bounds, tuple) and bounds and isinstance(bounds[0], str):
            descriptor.additional_constraints = 'one of: ' + ', '.join(bounds)
        elif isinstance(bounds, tuple) and isinstance(default, int):
            descriptor.integer_range = [IntegerRange(
                from_value=bounds[0], to_value=bounds[1], step=bounds[2])]
        elif isinstance(bounds, tuple):
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=bounds[0], to_value=bounds[1], step=bounds[2])]
        if default == []:
            # An empty list has no type of its own: declare as a string array, then set [].
            self.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor)
            try:
                self.get_parameter(name)
            except ParameterUninitializedException:
                self.set_parameters([Parameter(name, Parameter.Type.STRING_ARRAY, [])])
        else:
            self.declare_parameter(name, default, descriptor)

    def _value(self, name: str) -> Any:
        """Return a parameter's current value."""
        return self.get_parameter(name).value

    def _check(self, name: str, value: Any) -> Optional[str]:
        """Return why a value is invalid for a parameter, or None when it is fine."""
        bounds = _PARAMETERS[name][2]
        if isinstance(bounds, tuple) and bounds and isinstance(bounds[0], str):
            if value not in bounds:
                return f"{name} must be one of {', '.join(bounds)}, not '{value}'"
        if name == 'model' and not value:
            return 'model must name a registry model or a .tflite file'
        if name == 'delegate_options':
            bad = [o for o in value if '=' not in o or not o.split('=', 1)[0].strip()]
            if bad:
                return f'delegate_options entries must be key=value, not {bad}'
        if name == 'cameras':
            if len(set(value)) != len(value):
                return f'cameras must not repeat a namespace: {list(value)}'
            for ns in value:
                ok = all(c.isalnum() or c in '_/' for c in ns) and not ns[:1].isdigit()
                if not ok or '//' in ns:
                    return f"camera namespace '{ns}' is not a valid ROS namespace"
        if name == 'mask_classes' and self._segmenter is not None:
            try:
                self._segmenter.class_ids(list(value))
            except ValueError as error:
                return f'mask_classes: {error}'
        return None

    def _on_set_parameters(self, params: List[Parameter]) -> SetParametersResult:
        """Reject invalid values with a reason; unknown names (QoS overrides) pass."""
        for param in params:
            if param.name == 'class_names' and not self._declaring_class_names:
                return SetParametersResult(
                    successful=False, reason='class_names is read only: it lists the classes '
                    'of the model loaded at configure')
            if param.name in _PARAMETERS:
                reason = self._check(param.name, param.value)
                if reason:
                    return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _on_parameters_set(self, params: List[Parameter]) -> None:
        """Apply live parameters at once."""
        names = {p.name for p in params}
        if self._segmenter is not None and names & _LIVE_PARAMETERS:
            self._live = self._read_live()
        if 'diagnostics_period' in names and self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                self._value('diagnostics_period'), self._publish_diagnostics)

    def _read_live(self) -> _Live:
        """Snapshot the live settings (mask classes resolved to ids)."""
        names = list(self._value('mask_classes'))
        return _Live(
            resize_mode=self._value('resize_mode'),
            output_resolution=self._value('output_resolution'),
            publish_color=self._value('publish_color'),
            publish_overlay=self._value('publish_overlay'),
            publish_confidence=self._value('publish_confidence'),
            overlay_alpha=self._value('overlay_alpha'),
            max_rate=self._value('max_rate'),
            mask_ids=tuple(self._segmenter.class_ids(names)) if names else (),
            latency_warn_ms=self._value('latency_warn_ms'))

    # -- lifecycle -------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate parameters, load and warm up the model, create the publishers."""
        for name in _PARAMETERS:
            reason = self._check(name, self._value(name))
            if reason:
                self.get_logger().error(f'configure failed: {reason}')
                return TransitionCallbackReturn.FAILURE
        threads = self._value('num_threads')
        try:
            segmenter = Segmenter.open(
                self._value('model'), runtime=self._value('runtime'),
                delegate=self._value('delegate'),
                delegate_library=self._value('delegate_library'),
                delegate_options=list(self._value('delegate_options')),
                delegate_fallback=self._value('delegate_fallback'),
                num_threads=threads or None, labels=self._value('labels'),
                palette=self._value('palette'), resize_mode=self._value('resize_mode'),
                output_resolution=self._value('output_resolution'))
        except Exception as error:  # the engine's message says what to do
            self.get_logger().error(f'configure failed: {error}')
            return TransitionCallbackReturn.FAILURE
        try:
            segmenter.warmup(self._value('warmup_runs'))
            segmenter.class_ids(list(self._value('mask_classes')))
        except Exception as error:
            segmenter.close()
            self.get_logger().error(f'configure failed: {error}')
            return TransitionCallbackReturn.FAILURE
        self._segmenter = segmenter
        info = segmenter.info
        self._engine = EngineSummary(
            model=info.model_name, runtime=info.runtime, delegate=info.delegate,
            fell_back=info.fell_back, fallback_reason=info.fallback_reason,
            input_size=tuple(info.input_size))
        self._live = self._read_live()
        self._create_cameras()
        self._declaring_class_names = True
        try:
            self.declare_parameter('class_names', list(segmenter.class_names),
                                   ParameterDescriptor(description=_CLASS_NAMES_DESCRIPTION))
        finally:
            self._declaring_class_names = False
        if info.fell_back:
            self.get_logger().warning(
                f'delegate {self._value("delegate")} unavailable, running on '
                f'{info.delegate}: {info.fallback_reason}')
        self.get_logger().info(
            f'configured {info.model_name} on {info.runtime}/{info.delegate}, input '
            f'{info.input_size[0]}x{info.input_size[1]}, {len(self._cameras)} camera(s)')
        return super().on_configure(state)

    def _create_cameras(self) -> None:
        """Create each camera's lifecycle publishers and the diagnostics publisher."""
        reliable = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                              reliability=ReliabilityPolicy.RELIABLE)
        overrides = QoSOverridingOptions.with_default_policies()
        now = time.monotonic()
        for namespace in list(self._value('cameras')) or ['']:
            prefix = namespace.rstrip('/') + '/' if namespace else ''
            camera = _Camera(namespace, prefix, now)
            for output in OUTPUTS:
                camera.pubs[output] = self.create_lifecycle_publisher(
                    CameraInfo if output == 'camera_info' else Image,
                    f'{prefix}segmentation/{output}', reliable,
                    qos_overriding_options=overrides)
            self._cameras.append(camera)
        self._diag_pub = self.create_lifecycle_publisher(DiagnosticArray, '/diagnostics', 10)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers, subscribe to the cameras and start the worker."""
        result = super().on_activate(state)
        best_effort = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                                 reliability=ReliabilityPolicy.BEST_EFFORT)
        overrides = QoSOverridingOptions.with_default_policies()
        compressed = self._value('input_transport') == 'compressed'
        for camera in self._cameras:
            topic = camera.prefix + ('image/compressed' if compressed else 'image')
            camera.subs.append(self.create_subscription(
                CompressedImage if compressed else Image, topic,
                lambda msg, c=camera: self._on_image(c, msg), best_effort,
                qos_overriding_options=overrides))
            camera.subs.append(self.create_subscription(
                CameraInfo, camera.prefix + 'camera_info',
                lambda msg, c=camera: setattr(c, 'info', msg), best_effort))
        self._stop = False
        self._worker = threading.Thread(target=self._work, name='deeplab_worker', daemon=True)
        self._worker.start()
        self._diag_timer = self.create_timer(
            self._value('diagnostics_period'), self._publish_diagnostics)
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe, stop the worker and disable the publishers."""
        self._stop_processing()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the publishers and release the interpreter and delegate."""
        self._release()
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything, from whichever state the node was in."""
        self._stop_processing()
        self._release()
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything so that the node can be configured again."""
        self._stop_processing()
        self._release()
        return super().on_error(state)

    def _stop_processing(self) -> None:
        """Unsubscribe, stop the diagnostics timer and join the worker (idempotent)."""
        for camera in self._cameras:
            for sub in camera.subs:
                self.destroy_subscription(sub)
            camera.subs.clear()
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        with self._cond:
            self._stop = True
            for camera in self._cameras:
                camera.pending = None
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join()
            self._worker = None

    def _release(self) -> None:
        """Destroy the lifecycle publishers, close the model, drop class_names (idempotent)."""
        for camera in self._cameras:
            for pub in camera.pubs.values():
                self.destroy_lifecycle_publisher(pub)
        self._cameras = []
        if self._diag_pub is not None:
            self.destroy_lifecycle_publisher(self._diag_pub)
            self._diag_pub = None
        if self._segmenter is not None:
            self._segmenter.close()
            self._segmenter = None
        self._live = None
        if self.has_parameter('class_names'):
            self.undeclare_parameter('class_names')

    def close(self) -> None:
        """Stop and release everything; call before destroy_node()."""
        self._stop_processing()
        self._release()

    # -- frames ----------------------------------------------------------------------------

    def _on_image(self, camera: _Camera, msg: Any) -> None:
        """Park the newest frame for the worker; never waits for inference."""
        camera.stats.on_received()
        live = self._live
        now = time.monotonic()
        if live is not None and live.max_rate > 0:
            if now - camera.last_accepted < 1.0 / live.max_rate:
                camera.stats.on_skipped()
                return
            camera.last_accepted = now
        with self._cond:
            if camera.pending is not None:
                camera.stats.on_dropped()
            camera.pending = msg
            self._cond.notify()

    def _take(self) -> Optional[Tuple[_Camera, Any]]:
        """Wait for a frame; return the next camera round robin and its frame, or None."""
        with self._cond:
            while True:
                if self._stop:
                    return None
                count = len(self._cameras)
                for i in range(count):
                    camera = self._cameras[(self._next_camera + i) % count]
                    if camera.pending is not None:
                        self._next_camera = (self._next_camera + i + 1) % count
                        msg, camera.pending = camera.pending, None
                        return camera, msg
                self._cond.wait()

    def _work(self) -> None:
        """Worker thread: segment and publish frames until stopped."""
        while True:
            taken = self._take()
            if taken is None:
                return
            camera, msg = taken
            try:
                self._process(camera, msg)
            except DecodeError as error:
                camera.stats.on_rejected(str(error))
                self.get_logger().warning(
                    f'{camera.pubs["labels"].topic_name}: skipped a frame: {error}',
                    throttle_duration_sec=_LOG_THROTTLE_S)
            except Exception as error:  # keep serving frames; diagnostics turn ERROR
                reason = f'{type(error).__name__}: {error}'
                camera.stats.on_failed(reason)
                self.get_logger().error(
                    f'segmentation failed: {reason}', throttle_duration_sec=_LOG_THROTTLE_S)

    def _process(self, camera: _Camera, msg: Any) -> None:
        """Decode, segment and publish one frame to the outputs that have subscribers."""
        live, segmenter = self._live, self._segmenter
        pubs = camera.pubs
        wanted = {name for name, pub in pubs.items() if pub.get_subscription_count() > 0}
        if not live.publish_color:
            wanted.discard('color')
        if not live.publish_overlay:
            wanted.discard('overlay')
        if not (live.publish_confidence and segmenter.info.has_scores):
            wanted.discard('confidence')
        if not live.mask_ids:
            wanted.discard('mask')
        if camera.info is None:
            wanted.discard('camera_info')
        if not wanted:
            camera.stats.on_skipped()
            return
        start = time.perf_counter()
        if isinstance(msg, CompressedImage):
            rgb = decode_compressed(msg.format, msg.data)
        else:
            rgb = decode_raw(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        decoded = time.perf_counter()
        segmenter.resize_mode = live.resize_mode
        segmenter.output_resolution = live.output_resolution
        result = segmenter.segment(rgb, confidence='confidence' in wanted)
        segmented = time.perf_counter()

        header = msg.header
        labels = result.labels
        if 'labels' in wanted:
            pubs['labels'].publish(
                _image(header, labels, 'mono8' if labels.dtype == np.uint8 else 'mono16'))
        if wanted & {'color', 'overlay'}:
            color = segmenter.colorize(labels)
            if 'color' in wanted:
                pubs['color'].publish(_image(header, color, 'rgb8'))
            if 'overlay' in wanted:
                base = rgb
                if base.shape[:2] != labels.shape:
                    base = cv2.resize(rgb, (labels.shape[1], labels.shape[0]),
                                      interpolation=cv2.INTER_AREA)
                pubs['overlay'].publish(
                    _image(header, segmenter.overlay(base, color, live.overlay_alpha), 'rgb8'))
        if 'confidence' in wanted and result.confidence is not None:
            pubs['confidence'].publish(_image(header, result.confidence, 'mono8'))
        if 'mask' in wanted:
            pubs['mask'].publish(
                _image(header, segmenter.class_mask(labels, live.mask_ids), 'mono8'))
        if 'camera_info' in wanted:
            pubs['camera_info'].publish(_scaled_info(
                camera.info, header, (labels.shape[1], labels.shape[0]), result.scale))
        published = time.perf_counter()

        stage_ms = dict(result.timings)
        stage_ms['decode'] = (decoded - start) * 1e3
        stage_ms['publish'] = (published - segmented) * 1e3
        stamp = _stamp_ns(header)
        if stamp:
            stage_ms['end_to_end'] = (self.get_clock().now().nanoseconds - stamp) / 1e6
        camera.stats.on_processed(stage_ms)

    # -- diagnostics -----------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        """Publish one DiagnosticStatus per camera on /diagnostics."""
        live, engine, pub = self._live, self._engine, self._diag_pub
        if live is None or engine is None or pub is None:
            return
        array_msg = DiagnosticArray()
        array_msg.header.stamp = self.get_clock().now().to_msg()
        now = time.monotonic()
        for camera in self._cameras:
            report = camera.stats.report(now, engine, live.latency_warn_ms)
            status = DiagnosticStatus()
            status.level = bytes([report.level])
            camera_ns = camera.pubs['labels'].topic_name[:-len('/segmentation/labels')] or '/'
            status.name = f'{self.get_name()}: {camera_ns}'
            status.hardware_id = engine.delegate
            status.message = report.message
            status.values = [KeyValue(key=k, value=v) for k, v in report.values]
            array_msg.status.append(status)
        pub.publish(array_msg)


def main(args: Optional[Sequence[str]] = None) -> None:
    """Run ``segmentation_node`` (unconfigured until a lifecycle manager configures it)."""
    rclpy.init(args=args)
    node = SegmentationNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
