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
``deeplab bag``: label every camera frame of a recorded ROS 2 bag into a new bag, offline.

Each frame goes through the node's own per-frame job (:class:`deeplab_ros.frame.job.FrameJob`)
with the node's parameters, and comes out as the node's messages under its camera's namespace,
at the input message's bag timestamp. Nothing is dropped and nothing depends on timing: the
same bag and settings give the same output bag.

The modules, in the order a run uses them: :mod:`.command` (options, run, exit status),
:mod:`.discovery` (the bags under the inputs, and their outputs), :mod:`.settings` (the node's
parameters and the outputs), :mod:`.fleet` (many bags: here or on a process pool) and
:mod:`.cluster` (on a Ray cluster), :mod:`.plan` (what a bag's run reads and writes; outputs
complete, skipped or renamed into place), :mod:`.reader` (the input bag: cameras, frames),
:mod:`.run` (reader, labeller and writer threads), :mod:`.labeller` (frames into outputs, in
input order, as the node's messages with rosbags' types), :mod:`.msgtypes` (types,
definitions and hashes per distribution), :mod:`.writer` (the output bag),
:mod:`.rosbags_internals` (the one place that uses rosbags beyond its public API) and
:mod:`.report` (progress and summaries). Every module loads without rosbags (imported where it
is used); ``deeplab bag`` says how to install it.
"""
