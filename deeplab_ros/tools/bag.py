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
``deeplab bag``: label every camera frame of a recorded ROS 2 bag into a new bag, offline.

Each frame goes through the node's own per-frame job (:class:`deeplab_ros.frame.job.FrameJob`)
with the node's parameters, and comes out as the node's messages under its camera's namespace,
at the input message's bag timestamp. Nothing is dropped and nothing depends on timing: the
same bag and settings give the same output bag. A reader thread reads (and decodes compressed
frames ahead), the calling thread segments, a writer thread writes; bounded queues between.
Messages go out in the order of the input, a frame's outputs right after it.
"""

import argparse
from collections import deque
import dataclasses
from pathlib import Path
import queue
import shutil
import sys
import time
from typing import Any, Deque, Dict, List, Optional, Sequence, Set, Tuple

from deeplab_ros.errors import DeeplabError
from deeplab_ros.frame import parameters
from deeplab_ros.frame.clouds import CameraClouds, CLOUD_OUTPUTS
from deeplab_ros.frame.codec import DecodeError, RAW_ENCODINGS
from deeplab_ros.frame.job import FrameJob, IMAGE_OUTPUTS
import numpy as np
import yaml

OUTPUTS = ('labels', 'camera_info', 'label_info') + IMAGE_OUTPUTS[1:] + CLOUD_OUTPUTS
#: Node parameters about live streams: a bag has what it has.
LIVE_ONLY = ('max_rate', 'cameras', 'input_transport')
NODE_NAME = 'deeplab'
_WAIT_NS = 250_000_000  # how long (bag time, past depth_slop) a frame waits for its inputs


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


def _positive(text: str) -> int:
    """Parse a positive whole number for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected a whole number, not %r' % text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1, not %d' % value)
    return value


def _seconds(text: str) -> float:
    """Parse a non-negative number of seconds for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected seconds, not %r' % text)
    if value < 0:
        raise argparse.ArgumentTypeError('must not be negative: %s' % text)
    return value


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
    parser.add_argument('--threads', '-t', type=_positive, default=None,
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
    parser.add_argument('--every', type=_positive, default=1, metavar='N',
                        help='segment every N-th frame of each topic (default: every frame)')
    parser.add_argument('--start', type=_seconds, default=None, metavar='S',
                        help='begin S seconds after the start of the bag')
    parser.add_argument('--end', type=_seconds, default=None, metavar='S',
                        help='stop S seconds after the start of the bag')
    parser.add_argument('--png', default='', metavar='DIR', help='also write DIR/images/*.png '
                        '(RGB) and DIR/masks/*.png (class ids) for deeplab eval')


def read_params(path: str) -> Tuple[Dict[str, Any], List[str]]:
    """
    Return the parameters a node parameter file sets for the node, and notes about them.

    Entries for every node (``/**``, ``/*``) and for a node named ``deeplab`` (in any
    namespace) apply, in file order; values are typed as the node types them.

    :raises DeeplabError: The file cannot be read, applies to no such node, names unknown
        parameters or holds invalid values.
    """
    try:
        with open(path, encoding='utf-8') as stream:
            data = yaml.safe_load(stream)
    except OSError as error:
        raise DeeplabError(f'{path}: cannot read the parameter file: {error.strerror}')
    except yaml.YAMLError as error:
        raise DeeplabError(f'{path}: not a YAML parameter file: {error}')
    entries: List[Tuple[str, Any]] = []

    def walk(node: Any, key: str) -> None:
        for name, value in (node.items() if isinstance(node, dict) else ()):
            if name == 'ros__parameters':
                entries.append((key, value))
            elif isinstance(value, dict):
                walk(value, f'{key}/{str(name).strip("/")}')
    walk(data, '')
    if not entries:
        raise DeeplabError(f'{path}: no ros__parameters in it (a node parameter file is keyed '
                           'by node, e.g. /**: ros__parameters: ...)')
    given: Dict[str, Any] = {}
    for key, values in entries:
        if key.rsplit('/', 1)[-1] in ('**', '*', NODE_NAME) and isinstance(values, dict):
            given.update(values)
    if not given:
        raise DeeplabError(f'{path}: nothing for a node named {NODE_NAME}: its entries are for '
                           f'{", ".join(k for k, _ in entries)} (key them /** or /**/deeplab)')
    unknown = sorted(set(given) - set(parameters.SPECS))
    if unknown:
        raise DeeplabError(f'{path}: unknown parameters: {", ".join(unknown)} (see the README, '
                           'Parameters)')
    values = {name: _typed(path, name, value) for name, value in given.items()}
    for name, value in values.items():
        reason = parameters.check(name, value)
        if reason:
            raise DeeplabError(f'{path}: {reason}')
    notes = []
    live = [name for name in LIVE_ONLY if name in values]
    if live:
        notes.append(f'parameters for live streams do not apply to a bag: {", ".join(live)}')
    return values, notes


