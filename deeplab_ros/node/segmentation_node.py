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
The ``segmentation_node`` lifecycle node: camera images in; label maps, pictures, clouds out.

ROS wiring only (the one module that imports rclpy, with the demo driver). One worker
thread owns the camera subscriptions: it waits on them itself and takes frames, serialized,
only when it is free to segment one, so that frames it will not process cost no Python work
at all (the executor would spend ~4 ms of CPU taking each 720p frame). Cameras are served in
turn; what became of every frame is counted from the publishers' sequence numbers
(:mod:`deeplab_ros.scheduling`). The executor, on the main thread, answers the lifecycle and
parameter services and publishes diagnostics while inference runs.
"""

from collections import deque
import os
import signal
import sys
import threading
import time
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

import cv2
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.frame import parameters
from deeplab_ros.frame.codec import (check_raw, decode_compressed, decode_depth, decode_raw,
                                     DecodeError, inspect_compressed)
from deeplab_ros.frame.parameters import Live, SPECS
from deeplab_ros.frame.wire import Frame, read_compressed, read_image, WireError
from deeplab_ros.nav import geometry
from deeplab_ros.node import messages, scheduling
from deeplab_ros.node.diagnostics import EngineSummary, FrameStats
from deeplab_ros.node.memory import FrameMemory
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
import rclpy
from rclpy.callback_groups import CallbackGroup
from rclpy.exceptions import ParameterUninitializedException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.serialization import deserialize_message
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

IMAGE_OUTPUTS = ('labels', 'color', 'overlay', 'confidence', 'mask')
CLOUD_OUTPUTS = ('obstacles', 'ground')
#: Frames the middleware keeps per camera while the worker is busy: the newest is segmented,
#: and a burst of up to this many minus one malformed frames cannot displace a good one.
FRAME_QUEUE = 5
#: Depth images kept to pair with colour frames by stamp.
DEPTH_QUEUE = 5
_LOG_THROTTLE_S = 5.0
_SUBSCRIBERS_REFRESH_S = 0.1  # how often the worker re-reads who subscribes to what
_IDLE_WAIT_S = 0.1  # how often an idle camera is checked for subscribers and counted
_LONGEST_WAIT_S = 1.0  # the worker's wait otherwise (frames and the wake guard end it)


class _WorkerOwned(CallbackGroup):
    """Entities the worker thread waits on and takes itself: the executor never runs them."""

    def can_execute(self, entity) -> bool:
        """Keep the entity out of every executor's wait set."""
        return False

    def beginning_execution(self, entity) -> bool:
        """Never start a callback."""
        return False

    def ending_execution(self, entity) -> None:
        """Nothing to end."""


class _Camera:
    """One camera: its topics, schedule, latest camera_info and depth images."""

    def __init__(self, prefix: str, now: float) -> None:
        self.prefix = prefix
        self.stats = FrameStats(now=now)
        self.schedule = scheduling.CameraSchedule(self.stats)
        self.pubs: Dict[str, Any] = {}
        self.image_sub = None
        self.info_sub = None
        self.depth_sub = None
        self.info: Optional[CameraInfo] = None
        self.depths: Deque[Frame] = deque(maxlen=DEPTH_QUEUE)  # data views their bytes
        self.notes: Dict[str, str] = {}  # warnings for the diagnostics, by topic
        self.counted_at = 0.0  # when frames of the idle camera were last counted
        self.ground: Tuple[Any, Optional[geometry.GroundModel]] = (None, None)  # (key, model)
        self._wanted: frozenset = frozenset()
        self._wanted_key: Tuple[Any, float] = (None, -1.0)

    def wanted(self, now: float, live: Live, node: 'SegmentationNode') -> frozenset:
        """Return the outputs to compute: subscribed to and enabled (refreshed every 0.1 s)."""
        if self._wanted_key[0] is live and now - self._wanted_key[1] < _SUBSCRIBERS_REFRESH_S:
            return self._wanted
        wanted = {name for name, pub in self.pubs.items()
                  if name != 'label_info' and pub.get_subscription_count() > 0}
        enabled = {'color': live.publish_color, 'overlay': live.publish_overlay,
                   'confidence': live.publish_confidence and node.has_scores,
                   'mask': bool(live.mask_ids), 'obstacles': bool(live.obstacle_ids),
                   'ground': bool(live.ground_ids)}
        wanted -= {name for name, on in enabled.items() if not on}
        if not wanted & (set(IMAGE_OUTPUTS) | set(CLOUD_OUTPUTS)):
            wanted = set()  # camera_info alone is no reason to segment
        self._wanted = frozenset(wanted)
        self._wanted_key = (live, now)
        return self._wanted


