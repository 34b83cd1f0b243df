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
The two-stage worker: labels first, then pictures on a thread of their own (overlap).

A fake intake (:mod:`fake_intake`) stands in for the middleware; the node's per-camera
stages (:class:`CameraTopics`), a real model and publishers that record what they are given
stand in for nothing else.
"""

import os
import threading
import time

from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.frame.job import FrameJob
from deeplab_ros.frame.wire import Frame
from deeplab_ros.node.camera_topics import CameraTopics
from deeplab_ros.node.diagnostics import FrameStats
from deeplab_ros.node.pictures import overlap_mode
from deeplab_ros.node.worker import Handoff, Worker, WorkerCamera
from fake_intake import balanced, FakeIntake, live, Logger, wait_until
import numpy as np
import pytest

PICTURES = frozenset({'labels', 'color', 'overlay'})


@pytest.fixture(scope='module')
def job():
    segmenter = Segmenter.open('deeplabv3_mnv2_dm05_pascal_quant', num_threads=1)
    yield FrameJob(segmenter)
    segmenter.close()


def frame(number: int) -> Frame:
    """Return a small rgb8 frame stamped with its number (sec and nanosec)."""
    rng = np.random.default_rng(number)
    pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    return Frame(number, number, f'camera_{number}', memoryview(pixels.tobytes()), 'rgb8',
                 48, 64, 64 * 3)


class Publisher:
    """Records what it publishes; while :attr:`hold` is set, publishing waits for it."""

    def __init__(self) -> None:
        self.sent = []
        self.hold = None  # a threading.Event that ends the wait
        self.entered = threading.Event()

    def publish(self, msg) -> None:
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(30)
        self.sent.append(msg)


def camera_topics() -> CameraTopics:
    io = CameraTopics('', 'none', 21)
    io.pubs = {name: Publisher() for name in ('labels', 'color', 'overlay', 'camera_info')}
    return io


def stamps(publisher: Publisher) -> list:
    return [(m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id)
            for m in publisher.sent]


@pytest.mark.parametrize('overlap', [True, False])
def test_the_pictures_of_a_frame_are_made_while_the_next_frame_is_segmented(overlap):
    intake = FakeIntake(1)
    events = {}  # (stage, frame number, 'start' or 'end'): monotonic time
    second_began = threading.Event()
    waited = {}

    def process(index, taken, settings, wanted):
        number = taken.sec
        events[('one', number, 'start')] = time.monotonic()
        worker.hand_pending()  # as the node does when the inference starts
        if number == 2:
            second_began.set()
        events[('one', number, 'end')] = time.monotonic()

        def finish(skipped):
            events[('two', number, 'start')] = time.monotonic()
            if number == 1:  # held until frame 2's first stage begins, if it can meanwhile
                waited['overlapped'] = second_began.wait(5.0 if overlap else 0.3)
            events[('two', number, 'end')] = time.monotonic()
        return Handoff(0, finish)
    worker = Worker(intake, [WorkerCamera('A', FrameStats(), lambda now, s: PICTURES)], process,
                    lambda: live(), Logger(), overlap=overlap)
    worker.start()
    try:
        intake.publish(0, frame(1))
        wait_until(lambda: ('one', 1, 'end') in events, what='the first stage of frame 1')
        intake.publish(0, frame(2))
        wait_until(lambda: ('two', 2, 'end') in events, what='both stages of frame 2')
    finally:
        assert worker.stop(wake=intake.wake) is None
    assert waited['overlapped'] == overlap
    two_of_1 = events[('two', 1, 'start')], events[('two', 1, 'end')]
    one_of_2 = events[('one', 2, 'start')], events[('one', 2, 'end')]
    if overlap:  # the intervals intersect
        assert one_of_2[0] < two_of_1[1] and two_of_1[0] < one_of_2[1], (two_of_1, one_of_2)
    else:  # one frame at a time
        assert two_of_1[1] <= one_of_2[0], (two_of_1, one_of_2)


def test_labels_are_never_skipped_and_pictures_skipped_while_busy_are_counted(job):
    io, intake, release = camera_topics(), FakeIntake(1), threading.Event()
    io.pubs['color'].hold = release  # the second stage of frame 1 waits in publishing
    worker = Worker(intake, [WorkerCamera('A', io.stats, lambda now, s: PICTURES)],
                    lambda index, taken, settings, wanted: io.segment(
                        job, taken, settings, wanted, worker.hand_pending),
                    lambda: live(), Logger(), overlap=True)
    worker.start()
    try:
        intake.publish(0, frame(1))
        assert io.pubs['color'].entered.wait(30)
        for number in (2, 3, 4):  # each taken and segmented while frame 1's pictures wait
            intake.publish(0, frame(number))
            wait_until(lambda: len(io.pubs['labels'].sent) == number, what=f'labels {number}')
        wait_until(lambda: io.stats.pictures_skipped == 3, what='3 frames counted')
        release.set()
        wait_until(lambda: io.stats.processed == 4, what='frame 1 counted')
        intake.publish(0, frame(5))
        wait_until(lambda: len(io.pubs['overlay'].sent) == 2, what='the pictures of frame 5')
    finally:
        release.set()
        assert worker.stop(wake=intake.wake) is None
    labels = stamps(io.pubs['labels'])
    assert labels == [(n, n, f'camera_{n}') for n in range(1, 6)]  # every frame's labels
    assert stamps(io.pubs['color']) == stamps(io.pubs['overlay']) == [labels[0], labels[4]]
    stats = io.stats
    assert (stats.processed, stats.pictures_skipped, stats.dropped) == (5, 3, 0)
    assert balanced(stats)
    # Each picture is of its own frame: the colours of the labels with the same header.
    for label_msg, color_msg in zip([io.pubs['labels'].sent[i] for i in (0, 4)],
                                    io.pubs['color'].sent):
        label_map = np.frombuffer(label_msg.data, np.uint8).reshape(48, 64)
        color = np.frombuffer(color_msg.data, np.uint8).reshape(48, 64, 3)
        np.testing.assert_array_equal(color, job.segmenter.colorize(label_map))


def test_stop_is_bounded_while_the_pictures_stage_is_busy(job):
    io, intake, release = camera_topics(), FakeIntake(1), threading.Event()
    io.pubs['overlay'].hold = release
    worker = Worker(intake, [WorkerCamera('A', io.stats, lambda now, s: PICTURES)],
                    lambda index, taken, settings, wanted: io.segment(
                        job, taken, settings, wanted, worker.hand_pending),
                    lambda: live(), Logger(), overlap=True,
                    stage=lambda: job.stage if job.stage != 'idle' else job.pictures_stage)
    worker.start()
    intake.publish(0, frame(1))
    try:
        assert io.pubs['overlay'].entered.wait(30)
        start = time.monotonic()
        hang = worker.stop(timeout=0.3, wake=intake.wake)
        assert time.monotonic() - start < 2.0
        assert hang is not None and hang.startswith('stage publish (pictures) for '), hang
    finally:
        release.set()  # the frame ends: stopping again succeeds at once
    assert worker.stop(timeout=5.0) is None
    assert io.stats.processed == 1 and io.stats.pictures_skipped == 0 and balanced(io.stats)


def test_auto_overlaps_where_a_core_is_free_for_the_pictures():
    cores = len(os.sched_getaffinity(0))
    assert overlap_mode('auto', cores, 'cpu').startswith('off (auto: ')
    assert overlap_mode('auto', cores, 'cpu', 'cpu: XNNPACK').endswith('none free)')
    if cores > 1:
        assert overlap_mode('auto', cores - 1, 'cpu').startswith('on (auto: ')
    assert overlap_mode('auto', cores, 'edgetpu', 'edgetpu: Coral') == (
        'on (auto: inference on edgetpu)')
    # An accelerator that runs on the CPU leaves no core free either.
    assert overlap_mode('auto', cores, 'openvino', 'openvino: Intel on CPU').startswith('off')
    assert overlap_mode('on', cores, 'cpu') == 'on (set)'
    assert overlap_mode('off', 1, 'edgetpu') == 'off (set)'
