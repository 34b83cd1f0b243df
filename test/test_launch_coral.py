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
Launch test: coral.launch.py without an Edge TPU, with and without delegate_fallback.

``coral.launch.py delegate_fallback:=true`` (a tip of doc/troubleshooting.md) comes up
active on the CPU, with a WARN in /diagnostics naming the fallback. Without it, the
autostart configure fails (no libedgetpu here) and the node stays unconfigured; a configure
by the user after fixing the cause (delegate_fallback set through set_parameters) leaves it
inactive, not active, and the user's own activate then works. Needs the coral model and its
CPU variant from the registry (skips without them); skips where launch_testing is not
installed (the pip venv).
"""

import unittest

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.tools.lifecycle import LifecycleClient, LifecycleError
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from launch_client import require_assets, require_launch_testing, use_private_domain
from lifecycle_msgs.msg import Transition, TransitionEvent
import pytest

launch, launch_testing = require_launch_testing()

use_private_domain()
FALLBACK = '/coral_fallback/deeplab'
AUTOSTART = '/coral_autostart/deeplab'
#: How long the test watches for an activate that must not come.
WATCH_S = 3.0


@pytest.mark.launch_test
def generate_test_description():
    """Launch coral.launch.py twice: with delegate_fallback:=true, and as is."""
    require_assets('deeplabv3_mnv2_pascal_quant_edgetpu', 'deeplabv3_mnv2_pascal_quant')
    coral = launch.launch_description_sources.PythonLaunchDescriptionSource(
        get_package_share_directory('deeplab_ros') + '/launch/coral.launch.py')
    actions = []
    for node, arguments in ((FALLBACK, {'delegate_fallback': 'true'}), (AUTOSTART, {})):
        arguments = dict(arguments, namespace=node.split('/')[1])
        actions.append(launch.actions.GroupAction(scoped=True, actions=[
            launch.actions.IncludeLaunchDescription(
                coral, launch_arguments=arguments.items())]))
    return launch.LaunchDescription(actions + [launch_testing.actions.ReadyToTest()])


class TestCoralLaunch(unittest.TestCase):
    """Fallback to the CPU, and autostart after a failed configure."""

    @classmethod
    def setUpClass(cls):
        cls.client = LifecycleClient('test_launch_coral', timeout=90.0)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def _collect(self, msg_type, topic, until, timeout):
        """Receive until until(messages) is true or the timeout passes; return the messages."""
        messages = []
        sub = self.client.node.create_subscription(msg_type, topic, messages.append, 10)
        try:
            self.client.wait_for(lambda: until(list(messages)), timeout, f'{topic} messages')
        except LifecycleError:
            pass  # the caller says what is missing
        finally:
            self.client.node.destroy_subscription(sub)
        return messages

    def test_delegate_fallback_comes_up_active_on_cpu_with_a_warning(self):
        self.client.wait_state(FALLBACK, 'active')

        def ours(array):
            return [s for s in array.status if s.name == 'deeplab: /coral_fallback']
        arrays = self._collect(DiagnosticArray, '/diagnostics',
                               lambda got: any(ours(a) for a in got), timeout=30.0)
        statuses = [s for a in arrays for s in ours(a)]
        self.assertTrue(statuses, 'no diagnostics from the fallback node within 30 s')
        status = statuses[-1]
        values = {v.key: v.value for v in status.values}
        self.assertEqual(status.level, DiagnosticStatus.WARN)
        self.assertIn('delegate fell back to cpu: ', status.message)
        self.assertIn('edgetpu', status.message)
        self.assertEqual(values['delegate_fell_back'], 'True')
        self.assertEqual(values['delegate'], 'cpu')
        self.assertEqual(values['model'], 'deeplabv3_mnv2_pascal_quant')

    def test_failed_autostart_then_manual_configure_stays_inactive(self, proc_output):
        proc_output.assertWaitFor('coral_autostart.deeplab]: configure failed', timeout=90,
                                  stream='stderr')
        self.assertEqual(self.client.state(AUTOSTART), 'unconfigured')

        result, = self.client.set_parameters(AUTOSTART, {'delegate_fallback': True})
        self.assertTrue(result.successful, result.reason)
        topic = AUTOSTART + '/transition_event'
        events = []
        sub = self.client.node.create_subscription(TransitionEvent, topic, events.append, 10)
        try:  # listen from before the configure on
            self.client.wait_for(lambda: self.client.node.count_publishers(topic), 30.0,
                                 f'a publisher on {topic}')
            self.assertTrue(self.client.change_state(AUTOSTART, Transition.TRANSITION_CONFIGURE))
            # Watch a while: an autostart handler still armed would activate at once.
            try:
                self.client.wait_for(lambda: any(
                    e.goal_state.label == 'activating' for e in list(events)), WATCH_S,
                    'an activate')
            except LifecycleError:
                pass  # none came, as it should be
        finally:
            self.client.node.destroy_subscription(sub)
        labels = [e.goal_state.label for e in events]
        self.assertIn('inactive', labels, 'the configure was not seen on ' + topic)
        self.assertNotIn('activating', labels)
        self.assertEqual(self.client.state(AUTOSTART), 'inactive')

        self.assertTrue(self.client.change_state(AUTOSTART, Transition.TRANSITION_ACTIVATE))
        self.assertEqual(self.client.state(AUTOSTART), 'active')


@launch_testing.post_shutdown_test()
class TestCoralLaunchShutdown(unittest.TestCase):
    """The nodes exit cleanly when the launch is stopped."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(
            proc_info, allowable_exit_codes=[launch_testing.asserts.EXIT_OK, -2, -15])
