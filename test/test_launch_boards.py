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
Launch test: parameter layering through every launch file, and what the board files refuse.

Each board launch file (and the core with ``board:=``) is started (``autostart:=false``:
nothing is configured, so no model or accelerator is needed) in a namespace of its own, and
the node's parameters are read back through its ``get_parameters`` service: the user's
``params_file`` wins over the board's configuration on every board, a launch argument wins
over the ``params_file``, and the board arguments (``device:=``, ``use_cache:=``,
``cache_file:=``, ``device_name:=``, ``cache_dir:=``, ``openvino_device:=``) set the
``delegate_options`` of the board's configuration (not those of a ``params_file``). ``ros2
launch`` refuses a ``board:=`` that is not the launch file's own and lists every parameter in
``--show-args``. Skips where launch_testing is not installed (the pip venv).
"""

import os
import shutil
import tempfile
import unittest

from ament_index_python.packages import get_package_share_directory
from deeplab_ros.parameters import SPECS
from deeplab_ros.tools.lifecycle import LifecycleClient
from launch_client import require_launch_testing, ros2_command, use_private_domain
import pytest

launch, launch_testing = require_launch_testing()

use_private_domain()
TMP = tempfile.mkdtemp(prefix='deeplab_ros_test_launch_boards_')
PARAMS_FILE = os.path.join(TMP, 'params.yaml')
CACHE_FILE = os.path.join(TMP, 'vx', 'graph.nb')
FROM_FILE = {'num_threads': 3, 'delegate_options': ['from=params_file'],
             'model': 'params_file_model'}
BOARDS = ('pc', 'rpi', 'coral', 'imx8mp', 'imx93', 'gpu', 'intel')

# namespace: (launch file, its arguments, the parameters expected on the node)
CASES = {
    f'file_{board}': (board, {'params_file': PARAMS_FILE}, FROM_FILE) for board in BOARDS}
CASES.update({
    # Launch arguments win over the params_file, typed as the parameter.
    'args_pc': ('pc', {'params_file': PARAMS_FILE, 'num_threads': '5', 'model': 'arg_model',
                       'delegate_options': '[a=1, b=2]', 'max_rate': '5',
                       'publish_overlay': 'false', 'mask_classes': '[15, person]',
                       'delegate_fallback': 'true'},
                {'num_threads': 5, 'model': 'arg_model', 'delegate_options': ['a=1', 'b=2'],
                 'max_rate': 5.0, 'publish_overlay': False, 'mask_classes': ['15', 'person'],
                 'delegate_fallback': True}),
    # Board arguments set the delegate_options of the board's configuration...
    'args_coral': ('coral', {'device': 'pci:1'},
                   {'delegate_options': ['device=pci:1'], 'num_threads': 1}),
    # ... which a params_file that sets delegate_options replaces, board arguments and all.
    'file_args_coral': ('coral', {'params_file': PARAMS_FILE, 'device': 'pci:1'},
                        {'delegate_options': ['from=params_file'], 'num_threads': 3}),
    'conf_coral': ('coral', {}, {'delegate_options': ['device=usb'], 'num_threads': 1,
                                 'model': 'deeplabv3_mnv2_pascal_quant_edgetpu'}),
    'conf_pc': ('pc', {}, {'num_threads': 0, 'delegate': 'auto'}),
    'conf_gpu': ('gpu', {}, {'delegate': 'gpu', 'model': 'deeplabv3_257_mv_gpu'}),
    'args_intel': ('intel', {'openvino_device': 'NPU'}, {
        'delegate': 'openvino', 'delegate_options': ['device=NPU']}),
    'conf_imx8mp': ('imx8mp', {}, {'delegate_options': [
        'allowed_cache_mode=true', 'cache_file_path={cache}/vx_cache/{model}.nb']}),
    'nocache_imx8mp': ('imx8mp', {'use_cache': 'false'}, {'delegate_options': [
        'allowed_cache_mode=false', 'cache_file_path={cache}/vx_cache/{model}.nb']}),
    'file_cache_imx8mp': ('imx8mp', {'cache_file': CACHE_FILE}, {'delegate_options': [
        'allowed_cache_mode=true', f'cache_file_path={CACHE_FILE}']}),
    'conf_imx93': ('imx93', {}, {
        'model': 'deeplabv3_mnv2_dm05_pascal_quant', 'delegate_options': [
            'device_name=/dev/ethosu0', 'cache_file_path={cache}/ethosu_cache/{model}/']}),
    # none puts in an empty value: the option unset (the node leaves key= options out).
    'nocache_imx93': ('imx93', {'cache_dir': 'none', 'device_name': '/dev/ethosu1'},
                      {'delegate_options': ['device_name=/dev/ethosu1', 'cache_file_path=']}),
    # The core runs any board, with that board's arguments.
    'core_imx93': ('deeplab', {'board': 'imx93', 'cache_dir': TMP + '/'}, {
        'delegate': 'ethosu', 'delegate_options': [
            'device_name=/dev/ethosu0', f'cache_file_path={TMP}/']}),
})


@pytest.mark.launch_test
def generate_test_description():
    """Launch every case side by side (scoped), and ros2 launch twice on the command line."""
    with open(PARAMS_FILE, 'w', encoding='utf-8') as stream:
        stream.write('/**/deeplab:\n  ros__parameters:\n    num_threads: 3\n'
                     "    delegate_options: ['from=params_file']\n"
                     '    model: params_file_model\n')
    share = get_package_share_directory('deeplab_ros')
    actions = []
    for namespace, (launch_file, arguments, _) in CASES.items():
        path = os.path.join(share, 'launch', f'{launch_file}.launch.py')
        arguments = dict(arguments, namespace=namespace, autostart='false',
                         log_level='warn')
        actions.append(launch.actions.GroupAction(scoped=True, actions=[
            launch.actions.IncludeLaunchDescription(
                launch.launch_description_sources.PythonLaunchDescriptionSource(path),
                launch_arguments=arguments.items())]))
    refuse = launch.actions.ExecuteProcess(
        cmd=ros2_command('launch', 'deeplab_ros', 'rpi.launch.py', 'board:=coral'),
        name='refuse_board', output='screen')
    show_args = launch.actions.ExecuteProcess(
        cmd=ros2_command('launch', 'deeplab_ros', 'coral.launch.py', '--show-args'),
        name='show_args', output='screen')
    return launch.LaunchDescription(actions + [
        refuse, show_args, launch_testing.actions.ReadyToTest()]), {
            'refuse': refuse, 'show_args': show_args}


class TestBoardLaunch(unittest.TestCase):
    """The parameters each launched node got, and the command-line checks."""

    @classmethod
    def setUpClass(cls):
        cls.client = LifecycleClient('test_launch_boards')

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def _check(self, namespace):
        _, _, expected = CASES[namespace]
        got = self.client.get_parameters(f'/{namespace}/deeplab', list(expected))
        self.assertEqual(got, expected, namespace)

    def test_params_file_wins_on_every_board(self):
        for board in BOARDS:
            with self.subTest(board=board):
                self._check(f'file_{board}')

    def test_launch_arguments_win_over_params_file_typed(self):
        self._check('args_pc')

    def test_board_arguments_set_the_board_delegate_options(self):
        for namespace in ('args_coral', 'file_args_coral', 'conf_coral', 'conf_pc',
                          'conf_imx8mp', 'nocache_imx8mp', 'file_cache_imx8mp', 'conf_imx93',
                          'nocache_imx93', 'core_imx93', 'conf_gpu', 'args_intel'):
            with self.subTest(namespace=namespace):
                self._check(namespace)

    def test_wrapper_refuses_another_board(self, proc_output, refuse):
        proc_output.assertWaitFor(
            'rpi.launch.py runs board rpi and does not take board:=coral; use '
            'coral.launch.py', process=refuse, timeout=60, stream='stdout')

    def test_show_args_lists_the_parameters_and_board_arguments(
            self, proc_info, proc_output, show_args):
        proc_info.assertWaitForShutdown(process=show_args, timeout=60)
        text = ''.join(event.text.decode() for event in proc_output[show_args])
        for name in ['device', 'params_file', 'autostart'] + list(SPECS):
            self.assertIn(f"'{name}':", text)
        for other in ('use_cache', 'cache_file', 'device_name', 'cache_dir'):
            self.assertNotIn(f"'{other}':", text)


@launch_testing.post_shutdown_test()
class TestBoardLaunchShutdown(unittest.TestCase):
    """The nodes exit cleanly; the refused launch exits with an error."""

    def test_exit_codes(self, proc_info, refuse, show_args):
        launch_testing.asserts.assertExitCodes(proc_info, [1], process=refuse)
        launch_testing.asserts.assertExitCodes(proc_info, process=show_args)
        for info in proc_info:
            if info.action not in (refuse, show_args):
                self.assertIn(info.returncode, (0, -2, -15), info.process_name)
        shutil.rmtree(TMP, ignore_errors=True)
