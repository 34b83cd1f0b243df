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
Where the first stage's time goes when the second stage runs beside it (a script).

One process, no camera: the node's first stage (fit, invoke, label map, labels published)
of --model on cat_720p.jpg with --threads inference threads, and its second stage
(colour mask, overlay, both published: rclpy publishers in a private domain), run one frame
at a time, then overlapped (the second stage of frame N on a thread of its own while the
first stage of N+1 runs), alternately for --rounds rounds. For each it prints the frame
rate, the two stages' wall times, and the first stage's wall time split from the kernel's
per-thread accounting (/proc/self/task/<tid>/schedstat): CPU, waiting for a CPU (run queue:
no core was free), and the rest (waiting for the GIL, or blocked). The overlap wins where
a core is free; this shows whether what it costs the first stage is CPU or the GIL.

From the repository root, in the make test environment::

    .venv/bin/python benchmarks/bench_overlap.py [--threads 1] [--frames 15] [--rounds 5]
"""

import argparse
import pathlib
import statistics
import sys
import threading
import time
from typing import Callable, Dict, List

import cv2

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _schedstat() -> List[float]:
    """Return this thread's CPU time and run-queue wait so far, in ms."""
    path = f'/proc/self/task/{threading.get_native_id()}/schedstat'
    run, wait, _ = pathlib.Path(path).read_text().split()
    return [int(run) / 1e6, int(wait) / 1e6]


class Stages:
    """The two stages of the node on one image, with the first stage's time accounted."""

    def __init__(self, model: str, threads: int) -> None:
        import rclpy
        from sensor_msgs.msg import Image

        from deeplab_ros.engine import registry
        from deeplab_ros.engine.pipeline import Segmenter
        from deeplab_ros.node.ros_messages import MESSAGES

        cv2.setNumThreads(threads)  # as the node does
        rclpy.init()
        self.node = rclpy.create_node('bench_overlap')
        self.pubs = [self.node.create_publisher(Image, f'segmentation/{name}', 1)
                     for name in ('labels', 'color', 'overlay')]
        self.seg = Segmenter.open(model, num_threads=threads)
        self.rgb = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))),
                                cv2.COLOR_BGR2RGB)
        self.messages = MESSAGES
        self.head = MESSAGES.header(0, 0, 'camera')
        self.first: Dict[str, List[float]] = {'wall': [], 'cpu': [], 'queue': []}
        self.second: List[float] = []

    def stage_one(self, before_invoke: Callable[[], None] = lambda: None):
        """Segment the image and publish its labels; account the time."""
        wall, (cpu, queue) = time.perf_counter(), _schedstat()
        labels = self.seg.segment(self.rgb, before_invoke=before_invoke).labels
        self.pubs[0].publish(self.messages.image(self.head, labels, 'mono8'))
        cpu_end, queue_end = _schedstat()
        self.first['wall'].append((time.perf_counter() - wall) * 1e3)
        self.first['cpu'].append(cpu_end - cpu)
        self.first['queue'].append(queue_end - queue)
        return labels

    def stage_two(self, labels) -> None:
        """Make and publish the colour mask and the overlay; time it."""
        start = time.perf_counter()
        color = self.seg.colorize(labels)
        overlay = self.seg.overlay(self.rgb, color, 0.5, labels)
        for pub, pixels in zip(self.pubs[1:], (color, overlay)):
            pub.publish(self.messages.image(self.head, pixels, 'rgb8'))
        self.second.append((time.perf_counter() - start) * 1e3)

    def one_at_a_time(self, frames: int) -> float:
        """Run both stages in turn; return the frame rate."""
        start = time.perf_counter()
        for _ in range(frames):
            self.stage_two(self.stage_one())
        return frames / (time.perf_counter() - start)

    def handed_at_once(self, frames: int) -> float:
        """Overlap, the second stage handed over as soon as the first stage ends."""
        return self.overlapped(frames, at_invoke=False)

    def overlapped(self, frames: int, at_invoke: bool = True) -> float:
        """
        Run the second stage of each frame on a thread while the next is segmented.

        :param at_invoke: Hand it over as the next frame's invoke starts, as the node does.
        """
        cond, box, done, pending = threading.Condition(), [], [False], []

        def hand() -> None:
            if pending:
                with cond:
                    box[:] = [pending.pop()]  # at most one frame waits: older ones skipped
                    cond.notify()

        def pictures() -> None:
            while True:
                with cond:
                    cond.wait_for(lambda: box or done[0])
                    if not box:
                        return
                    labels = box.pop()
                self.stage_two(labels)
        thread = threading.Thread(target=pictures)
        thread.start()
        start = time.perf_counter()
        for _ in range(frames):
            pending[:] = [self.stage_one(hand)]
            if not at_invoke:
                hand()
        rate = frames / (time.perf_counter() - start)
        hand()
        with cond:
            done[0] = True
            cond.notify()
        thread.join()
        return rate

    def summary(self, mode: str, rate: float) -> str:
        """Return a line of figures for the frames run since the last summary."""
        wall, cpu, queue = (statistics.median(self.first[key])
                            for key in ('wall', 'cpu', 'queue'))
        line = (f'{mode:<15} {rate:6.1f} fps  stage two {statistics.median(self.second):5.1f} '
                f'ms  stage one {wall:5.1f} ms = CPU {cpu:5.1f} + run queue {queue:4.1f} + '
                f'GIL/blocked {wall - cpu - queue:4.1f}')
        for values in (*self.first.values(), self.second):
            values.clear()
        return line


def main() -> None:
    """Alternate one frame at a time and overlapped; print each round and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[1])
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--frames', type=int, default=15, help='frames per run')
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    from deeplab_ros.tools.lifecycle import private_domain

    private_domain(apply=True)
    stages = Stages(args.model, args.threads)
    stages.one_at_a_time(3)  # warm up
    stages.summary('warm-up', 0.0)
    runs: Dict[str, Callable[[int], float]] = {
        'one at a time': stages.one_at_a_time, 'overlapped': stages.overlapped,
        'handed at once': stages.handed_at_once}
    rates: Dict[str, List[float]] = {mode: [] for mode in runs}
    for _ in range(args.rounds):
        for mode, run in runs.items():
            rates[mode].append(run(args.frames))
            print(stages.summary(mode, rates[mode][-1]), flush=True)
    one, both, at_once = (statistics.median(rates[mode]) for mode in runs)
    print(f'median of {args.rounds} rounds ({args.model}, {args.threads} thread(s)): one at a '
          f'time {one:.1f} fps, overlapped {both:.1f} fps ({both / one:.2f}x), handed at once '
          f'{at_once:.1f} fps ({at_once / one:.2f}x)')


if __name__ == '__main__':
    main()