def _typed(path: str, name: str, value: Any) -> Any:
    """Return a parameter file value as the node's parameter type, or raise DeeplabError."""
    default = parameters.SPECS[name].default
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            isinstance(default, float) or isinstance(value, int))
        value = type(default)(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value)
        value = [str(v) for v in value] if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        kind = {bool: 'true or false', int: 'a whole number', float: 'a number',
                list: 'a list of strings', str: 'a string'}[type(default)]
        raise DeeplabError(f'{path}: {name} takes {kind}, not {value!r}')
    return value


@dataclasses.dataclass(eq=False)
class Camera:
    """One camera of the bag: its image topic, inputs, outputs and counts."""

    namespace: str  # '/front', or '' for the root namespace
    topic: str
    info_topic: str = ''   # '' when the bag has none
    depth_topic: str = ''
    clouds: Optional[CameraClouds] = None
    info: Any = None
    newest_depth_ns: int = -1
    label_info_sent: bool = False
    frames: int = 0
    skipped: int = 0
    rejected: int = 0
    reasons: Dict[str, int] = dataclasses.field(default_factory=dict)
    notes: Dict[str, int] = dataclasses.field(default_factory=dict)
    pixels: Optional[np.ndarray] = None
    png_names: Set[str] = dataclasses.field(default_factory=set)

    def output(self, name: str) -> str:
        """Return the topic of an output of this camera."""
        return f'{self.namespace}/segmentation/{name}'

    def reject(self, reason: str) -> None:
        """Count a malformed frame."""
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def camera_of(topic: str, compressed: bool) -> str:
    """Return an image topic's camera: its namespace (/front/image_raw/compressed: /front)."""
    parts = topic.strip('/').split('/')
    if compressed and len(parts) > 1 and parts[-1] == 'compressed':
        parts = parts[:-1]
    return '/' + '/'.join(parts[:-1]) if len(parts) > 1 else ''


