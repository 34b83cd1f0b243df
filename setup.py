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

from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'deeplab_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', [f for f in glob('config/*') if os.path.isfile(f)]),
        ('share/' + package_name + '/config/nav2', glob('config/nav2/*.yaml')),
    ],
    install_requires=['setuptools'],
    # Optional: deeplab bag (rosbags), deeplab bag --ray on a Ray cluster, and delegate
    # openvino (Intel OpenVINO through LiteRT's dispatch; requirements-openvino.txt).
    extras_require={'bag': ['rosbags==0.11.9'], 'ray': ['rosbags==0.11.9', 'ray==2.60.0'],
                    'openvino': ['ai-edge-litert-sdk-intel==2.3.0', 'openvino==2026.3.1']},
    zip_safe=True,
    maintainer='deeplab_ros maintainers',
    maintainer_email='maintainers@deeplab-ros.dev',
    description='DeepLab semantic segmentation for ROS 2 cameras on small boards.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'segmentation_node = deeplab_ros.node.main:main',
            'deeplab = deeplab_ros.tools.cli:main',
        ],
    },
)
