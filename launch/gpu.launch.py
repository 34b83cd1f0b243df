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
Launch deeplab_ros on any Linux with a Vulkan GPU: LiteRT's GPU accelerator (WebGPU/Vulkan).

The core launch file (deeplab.launch.py) with board gpu: config/gpu.yaml (the float 257x257
model, fully on the GPU). Every argument of the core works here too.
"""

import os

from launch import LaunchDescription
from launch.launch_description_sources.python_launch_file_utilities import (
    load_python_launch_file_as_module)


def generate_launch_description() -> LaunchDescription:
    """Return the core launch description with board gpu."""
    core = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'deeplab.launch.py')
    return load_python_launch_file_as_module(core).generate_launch_description('gpu')
