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

"""Frame scheduling without DDS: accounting, malformed frames, max_rate, fairness."""

import random

from deeplab_ros.node.diagnostics import COUNTERS, FrameStats
from deeplab_ros.node.scheduling import CameraSchedule, RateGate, RoundRobin, Taken
import pytest

GOOD, BAD = '', "unsupported encoding 'rgb16'"


def counts(stats: FrameStats) -> dict:
    return {name: getattr(stats, name) for name in COUNTERS}


def balanced(stats: FrameStats) -> bool:
    c = counts(stats)
    return c['received'] == sum(c[n] for n in COUNTERS[1:])


def test_a_malformed_frame_arriving_while_a_good_one_waits_leaves_the_good_one():
    schedule = CameraSchedule(FrameStats())
    chosen = schedule.choose([Taken(1, GOOD), Taken(2, BAD)], now=0.0, max_rate=0.0)
    assert chosen == 0
    assert counts(schedule.stats) == {'received': 2, 'processed': 0, 'dropped': 0, 'lost': 0,
                                      'throttled': 0, 'idle': 0, 'rejected': 1, 'failed': 0}
    assert schedule.stats.last_reject_reason == BAD


def test_a_burst_of_malformed_frames_never_displaces_the_good_one():
    schedule = CameraSchedule(FrameStats())
    taken = [Taken(10, GOOD)] + [Taken(11 + i, BAD) for i in range(4)]
    assert schedule.choose(taken, 0.0, 0.0) == 0
    assert schedule.stats.rejected == 4 and schedule.stats.dropped == 0


def test_the_newest_good_frame_is_chosen_and_older_ones_count_as_dropped():
    schedule = CameraSchedule(FrameStats())
    assert schedule.choose([Taken(1), Taken(2), Taken(3, BAD), Taken(4)], 0.0, 0.0) == 3
    c = counts(schedule.stats)
    assert (c['received'], c['dropped'], c['rejected']) == (4, 2, 1)


def test_gaps_in_sequence_numbers_count_frames_never_taken():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0)
    schedule.choose([Taken(5)], 0.1, 0.0)  # 2, 3, 4 replaced while the worker was busy
    assert schedule.stats.received == 5 and schedule.stats.dropped == 3


def test_frames_not_taken_while_nobody_subscribes_are_idle():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0)
    schedule.note_idle()
    schedule.choose([Taken(31)], 1.0, 0.0)
    assert schedule.stats.idle == 29 and schedule.stats.dropped == 0
    schedule.choose([Taken(33)], 1.1, 0.0)  # after that: busy again
    assert schedule.stats.dropped == 1 and schedule.stats.idle == 29


def test_frames_held_back_by_max_rate_are_throttled():
    schedule = CameraSchedule(FrameStats())
    assert schedule.due(0.0, 5.0) <= 0.0
    schedule.choose([Taken(1)], 0.0, 5.0)
    assert schedule.due(0.1, 5.0) == pytest.approx(0.2)  # held back: throttled
    schedule.choose([Taken(7)], 0.2, 5.0)
    assert schedule.stats.throttled == 5 and schedule.stats.dropped == 0


def test_publisher_restarts_and_missing_sequence_numbers_count_no_gap():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(100)], 0.0, 0.0)
    schedule.choose([Taken(1)], 0.1, 0.0)  # the camera driver restarted
    schedule.choose([Taken(None), Taken(None)], 0.2, 0.0)  # middleware without numbers
    assert schedule.stats.received == 4 and schedule.stats.dropped == 1


@pytest.mark.parametrize('camera_hz, max_rate', [(30.0, 5.0), (30.0, 7.0), (60.0, 10.0),
                                                 (25.0, 12.5), (10.0, 3.0)])
def test_max_rate_delivers_the_asked_rate_within_5_percent(camera_hz, max_rate):
    # Frames arrive with jitter; the worker takes the newest one once it is due.
    rng = random.Random(1)
    gate, accepted, seconds = RateGate(), 0, 60.0
    t = 0.0
    while t < seconds:
        t += 1.0 / camera_hz + rng.uniform(-0.003, 0.003)
        if t >= gate.due(max_rate):
            gate.accepted(t, max_rate)
            accepted += 1
    assert accepted / seconds == pytest.approx(max_rate, rel=0.05)


def test_max_rate_above_the_camera_rate_takes_every_frame_and_zero_means_no_limit():
    gate = RateGate()
    times = [i / 10.0 for i in range(100)]
    taken = 0
    for t in times:
        if t >= gate.due(30.0):
            gate.accepted(t, 30.0)
            taken += 1
    assert taken == 100
    assert RateGate().due(0.0) == float('-inf')


