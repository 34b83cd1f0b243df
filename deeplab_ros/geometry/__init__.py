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
Navigation geometry from label maps: numpy and OpenCV, no ROS.

- :mod:`~deeplab_ros.geometry.camera`: intrinsics with lens distortion, rays, scaled camera_info.
- :mod:`~deeplab_ros.geometry.ground`: points of a camera above flat ground (no depth needed).
- :mod:`~deeplab_ros.geometry.depth`: points from a registered depth image.
- :mod:`~deeplab_ros.geometry.cloud`: class tables and PointCloud2 layouts.
"""
