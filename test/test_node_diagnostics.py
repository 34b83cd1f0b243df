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

"""Tests of deeplab_ros.diagnostics: counters, percentiles, levels and messages."""

import threading

from deeplab_ros.node.diagnostics import EngineSummary, ERROR, FrameStats, OK, STAGES, WARN
import pytest

ENGINE = EngineSummary(model='deeplabv3_mnv2_dm05_pascal_quant', runtime='ai_edge_litert',
                       delegate='cpu', input_size=(513, 513))
REQUIRED_KEYS = {'model', 'runtime', 'delegate', 'input_size', 'frames_received',
                 'frames_processed', 'frames_dropped', 'frames_throttled', 'frames_idle',
                 'frames_rejected', 'frames_failed', 'fps'} | {
    f'{s}_ms_{p}' for s in ('preprocess', 'inference', 'postprocess', 'publish', 'end_to_end')
    for p in ('p50', 'p95', 'max')}


def _frame(stats: FrameStats, ms: float = 10.0) -> None:
    stats.on_received()
    stats.on_processed({stage: ms for stage in STAGES})


def test_empty_report_is_ok_and_complete():
    report = FrameStats(now=0.0).report(1.0, ENGINE, latency_warn_ms=100.0)
    values = dict(report.values)
    assert REQUIRED_KEYS <= set(values)
    assert report.level == OK
    assert report.message == 'no images received'
    assert values['inference_ms_p50'] == 'n/a'
    assert values['input_size'] == '513x513'
    assert values['delegate_fell_back'] == 'False'


def test_a_camera_that_stops_is_reported_silent_after_max_rate_and_processing_allow():
    stats = FrameStats(now=0.0)
    _frame(stats, 10.0)
    assert stats.report(1.0, ENGINE, 0.0).message == '1.0 fps'
    assert stats.report(2.0, ENGINE, 0.0).message == 'no images received for 1 s'
    held = FrameStats(now=0.0)  # max_rate 0.2: a frame counted every 5 s is no silence
    _frame(held, 10.0)
    held.report(1.0, ENGINE, 0.0, quiet_s=5.0)
    assert held.report(6.0, ENGINE, 0.0, quiet_s=5.0).message == '0.0 fps'
    assert held.report(7.0, ENGINE, 0.0, quiet_s=5.0).message == 'no images received for 6 s'
    slow = FrameStats(now=0.0)  # 1.5 s per frame: frames are counted when taken
    slow.on_received()
    slow.on_processed({'inference': 1500.0})
    slow.report(1.0, ENGINE, 0.0)
    assert slow.report(2.0, ENGINE, 0.0).message == '0.0 fps'
    assert slow.report(3.0, ENGINE, 0.0).message == 'no images received for 2 s'


def test_counters_fps_and_percentiles():
    stats = FrameStats(now=0.0)
    for ms in range(1, 101):
        _frame(stats, float(ms))
    stats.on_received()
    stats.on_dropped()
    report = stats.report(2.0, ENGINE, latency_warn_ms=0.0)
    values = dict(report.values)
    assert report.level == OK
    assert values['frames_received'] == '101'
    assert values['frames_processed'] == '100'
    assert values['frames_dropped'] == '1'
    assert values['fps'] == '50.00'
    assert values['inference_ms_p50'] == '50.5'
    assert values['inference_ms_p95'] == '95.0'
    assert values['inference_ms_max'] == '100.0'
    assert report.message == '50.0 fps'
    # The next period starts empty: rates are per period, counters cumulative.
    values = dict(stats.report(3.0, ENGINE, 0.0).values)
    assert values['fps'] == '0.00'
    assert values['frames_processed'] == '100'


def test_window_keeps_recent_samples_only():
    stats = FrameStats(window=4, now=0.0)
    for ms in (1000.0, 1.0, 2.0, 3.0, 4.0):
        _frame(stats, ms)
    assert stats.percentiles('inference') == (2.5, pytest.approx(3.85), 4.0)
    with pytest.raises(ValueError, match='window'):
        FrameStats(window=0)


