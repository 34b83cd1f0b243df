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

"""``deeplab bag``'s options and its run; loads without rosbags, to say how to install it."""

import argparse
import sys
from typing import Tuple

from deeplab_ros.engine.pipeline import open_segmenter
from deeplab_ros.errors import DeeplabError
from deeplab_ros.tools.arguments import positive, seconds
from deeplab_ros.tools.bag.settings import OUTPUTS


def _output_list(text: str) -> Tuple[str, ...]:
    """Parse --outputs for argparse: names separated by commas; 'default' for the defaults."""
    names = tuple(n.strip() for n in text.split(',') if n.strip())
    bad = [n for n in names if n not in OUTPUTS + ('default',)]
    if bad or not names:
        raise argparse.ArgumentTypeError('unknown output %s; choose from default, %s' % (
            ', '.join(bad) or "''", ', '.join(OUTPUTS)))
    return names


def _depth_pair(text: str) -> Tuple[str, str]:
    """Parse --depth CAMERA=TOPIC for argparse."""
    camera, sep, topic = text.partition('=')
    if not sep or not topic.strip():
        raise argparse.ArgumentTypeError('expected CAMERA=TOPIC, e.g. /front=/front/depth, '
                                         'not %r' % text)
    return '/' + camera.strip().strip('/') if camera.strip('/ ') else '', topic.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``deeplab bag``."""
    parser.add_argument('input', metavar='IN', help='rosbag2 folder or .mcap/.db3 file')
    parser.add_argument('--out', '-o', required=True, metavar='OUT',
                        help='new bag folder to write (refused if it exists)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing OUT bag')
    parser.add_argument('--topics', nargs='+', metavar='TOPIC', default=None,
                        help='image topics to segment (default: every camera image topic)')
    parser.add_argument('--depth', type=_depth_pair, action='append', default=[],
                        metavar='CAMERA=TOPIC', help='registered depth topic of a camera '
                        '(geometry depth; default <camera>/depth or <camera>/depth/image_raw)')
    parser.add_argument('--params-file', default='', metavar='YAML',
                        help="the node's parameter file (model, delegate, threads, geometry, "
                        '...): entries for /** or a node named deeplab')
    parser.add_argument('--model', '-m', default=None, help='model, over the params file')
    parser.add_argument('--threads', '-t', type=positive, default=None,
                        help='num_threads, over the params file')
    parser.add_argument('--outputs', type=_output_list, default=('default',),
                        help='comma-separated: default (labels, camera_info, label_info and '
                        'the clouds of geometry), color, overlay, confidence, mask, ...')
    parser.add_argument('--no-passthrough', dest='passthrough', action='store_false',
                        help="leave the input's topics out of OUT")
    parser.add_argument('--storage', choices=('sqlite3', 'mcap'), default=None,
                        help="OUT's storage (default: the input's)")
    parser.add_argument('--distro', choices=('humble', 'jazzy', 'kilted'), default=None,
                        help="distribution OUT is written for (default: the input's, else "
                        'jazzy)')
    parser.add_argument('--every', type=positive, default=1, metavar='N',
                        help='segment every N-th frame of each topic (default: every frame)')
    parser.add_argument('--start', type=seconds, default=None, metavar='S',
                        help='begin S seconds after the start of the bag')
    parser.add_argument('--end', type=seconds, default=None, metavar='S',
                        help='stop S seconds after the start of the bag')
    parser.add_argument('--png', default='', metavar='DIR', help='also write DIR/images/*.png '
                        '(RGB) and DIR/masks/*.png (class ids) for deeplab eval')


def run(args: argparse.Namespace) -> int:
    """
    Label the bag; return the exit status: 0, or 130 after Ctrl-C (the bag closed).

    :raises DeeplabError: rosbags is missing, or the settings, the input or OUT are wrong.
    """
    try:
        from deeplab_ros.tools.bag import plan, run
    except ImportError as error:
        if (error.name or '').startswith('deeplab_ros'):  # a fault of ours, not a missing package
            raise
        raise DeeplabError(f'deeplab bag needs the rosbags package ({error}): pip install '
                           'rosbags') from None
    settled, notes = plan.make_plan(args)
    for note in notes:
        print(f'deeplab: note: {note}', file=sys.stderr)
    try:
        segmenter = open_segmenter(settled.values)
    except ValueError as error:
        raise DeeplabError(str(error)) from None
    try:
        return run.label(args, settled, segmenter)
    finally:
        segmenter.close()
