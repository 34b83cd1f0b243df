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
Many bags on a Ray cluster: actors that each hold one interpreter, fed by Ray's ActorPool.

Each actor asks Ray for its CPUs (``num_cpus``: its interpreter's threads) and the memory it
needs, so that Ray places no more on a node than it holds. The model file travels through
Ray's object store: the nodes need no model cache. The bags and outputs are paths that every
node reaches (a shared filesystem). Ray is optional (``pip install ray==2.60.0``).
"""

import argparse
from pathlib import Path
import tempfile
import threading
import time
from typing import Any, Dict, List, Sequence, Tuple

from deeplab_ros.engine import registry
from deeplab_ros.errors import DeeplabError
from deeplab_ros.tools.bag.discovery import BagTask
from deeplab_ros.tools.bag.fleet import BagWorker, not_started, REPORT_S
from deeplab_ros.tools.bag.report import BagResult, FleetProgress

#: The Ray version this is written and tested against.
RAY_VERSION = '2.60.0'
#: Memory an actor asks for beyond 4x its model file: Ray's worker, the interpreter's arena, a
#: bag's queues of frames (16 of 4K rgb8 at most) and the writer's buffers. A process labelling
#: 720p frames with the smallest model peaks at about 140 MiB.
ACTOR_MEMORY = 768 * 2**20
#: Seconds to wait, after Ctrl-C, for the actors to close the bags they are writing.
STOP_S = 60.0


class BagActor:
    """A Ray actor: one interpreter, from a model file handed over in Ray's object store."""

    def __init__(self, args: argparse.Namespace, values: Dict[str, Any], model_name: str,
                 model: bytes) -> None:
        """Write the model file to a folder of its own and open it."""
        self.folder = tempfile.TemporaryDirectory(prefix='deeplab_ros_model_')
        path = Path(self.folder.name) / model_name  # the registry knows it by its file name
        path.write_bytes(model)
        self.lock, self.events, self.stopping = threading.Lock(), [], threading.Event()
        self.worker = BagWorker(args, dict(values, model=str(path)), self._report,
                                self.stopping.is_set)

    def _report(self, *event: Any) -> None:
        with self.lock:
            self.events.append(event)

    def label(self, task: BagTask) -> BagResult:
        """Label one bag."""
        return self.worker.label(task)

    def take_events(self) -> List[Tuple[str, int, int]]:
        """Return the reports of frames done since the last call."""
        with self.lock:
            events, self.events = self.events, []
        return events

    def stop(self) -> None:
        """End the bag being written at its next frame; start no other."""
        self.stopping.set()


def _import_ray() -> Any:
    """Return the ray module, or say how to install it."""
    try:
        import ray
        from ray.util import ActorPool  # noqa: F401
    except ImportError:
        raise DeeplabError('--ray needs Ray here and on every node of the cluster, the same '
                           f'version: pip install ray=={RAY_VERSION} (or "ray[client]=='
                           f'{RAY_VERSION}" for a ray:// address)') from None
    return ray


def _model_file(values: Dict[str, Any]) -> Path:
    """Return the model file the actors will open (fetched here once)."""
    path, _ = registry.resolve_model(values['model'], values['delegate'])
    return Path(path)


def run_ray(address: str, args: argparse.Namespace, values: Dict[str, Any],
            tasks: Sequence[BagTask], jobs: int, threads: int,
            progress: FleetProgress) -> List[BagResult]:
    """Label the bags on ``jobs`` actors of ``threads`` CPUs each (0 jobs: as many as fit)."""
    ray = _import_ray()
    from ray.util import ActorPool
    model = _model_file(values)
    try:
        ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
    except Exception as error:  # Ray raises many kinds: all mean "no cluster there"
        raise DeeplabError(f'--ray {address}: cannot connect to a Ray cluster: {error}') from None
    try:
        if not jobs:
            cpus = int(ray.cluster_resources().get('CPU', 1))
            jobs = max(1, min(len(tasks), cpus // threads))
        remote = ray.remote(num_cpus=threads, memory=ACTOR_MEMORY + 4 * model.stat().st_size,
                            max_concurrency=2)(BagActor)
        model_ref = ray.put(model.read_bytes())
        actors = [remote.remote(args, dict(values, num_threads=threads), model.name, model_ref)
                  for _ in range(jobs)]
        pool = ActorPool(actors)
        for task in tasks:
            pool.submit(lambda actor, bag: actor.label.remote(bag), task)
        results, stopped = _collect(ray, pool, actors, progress)
        for actor in actors:
            ray.kill(actor)
    finally:
        ray.shutdown()
    by_input = {r.input: r for r in results}
    return [by_input.get(str(t.source)) or (not_started(t) if stopped else BagResult(
        str(t.source), str(t.out), 'failed', 'its Ray worker died (out of memory, or its '
        'node lost?): see the Ray logs')) for t in tasks]


def _progress(ray, actors: Sequence[Any], progress: FleetProgress) -> None:
    """Hand the actors' reports of frames done to the progress line."""
    for asked in [actor.take_events.remote() for actor in actors]:
        try:
            events = ray.get(asked)
        except ray.exceptions.RayError:  # a dead actor: its bag's result says so
            continue
        for kind, index, frames in events:
            progress.start(index, frames) if kind == 'start' else progress.add(frames)


def _collect(ray, pool: Any, actors: Sequence[Any],
             progress: FleetProgress) -> Tuple[List[BagResult], bool]:
    """
    Take the actors' results as they end; at Ctrl-C, stop them and take what they end.

    :return: The results, and whether Ctrl-C stopped the run.
    """
    results: List[BagResult] = []
    deadline = None
    while pool.has_next() and (deadline is None or time.monotonic() < deadline):
        try:
            try:
                results.append(pool.get_next_unordered(timeout=REPORT_S))
                progress.end(results[-1])
            except TimeoutError:
                pass
            except ray.exceptions.RayError:  # an actor died: its bag is reported as failed
                pass
            _progress(ray, actors, progress)
        except KeyboardInterrupt:
            if deadline is None:
                deadline = time.monotonic() + STOP_S
                for actor in actors:
                    actor.stop.remote()
    return results, deadline is not None