def _sequence(info: Dict[str, Any]) -> Optional[int]:
    """Return the publication sequence number of a taken message, if the middleware gives it."""
    return info.get('publication_sequence_number') if info else None


class SegmentationNode(LifecycleNode):
    """Lifecycle node segmenting one or more cameras with one DeepLab model."""

    def __init__(self, node_name: str = 'deeplab', **kwargs) -> None:
        """
        Declare the parameters; nothing is loaded until configure.

        :param node_name: Node name (``--ros-args -r __node:=...`` overrides it).
        :param kwargs: Passed to :class:`rclpy.lifecycle.LifecycleNode`.
        """
        super().__init__(node_name, **kwargs)
        for spec in SPECS.values():
            self._declare(spec)
        self._segmenter: Optional[Segmenter] = None
        self._engine: Optional[EngineSummary] = None
        self._configured: Dict[str, Any] = {}
        self._cameras: List[_Camera] = []
        self._live: Optional[Live] = None
        self._luts: Tuple[Any, Dict[str, np.ndarray]] = (None, {})
        self._diag_pub = None
        self._diag_timer = None
        self._memory = FrameMemory()
        self._worker_group = _WorkerOwned()
        self._wake = None
        self._worker: Optional[threading.Thread] = None
        self._stopping = False
        self._declaring_class_names = False
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._on_parameters_set)

    @property
    def has_scores(self) -> bool:
        """Return whether the loaded model outputs scores (confidence can be computed)."""
        return self._segmenter is not None and self._segmenter.info.has_scores

    # -- parameters ------------------------------------------------------------------------

    def _declare(self, spec: parameters.Spec) -> None:
        """Declare one parameter with its descriptor (ranges, choices, description)."""
        descriptor = ParameterDescriptor(description=spec.full_description)
        if spec.choices:
            descriptor.additional_constraints = 'one of: ' + ', '.join(spec.choices)
        elif spec.bounds is not None and isinstance(spec.default, int):
            descriptor.integer_range = [IntegerRange(
                from_value=int(spec.bounds[0]), to_value=int(spec.bounds[1]), step=1)]
        elif spec.bounds is not None:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(spec.bounds[0]), to_value=float(spec.bounds[1]), step=0.0)]
        if spec.default == []:
            # An empty list has no type of its own: declare as a string array, then set [].
            self.declare_parameter(spec.name, Parameter.Type.STRING_ARRAY, descriptor)
            try:
                self.get_parameter(spec.name)
            except ParameterUninitializedException:
                self.set_parameters([Parameter(spec.name, Parameter.Type.STRING_ARRAY, [])])
        else:
            self.declare_parameter(spec.name, spec.default, descriptor)

    def _values(self) -> Dict[str, Any]:
        """Return every declared parameter's current value (lists as lists)."""
        values = {}
        for name in SPECS:
            value = self.get_parameter(name).value
            values[name] = list(value) if isinstance(SPECS[name].default, list) else value
        return values

    def _class_ids(self):
        """Return the class-name resolver of the loaded model, or None before configure."""
        return self._segmenter.class_ids if self._segmenter is not None else None

    def _on_set_parameters(self, params: List[Parameter]) -> SetParametersResult:
        """Reject invalid values with a reason; unknown names (QoS overrides) pass."""
        values = self._values()
        for param in params:
            if param.name == parameters.CLASS_NAMES and not self._declaring_class_names:
                return SetParametersResult(
                    successful=False, reason='class_names is read only: it lists the classes '
                    'of the model loaded at configure')
            if param.name in SPECS:
                value = param.value
                if isinstance(SPECS[param.name].default, list):
                    value = list(value)
                reason = parameters.check(param.name, value, class_ids=self._class_ids())
                if reason:
                    return SetParametersResult(successful=False, reason=reason)
                values[param.name] = value
        if self._segmenter is not None:
            reason = parameters.check_together(values)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _on_parameters_set(self, params: List[Parameter]) -> None:
        """Apply live parameters at once."""
        names = {p.name for p in params}
        if self._segmenter is not None and any(
                SPECS[n].applies == parameters.LIVE for n in names if n in SPECS):
            self._live = Live.from_values(self._values(), self._segmenter.class_ids)
            if self._wake is not None:
                self._wake.trigger()
        if 'diagnostics_period' in names and self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                self.get_parameter('diagnostics_period').value, self._publish_diagnostics)

    # -- lifecycle -------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate parameters, load and warm up the model, create the publishers."""
        values = self._values()
        reason = next(filter(None, (parameters.check(n, v) for n, v in values.items())), None)
        reason = reason or parameters.check_together(values)
        if reason:
            self.get_logger().error(f'configure failed: {reason}')
            return TransitionCallbackReturn.FAILURE
        try:
            segmenter = Segmenter.open(
                values['model'], runtime=values['runtime'], delegate=values['delegate'],
                delegate_library=values['delegate_library'],
                delegate_options=values['delegate_options'],
                delegate_fallback=values['delegate_fallback'],
                num_threads=values['num_threads'] or None, labels=values['labels'],
                palette=values['palette'], resize_mode=values['resize_mode'],
                output_resolution=values['output_resolution'], progress=self._fetch_progress())
        except Exception as error:  # the engine's message says what to do
            self.get_logger().error(f'configure failed: {error}')
            return TransitionCallbackReturn.FAILURE
        try:
            reason = next(filter(None, (
                parameters.check(name, values[name], class_ids=segmenter.class_ids)
                for name in parameters.CLASS_LISTS)), None)
            if reason:
                raise ValueError(reason)
            segmenter.warmup(values['warmup_runs'])
            live = Live.from_values(values, segmenter.class_ids)
        except Exception as error:
            segmenter.close()
            self.get_logger().error(f'configure failed: {error}')
            return TransitionCallbackReturn.FAILURE
        self._segmenter, self._live, self._configured = segmenter, live, values
        info = segmenter.info
        cv2.setNumThreads(info.num_threads)
        self._engine = EngineSummary(
            model=info.model_name, runtime=info.runtime, delegate=info.delegate,
            fell_back=info.fell_back, fallback_reason=info.fallback_reason,
            input_size=tuple(info.input_size))
        self._create_publishers()
        self._declaring_class_names = True
        try:
            self.declare_parameter(
                parameters.CLASS_NAMES, list(segmenter.class_names),
                ParameterDescriptor(description=parameters.CLASS_NAMES_DESCRIPTION,
                                    read_only=True),
                ignore_override=True)
        finally:
            self._declaring_class_names = False
        if info.fallback_reason:
            self.get_logger().warning(
                f'delegate {values["delegate"]} unavailable, running on {info.delegate}: '
                f'{info.fallback_reason}')
        self.get_logger().info(
            f'configured {info.model_name} on {info.runtime}/{info.delegate} '
            f'({info.num_threads} threads), input {info.input_size[0]}x{info.input_size[1]}, '
            f'{len(self._cameras)} camera(s), {values["input_transport"]} images, geometry '
            f'{values["geometry"]}')
        return super().on_configure(state)

    def _fetch_progress(self):
        """Return a download progress callback that logs a line at the start and the end."""
        logger, started = self.get_logger(), []

        def progress(done: int, total: int) -> None:
            if not started:
                started.append(time.monotonic())
                logger.info(f'fetching a model file ({total / 1e6:.1f} MB)')
            if total and done >= total:
                logger.info(f'fetched {total / 1e6:.1f} MB in '
                            f'{time.monotonic() - started[0]:.1f} s')
        return progress

    def _create_publishers(self) -> None:
        """Create each camera's lifecycle publishers and the diagnostics publisher."""
        reliable = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                              reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                             reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        overrides = QoSOverridingOptions.with_default_policies()
        outputs = IMAGE_OUTPUTS + ('camera_info',)
        if self._configured['geometry'] != 'none':
            outputs += CLOUD_OUTPUTS
        types = {'camera_info': CameraInfo, 'obstacles': PointCloud2, 'ground': PointCloud2}
        now = time.monotonic()
        for namespace in self._configured['cameras'] or ['']:
            camera = _Camera(namespace.strip('/') + '/' if namespace else '', now)
            for output in outputs:
                camera.pubs[output] = self.create_lifecycle_publisher(
                    types.get(output, Image), f'{camera.prefix}segmentation/{output}',
                    reliable, qos_overriding_options=overrides)
            if messages.HAVE_LABEL_INFO:
                camera.pubs['label_info'] = self.create_lifecycle_publisher(
                    messages.LabelInfo, f'{camera.prefix}segmentation/label_info', latched)
            self._cameras.append(camera)
        self._diag_pub = self.create_lifecycle_publisher(DiagnosticArray, '/diagnostics', 10)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers, subscribe to the cameras and start the worker."""
        result = super().on_activate(state)
        queue = QoSProfile(depth=FRAME_QUEUE, history=HistoryPolicy.KEEP_LAST,
                           reliability=ReliabilityPolicy.BEST_EFFORT)
        latest = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                            reliability=ReliabilityPolicy.BEST_EFFORT)
        depths = QoSProfile(depth=DEPTH_QUEUE, history=HistoryPolicy.KEEP_LAST,
                            reliability=ReliabilityPolicy.BEST_EFFORT)
        overrides = QoSOverridingOptions.with_default_policies()
        compressed = self._configured['input_transport'] == 'compressed'
        group = self._worker_group
        for camera in self._cameras:
            camera.image_sub = self.create_subscription(
                CompressedImage if compressed else Image,
                camera.prefix + ('image/compressed' if compressed else 'image'),
                lambda _: None, queue, callback_group=group, raw=True,
                qos_overriding_options=overrides)
            camera.info_sub = self.create_subscription(
                CameraInfo, camera.prefix + 'camera_info', lambda _: None, latest,
                callback_group=group)
            if self._configured['geometry'] == 'depth':
                camera.depth_sub = self.create_subscription(
                    Image, camera.prefix + 'depth', lambda _: None, depths,
                    callback_group=group, raw=True, qos_overriding_options=overrides)
            camera.schedule.restart(camera.image_sub.qos_profile.depth or FRAME_QUEUE)
            if 'label_info' in camera.pubs:
                sec, nanosec = self.get_clock().now().seconds_nanoseconds()
                camera.pubs['label_info'].publish(messages.label_info(
                    messages.header(sec, nanosec, ''), self._segmenter.class_names))
        self._wake = self.create_guard_condition(lambda: None, callback_group=group)
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name='deeplab_worker', daemon=True)
        self._worker.start()
        self._diag_timer = self.create_timer(
            self.get_parameter('diagnostics_period').value, self._publish_diagnostics)
        self.get_logger().info(
            'activated: subscribed to ' + ', '.join(
                c.image_sub.topic_name for c in self._cameras))
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the worker, unsubscribe and disable the publishers."""
        self._stop_processing()
        self.get_logger().info('deactivated: unsubscribed, outputs stopped')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the publishers and release the interpreter and delegate."""
        self._release()
        self.get_logger().info('cleaned up: model and delegate released')
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything, from whichever state the node was in."""
        self._stop_processing()
        self._release()
        self.get_logger().info(f'shut down from {state.label}')
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything so that the node can be configured again."""
        self._stop_processing()
        self._release()
        return super().on_error(state)

    def _stop_processing(self) -> None:
        """Stop and join the worker, then unsubscribe and stop diagnostics (idempotent)."""
        self._stopping = True
        if self._wake is not None:
            self._wake.trigger()
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        if self._wake is not None:
            self.destroy_guard_condition(self._wake)
            self._wake = None
        for camera in self._cameras:
            for name in ('image_sub', 'info_sub', 'depth_sub'):
                sub = getattr(camera, name)
                if sub is not None:
                    self.destroy_subscription(sub)
                    setattr(camera, name, None)
            camera.depths.clear()
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None

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
            self._memory.trim()
        self._live = None
        if self.has_parameter(parameters.CLASS_NAMES):
            # Read only for everyone else; rclpy refuses to undeclare a read-only parameter,
            # so the node lifts the flag of its own descriptor (the live object) first.
            self.describe_parameter(parameters.CLASS_NAMES).read_only = False
            self.undeclare_parameter(parameters.CLASS_NAMES)

    def close(self) -> None:
        """Stop and release everything; call before destroy_node()."""
        self._stop_processing()
        self._release()

    # -- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
        """Worker thread: wait for the cameras that want a frame, serve them in turn."""
        cameras = self._cameras
        robin = scheduling.RoundRobin(len(cameras))
        wait_set = _rclpy.WaitSet(len(cameras), 1, 0, 0, 0, 0, self.context.handle)
        while not self._stopping:
            try:
                self._work_once(cameras, robin, wait_set)
            except Exception as error:  # never let the worker die; say what happened
                if self._stopping or not self.context.ok():
                    return
                self.get_logger().error(
                    f'frame handling failed: {type(error).__name__}: {error}',
                    throttle_duration_sec=_LOG_THROTTLE_S)
                time.sleep(_IDLE_WAIT_S)

    def _work_once(self, cameras: List[_Camera], robin: scheduling.RoundRobin,
                   wait_set) -> None:
        """Wait for the cameras that want a frame once, then serve the ready ones in turn."""
        live, now = self._live, time.monotonic()
        timeout, candidates = _LONGEST_WAIT_S, []
        for index, camera in enumerate(cameras):
            if not camera.wanted(now, live, self):
                camera.schedule.note_idle()
                self._count_idle(camera, now)
                timeout = _IDLE_WAIT_S
                continue
            due = camera.schedule.due(now, live.max_rate)
            if due > now:
                timeout = min(timeout, due - now)
            else:
                candidates.append(index)
        wait_set.clear_entities()
        for index in candidates:
            wait_set.add_subscription(cameras[index].image_sub.handle)
        wait_set.add_guard_condition(self._wake.handle)
        wait_set.wait(int(timeout * 1e9))
        ready = set(wait_set.get_ready_entities('subscription'))
        for index in robin.order(
                [i for i in candidates if cameras[i].image_sub.handle.pointer in ready]):
            if self._stopping:
                break
            robin.served(index)
            size = self._serve(cameras[index], self._live)
            if self._memory.after_frame(size):
                self.get_logger().debug(
                    f'handed memory back after a large frame ({size / 1e6:.0f} MB)')

    @staticmethod
    def _count_idle(camera: _Camera, now: float) -> None:
        """Take one waiting frame of an idle camera now and then, to keep its counts current."""
        if now - camera.counted_at < _IDLE_WAIT_S:
            return
        camera.counted_at = now
        sub = camera.image_sub
        got = sub.handle.take_message(sub.msg_type, True)
        if got is not None:
            camera.schedule.discard([scheduling.Taken(_sequence(got[1]))])

    def _take_frames(self, camera: _Camera, max_pixels: int
                     ) -> Tuple[List[scheduling.Taken], List[Optional[Frame]], int]:
        """Take every waiting frame of a camera, serialized, check each; largest size."""
        taken, frames, size = [], [], 0
        compressed = self._configured['input_transport'] == 'compressed'
        sub = camera.image_sub
        while len(taken) < camera.schedule.queue:
            got = sub.handle.take_message(sub.msg_type, True)
            if got is None:
                break
            raw, info = got
            size = max(size, len(raw))
            frame, reason = None, ''
            try:
                frame = self._read(raw, compressed)
                if compressed:
                    inspect_compressed(frame.fmt, frame.data, max_pixels)
                else:
                    check_raw(frame.encoding, frame.height, frame.width, frame.step,
                              len(frame.data), max_pixels)
            except DecodeError as error:
                reason = str(error)
            except Exception as error:  # the middleware cannot read the message either
                reason = f'unreadable message: {type(error).__name__}: {error}'
            taken.append(scheduling.Taken(_sequence(info), reason))
            frames.append(frame)
        return taken, frames, size

    @staticmethod
    def _read(raw: bytes, compressed: bool) -> Frame:
        """Read a serialized camera message (middleware deserializer for other encodings)."""
        try:
            return read_compressed(raw) if compressed else read_image(raw)
        except WireError:
            msg = deserialize_message(raw, CompressedImage if compressed else Image)
            stamp = msg.header.stamp
            if compressed:
                return Frame(stamp.sec, stamp.nanosec, msg.header.frame_id,
                             memoryview(msg.data), fmt=msg.format)
            return Frame(stamp.sec, stamp.nanosec, msg.header.frame_id, memoryview(msg.data),
                         msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian)

    def _serve(self, camera: _Camera, live: Live) -> int:
        """
        Take a camera's waiting frames, choose the newest good one and segment it.

        :return: Bytes of the largest buffer the frames needed (message, or decoded image).
        """
        taken, frames, size = self._take_frames(camera, live.max_input_pixels)
        chosen = camera.schedule.choose(taken, time.monotonic(), live.max_rate)
        rejected = [t.reject_reason for t in taken if t.reject_reason]
        if rejected:
            self.get_logger().warning(
                f'{camera.image_sub.topic_name}: rejected a malformed frame: {rejected[-1]}',
                throttle_duration_sec=_LOG_THROTTLE_S)
        if chosen is None:
            return size
        try:
            return max(size, self._process(camera, frames[chosen], live))
        except DecodeError as error:
            camera.stats.on_rejected(str(error))
            self.get_logger().warning(
                f'{camera.image_sub.topic_name}: rejected a frame: {error}',
                throttle_duration_sec=_LOG_THROTTLE_S)
        except Exception as error:  # keep serving frames; diagnostics turn ERROR
            if self._stopping or not self.context.ok():
                return size  # shutting down: publishing may fail, nothing is wrong
            reason = f'{type(error).__name__}: {error}'
            camera.stats.on_failed(reason)
            self.get_logger().error(
                f'segmentation failed: {reason}', throttle_duration_sec=_LOG_THROTTLE_S)
        return size

    def _latest_info(self, camera: _Camera) -> Optional[CameraInfo]:
        """Take the newest camera_info waiting, if any; return the latest known."""
        sub = camera.info_sub
        got = sub.handle.take_message(sub.msg_type, False)
        if got is not None:
            camera.info = got[0]
        return camera.info

    def _process(self, camera: _Camera, frame: Frame, live: Live) -> int:
        """Decode, segment and publish one frame to the outputs with subscribers; its size."""
        segmenter = self._segmenter
        wanted = camera.wanted(time.monotonic(), live, self)
        if not wanted:
            camera.stats.on_idle()
            return 0
        start = time.perf_counter()
        if frame.fmt or self._configured['input_transport'] == 'compressed':
            rgb = decode_compressed(frame.fmt, frame.data, live.max_input_pixels)
        else:
            rgb = decode_raw(frame.encoding, frame.height, frame.width, frame.step, frame.data,
                             live.max_input_pixels)
        decoded = time.perf_counter()
        segmenter.resize_mode = live.resize_mode
        segmenter.output_resolution = live.output_resolution
        result = segmenter.segment(rgb, confidence='confidence' in wanted)
        segmented = time.perf_counter()

        head = messages.header(frame.sec, frame.nanosec, frame.frame_id)
        labels, pubs = result.labels, camera.pubs
        if 'labels' in wanted:
            pubs['labels'].publish(messages.image(
                head, labels, 'mono8' if labels.dtype == np.uint8 else 'mono16'))
        if wanted & {'color', 'overlay'}:
            color = segmenter.colorize(labels)
            if 'color' in wanted:
                pubs['color'].publish(messages.image(head, color, 'rgb8'))
            if 'overlay' in wanted:
                base = rgb
                if base.shape[:2] != labels.shape:
                    base = cv2.resize(rgb, (labels.shape[1], labels.shape[0]),
                                      interpolation=cv2.INTER_AREA)
                blended = segmenter.overlay(base, color, live.overlay_alpha,
                                            None if live.overlay_background else labels)
                pubs['overlay'].publish(messages.image(head, blended, 'rgb8'))
        if 'confidence' in wanted and result.confidence is not None:
            pubs['confidence'].publish(messages.image(head, result.confidence, 'mono8'))
        if 'mask' in wanted:
            pubs['mask'].publish(messages.image(
                head, segmenter.class_mask(labels, live.mask_ids), 'mono8'))
        info = self._latest_info(camera)
        size = (labels.shape[1], labels.shape[0])
        if info is not None and 'camera_info' in wanted:
            pubs['camera_info'].publish(
                messages.scaled_camera_info(info, head, size, result.scale))
        if wanted & set(CLOUD_OUTPUTS):
            self._publish_clouds(camera, frame.stamp_ns, rgb.shape, labels, info, live, wanted,
                                 head)
        else:  # what the clouds' notes said no longer applies
            for note in ('camera_info', 'depth', 'ground_classes'):
                camera.notes.pop(note, None)
        published = time.perf_counter()

        stage_ms = dict(result.timings)
        stage_ms['decode'] = (decoded - start) * 1e3
        stage_ms['publish'] = (published - segmented) * 1e3
        if frame.stamp_ns:
            stage_ms['end_to_end'] = (time.time_ns() - frame.stamp_ns) / 1e6
        camera.stats.on_processed(stage_ms)
        return rgb.nbytes

    # -- navigation clouds -----------------------------------------------------------------

    def _class_luts(self, live: Live) -> Dict[str, np.ndarray]:
        """Return the obstacle and ground class tables of the live settings (cached)."""
        if self._luts[0] is not live:
            size = max(len(self._segmenter.class_names), 256)
            self._luts = (live, {
                'obstacles': geometry.class_lut(live.obstacle_ids, size),
                'ground': geometry.class_lut(live.ground_ids, size)})
        return self._luts[1]

    def _publish_clouds(self, camera: _Camera, stamp_ns: int, image_shape: Tuple[int, ...],
                        labels: np.ndarray, info: Optional[CameraInfo], live: Live,
                        wanted: frozenset, head) -> None:
        """Compute and publish the obstacle and ground clouds that have subscribers."""
        topic = camera.prefix + 'camera_info'
        if info is None or info.k[0] <= 0 or info.k[4] <= 0:
            camera.notes['camera_info'] = (
                f'geometry {self._configured["geometry"]} needs camera_info on {topic} '
                '(intrinsics): no clouds until it arrives')
            return
        camera.notes.pop('camera_info', None)
        # The intrinsics are for the camera's images; scale them to the label map.
        size = (info.width, info.height) if info.width and info.height else (
            image_shape[1], image_shape[0])
        intrinsics = geometry.Intrinsics.from_k(info.k, *size).scaled(
            labels.shape[1], labels.shape[0])
        luts = self._class_luts(live)
        if self._configured['geometry'] == 'depth':
            depth = self._paired_depth(camera, stamp_ns, live)
            if depth is None:
                return
            array, unit = depth
            clouds = {name: geometry.depth_points(labels, luts[name], array, unit, intrinsics,
                                                  live.cloud_stride, live.max_range)
                      for name in CLOUD_OUTPUTS if name in wanted}
        else:
            key = (intrinsics, live.camera_height, live.camera_pitch, live.camera_roll,
                   live.cloud_stride, live.max_range)
            if camera.ground[0] != key:
                camera.ground = (key, geometry.GroundModel(intrinsics, *key[1:]))
            model = camera.ground[1]
            if 'obstacles' in wanted and not live.ground_ids:
                camera.notes['ground_classes'] = (
                    'geometry ground_plane finds obstacles where they stand on the ground: set '
                    'ground_classes, else segmentation/obstacles stays empty')
            else:
                camera.notes.pop('ground_classes', None)
            clouds = {}
            if 'ground' in wanted:
                clouds['ground'] = model.ground_points(labels, luts['ground'])
            if 'obstacles' in wanted:
                clouds['obstacles'] = model.contact_points(labels, luts['obstacles'],
                                                           luts['ground'])
        for name, (xyz, label) in clouds.items():
            camera.pubs[name].publish(
                messages.point_cloud(head, geometry.pack_points(xyz, label)))

    def _paired_depth(self, camera: _Camera, stamp_ns: int, live: Live
                      ) -> Optional[Tuple[np.ndarray, float]]:
        """Take waiting depth images and return the one closest in stamp within depth_slop."""
        sub, topic = camera.depth_sub, camera.prefix + 'depth'
        problems = []
        for _ in range(DEPTH_QUEUE):
            got = sub.handle.take_message(sub.msg_type, True)
            if got is None:
                break
            try:
                camera.depths.append(self._read(got[0], False))
            except Exception as error:  # unreadable: say so, use the others
                problems.append(f'unreadable depth message on {topic}: {error}')
        best = min(camera.depths, key=lambda d: abs(d.stamp_ns - stamp_ns), default=None)
        depth = None
        if best is None or abs(best.stamp_ns - stamp_ns) > live.depth_slop * 1e9:
            problems.append(
                f'no depth image on {topic} within depth_slop {live.depth_slop:g} s of the '
                'colour frame: no clouds for it')
        else:
            try:
                depth = decode_depth(best.encoding, best.height, best.width, best.step,
                                     best.is_bigendian, best.data, live.max_input_pixels)
            except DecodeError as error:
                problems.append(f'depth image on {topic} rejected: {error}')
        if problems:
            camera.notes['depth'] = '; '.join(problems[-2:])
        else:
            camera.notes.pop('depth', None)
        return depth

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
            report = camera.stats.report(
                now, engine, live.latency_warn_ms, list(camera.notes.values()),
                quiet_s=1.0 / live.max_rate if live.max_rate > 0 else 0.0)
            namespace = camera.pubs['labels'].topic_name[:-len('/segmentation/labels')]
            array_msg.status.append(messages.diagnostic_status(
                f'{self.get_name()}: {namespace or "/"}', engine.delegate, report))
        pub.publish(array_msg)


def usage() -> str:
    """Return the ``--help`` text: how to run, drive, and configure the node."""
    lines = [
        'usage: ros2 run deeplab_ros segmentation_node [--ros-args -p NAME:=VALUE ...]',
        '',
        'DeepLab semantic segmentation of camera images, as a ROS 2 lifecycle node (default',
        'name "deeplab"). It starts unconfigured; drive it like any lifecycle node:',
        '  ros2 lifecycle set /deeplab configure    # load the model (and fetch it if needed)',
        '  ros2 lifecycle set /deeplab activate     # subscribe to the camera, publish',
        '  ros2 lifecycle set /deeplab deactivate | cleanup | shutdown',
        'or start it with a launch file that does so: ros2 launch deeplab_ros pc.launch.py',
        '',
        'Subscribed (per camera, see "cameras"): image (sensor_msgs/Image) or',
        '  image/compressed (input_transport compressed), camera_info, depth (geometry depth).',
        'Published: segmentation/labels, color, overlay, confidence, mask, camera_info,',
        '  obstacles and ground (sensor_msgs/PointCloud2, geometry not none), label_info',
        '  (vision_msgs, where installed), /diagnostics.',
        '',
        'Parameters (NAME (type, default): meaning):',
    ]
    for spec in SPECS.values():
        kind = 'string array' if isinstance(spec.default, list) else type(spec.default).__name__
        lines.append(f'  {spec.name} ({kind}, {spec.default!r}): {spec.full_description}')
    return '\n'.join(lines)


def _stop_on_signals(node: SegmentationNode) -> threading.Event:
    """
    Return an event set by SIGINT or SIGTERM, which also wakes the executor.

    rclpy's own handlers would shut the context down at once, under the worker's feet; here
    the node stops its worker first. A signal's wakeup byte wakes a thread that triggers a
    guard condition, so the executor returns and the main thread runs the handler.
    """
    stop = threading.Event()
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    wake = node.create_guard_condition(lambda: None)

    def relay() -> None:
        while os.read(read_end, 64):
            try:
                wake.trigger()
            except Exception:  # the node is already gone (a signal during teardown)
                return
    threading.Thread(target=relay, name='deeplab_signals', daemon=True).start()
    return stop


def main(args: Optional[Sequence[str]] = None) -> int:
    """Run ``segmentation_node`` until SIGINT or SIGTERM; exit 0 after a clean stop."""
    argv = list(sys.argv[1:] if args is None else args)
    own = argv[:argv.index('--ros-args')] if '--ros-args' in argv else argv
    if {'-h', '--help'} & set(own):
        print(usage())
        return 0
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = SegmentationNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    stop = _stop_on_signals(node)
    try:
        while not stop.is_set() and rclpy.ok():
            try:
                executor.spin_once()
            except _rclpy.RCLError as error:  # e.g. a transition id invalid in this state
                node.get_logger().warning(f'ignored a request rcl refused: {error}')
    except ExternalShutdownException:
        pass
    finally:
        node.close()  # the worker stops publishing before the context goes
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
