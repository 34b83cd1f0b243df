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
Frame intake from the middleware: the one module that uses rclpy internals.

The worker waits on the camera subscriptions itself (a wait set of its own) and takes frames
serialized, only when it is free to segment one: the executor never runs these
subscriptions (:class:`WorkerOwned`), so frames the node will not segment cost no Python
work. Also here: the subscription's message-lost count (transport loss, as the middleware
reports it) and a guard that answers an invalid lifecycle transition with ``success:
false`` (rclpy raises in its service callback on some distributions and never answers).
"""

from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from deeplab_ros.frame.wire import Frame, read_frame
from rclpy.callback_groups import CallbackGroup
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CompressedImage, Image

#: What rclpy raises when rcl refuses a request (e.g. a transition invalid in this state).
RCLError = _rclpy.RCLError


class WorkerOwned(CallbackGroup):
    """Entities the worker thread waits on and takes itself: the executor never runs them."""

    def can_execute(self, entity) -> bool:
        """Keep the entity out of every executor's wait set."""
        return False

    def beginning_execution(self, entity) -> bool:
        """Never start a callback."""
        return False

    def ending_execution(self, entity) -> None:
        """Nothing to end."""


def lost_events() -> SubscriptionEventCallbacks:
    """Return event callbacks that make a subscription count messages lost in transport."""
    return SubscriptionEventCallbacks(message_lost=lambda event: None)


def take_latest(subscription) -> Any:
    """Take the newest waiting message of a (deserializing) subscription, if any; else None."""
    latest = None
    while True:
        got = subscription.handle.take_message(subscription.msg_type, False)
        if got is None:
            return latest
        latest = got[0]


def take_serialized(subscription, limit: int) -> List[Tuple[bytes, Optional[int]]]:
    """Take up to ``limit`` waiting messages, serialized: (bytes, publication sequence)."""
    taken = []
    while len(taken) < limit:
        got = subscription.handle.take_message(subscription.msg_type, True)
        if got is None:
            break
        taken.append((got[0], got[1].get('publication_sequence_number') if got[1] else None))
    return taken


#: The middleware's deserializer of camera messages, by ``compressed``: for
#: :func:`~deeplab_ros.frame.wire.read_frame`, where the CDR reader cannot read one.
DESERIALIZE: Dict[bool, Callable[[bytes], Any]] = {
    False: lambda serialized: deserialize_message(serialized, Image),
    True: lambda serialized: deserialize_message(serialized, CompressedImage)}


class SubscriptionIntake:
    """
    The camera subscriptions, as the worker waits on them and takes from them.

    The middleware side of :class:`deeplab_ros.node.worker.Intake`.
    """

    def __init__(self, node, subscriptions: Sequence[Any], compressed: bool) -> None:
        """
        Wait on ``subscriptions`` (one per camera, serialized, :class:`WorkerOwned`).

        :param node: Gives the context, and the guard condition that ends a wait.
        """
        self.subscriptions = list(subscriptions)
        self.compressed = compressed
        self.wake = node.create_guard_condition(lambda: None, callback_group=WorkerOwned())
        self._node = node
        self._wait_set = _rclpy.WaitSet(len(self.subscriptions), 1, 0, 0, 0, 0,
                                        node.context.handle)
        self._lost = [next((h for h in sub.event_handlers
                            if 'MESSAGE_LOST' in str(h.event_type)), None)
                      for sub in self.subscriptions]

    def destroy(self) -> None:
        """Destroy the guard condition (the subscriptions are the node's)."""
        self._node.destroy_guard_condition(self.wake)

    def wait(self, cameras: Sequence[int], timeout: float) -> Set[int]:
        """Block until frames wait for some of ``cameras``, a wake, or ``timeout`` seconds."""
        wait_set = self._wait_set
        wait_set.clear_entities()
        for index in cameras:
            wait_set.add_subscription(self.subscriptions[index].handle)
        wait_set.add_guard_condition(self.wake.handle)
        wait_set.wait(int(timeout * 1e9))
        ready = set(wait_set.get_ready_entities('subscription'))
        return {i for i in cameras if self.subscriptions[i].handle.pointer in ready}

    def take(self, camera: int, limit: int) -> List[Tuple[bytes, Optional[int]]]:
        """Take up to ``limit`` waiting frames of a camera, oldest first."""
        return take_serialized(self.subscriptions[camera], limit)

    def lost(self, camera: int) -> Optional[int]:
        """Return the frames of a camera lost in transport so far (None: not reported)."""
        handler = self._lost[camera]
        if handler is None:
            return None
        event = handler._EventHandler__event
        with event:
            return event.take_event().total_count

    def read(self, camera: int, serialized: bytes) -> Frame:
        """Return the fields of a serialized frame."""
        return read_frame(serialized, self.compressed, DESERIALIZE[self.compressed])

    def queue(self, camera: int) -> int:
        """Return the camera subscription's QoS depth."""
        return max(1, self.subscriptions[camera].qos_profile.depth)


def answer_invalid_transitions(node, logger) -> None:
    """
    Answer a lifecycle transition invalid in the current state with ``success: false``.

    Where rclpy's change_state service callback raises for one (Jazzy), the request would
    otherwise get no answer and the error would end the executor's spin.
    """
    service = node._service_change_state
    callback = service.callback

    def guarded(request, response):
        try:
            return callback(request, response)
        except RCLError as error:
            logger.warning(f'refused lifecycle transition {request.transition.id}: {error}')
            response.success = False
            return response
    service.callback = guarded
