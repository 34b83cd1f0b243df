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

"""The worker loop without DDS: a fake intake (:mod:`fake_intake`) for the middleware."""

import statistics
import threading
import time

from deeplab_ros.frame.wire import Frame
from deeplab_ros.node.diagnostics import COUNTERS, FrameStats
from deeplab_ros.node.worker import Worker, WorkerCamera
from fake_intake import (BAD, balanced, FakeIntake, GOOD, live, Logger, wait_until,
                         WANTED)
import pytest


def test_a_throttled_camera_is_served_on_time_beside_an_idle_one():
    """With camera A held back by max_rate and camera B without subscribers, A is on time."""
    intake = FakeIntake(2)
    period = 0.15
    settings = live(max_rate=1.0 / period)
    served = []
    cameras = [WorkerCamera('A', FrameStats(), lambda now, live: WANTED),
               WorkerCamera('B', FrameStats(), lambda now, live: frozenset())]

    def process(index, frame, live, wanted):
        served.append(time.monotonic())
        return 0
    worker = Worker(intake, cameras, process, lambda: settings, Logger())
    stop = threading.Event()

    def camera_a():  # a 200 Hz camera: a frame is always waiting when A is due
        while not stop.wait(0.005):
            intake.publish(0)
            intake.publish(1)
    publisher = threading.Thread(target=camera_a, daemon=True)
    publisher.start()
    worker.start()
    try:
        wait_until(lambda: len(served) >= 16, what='16 frames of camera A')
    finally:
        assert worker.stop(wake=intake.wake) is None
        stop.set()
        publisher.join()
    # Phase locked: frame k is due one period after frame k - 1 was due.
    lateness = [t - (served[0] + k * period) for k, t in enumerate(served[:16])]
    # Before the fix, an idle camera's 0.1 s wait made every other frame ~50 ms late.
    assert statistics.median(lateness) < 0.015, lateness
    assert sorted(lateness)[13] < 0.035, lateness
    assert cameras[1].stats.idle > 0 and balanced(cameras[1].stats)


def test_shutdown_mid_frame_balances_the_counters():
    intake = FakeIntake(1)
    inside, release = threading.Event(), threading.Event()
    camera = WorkerCamera('A', FrameStats(), lambda now, live: WANTED)

    def process(index, frame, live, wanted):
        inside.set()
        release.wait(10)
        raise RuntimeError('publisher destroyed')  # what publishing raises at shutdown
    worker = Worker(intake, [camera], process, lambda: live(), Logger())
    worker.start()
    for _ in range(3):
        intake.publish(0)
    assert inside.wait(10)
    for _ in range(5):
        intake.publish(0)  # arrive while the frame is in progress
    stopper = threading.Thread(target=worker.stop, kwargs={'wake': intake.wake})
    stopper.start()
    wait_until(lambda: worker.stopping, what='stopping')
    release.set()
    stopper.join(10)
    stats = camera.stats
    assert stats.processed == 0 and stats.failed == 0 and stats.dropped >= 1
    assert balanced(stats), {name: getattr(stats, name) for name in COUNTERS}


def test_a_hung_frame_is_reported_with_its_stage_within_the_bound():
    intake = FakeIntake(1)
    inside, release = threading.Event(), threading.Event()
    camera = WorkerCamera('A', FrameStats(), lambda now, live: WANTED)

    def process(index, frame, live, wanted):
        inside.set()
        release.wait(30)
        camera.stats.on_processed({})  # the frame ends and is published
        return 0
    worker = Worker(intake, [camera], process, lambda: live(), Logger(),
                    stage=lambda: 'inference')
    worker.start()
    intake.publish(0)
    assert inside.wait(10)
    start = time.monotonic()
    hang = worker.stop(timeout=0.3, wake=intake.wake)
    assert time.monotonic() - start < 2.0
    assert hang is not None and hang.startswith('stage inference for ')
    release.set()  # the frame ends: stopping again succeeds at once
    assert worker.stop(timeout=5.0) is None
    assert camera.stats.processed == 1 and balanced(camera.stats)


