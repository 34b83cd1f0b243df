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

"""Exceptions raised by the engine; each message says what to do about it."""


class DeeplabError(Exception):
    """Base class of every error the engine raises on purpose."""


class AssetError(DeeplabError):
    """A model, image or label file is missing, corrupt or cannot be downloaded."""


class AssetUnavailableError(AssetError):
    """A registry file is in no cache or mirror and cannot be downloaded (e.g. offline)."""


class RuntimeNotFoundError(DeeplabError):
    """No TensorFlow Lite runtime (LiteRT, tflite_runtime, TensorFlow) can be imported."""


class DelegateError(DeeplabError):
    """A hardware delegate library cannot be loaded or rejects its options."""


class ModelError(DeeplabError):
    """A model file cannot be loaded or has tensors this package does not understand."""
