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
Benchmark the per-frame cost of the navigation clouds (a script, not a test).

A 1280x720 label map of a street-like scene (sky and buildings above, ground below, a few
people and cars standing on it) goes through the flat-ground clouds (ground points and
obstacle contact points) and the depth clouds (obstacles and ground from a 640x480 uint16
depth image), each packed for PointCloud2. Then the organized clouds (one point per label
pixel, for Nav2's semantic segmentation layer) of both geometries, packed, at the model's
resolution (the same scene at 513x289: a 720p image letterboxed into the 513x513 dm05 model)
and at the input's (1280x720). Prints the median of ``--repeat`` runs per step, after one
warm-up call that builds the cached tables. Then, alternating in the same run (in a new
order each round), the pipeline of ``deeplab bench`` (preprocess, invoke, postprocess,
colour mask and overlay) of ``--model`` on cat_720p.jpg and the clouds built into
PointCloud2 messages: their cost as a share of the pipeline.

Usage, from the repository root (in the ``make test`` environment for the model)::

    .venv/bin/python benchmarks/bench_geometry.py [--stride 4] [--repeat 300] [--rounds 100]
"""

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from deeplab_ros.frame.memory import FrameMemory  # noqa: E402, I100
from deeplab_ros.geometry.camera import Intrinsics  # noqa: E402, I100
from deeplab_ros.geometry.cloud import class_lut, pack_organized, pack_points  # noqa: E402
from deeplab_ros.geometry.depth import depth_organized, depth_points  # noqa: E402
from deeplab_ros.geometry.ground import GroundModel  # noqa: E402

SKY, BUILDING, ROAD, SIDEWALK, PERSON, CAR = 0, 2, 7, 8, 15, 13
# The label map of a 720p image at the dm05 model's scale (letterboxed into 513x513).
MODEL_SIZE = (513, 289)


def scene(width: int = 1280, height: int = 720) -> np.ndarray:
    """Return a label map: half ground, buildings, three people and two cars on the road."""
    labels = np.full((height, width), SKY, np.uint8)
    labels[150:360] = BUILDING
    labels[360:] = ROAD
    labels[360:, :200] = SIDEWALK
    rng = np.random.default_rng(0)
    for left, top, bottom, w, cls in ((300, 250, 520, 60, PERSON), (700, 280, 470, 40, PERSON),
                                      (1100, 230, 600, 90, PERSON), (450, 330, 450, 220, CAR),
                                      (850, 340, 420, 160, CAR)):
        labels[top:bottom, left:left + w] = cls
    noise = rng.random((height, width)) < 0.01  # speckle, as a real segmentation has
    labels[noise] = SIDEWALK
    return labels


def median_ms(fn, repeat: int) -> float:
    """Return the median wall time of ``fn()`` in milliseconds."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main() -> None:
    """Time each step and both clouds together."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--stride', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=300)
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=100, help='pipeline/cloud rounds')
    args = parser.parse_args()
    FrameMemory()  # the allocator as the node sets it (frame-sized buffers kept in the heap)
    k = Intrinsics(fx=900.0, fy=900.0, cx=639.5, cy=359.5, width=1280, height=720)
    labels = scene()
    ground = class_lut([ROAD, SIDEWALK], 21)
    obstacles = class_lut([PERSON, CAR], 21)
    model = GroundModel(k, height=0.8, pitch=0.15, roll=0.0, stride=args.stride,
                        max_range=10.0)
    depth = np.full((480, 640), 3000, np.uint16)
    depth[::7, ::5] = 0  # holes
    steps = {
        'ground_points': lambda: model.ground_points(labels, ground),
        'contact_points': lambda: model.contact_points(labels, obstacles, ground),
        'depth_points obstacles': lambda: depth_points(
            labels, obstacles, depth, 0.001, k, args.stride, 10.0),
        'depth_points ground': lambda: depth_points(
            labels, ground, depth, 0.001, k, args.stride, 10.0),
    }

    def flat_both():
        return (pack_points(*model.ground_points(labels, ground)),
                pack_points(*model.contact_points(labels, obstacles, ground)))

    def depth_both():
        return (pack_points(*depth_points(labels, obstacles, depth, 0.001, k, args.stride, 10.0)),
                pack_points(*depth_points(labels, ground, depth, 0.001, k, args.stride, 10.0)))

    print('1280x720 labels, stride %d, %d repetitions, median ms' % (args.stride, args.repeat))
    for name, fn in steps.items():
        points = len(fn()[0])
        print('  %-24s %7.3f ms  %6d points' % (name, median_ms(fn, args.repeat), points))
    xyz, label = model.ground_points(labels, ground)
    print('  %-24s %7.3f ms' % ('pack_points (ground)',
                                median_ms(lambda: pack_points(xyz, label).tobytes(),
                                          args.repeat)))
    print('  %-24s %7.3f ms' % ('flat ground, both clouds', median_ms(flat_both, args.repeat)))
    print('  %-24s %7.3f ms' % ('depth, both clouds', median_ms(depth_both, args.repeat)))
    start = time.perf_counter()
    GroundModel(k, 0.8, 0.15, 0.0, args.stride, 10.0).contact_points(labels, obstacles, ground)
    print('  %-24s %7.3f ms (once per parameter change)' % (
        'GroundModel tables', 1000.0 * (time.perf_counter() - start)))
    clouds = {'flat ground, both clouds': flat_both, 'depth, both clouds': depth_both}
    for width, height in MODEL_SIZE, (1280, 720):
        clouds.update(organized(k, width, height, depth, ground, args.repeat))
    share_of_pipeline(args, clouds)


def organized(k: Intrinsics, width: int, height: int, depth: np.ndarray, ground: np.ndarray,
              repeat: int) -> dict:
    """Time the organized clouds of the scene at ``width`` x ``height``; return them packed."""
    import cv2

    labels = cv2.resize(scene(), (width, height), interpolation=cv2.INTER_NEAREST)
    k = k.scaled(width, height)
    start = time.perf_counter()
    model = GroundModel(k, height=0.8, pitch=0.15, roll=0.0, max_range=10.0)
    model.organized_points(labels, ground)
    tables = 1000.0 * (time.perf_counter() - start)

    def flat():
        return (pack_organized(model.organized_points(labels, ground)),)

    def from_depth():
        return (pack_organized(depth_organized(depth, 0.001, k, 10.0)),)

    print('%dx%d labels, organized points (one per pixel, %.1f MB packed), median ms'
          % (width, height, width * height * 16 / 1e6))
    for name, fn, points in (
            ('flat ground', flat, model.organized_points(labels, ground)),
            ('depth', from_depth, depth_organized(depth, 0.001, k, 10.0))):
        known = np.count_nonzero(~np.isnan(points[..., 0]))
        print('  %-24s %7.3f ms  %6d known points' % (
            name + ', packed', median_ms(fn, repeat), known))
    print('  %-24s %7.3f ms (once per parameter change)' % ('GroundModel tables', tables))
    size = '%dx%d' % (width, height)
    return {'flat ground points ' + size: flat, 'depth points ' + size: from_depth}


def share_of_pipeline(args, clouds) -> None:
    """Time the segmentation pipeline and the clouds alternately; print the clouds' share."""
    import cv2
    from deeplab_ros.engine import registry
    from deeplab_ros.node.ros_messages import MESSAGES
    from deeplab_ros.engine.pipeline import Segmenter

    segmenter = Segmenter.open(args.model, num_threads=args.threads)
    rgb = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))), cv2.COLOR_BGR2RGB)
    head = MESSAGES.header(0, 0, 'camera')

    def pipeline():
        result = segmenter.segment(rgb)
        color = segmenter.colorize(result.labels)
        segmenter.overlay(rgb, color, 0.5, result.labels)

    def as_messages(make):
        return lambda: [MESSAGES.point_cloud(head, packed) for packed in make()]
    timed = {'pipeline': pipeline}
    timed.update({name: as_messages(make) for name, make in clouds.items()})
    samples = {name: [] for name in timed}
    for fn in timed.values():
        fn()
    # A new order every round: no step always follows the pipeline (whose threads and
    # cache use slow down whatever comes next).
    rng = np.random.default_rng(0)
    names = list(timed)
    for _ in range(args.rounds):
        for index in rng.permutation(len(names)):
            start = time.perf_counter()
            timed[names[index]]()
            samples[names[index]].append(time.perf_counter() - start)
    medians = {name: 1000.0 * float(np.median(v)) for name, v in samples.items()}
    print('%s, %d threads, 1280x720, %d rounds in shuffled order, median ms' % (
        args.model, args.threads, args.rounds))
    print('  %-36s %7.2f ms' % ('pipeline', medians['pipeline']))
    for name in clouds:
        print('  %-36s %7.2f ms = %5.1f%% of the pipeline' % (
            name + ' + msgs', medians[name], 100 * medians[name] / medians['pipeline']))


if __name__ == '__main__':
    main()
