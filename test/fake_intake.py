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
A fake intake for the worker's unit tests: the middleware as the worker sees it.

The fake keeps the newest ``depth`` frames per camera as the middleware does, numbers them
as a publisher does, and wakes the worker when a frame arrives; the worker's own loop,
scheduling and accounting run as in the node.
"""

import threading
import time

from deeplab_ros.frame.wire import Frame
from deeplab_ros.node.diagnostics import COUNTERS, FrameStats
from deeplab_ros.parameters import Live, SPECS

GOOD = Frame(0, 0, 'camera', memoryview(bytes(12)), 'rgb8', 2, 2, 6)
BAD = Frame(0, 0, 'camera', memoryview(bytes(12)), 'rgb16', 2, 2, 6)
WANTED = frozenset({'labels'})


def live(**changes) -> Live:
    values = {name: spec.default for name, spec in SPECS.items()}
    values.update(changes)
    return Live.from_values(values, lambda names: list(range(len(names))))


class Serialized(bytes):
    """A frame's bytes as the middleware hands them out (its fields ready, for the fake)."""

    frame: Frame


def serialized(frame: Frame) -> Serialized:
    data = Serialized(bytes(frame.data))
    data.frame = frame
    return data


class FakeIntake:
    """The middleware as the worker sees it: the newest ``depth`` frames per camera."""

    def __init__(self, cameras: int, depth: int = 1) -> None:
        self.cond = threading.Condition()
        self.depth = depth
        self.waiting = {i: [] for i in range(cameras)}
        self.sequence = dict.fromkeys(range(cameras), 0)
        self.lost_total = dict.fromkeys(range(cameras), 0)
        self.woken = False

    def publish(self, camera: int, frame: Frame = GOOD, lost: bool = False) -> None:
        with self.cond:
            self.sequence[camera] += 1
            if lost:
                self.lost_total[camera] += 1
                return
            self.waiting[camera].append((serialized(frame), self.sequence[camera]))
            del self.waiting[camera][:-self.depth]
            self.cond.notify_all()

    def wake(self) -> None:
        with self.cond:
            self.woken = True
            self.cond.notify_all()

    def wait(self, cameras, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.woken or any(self.waiting[i] for i in cameras),
                               timeout)
            self.woken = False
            return {i for i in cameras if self.waiting[i]}

    def take(self, camera, limit):
        with self.cond:
            taken = self.waiting[camera][:limit]
            del self.waiting[camera][:limit]
            return taken

    def lost(self, camera):
        return self.lost_total[camera]

    def read(self, camera, data):
        return data.frame

    def queue(self, camera):
        return self.depth


class Logger:
    def __init__(self) -> None:
        self.lines = []

    def warning(self, text, **_):
        self.lines.append(('WARN', text))

    def error(self, text, **_):
        self.lines.append(('ERROR', text))


def balanced(stats: FrameStats) -> bool:
    counts = {name: getattr(stats, name) for name in COUNTERS}
    return counts['received'] == sum(counts[name] for name in COUNTERS[1:])


def wait_until(predicate, timeout: float = 10.0, what: str = 'condition') -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.005)
