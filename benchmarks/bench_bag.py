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
Benchmark ``deeplab bag`` against the pipeline rate of ``deeplab bench`` (a script, not a test).

Writes a bag of ``--frames`` 1280x720 rgb8 frames of cat_720p.jpg (sensor_msgs/Image on
/front/image_raw, each with its /front/camera_info) in a temporary folder, then alternates,
``--rounds`` times and in a new order each round: ``deeplab bag`` on it (default outputs:
labels, camera_info, label_info; input passed through; the frames per second it reports,
from opening the new bag to closing it) and the pipeline of ``deeplab bench`` (preprocess,
invoke, postprocess, colour mask and overlay; 1000 / its median ms) with the same model and
threads. Prints each round with the ratio of the two rates, then the medians (the target:
a median ratio of at least 0.9). Short rounds, many of them: both sides of a ratio see the
same machine, even a shared one.

Usage, from the repository root (in the ``make test`` environment for the model)::

    .venv/bin/python benchmarks/bench_bag.py [--frames 60] [--rounds 9] [--threads 2]
"""

import argparse
import contextlib
import io
import pathlib
import re
import shutil
import statistics
import sys
import tempfile

import cv2
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from deeplab_ros.engine import registry  # noqa: E402, I100
from deeplab_ros.engine.pipeline import Segmenter  # noqa: E402
from deeplab_ros.tools import cli  # noqa: E402
from deeplab_ros.tools.bench import run_bench  # noqa: E402
from rosbags.rosbag2 import StoragePlugin, Writer  # noqa: E402
from rosbags.typesys import get_typestore, Stores  # noqa: E402


def write_input(path: pathlib.Path, frames: int, storage: str) -> None:
    """Write a bag of 720p rgb8 frames of cat_720p.jpg at 30 Hz, each with its camera_info."""
    store = get_typestore(Stores.ROS2_JAZZY)
    types = store.types
    rgb = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))), cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        image = writer.add_connection('/front/image_raw', 'sensor_msgs/msg/Image',
                                      typestore=store)
        info = writer.add_connection('/front/camera_info', 'sensor_msgs/msg/CameraInfo',
                                     typestore=store)
        for i in range(frames):
            stamp = 1_700_000_000 * 10**9 + i * 33_333_333
            head = types['std_msgs/msg/Header'](stamp=types['builtin_interfaces/msg/Time'](
                sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id='front')
            writer.write(image, stamp, store.serialize_cdr(types['sensor_msgs/msg/Image'](
                header=head, height=height, width=width, encoding='rgb8', is_bigendian=0,
                step=width * 3, data=rgb.reshape(-1)), 'sensor_msgs/msg/Image'))
            writer.write(info, stamp + 1000, store.serialize_cdr(
                types['sensor_msgs/msg/CameraInfo'](
                    header=head, height=height, width=width, distortion_model='plumb_bob',
                    d=np.zeros(5), k=np.array([900.0, 0, 639.5, 0, 900, 359.5, 0, 0, 1]),
                    r=np.eye(3).reshape(-1),
                    p=np.array([900.0, 0, 639.5, 0, 0, 900, 359.5, 0, 0, 0, 1, 0]),
                    binning_x=0, binning_y=0, roi=types['sensor_msgs/msg/RegionOfInterest'](
                        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)),
                'sensor_msgs/msg/CameraInfo'))


def bag_rate(source: pathlib.Path, out: pathlib.Path, model: str, threads: int) -> float:
    """Run ``deeplab bag`` once; return the frames per second it reports."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(['bag', str(source), '--out', str(out), '--model', model,
                           '--threads', str(threads)])
    shutil.rmtree(out, ignore_errors=True)
    found = re.search(r'(\d+) frames in [\d.]+ s \(([\d.]+) fps\)', printed.getvalue())
    if status != 0 or found is None:
        raise SystemExit('deeplab bag failed:\n' + printed.getvalue())
    return float(found.group(2))


def main() -> None:
    """Alternate ``deeplab bag`` and the pipeline; print the rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='deeplabv3_mnv2_dm05_pascal_quant')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--frames', type=int, default=60)
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--runs', type=int, default=40, help='pipeline runs per round')
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix='bench_bag_'))
    try:
        source = work / 'in'
        write_input(source, args.frames, args.storage)
        segmenter = Segmenter.open(args.model, num_threads=args.threads)
        image = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))),
                             cv2.COLOR_BGR2RGB)
        print(f'model {segmenter.info.model_name}, {segmenter.info.num_threads} threads, '
              f'{args.frames} frames 1280x720 rgb8 + camera_info ({args.storage}), '
              'default outputs')
        bags, pipelines, ratios = [], [], []
        for round_ in range(args.rounds):
            order = ('bag', 'pipeline') if round_ % 2 == 0 else ('pipeline', 'bag')
            for what in order:
                if what == 'bag':
                    bags.append(bag_rate(source, work / 'out', args.model, args.threads))
                else:
                    report = run_bench(segmenter, image, runs=args.runs)
                    pipelines.append(1000.0 / report['pipeline_ms_p50'])
            ratios.append(bags[-1] / pipelines[-1])
            print(f'round {round_ + 1}: deeplab bag {bags[-1]:.1f} fps, pipeline '
                  f'{pipelines[-1]:.1f} fps, ratio {ratios[-1]:.2f}')
        print(f'median: deeplab bag {statistics.median(bags):.1f} fps, pipeline '
              f'{statistics.median(pipelines):.1f} fps, ratio {statistics.median(ratios):.2f} '
              '(median of the rounds; target >= 0.90)')
        segmenter.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
