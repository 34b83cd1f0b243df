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
``deeplab bag`` over many bags: a process pool and a Ray cluster against a run in one process.

Four small bags (sqlite3 and MCAP, a folder and a bare file, raw and JPEG frames, one
corrupt): the outputs of each way equal the one-process run's, the corrupt bag fails alone,
Ctrl-C mid-way leaves the complete outputs and valid partial ones, and the same command then
skips what is done and finishes the rest.
"""

import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from test_tools_bag import bag, read_bag, ROOT, write_bag

pytestmark = pytest.mark.requires('rosbags', 'deeplab bag reads and writes bags with rosbags '
                                  '(pip install rosbags)')
BAGS = ('a_long', 'robot1/b', 'robot2/c')  # the outputs, at the inputs' relative paths
BROKEN = 'robot2/broken.mcap'
OPTIONS = ('--every', '2')


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    """Return the folder of the bags and the folder of their outputs labelled in one process."""
    root = tmp_path_factory.mktemp('fleet')
    bags = root / 'bags'
    write_bag(bags / 'a_long', 'mcap', count=60, size=(160, 120))  # long enough to interrupt
    write_bag(bags / 'robot1' / 'b', 'sqlite3', count=2, size=(160, 120))
    write_bag(root / 'c', 'mcap', count=3, size=(160, 120))
    (bags / 'robot2').mkdir()
    shutil.move(root / 'c' / 'c.mcap', bags / 'robot2' / 'c.mcap')  # a bare MCAP file
    (bags / BROKEN).write_bytes(b'\x89MCAP0\r\n' + b'\x00' * 64)
    assert bag(bags, '--out', root / 'reference', '--jobs', '1', '--png', root / 'pairs',
               *OPTIONS) == 1  # the broken bag
    assert sorted(p.name for p in (root / 'pairs' / 'robot1' / 'b' / 'images').iterdir())[0] \
        == 'front_1700000000_000000000.png'  # --png per input, --every per input
    return bags, root / 'reference'


#: Ray on this machine alone: its processes serve and talk on loopback only (on Linux, Ray
#: otherwise advertises the machine's own address in place of 127.0.0.1).
LOCAL_RAY = {'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0', 'RAY_USAGE_STATS_ENABLED': '0'}


def deeplab_bag(*args):
    """Start ``deeplab bag`` on its own in a subprocess."""
    return subprocess.Popen(
        [sys.executable, '-m', 'deeplab_ros.tools.cli', 'bag', *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **LOCAL_RAY))


def statuses(path):
    return {Path(r['input']).relative_to(path.parent / 'bags').as_posix(): r
            for r in json.loads(path.read_text())['results']}


def interrupt_then_finish(fleet, tmp_path, *how):
    """Ctrl-C a run once a bag is complete, run it again; check the outputs and summaries."""
    bags, reference = fleet
    out, summary = tmp_path / 'out', tmp_path / 'summary.json'
    (tmp_path / 'bags').symlink_to(bags)
    args = (tmp_path / 'bags', '--out', out, '--summary', summary, *OPTIONS, *how)
    run = deeplab_bag(*args)
    deadline = time.monotonic() + 120
    while not (out / 'robot1' / 'b').exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stdout + stderr
    first = statuses(summary)
    assert first['robot1/b']['status'] == 'done'
    assert first['a_long']['status'] == 'interrupted', stdout  # stopped mid-way
    assert not (out / 'a_long').exists()  # not taken for complete by the next run
    partial, _, _ = read_bag(out / '.a_long.partial' / 'a_long')  # a valid bag of what was done
    assert 0 < len(partial['/front/segmentation/labels']) < 30

    again = deeplab_bag(*args)
    stdout, stderr = again.communicate(timeout=180)
    assert again.returncode == 1, stdout + stderr  # the broken bag
    second = statuses(summary)
    assert second['robot1/b']['status'] == 'skipped' and 'skipped' in stdout
    assert second['a_long']['status'] == 'done' and second['a_long']['frames'] == {
        '/front/image_raw': 30, '/rear/image_raw/compressed': 30}
    assert second[BROKEN]['status'] == 'failed'
    assert 'cannot read the bag' in second[BROKEN]['reason'] and BROKEN in stdout
    assert not (out / '.a_long.partial').exists()
    for name in BAGS:  # byte for byte the one-process run's: labels, camera_info, passthrough
        assert read_bag(out / name)[0] == read_bag(reference / name)[0], name
    assert second['a_long']['class_shares']['cat'] > 0.1


def test_a_process_pool_labels_as_one_process_does(fleet, tmp_path):
    interrupt_then_finish(fleet, tmp_path, '--jobs', '2', '--threads', '1')


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def ray_cluster():
    """
    Start a local Ray cluster of 2 CPUs for this test alone; stop it after the test.

    The head, its workers and the driver serve and connect on loopback only (``LOCAL_RAY``).
    """
    port, temp = free_port(), tempfile.mkdtemp(prefix='ray')
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / 'ray'), 'start', '--head', '--node-ip-address',
         '127.0.0.1', '--port', str(port), '--num-cpus', '2', '--include-dashboard', 'false',
         '--disable-usage-stats', '--temp-dir', temp, '--block'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **LOCAL_RAY))
    try:
        deadline = time.monotonic() + 60
        while True:  # up when its address answers
            assert head.poll() is None and time.monotonic() < deadline, head.communicate()
            with socket.socket() as probe:
                if probe.connect_ex(('127.0.0.1', port)) == 0:
                    break
            time.sleep(0.2)
        yield f'127.0.0.1:{port}'
    finally:
        head.terminate()  # --block: it stops the cluster's processes when it ends
        head.communicate(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.requires('ray', 'labels bags on a Ray cluster (pip install ray==2.60.0)')
def test_a_ray_cluster_labels_as_one_process_does(fleet, tmp_path, ray_cluster):
    interrupt_then_finish(fleet, tmp_path, '--ray', ray_cluster, '--jobs', '2', '--threads', '1')


def test_inputs_that_cannot_be_told_apart_are_refused(tmp_path, capsys):
    write_bag(tmp_path / 'one' / 'run', 'mcap', count=1)
    write_bag(tmp_path / 'two' / 'run', 'sqlite3', count=1)
    assert bag(tmp_path / 'one' / 'run', tmp_path / 'two' / 'run', '--out', tmp_path / 'o') == 1
    assert 'would both be written to' in capsys.readouterr().err
    (tmp_path / 'empty').mkdir()
    assert bag(tmp_path / 'empty', '--out', tmp_path / 'o') == 1
    assert 'no bags in it' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()


def test_ray_missing_says_how_to_install_it(tmp_path):
    write_bag(tmp_path / 'in', 'mcap', count=1)
    code = ('import sys; sys.modules["ray"] = None; from deeplab_ros.tools import cli; '
            f'sys.exit(cli.main(["bag", "{tmp_path / "in"}", "--out", "{tmp_path / "o"}", '
            '"--ray", "auto"]))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert result.returncode == 1, result.stderr
    assert '--ray needs Ray' in result.stderr and 'pip install ray==2.60.0' in result.stderr


def test_one_bag_done_is_skipped_and_one_of_other_settings_kept(tmp_path, capsys):
    source, out, summary = tmp_path / 'in', tmp_path / 'out', tmp_path / 'summary.json'
    write_bag(source, 'mcap', count=2, size=(160, 120))
    assert bag(source, '--out', out) == 0
    written = read_bag(out)[0]
    capsys.readouterr()
    assert bag(source, '--out', out, '--summary', summary) == 0
    assert 'is complete' in capsys.readouterr().out
    assert json.loads(summary.read_text())['results'][0]['status'] == 'skipped'
    assert bag(source, '--out', out, '--every', '2') == 1  # other settings: not taken as done
    assert 'add --overwrite' in capsys.readouterr().err
    assert read_bag(out)[0] == written
