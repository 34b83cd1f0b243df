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
The tree's rule, checked on real imports: which code may touch ROS.

engine/, geometry/ and frame/ never import ROS (rclpy or message packages), nor do the node's pure
helpers (its worker loop, scheduling, diagnostics, memory) or the desk tool (the bag tool
included), except the demo and the lifecycle client it uses. Each set is imported in a fresh
interpreter, and what it loaded is read from ``sys.modules``. Names say which layer a thing
lives in: no class name is defined twice in the package, and no module name repeats across
its folders (parsed from the source).
"""

import ast
import collections
import json
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'deeplab_ros'
ROS = ('rclpy', 'rcl_interfaces', 'sensor_msgs', 'std_msgs', 'builtin_interfaces',
       'diagnostic_msgs', 'lifecycle_msgs', 'vision_msgs', 'rosidl_runtime_py', 'launch',
       'launch_ros')
#: Modules that may use ROS: the node's wiring, and the demo with its lifecycle client.
ROS_SIDE = {'deeplab_ros.node.segmentation_node', 'deeplab_ros.node.intake',
            'deeplab_ros.node.camera_topics', 'deeplab_ros.node.ros_messages',
            'deeplab_ros.node.main',
            'deeplab_ros.node.__main__', 'deeplab_ros.tools.demo', 'deeplab_ros.tools.lifecycle'}


def modules(folder: str = '') -> list:
    root = PACKAGE / folder if folder else PACKAGE
    names = []
    for path in sorted(root.rglob('*.py')):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        names.append('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))
    return names


def loaded_by(statement: str, prefixes: tuple) -> list:
    """Run ``statement`` in a fresh interpreter; return the loaded modules under ``prefixes``."""
    script = (f'import json, sys\n{statement}\n'
              'print(json.dumps(sorted(m for m in sys.modules '
              f'if m.split(".")[0] in {prefixes!r})))')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=120, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def ros_loaded_by(names: list) -> list:
    """Import ``names`` in a fresh interpreter; return the ROS modules that came with them."""
    return loaded_by(f'import importlib\nfor name in {names!r}:\n'
                     '    importlib.import_module(name)', ROS)


@pytest.mark.parametrize('folder', ['engine', 'geometry', 'frame'])
def test_the_pure_folders_never_import_ros(folder):
    assert ros_loaded_by(modules(folder)) == []


def test_the_node_helpers_the_worker_and_the_desk_tool_import_no_ros():
    pure = [name for name in modules() if name not in ROS_SIDE
            and not name.endswith('__main__')]
    assert {'deeplab_ros.node.worker', 'deeplab_ros.node.scheduling',
            'deeplab_ros.tools.cli', 'deeplab_ros.tools.bag'} <= set(pure)
    assert ros_loaded_by(pure) == []


def test_the_package_imports_without_rosbags():
    # rosbags is optional (deeplab bag needs it, and says how to install it): every module
    # outside the ROS side loads without it, as on a robot without pip install rosbags.
    pure = [name for name in modules() if name not in ROS_SIDE
            and not name.endswith('__main__')]
    script = ('import importlib, sys\n'
              'sys.modules["rosbags"] = None\n'
              f'for name in {pure!r}:\n'
              '    importlib.import_module(name)\n')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=120, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr


def test_the_ros_side_is_where_the_tree_says():
    # The rule above would pass vacuously if nothing were left to ROS: these do use it.
    assert 'rclpy' in ros_loaded_by(['deeplab_ros.node.segmentation_node'])
    assert 'rclpy' in ros_loaded_by(['deeplab_ros.tools.lifecycle'])


def test_the_parameter_schema_and_launch_data_load_neither_numpy_nor_opencv():
    assert loaded_by('import deeplab_ros.parameters, deeplab_ros.launch_args',
                     ('numpy', 'cv2')) == []


@pytest.mark.requires('launch_ros', 'builds the launch descriptions (launch and launch_ros are '
                      'not on PyPI); runs in the real-install route')
def test_the_launch_descriptions_load_neither_numpy_nor_opencv():
    launch = PACKAGE.parent / 'launch'
    statement = ('import importlib.util\n'
                 f'for path in {sorted(str(p) for p in launch.glob("*.launch.py"))!r}:\n'
                 '    spec = importlib.util.spec_from_file_location("board_launch", path)\n'
                 '    module = importlib.util.module_from_spec(spec)\n'
                 '    spec.loader.exec_module(module)\n'
                 '    module.generate_launch_description()')
    assert loaded_by(statement, ('numpy', 'cv2')) == []


def _defined_where(kind: str) -> dict:
    """Return {name: [places]} of the package's class names or module names."""
    places = collections.defaultdict(list)
    for path in sorted(PACKAGE.rglob('*.py')):
        where = str(path.relative_to(PACKAGE.parent))
        if kind == 'module':
            if path.stem not in ('__init__', '__main__'):
                places[path.stem].append(where)
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), str(path))):
            if isinstance(node, ast.ClassDef):
                places[node.name].append(f'{where}:{node.lineno}')
    return places


@pytest.mark.parametrize('kind', ['class', 'module'])
def test_no_name_is_defined_twice(kind):
    places = _defined_where(kind)
    assert len(places) > 20  # the walk found the package
    assert {name: where for name, where in places.items() if len(where) > 1} == {}


def test_modules_and_functions_stay_short():
    # House limits: a module a reader takes in at once (400 lines), a function one screen (60).
    long_modules, long_functions = [], []
    for path in sorted(PACKAGE.rglob('*.py')):
        text = path.read_text(encoding='utf-8')
        where = str(path.relative_to(PACKAGE.parent))
        if len(text.splitlines()) > 400:
            long_modules.append(f'{where}: {len(text.splitlines())} lines')
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long_functions.append(f'{where}:{node.lineno} {node.name}: {length} lines')
    assert (long_modules, long_functions) == ([], [])
