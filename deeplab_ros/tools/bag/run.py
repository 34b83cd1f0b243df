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
A run's threads: a reader, the labeller, a writer, with bounded queues between them.

The reader thread reads the input in order and decodes compressed frames ahead, the calling
thread segments (:class:`~deeplab_ros.tools.bag.labeller.Labeller`), the writer thread writes
the output bag, which it always closes: after Ctrl-C it holds what was done.
"""

import argparse
from pathlib import Path
import queue
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import cv2
from deeplab_ros import parameters
from deeplab_ros.errors import DeeplabError
from deeplab_ros.frame.clouds import CameraClouds, CLOUD_OUTPUTS
from deeplab_ros.frame.codec import DecodeError
from deeplab_ros.frame.job import FrameJob
from deeplab_ros.frame.memory import FrameMemory
from deeplab_ros.frame.wire import Frame, read_frame
from deeplab_ros.tools.bag import msgtypes
from deeplab_ros.tools.bag.labeller import BagMessages, Labeller
from deeplab_ros.tools.bag.plan import finish_partial, Plan, SETTINGS_KEY, start_partial
from deeplab_ros.tools.bag.reader import Item, open_reader, storage_of
from deeplab_ros.tools.bag.report import BagResult, print_summary
from deeplab_ros.tools.bag.settings import OUTPUTS
from deeplab_ros.tools.bag.writer import BagWriter
import numpy as np

QUEUE = 8  # items between threads (a 720p rgb8 frame is 2.7 MB)
END = None  # the last item of a queue


class ReadThread(threading.Thread):
    """Read the bag's messages in order and prepare them for the labeller."""

    def __init__(self, path: Path, topics: Dict[str, str], window: Tuple[int, int],
                 every: int, job: FrameJob, max_pixels: int, typestore,
                 passthrough: Set[str]) -> None:
        """
        Prepare to read ``topics`` of the bag at ``path`` (:meth:`start` reads).

        :param topics: The topics to read, by role (frame, info, depth or other).
        :param window: Bag times, ns, from (inclusive) and to (exclusive).
        :param passthrough: The topics whose messages go into the new bag too.
        """
        super().__init__(name='deeplab_bag_reader', daemon=True)
        self.path, self.topics, self.window = path, topics, window
        self.every, self.job, self.max_pixels = every, job, max_pixels
        self.typestore, self.passthrough = typestore, passthrough
        self.queue: 'queue.Queue[Optional[Item]]' = queue.Queue(QUEUE)
        self.stopping = threading.Event()
        self.counts: Dict[str, int] = {}

    def _put(self, item: Optional[Item]) -> None:
        """Queue an item, unless told to stop first."""
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        """Read until the end of the window, or until stopped."""
        try:
            reader = open_reader(self.path)
            try:
                self._read(reader)
            finally:
                reader.close()
            self._put(END)
        except Exception as error:  # hand it to the labeller, which raises it
            if not isinstance(error, DeeplabError):
                error = DeeplabError(f'{self.path}: cannot read the bag: {error}')
            self._put(Item('error', '', 0, None, error))

    def _read(self, reader) -> None:
        """Queue the window's messages, after the newest camera_info from before it."""
        connections = [c for c in reader.connections if c.topic in self.topics]
        start, stop = self.window
        infos = [c for c in connections if self.topics[c.topic] == 'info']
        if infos and start > reader.start_time:
            latest = {}
            for connection, stamp, data in reader.messages(infos, stop=start):
                latest[connection.topic] = (connection, stamp, data)
            for connection, stamp, data in latest.values():
                self._put(self._item(connection, stamp, data, write=False))
        for connection, stamp, data in reader.messages(connections, start=start, stop=stop):
            if self.stopping.is_set():
                return
            self._put(self._item(connection, stamp, data))

    def _item(self, connection, stamp: int, data, write: bool = True) -> Item:
        """Return the item of a message, read as its role needs."""
        topic, role = connection.topic, self.topics[connection.topic]
        item = Item(role, topic, stamp, data, write=write and topic in self.passthrough)
        if role == 'info':
            try:
                item.payload = self.typestore.deserialize_cdr(data, connection.msgtype)
            except Exception:  # an unreadable camera_info: the previous one stays
                item.payload = None
        elif role == 'depth':
            try:
                item.payload = self._read_frame(connection.msgtype, data)
            except Exception:  # an unreadable depth image: the clouds wait for the next
                item.payload = None
        elif role == 'frame':
            index = self.counts[topic] = self.counts.get(topic, -1) + 1
            if index % self.every:
                item.kind = 'skip'
            else:
                item.payload = self._frame(connection.msgtype, data)
        return item

    def _read_frame(self, msgtype: str, data) -> Frame:
        """Return the fields of a serialized image (rosbags' deserializer as the fallback)."""
        return read_frame(data, msgtype == msgtypes.COMPRESSED,
                          lambda buffer: self.typestore.deserialize_cdr(buffer, msgtype))

    def _frame(self, msgtype: str, data) -> Tuple[Any, Any]:
        """Return (frame, its RGB pixels), decoded here, ahead of the labeller; or (None, why)."""
        try:
            frame = self._read_frame(msgtype, data)
            return frame, self.job.decode(frame, self.max_pixels)
        except DecodeError as error:
            return None, str(error)
        except Exception as error:  # rosbags cannot read the message either
            return None, f'unreadable message: {type(error).__name__}: {error}'


