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

"""The registry: mirrors, cache, checksums, offline errors, names and variants."""

import os
from pathlib import Path

from deeplab_ros.engine import registry
from deeplab_ros.errors import AssetError
import pytest

NAME = 'deeplabv3_mnv2_dm05_pascal_quant'


@pytest.fixture
def mirror_dir():
    """Return the mirror the tests were given (DEEPLAB_ROS_MIRROR) that holds the model."""
    for entry in registry.mirrors():
        if (Path(entry) / (NAME + '.tflite')).is_file():
            return Path(entry)
    pytest.skip('no local mirror with the models (set DEEPLAB_ROS_MIRROR)')


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('DEEPLAB_ROS_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('DEEPLAB_ROS_OFFLINE', '1')
    return tmp_path / 'home'


def test_every_manifest_model_is_registered_with_url_and_checksum():
    assert len(registry.MODELS) == 11
    for asset in registry.MODELS.values():
        assert asset.filename == asset.name + '.tflite'
        assert asset.url.startswith('https://') and len(asset.sha256) == 64 and asset.size > 0
        assert asset.classes in (19, 21, 32) and asset.boards
    assert registry.MODELS[NAME].variants['edgetpu'] == NAME + '_edgetpu'


def test_fetch_from_a_mirror_into_the_cache(home, mirror_dir, monkeypatch):
    monkeypatch.setenv('DEEPLAB_ROS_MIRROR', os.pathsep.join(['/nonexistent', str(mirror_dir)]))
    seen = []
    path = registry.fetch(NAME, progress=lambda done, total: seen.append((done, total)))
    assert path == home / 'models' / (NAME + '.tflite')
    assert registry.sha256_of(path) == registry.MODELS[NAME].sha256
    assert seen[-1] == (registry.MODELS[NAME].size, registry.MODELS[NAME].size)
    assert not [p for p in path.parent.iterdir() if p.name.endswith('.part')]
    # Cached now: works with no mirror at all.
    monkeypatch.delenv('DEEPLAB_ROS_MIRROR')
    assert registry.fetch(NAME + '.tflite') == path


def test_fetch_from_a_url_mirror(home, mirror_dir, monkeypatch):
    monkeypatch.setenv('DEEPLAB_ROS_MIRROR', mirror_dir.as_uri())  # file:// is not network
    assert registry.fetch(NAME) == home / 'models' / (NAME + '.tflite')


def test_checksum_mismatch_is_an_error_and_nothing_is_kept(home, tmp_path, monkeypatch):
    bad = tmp_path / 'bad_mirror'
    bad.mkdir()
    (bad / (NAME + '.tflite')).write_bytes(b'not the model' * 100)
    monkeypatch.setenv('DEEPLAB_ROS_MIRROR', str(bad))
    with pytest.raises(AssetError, match='checksum mismatch.*was not kept'):
        registry.fetch(NAME)
    assert not (home / 'models' / (NAME + '.tflite')).exists()
    assert not list((home / 'models').iterdir())


def test_corrupt_cache_is_replaced(home, mirror_dir, monkeypatch):
    monkeypatch.setenv('DEEPLAB_ROS_MIRROR', str(mirror_dir))
    cached = home / 'models' / (NAME + '.tflite')
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b'truncated')
    assert registry.sha256_of(registry.fetch(NAME)) == registry.MODELS[NAME].sha256


def test_offline_error_names_file_url_and_place(home, monkeypatch):
    monkeypatch.delenv('DEEPLAB_ROS_MIRROR', raising=False)
    with pytest.raises(AssetError) as caught:
        registry.fetch(NAME)
    message = str(caught.value)
    asset = registry.MODELS[NAME]
    assert asset.filename in message and asset.url in message and 'DEEPLAB_ROS_OFFLINE' in message
    assert str(home / 'models' / asset.filename) in message


def test_unknown_names(home):
    with pytest.raises(AssetError, match='not a registry model'):
        registry.fetch('resnet50')
    with pytest.raises(AssetError, match='neither a registry model .* nor an existing file'):
        registry.resolve_model('nope.tflite')
    with pytest.raises(AssetError, match='no model given'):
        registry.resolve_model('')


def test_model_paths_are_used_as_given(mirror_dir):
    path, asset = registry.resolve_model(str(mirror_dir / (NAME + '.tflite')))
    assert path == mirror_dir / (NAME + '.tflite') and asset.name == NAME


def test_sample_images_are_registry_assets(home, monkeypatch):
    for name in registry.SAMPLE_IMAGES:
        asset = registry.lookup(name)
        assert asset.kind == 'image' and asset.url.endswith(name)
    assert registry.fetch('cat_720p.jpg').parent == home / 'images'


def test_mirror_list_keeps_urls_whole(monkeypatch):
    monkeypatch.setenv('DEEPLAB_ROS_MIRROR', '/a:https://example.org/m:/b:http://h:8080/x')
    assert registry.mirrors() == ['/a', 'https://example.org/m', '/b', 'http://h:8080/x']
    monkeypatch.setenv('DEEPLAB_ROS_HOME', '~/models')
    assert registry.cache_dir() == Path.home() / 'models'