def test_missing_end_to_end_is_not_recorded():
    stats = FrameStats()
    stats.on_processed({'inference': 5.0})
    assert stats.percentiles('end_to_end') is None
    assert stats.percentiles('inference') == (5.0, 5.0, 5.0)


def test_latency_warning_uses_end_to_end_p95():
    stats = FrameStats(now=0.0)
    for _ in range(10):
        _frame(stats, 150.0)
    report = stats.report(1.0, ENGINE, latency_warn_ms=100.0)
    assert report.level == WARN
    assert 'latency p95 150 ms exceeds latency_warn_ms 100' in report.message
    assert stats.report(2.0, ENGINE, latency_warn_ms=0.0).level == OK


def test_latency_warning_without_stamps_sums_processing_stages():
    stats = FrameStats(now=0.0)
    stats.on_received()
    stats.on_processed({'preprocess': 30.0, 'inference': 50.0, 'postprocess': 30.0})
    report = stats.report(1.0, ENGINE, latency_warn_ms=100.0)
    assert report.level == WARN
    assert 'p95 110 ms' in report.message


def test_fallback_warns_with_reason():
    engine = EngineSummary('m', 'ai_edge_litert', 'cpu', fell_back=True,
                           fallback_reason='libedgetpu.so.1 not found', input_size=(1, 1))
    report = FrameStats().report(1.0, engine, 0.0)
    values = dict(report.values)
    assert report.level == WARN
    assert 'fell back to cpu: libedgetpu.so.1 not found' in report.message
    assert values['delegate_fell_back'] == 'True'
    assert values['fallback_reason'] == 'libedgetpu.so.1 not found'


def test_most_frames_dropped_warns():
    stats = FrameStats(now=0.0)
    for _ in range(10):
        stats.on_received()
    for _ in range(6):
        stats.on_dropped()
    for _ in range(4):
        stats.on_processed({'inference': 1.0})
    report = stats.report(1.0, ENGINE, 0.0)
    assert report.level == WARN
    assert '60% of frames dropped' in report.message
    # Frames left out on purpose (max_rate, nobody subscribed) do not count as offered.
    stats = FrameStats(now=0.0)
    stats.on_received(10)
    stats.on_throttled(5)
    stats.on_idle(3)
    stats.on_dropped()
    stats.on_processed({'inference': 1.0})
    report = stats.report(1.0, ENGINE, 0.0)
    values = dict(report.values)
    assert report.level == OK
    assert (values['frames_throttled'], values['frames_idle']) == ('5', '3')
    assert 'frames_skipped' not in values


def test_failures_are_errors_for_their_period():
    stats = FrameStats(now=0.0)
    stats.on_received()
    stats.on_failed('RuntimeError: invoke failed')
    report = stats.report(1.0, ENGINE, 0.0)
    values = dict(report.values)
    assert report.level == ERROR
    assert 'inference failed on 1 frame(s): RuntimeError: invoke failed' in report.message
    assert values['last_failure_reason'] == 'RuntimeError: invoke failed'
    _frame(stats)
    assert stats.report(2.0, ENGINE, 0.0).level == OK


def test_rejected_frames_warn_with_reason():
    stats = FrameStats(now=0.0)
    stats.on_received()
    stats.on_rejected("unsupported encoding 'rgb16'")
    report = stats.report(1.0, ENGINE, 0.0)
    assert report.level == WARN
    assert "1 malformed frame(s) rejected: unsupported encoding 'rgb16'" in report.message
    assert dict(report.values)['frames_rejected'] == '1'


def test_counters_are_thread_safe():
    stats = FrameStats()

    def hammer():
        for _ in range(2000):
            stats.on_received()
            stats.on_dropped()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.received == stats.dropped == 8000
