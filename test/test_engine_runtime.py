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

"""Runtimes and delegates on this machine: every delegate kind's error path, auto, fallback."""

import importlib.util

from deeplab_ros.engine import registry
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.engine.runtime import (DELEGATE_SPECS, expand_placeholders, import_runtime,
                                        load_interpreter, parse_options)
from deeplab_ros.errors import DelegateError, ModelError, RuntimeNotFoundError
import pytest

MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'


@pytest.fixture(scope='module')
def model_path():
    return registry.fetch(MODEL)


@pytest.mark.parametrize('kind', sorted(DELEGATE_SPECS))
def test_each_accelerator_names_its_library_purpose_and_fix(model_path, kind):
    spec = DELEGATE_SPECS[kind]
    with pytest.raises(DelegateError) as caught:
        load_interpreter(model_path, delegate=kind, num_threads=1)
    message = str(caught.value)
    assert spec.library in message and spec.purpose in message and 'To fix: ' in message


def test_external_delegate_errors(model_path, tmp_path):
    with pytest.raises(DelegateError, match='needs delegate_library'):
        load_interpreter(model_path, delegate='external')
    with pytest.raises(DelegateError, match='nope.so'):
        load_interpreter(model_path, delegate='external',
                         delegate_library=str(tmp_path / 'nope.so'))
    libc = next(p for p in ('/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6',
                            'libc.so.6'))
    with pytest.raises(DelegateError, match='not a TensorFlow Lite delegate'):
        load_interpreter(model_path, delegate='external', delegate_library=libc)


def test_delegate_library_override_is_used(model_path, tmp_path):
    custom = str(tmp_path / 'libvx_custom.so')
    with pytest.raises(DelegateError, match='libvx_custom.so.*NXP i.MX 8M Plus'):
        load_interpreter(model_path, delegate='vx', delegate_library=custom)


def test_auto_settles_on_cpu_and_says_why(model_path):
    loaded = load_interpreter(model_path, delegate='auto', num_threads=1)
    assert loaded.delegate == 'cpu' and not loaded.fell_back
    for kind in ('edgetpu', 'vx', 'ethosu'):
        assert kind + ':' in loaded.fallback_reason


def test_fallback_is_reported_never_silent(model_path):
    loaded = load_interpreter(model_path, delegate='edgetpu', num_threads=1, fallback=True)
    assert loaded.delegate == 'cpu' and loaded.fell_back
    assert 'libedgetpu.so.1' in loaded.fallback_reason


def test_edgetpu_registry_model_falls_back_to_its_plain_variant():
    segmenter = Segmenter.open(MODEL, delegate='edgetpu', delegate_fallback=True, num_threads=1)
    assert segmenter.info.delegate == 'cpu' and segmenter.info.fell_back
    assert segmenter.info.model_path.name == MODEL + '.tflite'
    assert segmenter.info.model_name == MODEL  # what runs, not the compiled variant asked for


def test_edgetpu_delegate_picks_the_compiled_variant(monkeypatch):
    picked = []
    real = registry.resolve_model

    def spy(model, delegate='cpu', progress=None):
        path, asset = real(model, delegate, progress)
        picked.append(path.name)
        return path, asset
    monkeypatch.setattr(registry, 'resolve_model', spy)
    with pytest.raises(DelegateError, match='libedgetpu'):
        Segmenter.open(MODEL, delegate='edgetpu')
    assert picked == [MODEL + '_edgetpu.tflite']


def test_compiled_model_on_cpu_is_a_clear_error():
    with pytest.raises(ModelError, match='compiled for the Coral Edge TPU'):
        load_interpreter(registry.fetch(MODEL + '_edgetpu'), delegate='cpu')


def test_unknown_names_and_bad_threads(model_path):
    with pytest.raises(DelegateError, match='unknown delegate'):
        load_interpreter(model_path, delegate='npu')
    with pytest.raises(DelegateError, match='num_threads'):
        load_interpreter(model_path, num_threads=0)
    with pytest.raises(RuntimeNotFoundError, match='unknown runtime'):
        import_runtime('onnx')


@pytest.mark.skipif(importlib.util.find_spec('tflite_runtime') is not None,
                    reason='tflite_runtime is installed here')
def test_missing_runtime_says_what_to_install():
    with pytest.raises(RuntimeNotFoundError, match='tflite_runtime'):
        import_runtime('tflite_runtime')


def test_threads_are_explicit(model_path):
    assert load_interpreter(model_path, num_threads=None).num_threads >= 1
    assert load_interpreter(model_path, num_threads=2).num_threads == 2
    assert import_runtime('auto')[0] == 'ai_edge_litert'


def test_delegate_options_parse():
    assert parse_options(['device=usb:0', ' cache_file_path = /tmp/x ']) == {
        'device': 'usb:0', 'cache_file_path': '/tmp/x'}
    assert parse_options({'device': 'pci:0'}) == {'device': 'pci:0'}
    # A later key wins; an empty value leaves the option out (a board argument `none`).
    assert parse_options(['device_name=/dev/ethosu0', 'cache_file_path=/c/', 'cache_file_path=',
                          'device_name=/dev/ethosu1']) == {'device_name': '/dev/ethosu1'}
    with pytest.raises(DelegateError, match='key=value'):
        parse_options(['device'])


def test_auto_works_offline_without_the_compiled_variant(tmp_path, monkeypatch):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    (mirror / (MODEL + '.tflite')).write_bytes(registry.fetch(MODEL).read_bytes())
    monkeypatch.setenv('DEEPLAB_ROS_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('DEEPLAB_ROS_MIRROR', str(mirror))
    monkeypatch.setenv('DEEPLAB_ROS_OFFLINE', '1')
    segmenter = Segmenter.open(MODEL, delegate='auto', num_threads=1)
    assert segmenter.info.delegate == 'cpu' and segmenter.info.model_name == MODEL
    assert 'edgetpu:' in segmenter.info.fallback_reason


def test_delegate_option_placeholders_name_the_model_and_cache(tmp_path):
    options = expand_placeholders(
        {'allowed_cache_mode': 'true', 'cache_file_path': '{cache}/vx_cache/{model}.nb',
         'device_name': '/dev/ethosu0', 'dir': '{cache}/ethosu_cache/{model}/'},
        'deeplabv3_mnv2_dm05_pascal_quant', tmp_path)
    assert options['cache_file_path'] == f'{tmp_path}/vx_cache/deeplabv3_mnv2_dm05_pascal_quant.nb'
    assert options['device_name'] == '/dev/ethosu0' and options['allowed_cache_mode'] == 'true'
    assert (tmp_path / 'vx_cache').is_dir()
    assert (tmp_path / 'ethosu_cache' / 'deeplabv3_mnv2_dm05_pascal_quant').is_dir()
    with pytest.raises(DelegateError, match=r'only \{model\} and \{cache\}'):
        expand_placeholders({'cache_file_path': '{home}/x'}, 'm', tmp_path)