def test_round_robin_serves_every_ready_camera_in_turn():
    robin = RoundRobin(3)
    served = []
    for _ in range(6):
        first = robin.order([0, 1, 2])[0]
        robin.served(first)
        served.append(first)
    assert served == [0, 1, 2, 0, 1, 2]
    robin.served(1)
    assert robin.order([0, 1, 2]) == [2, 0, 1]
    assert robin.order([1, 0]) == [0, 1]


def test_a_simulated_stream_keeps_every_frame_accounted_for():
    rng = random.Random(7)
    schedule = CameraSchedule(FrameStats())
    sequence, t, lost = 0, 0.0, 0
    for _ in range(500):
        t += 0.05
        if rng.random() < 0.1:
            schedule.note_idle()
            sequence += rng.randint(1, 5)
            continue
        if schedule.due(t, 8.0) > t:
            sequence += 1
            continue
        waiting = [Taken(sequence + i + 1, BAD if rng.random() < 0.2 else GOOD)
                   for i in range(rng.randint(1, 5))]
        missing = rng.randint(0, 3)
        lost += rng.randint(0, missing)  # some never arrived, as the middleware reports
        sequence += len(waiting) + missing
        chosen = schedule.choose(waiting, t, 8.0, lost)
        if chosen is not None:
            if rng.random() < 0.1:
                schedule.stats.on_failed('RuntimeError: invoke failed')
            else:
                schedule.stats.on_processed({'inference': 10.0})
    assert balanced(schedule.stats)
    assert min(counts(schedule.stats).values()) > 0


def test_frames_taken_only_to_count_them_while_idle_are_idle():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0)
    schedule.note_idle()
    schedule.discard([Taken(4)], 0.5)
    schedule.discard([Taken(9)], 0.6)
    assert schedule.stats.idle == 8 and schedule.stats.received == 9
    assert balanced(schedule.stats) is False  # one processed frame is still to be counted
    schedule.stats.on_processed({})
    assert balanced(schedule.stats)


def test_a_new_max_rate_applies_at_once():
    gate = RateGate()
    gate.accepted(0.0, 0.02)  # one frame every 50 s
    assert gate.due(0.02) == pytest.approx(50.0)
    assert gate.due(5.0) == pytest.approx(0.2)  # raised: due 0.2 s after the last frame
    gate.accepted(0.2, 5.0)
    assert gate.due(5.0) == pytest.approx(0.4)


def test_frames_the_middleware_reports_lost_count_as_lost_the_rest_as_dropped():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0, lost_total=0)
    schedule.choose([Taken(4)], 0.1, 0.0, lost_total=2)  # two of 2, 3 never arrived
    assert schedule.stats.lost == 2 and schedule.stats.dropped == 0
    schedule.choose([Taken(9 + i) for i in range(5)], 0.2, 0.0, lost_total=2)
    assert schedule.stats.dropped == 4 + 4 and schedule.stats.lost == 2
    assert balanced(schedule.stats) is False
    for _ in range(3):  # the three frames chosen
        schedule.stats.on_processed({})
    assert balanced(schedule.stats)


def test_loss_is_counted_when_reported_and_its_gap_later_is_not_counted_twice():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0, lost_total=0)
    schedule.choose([Taken(2)], 0.1, 0.0, lost_total=1)  # frame 3 is lost, said early
    assert schedule.stats.lost == 1 and schedule.stats.received == 3
    schedule.choose([Taken(4)], 0.2, 0.0, lost_total=1)
    stats = schedule.stats
    assert (stats.received, stats.lost, stats.dropped) == (4, 1, 0)


def test_frames_lost_after_the_last_one_taken_are_counted_without_a_later_frame():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0, lost_total=0)
    schedule.note_lost(148)  # a camera without the large-data profile: nothing else came
    assert (schedule.stats.received, schedule.stats.lost) == (149, 148)


def test_a_second_publisher_or_a_restart_does_not_inflate_the_counts():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(123)], 0.0, 0.0)
    schedule.choose([Taken(2)], 0.1, 0.0)  # another publisher (or a restart)
    schedule.choose([Taken(124)], 0.2, 0.0)  # the first again: this jump is no gap
    schedule.choose([Taken(126)], 0.3, 0.0)
    assert schedule.stats.received == 5 and schedule.stats.dropped == 1