class WriteThread(threading.Thread):
    """Write messages (and PNG pairs) in the order given; open and close the bag."""

    def __init__(self, bag: BagWriter, custom: Dict[str, str],
                 outputs: Sequence[Tuple[str, str, bool]], passthrough: Sequence[Any],
                 png: Optional[Path]) -> None:
        """
        Prepare to write ``bag`` (:meth:`start` opens it).

        :param outputs: ``(topic, type, latched)`` of each output topic.
        :param passthrough: The input connections to copy.
        :param png: The folder of the PNG pairs, if any.
        """
        super().__init__(name='deeplab_bag_writer')  # not a daemon: the bag is always closed
        self.bag, self.custom, self.outputs, self.inputs = bag, custom, outputs, passthrough
        self.png = png
        self.queue: 'queue.Queue[Any]' = queue.Queue(QUEUE)
        self.ready = threading.Event()
        self.error: Optional[BaseException] = None
        self.written: Dict[str, int] = {}

    def run(self) -> None:
        """Open the bag, write until told to stop, close it."""
        opened = False
        try:
            self.bag.open(self.custom)
            opened = True
            connections = {t: self.bag.add_output(t, kind, latched)
                           for t, kind, latched in self.outputs}
            for connection in self.inputs:
                if connection.topic not in connections:
                    connections[connection.topic] = self.bag.add_passthrough(connection)
            self.ready.set()
            while True:
                try:
                    batch = self.queue.get(timeout=0.5)
                except queue.Empty:  # a main thread gone (a second Ctrl-C) ends it too
                    if threading.main_thread().is_alive():
                        continue
                    break
                if batch is END:
                    break
                messages, png = batch
                for topic, stamp, data in messages:
                    self.bag.write(connections[topic], stamp, data)
                    self.written[topic] = self.written.get(topic, 0) + 1
                if png is not None:
                    self._png(*png)
        except BaseException as error:
            self.error = error
        finally:
            self.ready.set()
            if opened:
                try:
                    self.bag.close()
                except BaseException as error:
                    self.error = self.error or error

    def _png(self, name: str, rgb: np.ndarray, labels: np.ndarray) -> None:
        """Write a frame's image and label map as a pair for deeplab eval."""
        for folder, image in (('images', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)),
                              ('masks', labels)):
            path = self.png / folder / (name + '.png')
            if not cv2.imwrite(str(path), image):
                raise OSError(f'cannot write {path}')

    def put(self, batch: Any) -> None:
        """Queue a batch ``(messages, png)`` or :data:`END`; raise when the writer failed."""
        while True:
            if self.error is not None or not self.is_alive():
                raise DeeplabError(f'cannot write {self.bag.path}: '
                                   f'{self.error or "the writer stopped"}')
            try:
                self.queue.put(batch, timeout=0.1)
                return
            except queue.Full:
                continue


def _output_topics(plan: Plan, class_count: int) -> List[Tuple[str, str, bool]]:
    """Set up each camera's clouds; return ``(topic, type, latched)`` of every output topic."""
    outputs, geometry = plan.outputs, plan.values['geometry']
    for camera in plan.cameras:
        if outputs & set(CLOUD_OUTPUTS) and camera.info_topic and (
                camera.depth_topic or geometry != 'depth'):
            camera.clouds = CameraClouds(geometry, class_count, camera.info_topic,
                                         camera.depth_topic or camera.namespace + '/depth')
    kinds = {'camera_info': msgtypes.CAMERA_INFO, 'label_info': msgtypes.LABEL_INFO,
             **dict.fromkeys(CLOUD_OUTPUTS, msgtypes.POINT_CLOUD)}
    return [(c.output(name), kinds.get(name, msgtypes.IMAGE), name == 'label_info')
            for c in plan.cameras for name in OUTPUTS if name in outputs
            and (name != 'camera_info' or c.info_topic)
            and (name not in CLOUD_OUTPUTS or c.clouds is not None)]