def test_every_turn_uses_one_snapshot_of_the_settings():
    intake = FakeIntake(1)
    snapshots = [live(), live(overlay_alpha=0.25)]
    calls, seen = [], []

    def settings():
        calls.append(snapshots[len(calls) % 2])
        return calls[-1]

    def wanted(now, settings_seen):
        seen.append(('wanted', settings_seen))
        return WANTED

    def process(index, frame, settings_seen, wanted_set):
        seen.append(('process', settings_seen))
        return 0
    worker = Worker(intake, [WorkerCamera('A', FrameStats(), wanted)], process, settings, Logger())
    worker.start()
    for _ in range(20):
        intake.publish(0)
        time.sleep(0.01)
    wait_until(lambda: sum(1 for kind, _ in seen if kind == 'process') >= 5, what='frames')
    assert worker.stop(wake=intake.wake) is None
    for index, (kind, settings_seen) in enumerate(seen):
        if kind == 'process':  # the same object the turn's wanted() was asked with
            assert seen[index - 1] == ('wanted', settings_seen)


def test_frames_unwanted_at_the_turn_are_idle_and_never_processed():
    intake = FakeIntake(1)
    state = {'wanted': frozenset()}
    processed = []
    camera = WorkerCamera('A', FrameStats(), lambda now, live: state['wanted'])

    def process(*args):
        processed.append(args)
        camera.stats.on_processed({})
        return 0
    worker = Worker(intake, [camera], process, lambda: live(max_rate=50.0), Logger())
    worker.start()
    for _ in range(10):
        intake.publish(0)
        time.sleep(0.02)
    wait_until(lambda: camera.stats.idle > 0, what='idle frames')
    assert not processed
    state['wanted'] = WANTED
    for _ in range(10):
        intake.publish(0)
        time.sleep(0.03)
    wait_until(lambda: len(processed) >= 3, what='processed frames')
    assert worker.stop(wake=intake.wake) is None
    assert all(args[3] for args in processed)  # never called with nothing wanted
    assert balanced(camera.stats)


def test_transport_loss_is_counted_lost_and_a_malformed_newest_frame_rejected():
    intake = FakeIntake(1)
    release = threading.Event()
    camera = WorkerCamera('A', FrameStats(), lambda now, live: WANTED)
    logger = Logger()

    def process(index, frame, live, wanted):
        camera.stats.on_processed({})
        release.wait(10)
        return 0
    worker = Worker(intake, [camera], process, lambda: live(), logger)
    worker.start()
    intake.publish(0)
    wait_until(lambda: camera.stats.processed == 1, what='the first frame')
    for lost in (False, True, True, False, False):  # 2 lost, 2 replaced, then ...
        intake.publish(0, lost=lost)
    intake.publish(0, BAD)  # ... a malformed newest frame replaces the good one
    release.set()
    wait_until(lambda: camera.stats.rejected == 1, what='the rejected frame')
    assert worker.stop(wake=intake.wake) is None
    stats = camera.stats
    assert (stats.received, stats.lost, stats.dropped, stats.rejected) == (7, 2, 3, 1)
    assert balanced(stats)
    assert any('rgb16' in text for level, text in logger.lines if level == 'WARN')


@pytest.mark.parametrize('depth', [1, 5])
def test_at_depth_n_the_newest_good_frame_of_those_waiting_is_segmented(depth):
    intake = FakeIntake(1, depth=depth)
    got = []
    camera = WorkerCamera('A', FrameStats(), lambda now, live: WANTED)
    intake.publish(0, Frame(1, 0, 'camera', GOOD.data, 'rgb8', 2, 2, 6))
    intake.publish(0, BAD)

    def process(index, frame, *_):
        got.append(frame.sec)
        camera.stats.on_processed({})
        return 0
    worker = Worker(intake, [camera], process, lambda: live(), Logger())
    worker.start()
    wait_until(lambda: camera.stats.rejected == 1, what='the malformed frame')
    assert worker.stop(wake=intake.wake) is None
    # Depth 5 keeps the good frame behind the malformed one; depth 1 only the newest.
    assert got == ([1] if depth == 5 else [])
    assert balanced(camera.stats)