def test_two_publishers_taken_in_batches_are_counted_each_against_its_own_numbers():
    schedule = CameraSchedule(FrameStats())
    batches = [[1000], [10, 11], [1001], [12, 13], [1002], [16, 17], [1005]]
    lost_total = [0, 0, 0, 0, 0, 2, 4]
    for index, batch in enumerate(batches):
        schedule.choose([Taken(n) for n in batch], 0.1 * index, 0.0, lost_total[index])
    # 14, 15 and 1003, 1004 never arrived (the middleware said so); the older frame of each
    # two-frame batch was not chosen.
    c = counts(schedule.stats)
    assert (c['received'], c['lost'], c['dropped'], c['rejected']) == (14, 4, 3, 0)


def test_a_queue_override_keeps_several_frames_and_the_reported_loss_stays_lost():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 0.0, lost_total=0)
    schedule.choose([Taken(5), Taken(7), Taken(8)], 0.1, 0.0, lost_total=1)
    # 2-4 replaced while the worker was busy; 6 never arrived (reported): lost.
    assert schedule.stats.dropped == 3 + 2 and schedule.stats.lost == 1


def test_transport_loss_under_max_rate_is_lost_not_throttled():
    schedule = CameraSchedule(FrameStats())
    schedule.due(0.0, 30.0)
    schedule.choose([Taken(1)], 0.0, 30.0, lost_total=0)
    assert schedule.due(0.01, 30.0) > 0.01  # the worker waits for the rate
    schedule.choose([Taken(3)], 0.2, 30.0, lost_total=1)  # frame 2 never came
    assert schedule.stats.lost == 1 and schedule.stats.throttled == 0


def test_a_rate_set_to_zero_and_back_counts_from_the_last_frame_accepted():
    gate = RateGate()
    gate.accepted(0.0, 5.0)
    gate.accepted(0.2, 5.0)
    assert gate.due(0.0) == float('-inf')
    gate.accepted(1.05, 0.0)
    assert gate.due(5.0) == pytest.approx(1.25)


def test_restart_forgets_frames_published_while_unsubscribed():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(10)], 0.0, 0.0)
    schedule.restart()  # deactivated, then activated again
    schedule.choose([Taken(90)], 8.0, 0.0)
    assert schedule.stats.received == 2 and schedule.stats.dropped == 0


def test_a_restarted_publishers_stale_entry_cannot_absorb_a_later_gap():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(5000)], 0.0, 0.0)
    for index, sequence in enumerate(range(1, 5000, 500)):  # restarted: counts up again
        schedule.choose([Taken(sequence)], 0.5 + 0.5 * index, 0.0)
    schedule.choose([Taken(4999)], 6.0, 0.0)
    before = schedule.stats.dropped
    schedule.choose([Taken(5003)], 6.1, 0.0)  # 5000-5002 skipped by this publisher
    assert schedule.stats.dropped - before == 3


def test_frames_skipped_after_max_rate_let_go_are_dropped_not_throttled():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(1)], 0.0, 5.0)  # next due at 0.2
    # A 20 Hz camera; the worker was busy with another camera until 0.4: frames 2-10 were
    # skipped, half while max_rate held the camera back, half while the worker was busy.
    schedule.choose([Taken(11)], 0.4, 5.0)
    stats = schedule.stats
    assert stats.throttled in (4, 5) and stats.throttled + stats.dropped == 9


def test_a_publisher_that_pauses_while_another_goes_on_is_counted_against_its_own_numbers():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(500)], 0.0, 0.0)  # publisher A, far ahead in numbers
    for index in range(40):  # A pauses; publisher B goes on at 10 Hz
        schedule.choose([Taken(index + 1)], 0.1 * (index + 1), 0.0)
    schedule.choose([Taken(503)], 4.05, 0.0)  # A again: 501 and 502 were not taken
    stats = schedule.stats
    assert stats.received == 1 + 40 + 3 and stats.dropped == 2


def test_a_slow_second_publisher_does_not_take_the_frames_of_a_paused_first_one():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(300)], 0.0, 0.0)  # publisher A
    for index in range(40):  # A pauses; publisher B sends a frame every 0.5 s
        schedule.choose([Taken(index + 1)], 0.5 * (index + 1), 0.0)
    schedule.choose([Taken(301)], 20.4, 0.0)  # A again, 0.4 s after B's last frame
    assert schedule.stats.received == 1 + 40 + 1 and schedule.stats.dropped == 0


def test_a_publisher_heard_from_once_does_not_take_the_frames_of_another():
    schedule = CameraSchedule(FrameStats())
    schedule.choose([Taken(248)], 0.0, 0.0)  # publisher A; then a pause of 5 s
    schedule.choose([Taken(1)], 5.0, 0.0)  # publisher B, heard from once
    schedule.choose([Taken(249)], 5.4, 0.0)  # A again
    assert schedule.stats.received == 3 and schedule.stats.dropped == 0