class Progress:
    """A progress line on stderr when it is a terminal: frames, fps, ETA."""

    def __init__(self, total: int, start_ns: int, end_ns: int) -> None:
        """Expect about ``total`` frames over the bag times ``start_ns`` to ``end_ns``."""
        self.on = sys.stderr.isatty()
        self.total, self.span = total, (start_ns, max(end_ns, start_ns + 1))
        self.started = self.shown = time.perf_counter()

    def show(self, frames: int, bag_ns: int, final: bool = False) -> None:
        """Redraw the line (at most 5 times a second)."""
        now = time.perf_counter()
        if not self.on or (now - self.shown < 0.2 and not final):
            return
        self.shown = now
        elapsed = now - self.started
        done = min(1.0, max(0.0, (bag_ns - self.span[0]) / (self.span[1] - self.span[0])))
        eta = elapsed * (1 - done) / done if done > 0 else 0.0
        sys.stderr.write('\r  %d/~%d frames  %.1f fps  %3.0f%%  ETA %d:%02d   ' % (
            frames, self.total, frames / max(elapsed, 1e-9), 100 * done, eta // 60, eta % 60))
        if final:
            sys.stderr.write('\n')
        sys.stderr.flush()


@dataclasses.dataclass
class _Entry:
    """A place in the output order: messages ready to write, or a frame not yet segmented."""

    messages: List[Tuple[str, int, Any]]
    item: Any = None   # bag_io.Item of a frame waiting for its depth image
    camera: Optional[Camera] = None
    png: Any = None


class Labeller:
    """Segment the frames the reader hands over and queue their outputs, in input order."""

    def __init__(self, job: FrameJob, live, outputs: Set[str], cameras: Sequence[Camera],
                 messages, names: Sequence[str], writer, png: bool,
                 progress: Progress) -> None:
        """Label frames of ``cameras`` with ``job`` into ``outputs``."""
        self.job, self.live, self.outputs, self.messages = job, live, outputs, messages
        self.wanted = frozenset(outputs & (set(IMAGE_OUTPUTS) | set(CLOUD_OUTPUTS)))
        self.needs_info = bool(outputs & ({'camera_info'} | set(CLOUD_OUTPUTS)))
        self.names, self.writer, self.png, self.progress = names, writer, png, progress
        self.by_topic: Dict[str, Camera] = {}
        for camera in cameras:
            for topic in (camera.topic, camera.info_topic, camera.depth_topic):
                if topic:
                    self.by_topic[topic] = camera
        self.entries: Deque[_Entry] = deque()
        self.frames, self.bag_ns = 0, 0

    def run(self, items: 'queue.Queue[Any]') -> None:
        """Handle items until the reader's end; raise its error, if any."""
        for item in iter(items.get, None):
            if item.kind == 'error':
                raise item.payload
            self.bag_ns = item.stamp
            camera = self.by_topic.get(item.topic)
            if item.kind == 'info' and item.payload is not None:
                camera.info = item.payload
                if camera.clouds is not None:
                    camera.clouds.info = item.payload
            elif item.kind == 'depth' and item.payload is not None:
                camera.clouds.add_depth(item.payload)
                camera.newest_depth_ns = max(camera.newest_depth_ns, item.payload.stamp_ns)
            elif item.kind == 'skip':
                camera.skipped += 1
            passed = [(item.topic, item.stamp, item.data)] if item.write else []
            if item.kind == 'frame':  # the frame and its outputs go out together
                self.entries.append(_Entry(passed, item, camera))
            elif passed:
                self.entries.append(_Entry(passed))
            for entry in self.entries:
                if entry.item is not None and not self._waits(entry):
                    self._segment(entry)
            self._flush()
            self.progress.show(self.frames, self.bag_ns)
        for entry in self.entries:
            if entry.item is not None:
                self._segment(entry)
        self._flush()
        self.progress.show(self.frames, self.bag_ns, final=True)

    def _waits(self, entry: _Entry) -> bool:
        """Return whether a frame waits for its camera's first camera_info or a newer depth."""
        camera, item = entry.camera, entry.item
        frame = item.payload[0]
        if frame is None:
            return False
        waits = (camera.info_topic and camera.info is None and self.needs_info) or (
            camera.depth_topic and camera.newest_depth_ns < frame.stamp_ns)
        return bool(waits) and self.bag_ns < (
            item.stamp + self.live.depth_slop * 1e9 + _WAIT_NS)

    def _flush(self) -> None:
        """Hand the ready entries at the front to the writer."""
        while self.entries and self.entries[0].item is None:
            entry = self.entries.popleft()
            self.writer.put((entry.messages, entry.png))

    def _segment(self, entry: _Entry) -> None:
        """Segment a frame into its entry's messages; count it or its rejection."""
        camera, item = entry.camera, entry.item
        entry.item = None
        frame, reason = item.payload
        if frame is None:
            camera.reject(reason)
            return
        try:
            out = self.job.run(frame, self.live, self.wanted, camera.clouds)
        except DecodeError as error:
            camera.reject(str(error))
            return
        head, messages, stamp = self.messages.header(frame), entry.messages, item.stamp
        if 'label_info' in self.outputs and not camera.label_info_sent:
            messages.append((camera.output('label_info'), stamp,
                             self.messages.label_info(head, self.names)))
            camera.label_info_sent = True
        for name in IMAGE_OUTPUTS:
            pixels = getattr(out, name)
            if pixels is not None and name in self.outputs:
                encoding = out.labels_encoding if name == 'labels' else (
                    'rgb8' if pixels.ndim == 3 else 'mono8')
                messages.append((camera.output(name), stamp,
                                 self.messages.image(head, pixels, encoding)))
        if camera.info is not None and 'camera_info' in self.outputs:
            messages.append((camera.output('camera_info'), stamp, self.messages.camera_info(
                camera.info, head, out.image_size, out.labels.shape[::-1])))
        for name, packed in out.clouds.items():
            messages.append((camera.output(name), stamp, self.messages.point_cloud(head, packed)))
        if camera.clouds is not None:
            for note in camera.clouds.notes.values():
                camera.notes[note] = camera.notes.get(note, 0) + 1
        counts = np.bincount(out.labels[::4, ::4].ravel(), minlength=len(self.names))
        camera.pixels = counts if camera.pixels is None else camera.pixels + counts
        camera.frames += 1
        self.frames += 1
        if self.png:
            name = '%s_%d_%09d' % (camera.namespace.strip('/').replace('/', '_') or 'camera',
                                   frame.sec, frame.nanosec)
            unique, n = name, 1
            while unique in camera.png_names:
                n += 1
                unique = f'{name}_{n}'
            camera.png_names.add(unique)
            entry.png = (unique, self.job.decode(frame, self.live.max_input_pixels),
                         out.labels.copy())


def _values(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[str]]:
    """Return the node parameter values for this run (defaults, file, options) and notes."""
    values = {name: spec.default for name, spec in parameters.SPECS.items()}
    notes: List[str] = []
    if args.params_file:
        given, notes = read_params(args.params_file)
        values.update(given)
    if args.model is not None:
        values['model'] = args.model
    if args.threads is not None:
        values['num_threads'] = args.threads
    return values, notes


def _outputs(chosen: Sequence[str], values: Dict[str, Any]) -> Set[str]:
    """Return the outputs to write: --outputs with 'default' expanded, checked against values."""
    geometry = values['geometry']
    needs = {'mask': 'mask_classes', 'obstacles': 'obstacle_classes',
             'ground': 'ground_classes'}
    default = {'labels', 'camera_info', 'label_info'}
    if geometry != 'none':
        default |= {name for name in CLOUD_OUTPUTS if name == 'points' or values[needs[name]]}
    outputs: Set[str] = set()
    for name in chosen:
        outputs |= default if name == 'default' else {name}
    for name, parameter in needs.items():
        if name in outputs and not values[parameter]:
            raise DeeplabError(f'output {name} needs {parameter} (in the params file)')
    if outputs & set(CLOUD_OUTPUTS) and geometry == 'none':
        raise DeeplabError('the cloud outputs need geometry depth or ground_plane (in the '
                           'params file) and its parameters')
    return outputs


def _check_out(source: Path, out: Path, overwrite: bool) -> None:
    """Refuse to write into the input, or over anything but a bag (and that with --overwrite)."""
    src, dst = source.resolve(), out.resolve()
    if dst == src or src.is_relative_to(dst) or (src.is_dir() and dst.is_relative_to(src)):
        raise DeeplabError(f'{out}: refusing to write into or over the input bag {source}')
    if not out.exists() and not out.is_symlink():
        return
    if not overwrite:
        raise DeeplabError(f'{out} exists: choose another --out, or add --overwrite')
    if out.is_dir() and not out.is_symlink():
        strays = [p.name for p in out.iterdir() if p.suffix not in ('.yaml', '.db3', '.mcap')]
        if strays:
            raise DeeplabError(f'{out} is not a bag folder ({", ".join(strays[:3])} in it): '
                               '--overwrite replaces bags only')


def _remove(out: Path) -> None:
    """Remove the bag --overwrite replaces."""
    if out.is_dir() and not out.is_symlink():
        shutil.rmtree(out)
    elif out.exists() or out.is_symlink():
        out.unlink()


def _choose_topics(reader, args: argparse.Namespace, io) -> Tuple[Dict[str, str], List[str]]:
    """Return the image topics to segment (topic: type) and notes on those left out."""
    images = {t: i.msgtype for t, i in reader.topics.items()
              if i.msgtype in (io.IMAGE, io.COMPRESSED)}
    listing = ', '.join(sorted(images)) or 'none'
    if args.topics:
        unknown = [t for t in args.topics if t not in images]
        if unknown:
            raise DeeplabError(f'{args.input} has no image topic {", ".join(unknown)}; its '
                               f'image topics: {listing}')
        return {t: images[t] for t in args.topics}, []
    depths = {topic for _, topic in args.depth}
    chosen, notes = {}, []
    for topic, msgtype in sorted(images.items()):
        tokens = topic.lower().strip('/').split('/')
        if topic in depths or 'segmentation' in tokens or any('depth' in t for t in tokens):
            continue
        if msgtype == io.IMAGE:
            encoding = io.first_encoding(reader, topic)
            if encoding and encoding not in RAW_ENCODINGS:
                notes.append(f'left out {topic}: {encoding} images are not camera images')
                continue
        chosen[topic] = msgtype
    if not chosen:
        raise DeeplabError(f'{args.input} has no camera image topic to segment; its image '
                           f'topics: {listing}')
    return chosen, notes


def _cameras(reader, args: argparse.Namespace, values: Dict[str, Any], outputs: Set[str],
             io) -> Tuple[List[Camera], List[str]]:
    """Return the cameras of the chosen image topics, with their inputs, and notes."""
    chosen, notes = _choose_topics(reader, args, io)
    cameras: Dict[str, Camera] = {}
    for topic, msgtype in chosen.items():
        namespace = camera_of(topic, msgtype == io.COMPRESSED)
        other = cameras.get(namespace)
        if other is not None:
            raw = topic if msgtype == io.IMAGE else other.topic
            if args.topics or chosen[other.topic] == msgtype:
                raise DeeplabError(f'{other.topic} and {topic} are both images of camera '
                                   f'{namespace or "/"}, whose outputs they would share: '
                                   'choose one with --topics')
            notes.append(f'camera {namespace or "/"}: segmenting {raw}, not '
                         f'{topic if raw == other.topic else other.topic}')
            other.topic = raw
            continue
        cameras[namespace] = Camera(namespace, topic)
    types = {t: i.msgtype for t, i in reader.topics.items()}
    depths = dict(args.depth)
    unknown = sorted(set(depths) - set(cameras))
    if unknown:
        raise DeeplabError(f'--depth names camera {", ".join(unknown)}; the cameras are '
                           f'{", ".join(c or "/" for c in sorted(cameras))}')
    for camera in cameras.values():
        info = camera.namespace + '/camera_info'
        camera.info_topic = info if types.get(info) == io.CAMERA_INFO else ''
        if not camera.info_topic and outputs & ({'camera_info'} | set(CLOUD_OUTPUTS)):
            notes.append(f'no {info} in the bag: no camera_info or clouds for {camera.topic}')
        if values['geometry'] == 'depth' and outputs & set(CLOUD_OUTPUTS):
            candidates = [depths[camera.namespace]] if camera.namespace in depths else [
                camera.namespace + '/depth', camera.namespace + '/depth/image_raw']
            found = [t for t in candidates if types.get(t) == io.IMAGE]
            if found:
                camera.depth_topic = found[0]
            elif camera.namespace in depths:
                raise DeeplabError(f'--depth: {args.input} has no Image topic {candidates[0]}')
            else:
                notes.append(f'no depth image topic {" or ".join(candidates)}: no clouds for '
                             f'{camera.topic} (name one with --depth '
                             f'{camera.namespace or "/"}=TOPIC)')
    if values['geometry'] == 'depth' and outputs & set(CLOUD_OUTPUTS) and not any(
            c.depth_topic for c in cameras.values()):
        raise DeeplabError('geometry depth needs a registered depth image topic: ' + '; '.join(
            n for n in notes if n.startswith('no depth')))
    return list(cameras.values()), notes


def _summary(cameras: Sequence[Camera], names: Sequence[str], written: Dict[str, int],
             seconds: float, interrupted: bool) -> None:
    """Print frames per topic, rejections, class fractions, what was written, time taken."""
    frames = sum(c.frames for c in cameras)
    for camera in cameras:
        every = f', {camera.skipped} left out by --every' if camera.skipped else ''
        print(f'  {camera.topic}: {camera.frames} frames segmented, {camera.rejected} '
              f'rejected{every}')
        if camera.pixels is not None and camera.pixels.sum():
            shares = camera.pixels / camera.pixels.sum()
            top = [i for i in np.argsort(-shares) if shares[i] >= 0.001][:8]
            print('    classes: ' + ', '.join(
                f'{names[i] if i < len(names) else i} {100 * shares[i]:.1f}%' for i in top))
        for reason, count in camera.reasons.items():
            print(f'    rejected {count}x: {reason}')
        for note, count in camera.notes.items():
            print(f'    clouds ({count} frames): {note}')
    outputs = {t: n for t, n in written.items() if '/segmentation/' in t}
    print(f'  written: {sum(outputs.values())} output messages on {len(outputs)} topics, '
          f'{sum(written.values()) - sum(outputs.values())} messages passed through')
    print(f'  {frames} frames in {seconds:.1f} s ({frames / max(seconds, 1e-9):.1f} fps)'
          + ('; interrupted (Ctrl-C): the bag holds the frames done' if interrupted else ''))


@dataclasses.dataclass
class Plan:
    """What a run reads and writes, settled before the model loads."""

    source: Path
    out: Path
    values: Dict[str, Any]
    outputs: Set[str]
    cameras: List[Camera]
    distro: str
    window: Tuple[int, int]    # bag times, ns: from (inclusive), to (exclusive)
    frames: int                # about how many frames will be segmented
    recorded: List[Tuple[str, str]]  # the input's message definitions
    inputs: List[Any]          # the input's connections, one per topic


def _plan(args: argparse.Namespace, io) -> Tuple[Plan, List[str]]:
    """Read the settings and the input bag's topics; return the plan and notes."""
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise DeeplabError(f'--end {args.end:g} is not after --start {args.start:g}')
    values, notes = _values(args)
    outputs = _outputs(args.outputs, values)
    source = Path(args.input)
    reader = io.open_reader(source)
    try:
        cameras, more = _cameras(reader, args, values, outputs, io)
        first, last = reader.start_time, reader.end_time
        window = (first + int((args.start or 0) * 1e9),
                  last if args.end is None else first + int(args.end * 1e9))
        share = (window[1] - window[0]) / max(last - first, 1)
        counts = {t: i.msgcount for t, i in reader.topics.items()}
        plan = Plan(source, Path(args.out), values, outputs, cameras,
                    args.distro or (reader.ros_distro if reader.ros_distro in io.DISTROS
                                    else 'jazzy'),
                    window, int(sum(counts[c.topic] for c in cameras) * share / args.every),
                    io.recorded_definitions(reader),
                    list({c.topic: c for c in reader.connections}.values()))
    finally:
        reader.close()
    _check_out(source, plan.out, args.overwrite)
    return plan, notes + more


def run(args: argparse.Namespace) -> int:
    """Label the bag; return the exit status (130 after Ctrl-C, the bag closed)."""
    try:
        from deeplab_ros.tools import bag_io as io
    except ImportError as error:
        raise DeeplabError(f'deeplab bag needs the rosbags package ({error}): pip install '
                           'rosbags') from None
    plan, notes = _plan(args, io)
    for note in notes:
        print(f'deeplab: note: {note}', file=sys.stderr)
    try:
        segmenter = parameters.open_segmenter(plan.values)
    except ValueError as error:
        raise DeeplabError(str(error)) from None
    try:
        return _label(io, args, plan, segmenter)
    finally:
        segmenter.close()


def _label(io, args: argparse.Namespace, plan: Plan, segmenter) -> int:
    """Run the reader, labeller and writer threads over the bag; print the summary."""
    info, names, outputs = segmenter.info, segmenter.class_names, plan.outputs
    if 'confidence' in outputs and not info.has_scores:
        raise DeeplabError(f'output confidence needs a model with class scores; '
                           f'{info.model_name} outputs class ids')
    if info.fallback_reason:
        print(f'deeplab: note: running on {info.delegate}: {info.fallback_reason}',
              file=sys.stderr)
    live = parameters.Live.from_values(plan.values, segmenter.class_ids)
    geometry = plan.values['geometry']
    for camera in plan.cameras:
        if outputs & set(CLOUD_OUTPUTS) and camera.info_topic and (
                camera.depth_topic or geometry != 'depth'):
            camera.clouds = CameraClouds(geometry, len(names), camera.info_topic,
                                         camera.depth_topic or camera.namespace + '/depth')
    kinds = {'camera_info': io.CAMERA_INFO, 'label_info': io.LABEL_INFO,
             **dict.fromkeys(CLOUD_OUTPUTS, io.POINT_CLOUD)}
    topics = [(c.output(name), kinds.get(name, io.IMAGE), name == 'label_info')
              for c in plan.cameras for name in OUTPUTS if name in outputs
              and (name != 'camera_info' or c.info_topic)
              and (name not in CLOUD_OUTPUTS or c.clouds is not None)]
    produced = {topic for topic, _, _ in topics}
    replaced = sorted(c.topic for c in plan.inputs if c.topic in produced)
    if replaced and args.passthrough:
        print(f"deeplab: note: replacing the input's {', '.join(replaced)}", file=sys.stderr)
    passthrough = [c for c in plan.inputs if c.topic not in produced and args.passthrough]
    roles = {c.topic: 'other' for c in passthrough}
    for camera in plan.cameras:
        roles.update({camera.topic: 'frame', camera.info_topic: 'info',
                      camera.depth_topic: 'depth'})
    roles.pop('', None)
    png = Path(args.png) if args.png else None
    if png is not None and png.resolve().is_relative_to(plan.out.resolve()):
        raise DeeplabError(f'--png {png}: put the pairs outside the bag folder {plan.out}')
    for folder in ('images', 'masks') if png else ():
        (png / folder).mkdir(parents=True, exist_ok=True)
    typestore = io.make_typestore(plan.distro)
    storage = args.storage or io.storage_of(plan.source)
    _remove(plan.out)
    writer = io.WriteThread(
        io.BagWriter(plan.out, storage, io.Definitions(typestore, plan.distro, plan.recorded)),
        {'deeplab_ros.model': info.model_name, 'deeplab_ros.input': str(plan.source)},
        topics, passthrough, png)
    job = FrameJob(segmenter)
    reader = io.ReadThread(plan.source, roles, plan.window, args.every, job,
                           live.max_input_pixels, typestore, {c.topic for c in passthrough})
    labeller = Labeller(job, live, outputs, plan.cameras, io.Messages(typestore), names,
                        writer, png is not None, Progress(plan.frames, *plan.window))
    print(f'deeplab bag: {plan.source} -> {plan.out} ({storage}, {plan.distro}; '
          f'{info.model_name}, {info.delegate}, {info.num_threads} threads)')
    io.keep_freed_buffers()
    started, interrupted = time.perf_counter(), False
    writer.start()
    try:
        writer.ready.wait()
        if writer.error is None:
            reader.start()
            labeller.run(reader.queue)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        reader.stopping.set()
        try:
            writer.put(io.END)
        except DeeplabError:  # it failed: its error is reported below
            pass
        writer.join()
    if writer.error is not None:
        raise DeeplabError(f'cannot write {plan.out}: {writer.error}')
    _summary(plan.cameras, names, writer.written, time.perf_counter() - started, interrupted)
    return 130 if interrupted else 0
