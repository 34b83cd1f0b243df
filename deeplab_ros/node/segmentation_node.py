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
The ``segmentation_node`` lifecycle node: lifecycle, parameters, subscriptions, publishers.

Work happens in transitions: configure loads the model, activate subscribes and starts the
worker (:mod:`.worker`), which takes frames through :mod:`.intake` and runs the per-frame
job (:mod:`deeplab_ros.frame.job`); this module publishes its outputs with the input's header.
The executor, on the main thread, answers the lifecycle and parameter services and publishes
diagnostics while inference runs.
"""

import time
from typing import Any, Dict, FrozenSet, List, Optional

import cv2
from deeplab_ros import parameters
from deeplab_ros.engine.pipeline import open_segmenter, Segmenter
from deeplab_ros.frame.clouds import CLOUD_OUTPUTS, DEPTH_QUEUE
from deeplab_ros.frame.job import FrameJob, IMAGE_OUTPUTS
from deeplab_ros.frame.memory import FrameMemory
from deeplab_ros.frame.wire import Frame
from deeplab_ros.node import intake, ros_messages
from deeplab_ros.node.camera_topics import CameraTopics
from deeplab_ros.node.diagnostics import EngineSummary
from deeplab_ros.node.pictures import overlap_mode
from deeplab_ros.node.ros_messages import MESSAGES
from deeplab_ros.node.worker import Handoff, Worker, WorkerCamera
from deeplab_ros.parameters import Live, SPECS
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterUninitializedException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

#: Frames the middleware keeps per camera while the worker is busy: the newest only, so a
#: frame the node will not segment is never taken (a QoS depth override keeps more, and the
#: newest good one of them is segmented).
FRAME_QUEUE = 1
_FAILURE, _SUCCESS = TransitionCallbackReturn.FAILURE, TransitionCallbackReturn.SUCCESS


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
        self._job: Optional[FrameJob] = None
        self._engine: Optional[EngineSummary] = None
        self._configured: Dict[str, Any] = {}
        self._cameras: List[CameraTopics] = []
        self._live: Optional[Live] = None
        self._diag_pub = self._diag_timer = None
        self._memory = FrameMemory()
        self._intake: Optional[intake.SubscriptionIntake] = None
        self._worker: Optional[Worker] = None
        self._declaring_class_names = False
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._on_parameters_set)
        intake.answer_invalid_transitions(self, self.get_logger())

    # -- parameters ------------------------------------------------------------------------

    def _declare(self, spec: parameters.Spec) -> None:
        """Declare one parameter with its descriptor (ranges, choices, description)."""
        descriptor = ros_messages.parameter_descriptor(spec)
        if spec.default == []:
            # An empty list has no type of its own: declare as a string array.
            self.declare_parameter(spec.name, Parameter.Type.STRING_ARRAY, descriptor)
            try:
                self.get_parameter(spec.name)
            except ParameterUninitializedException:
                self.set_parameters([Parameter(spec.name, Parameter.Type.STRING_ARRAY, [])])
        else:
            self.declare_parameter(spec.name, spec.default, descriptor)

    def _values(self) -> Dict[str, Any]:
        """Return every declared parameter's current value (lists as lists, on/off words)."""
        return {name: (list(self.get_parameter(name).value)
                       if isinstance(SPECS[name].default, list)
                       else parameters.as_choice(name, self.get_parameter(name).value))
                for name in SPECS}

    def _on_set_parameters(self, params: List[Parameter]) -> SetParametersResult:
        """Reject invalid values with a reason; unknown names (QoS overrides) pass."""
        values = self._values()
        class_ids = self._segmenter.class_ids if self._segmenter is not None else None
        for param in params:
            if param.name == parameters.CLASS_NAMES and not self._declaring_class_names:
                return SetParametersResult(
                    successful=False, reason='class_names is read only: it lists the classes '
                    'of the model loaded at configure')
            if param.name in SPECS:
                value = param.value
                if isinstance(SPECS[param.name].default, list):
                    value = list(value)
                reason = parameters.check(param.name, value, class_ids=class_ids)
                if reason:
                    return SetParametersResult(successful=False, reason=reason)
                values[param.name] = value
        reason = parameters.check_together(values) if self._segmenter is not None else None
        return SetParametersResult(successful=not reason, reason=reason or '')

    def _on_parameters_set(self, params: List[Parameter]) -> None:
        """Apply live parameters at once."""
        names = {p.name for p in params}
        if self._segmenter is not None and any(
                SPECS[n].applies == parameters.LIVE for n in names if n in SPECS):
            self._live = Live.from_values(self._values(), self._segmenter.class_ids)
            if self._intake is not None:
                self._intake.wake.trigger()
        if 'diagnostics_period' in names and self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                self.get_parameter('diagnostics_period').value, self._publish_diagnostics)

    # -- lifecycle -------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate parameters, load and warm up the model, create the publishers."""
        values = self._values()
        try:
            segmenter = open_segmenter(values, self._fetch_progress())
        except Exception as error:  # the messages say what to do
            self.get_logger().error(f'configure failed: {error}')
            return _FAILURE
        self._segmenter, self._live, self._configured = segmenter, \
            Live.from_values(values, segmenter.class_ids), values
        self._job = FrameJob(segmenter)
        info = segmenter.info
        cv2.setNumThreads(info.num_threads)
        self._engine = EngineSummary(
            model=info.model_name, runtime=info.runtime, delegate=info.delegate,
            fell_back=info.fell_back, fallback_reason=info.fallback_reason,
            input_size=tuple(info.input_size), accelerator=info.accelerator,
            fully_accelerated=info.fully_accelerated, cpu_share=info.cpu_share,
            overlap=overlap_mode(values['overlap'], info.num_threads, info.delegate,
                                 info.accelerator))
        self._create_publishers()
        self._declaring_class_names = True
        try:
            self.declare_parameter(
                parameters.CLASS_NAMES, list(segmenter.class_names),
                ParameterDescriptor(description=parameters.CLASS_NAMES_DESCRIPTION,
                                    read_only=True), ignore_override=True)
        finally:
            self._declaring_class_names = False
        if info.fallback_reason:
            self.get_logger().warning(
                f'delegate {values["delegate"]} unavailable, running on {info.delegate}: '
                f'{info.fallback_reason}')
        if not ros_messages.HAVE_LABEL_INFO:
            self.get_logger().info(
                'segmentation/label_info is off: vision_msgs is not installed (ROS: '
                'ros-$ROS_DISTRO-vision-msgs, a dependency rosdep installs; the pip route '
                'has no wheel for it)')
        if info.fully_accelerated is False:
            self.get_logger().warning(
                f'{info.model_name} is not fully accelerated on {info.delegate}: '
                f'{info.cpu_share or "some operators run on the CPU"}')
        self.get_logger().info(
            f'configured {info.model_name} on {info.runtime}/{info.accelerator} '
            f'({info.num_threads} threads), input {info.input_size[0]}x{info.input_size[1]}, '
            f'{len(self._cameras)} camera(s), {values["input_transport"]} images, geometry '
            f'{values["geometry"]}, overlap {self._engine.overlap}')
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
        geometry = self._configured['geometry']
        outputs = IMAGE_OUTPUTS + ('camera_info',) + (
            CLOUD_OUTPUTS if geometry != 'none' else ())
        types = {**dict.fromkeys(CLOUD_OUTPUTS, PointCloud2), 'camera_info': CameraInfo}
        for namespace in self._configured['cameras'] or ['']:
            camera = CameraTopics(namespace.strip('/') + '/' if namespace else '', geometry,
                                  len(self._segmenter.class_names))
            for output in outputs:
                camera.pubs[output] = self.create_lifecycle_publisher(
                    types.get(output, Image), f'{camera.prefix}segmentation/{output}',
                    reliable, qos_overriding_options=overrides)
            if ros_messages.HAVE_LABEL_INFO:
                camera.pubs['label_info'] = self.create_lifecycle_publisher(
                    ros_messages.LabelInfo, f'{camera.prefix}segmentation/label_info', latched)
            self._cameras.append(camera)
        self._diag_pub = self.create_lifecycle_publisher(DiagnosticArray, '/diagnostics', 10)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers, subscribe to the cameras and start the worker."""
        result = super().on_activate(state)
        best_effort = QoSProfile(depth=FRAME_QUEUE, history=HistoryPolicy.KEEP_LAST,
                                 reliability=ReliabilityPolicy.BEST_EFFORT)
        latest = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                            reliability=ReliabilityPolicy.BEST_EFFORT)
        depths = QoSProfile(depth=DEPTH_QUEUE, history=HistoryPolicy.KEEP_LAST,
                            reliability=ReliabilityPolicy.BEST_EFFORT)
        overrides = QoSOverridingOptions.with_default_policies()
        compressed = self._configured['input_transport'] == 'compressed'
        group, ignore = intake.WorkerOwned(), (lambda _: None)
        for camera in self._cameras:
            camera.image_sub = self.create_subscription(
                CompressedImage if compressed else Image,
                camera.prefix + ('image/compressed' if compressed else 'image'), ignore,
                best_effort, callback_group=group, raw=True, qos_overriding_options=overrides,
                event_callbacks=intake.lost_events())
            camera.info_sub = self.create_subscription(
                CameraInfo, camera.prefix + 'camera_info', ignore, latest, callback_group=group)
            if self._configured['geometry'] == 'depth':
                camera.depth_sub = self.create_subscription(
                    Image, camera.prefix + 'depth', ignore, depths, callback_group=group,
                    raw=True, qos_overriding_options=overrides)
            if 'label_info' in camera.pubs:
                sec, nanosec = self.get_clock().now().seconds_nanoseconds()
                camera.pubs['label_info'].publish(MESSAGES.label_info(
                    MESSAGES.header(sec, nanosec, ''), self._segmenter.class_names))
        self._intake = intake.SubscriptionIntake(
            self, [c.image_sub for c in self._cameras], compressed)
        has_scores = self._segmenter.info.has_scores
        self._worker = Worker(
            self._intake, [WorkerCamera(c.image_sub.topic_name, c.stats,
                                        lambda now, live, c=c: c.wanted(now, live, has_scores))
                           for c in self._cameras],
            self._process, lambda: self._live, self.get_logger(), compressed,
            stage=self._job_stage, after_frame=self._memory.after_frame,
            overlap=self._engine.overlap.startswith('on'))
        self._worker.start()
        self._diag_timer = self.create_timer(
            self.get_parameter('diagnostics_period').value, self._publish_diagnostics)
        self.get_logger().info('activated: subscribed to ' + ', '.join(
            c.image_sub.topic_name for c in self._cameras))
        return result

    def _job_stage(self) -> str:
        """Name the stage a frame is in: the first stage's, else the second's."""
        job = self._job
        if job is None:
            return 'idle'
        return job.stage if job.stage != 'idle' else job.pictures_stage

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the worker, unsubscribe and disable the publishers."""
        if not self._stop_processing('deactivate'):
            return _FAILURE
        self.get_logger().info('deactivated: unsubscribed, outputs stopped')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the publishers and release the interpreter and delegate."""
        self._release()
        self.get_logger().info('cleaned up: model and delegate released')
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything, from whichever state the node was in."""
        if not self._stop_processing('shutdown'):
            return _FAILURE
        self._release()
        self.get_logger().info(f'shut down from {state.label}')
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything so that the node can be configured again."""
        if self._stop_processing('error processing'):
            self._release()
        return super().on_error(state)

    def _stop_processing(self, what: str) -> bool:
        """
        Stop the worker (waiting a bounded time), unsubscribe, stop diagnostics.

        :return: False when a frame in progress hangs: nothing is released then (freeing an
            interpreter under a running invoke would crash), and an ERROR says which stage.
        """
        if self._worker is not None:
            hang = self._worker.stop(wake=self._intake.wake.trigger)
            if hang is not None:
                self.get_logger().error(
                    f'{what} failed: the frame in progress does not finish ({hang}; a delegate '
                    'that hangs?). The model stays loaded while it runs; try again, or stop '
                    'the process')
                return False
            self._worker = None
        if self._intake is not None:
            self._intake.destroy()
            self._intake = None
        for camera in self._cameras:
            camera.unsubscribe(self)
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        return True

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
            self._segmenter = self._job = None
            self._memory.trim()
        self._live = None
        if self.has_parameter(parameters.CLASS_NAMES):
            # rclpy refuses to undeclare a read-only parameter: lift the flag first.
            self.describe_parameter(parameters.CLASS_NAMES).read_only = False
            self.undeclare_parameter(parameters.CLASS_NAMES)

    def close(self) -> bool:
        """Stop and release everything before destroy_node(); False if a frame hangs."""
        if not self._stop_processing('stop'):
            return False
        self._release()
        return True

    # -- frames ----------------------------------------------------------------------------

    def _process(self, index: int, frame: Frame, live: Live, wanted: FrozenSet[str]
                 ) -> Handoff:
        """Segment one frame and publish its labels (first stage, worker thread)."""
        return self._cameras[index].segment(self._job, frame, live, wanted,
                                            self._worker.hand_pending)

    def _publish_diagnostics(self) -> None:
        """Publish one DiagnosticStatus per camera on /diagnostics."""
        live, engine, pub = self._live, self._engine, self._diag_pub
        if live is None or engine is None or pub is None:
            return
        array_msg = DiagnosticArray()
        array_msg.header.stamp = self.get_clock().now().to_msg()
        now = time.monotonic()
        for camera in self._cameras:
            notes = list(camera.clouds.notes.values()) if camera.clouds is not None else []
            report = camera.stats.report(
                now, engine, live.latency_warn_ms, notes,
                quiet_s=1.0 / live.max_rate if live.max_rate > 0 else 0.0)
            namespace = camera.pubs['labels'].topic_name[:-len('/segmentation/labels')]
            array_msg.status.append(ros_messages.diagnostic_status(
                f'{self.get_name()}: {namespace or "/"}', engine.delegate, report))
        pub.publish(array_msg)