def _roles(args: argparse.Namespace, plan: Plan, produced: Set[str],
           notes: List[str]) -> Tuple[List[Any], Dict[str, str]]:
    """Return the input connections passed through, and the role of each topic read."""
    replaced = sorted(c.topic for c in plan.inputs if c.topic in produced)
    if replaced and args.passthrough:
        notes.append(f"replacing the input's {', '.join(replaced)}")
    passthrough = [c for c in plan.inputs if c.topic not in produced and args.passthrough]
    roles = {c.topic: 'other' for c in passthrough}
    for camera in plan.cameras:
        roles.update({camera.topic: 'frame', camera.info_topic: 'info',
                      camera.depth_topic: 'depth'})
    roles.pop('', None)
    return passthrough, roles


def _png_folder(args: argparse.Namespace, plan: Plan) -> Optional[Path]:
    """Return the folder of the PNG pairs (created), or None without --png."""
    if not args.png:
        return None
    png = Path(args.png)
    if png.resolve().is_relative_to(plan.out.resolve()):
        raise DeeplabError(f'--png {png}: put the pairs outside the bag folder {plan.out}')
    for folder in ('images', 'masks'):
        (png / folder).mkdir(parents=True, exist_ok=True)
    return png


def _check_model(plan: Plan, segmenter, notes: List[str]) -> None:
    """Refuse outputs the model cannot give; note a delegate fallback."""
    info = segmenter.info
    if 'confidence' in plan.outputs and not info.has_scores:
        raise DeeplabError(f'output confidence needs a model with class scores; '
                           f'{info.model_name} outputs class ids')
    if info.fallback_reason:
        notes.append(f'running on {info.delegate}: {info.fallback_reason}')


def _run_threads(writer: WriteThread, reader: ReadThread, labeller: Labeller) -> bool:
    """Run the threads to the end of the bag; return whether Ctrl-C (or a stop) ended it."""
    interrupted = False
    writer.start()
    try:
        writer.ready.wait()
        if writer.error is None:
            reader.start()
            labeller.run(iter(reader.queue.get, END))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        reader.stopping.set()
        try:
            writer.put(END)
        except DeeplabError:  # it failed: its error is reported by the caller
            pass
        writer.join()
    return interrupted


def label(args: argparse.Namespace, plan: Plan, segmenter, progress,
          verbose: bool = True) -> BagResult:
    """
    Label the bag of ``plan`` into a temporary folder, renamed to OUT when complete.

    :param progress: ``show(frames, bag_ns, final=False)``, called after every message; it may
        raise KeyboardInterrupt to stop the bag.
    :param verbose: Print the notes, the header and the per-topic summary (one bag).
    :raises DeeplabError: The bag cannot be labelled or written (why).
    """
    notes: List[str] = []
    _check_model(plan, segmenter, notes)
    info, names = segmenter.info, segmenter.class_names
    topics = _output_topics(plan, len(names))
    passthrough, roles = _roles(args, plan, {t for t, _, _ in topics}, notes)
    png = _png_folder(args, plan)
    typestore = msgtypes.make_typestore(plan.distro)
    storage = args.storage or storage_of(plan.source)
    partial = start_partial(plan.out)
    writer = WriteThread(
        BagWriter(partial, storage, msgtypes.Definitions(typestore, plan.distro, plan.recorded)),
        {'deeplab_ros.model': info.model_name, 'deeplab_ros.input': str(plan.source),
         SETTINGS_KEY: plan.digest}, topics, passthrough, png)
    job = FrameJob(segmenter)
    live = parameters.Live.from_values(plan.values, segmenter.class_ids)
    reader = ReadThread(plan.source, roles, plan.window, args.every, job,
                        live.max_input_pixels, typestore, {c.topic for c in passthrough})
    labeller = Labeller(job, live, plan.outputs, plan.cameras,
                        BagMessages(typestore, names, plan.outputs), writer, png is not None,
                        progress)
    if verbose:
        for note in notes:
            print(f'deeplab: note: {note}', file=sys.stderr)
        print(f'deeplab bag: {plan.source} -> {plan.out} ({storage}, {plan.distro}; '
              f'{info.model_name}, {info.delegate}, {info.num_threads} threads)')
    FrameMemory()
    started = time.perf_counter()
    interrupted = _run_threads(writer, reader, labeller)
    if writer.error is not None:
        raise DeeplabError(f'cannot write {plan.out}: {writer.error}')
    seconds = time.perf_counter() - started
    if not interrupted:
        finish_partial(partial, plan.out)
    result = BagResult.of_cameras(plan, names, seconds, interrupted, notes)
    if verbose:
        print_summary(plan.cameras, names, writer.written, seconds,
                      f'; interrupted (Ctrl-C): the frames done are in {partial}, a valid bag'
                      if interrupted else '')
    return result
