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
Model and sample-image registry: official URLs, checksums, and a verified local cache.

``fetch`` looks in the cache (``DEEPLAB_ROS_HOME``), then in the mirrors named by
``DEEPLAB_ROS_MIRROR`` (directories or URL prefixes holding files by name), then at the
official URL, unless ``DEEPLAB_ROS_OFFLINE=1``. Every file is verified by sha256 and
written atomically.
"""

from dataclasses import dataclass, field
import hashlib
import os
from pathlib import Path
import re
import sys
import tempfile
from typing import Callable, Dict, List, Optional, Tuple
import urllib.error
import urllib.request

from deeplab_ros.errors import AssetError, AssetUnavailableError

CORAL = 'https://github.com/google-coral/test_data/raw/master/'
TF_MODELS = 'https://storage.googleapis.com/download.tensorflow.org/models/tflite/'
TFHUB = 'https://tfhub.dev/sayakpaul/lite-model/'


@dataclass(frozen=True)
class Asset:
    """A file the project can fetch: a model or a sample image."""

    name: str          # short name: the file name without .tflite for models
    filename: str
    url: str
    sha256: str
    size: int
    kind: str = 'model'
    labels: str = ''   # label set name ('voc', 'cityscapes') or '' (metadata or generic)
    palette: str = ''
    classes: int = 0
    boards: Tuple[str, ...] = ()
    # delegate -> short name of the file compiled for it; 'cpu' names the plain model that an
    # accelerator-compiled one falls back to.
    variants: Dict[str, str] = field(default_factory=dict)
    note: str = ''
    # What resize_mode 'auto' means for this model when it measured better than letterbox.
    resize_mode: str = ''
    # delegate auto runs it with OpenVINO where that is installed: measured faster than
    # XNNPACK on x86 (benchmarks/bench_accelerators.py, doc/accelerators.md).
    auto_openvino: bool = False


def _model(filename: str, url: str, sha256: str, size: int, **kwargs) -> Asset:
    return Asset(name=filename[:-len('.tflite')], filename=filename, url=url, sha256=sha256,
                 size=size, **kwargs)


def _image(filename: str, sha256: str, size: int, note: str) -> Asset:
    return Asset(name=filename, filename=filename, url=CORAL + filename, sha256=sha256,
                 size=size, kind='image', note=note)


_ASSETS = [
    _model('deeplabv3_mnv2_dm05_pascal_quant.tflite',
           CORAL + 'deeplabv3_mnv2_dm05_pascal_quant.tflite',
           '0470d2a782aa54eeeb99d32e7b6b3fb7722905c7c4f5d26bd957ec861366d48b', 760904,
           labels='voc', classes=21, boards=('pc', 'rpi'),
           variants={'edgetpu': 'deeplabv3_mnv2_dm05_pascal_quant_edgetpu'},
           note='MobileNetV2 depth 0.5, uint8 513x513, argmax inside; fastest on CPUs'),
    _model('deeplabv3_mnv2_pascal_quant.tflite', CORAL + 'deeplabv3_mnv2_pascal_quant.tflite',
           '350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398', 2193224,
           labels='voc', classes=21, boards=('pc', 'intel'), auto_openvino=True,
           variants={'edgetpu': 'deeplabv3_mnv2_pascal_quant_edgetpu'},
           note='MobileNetV2 depth 1.0, uint8 513x513, argmax inside'),
    _model('deeplabv3_mnv2_dm05_pascal_quant_edgetpu.tflite',
           CORAL + 'deeplabv3_mnv2_dm05_pascal_quant_edgetpu.tflite',
           '4ccdb19b91c9b0f5917095f5163408326711f06eb0599e3d0fde9b9791f62895', 1107584,
           labels='voc', classes=21, boards=('coral',),
           variants={'cpu': 'deeplabv3_mnv2_dm05_pascal_quant'},
           note='Edge TPU compiled; needs libedgetpu.so.1'),
    _model('deeplabv3_mnv2_pascal_quant_edgetpu.tflite',
           CORAL + 'deeplabv3_mnv2_pascal_quant_edgetpu.tflite',
           '4d899a809ac1d7032880392ef09ee1a891205ecaae2cde288fd3fe7f7dda966e', 2913920,
           labels='voc', classes=21, boards=('coral',),
           variants={'cpu': 'deeplabv3_mnv2_pascal_quant'},
           note='Edge TPU compiled; needs libedgetpu.so.1'),
    # The Cityscapes network (both files) is better letterboxed, the default (cross-dataset,
    # CamVid val sample, config/camvid_cityscapes.yaml: mIoU letterbox 52.19, stretch 50.06;
    # pixel accuracy 86.38, 85.22), so neither entry sets resize_mode.
    _model('deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite',
           CORAL + 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite',
           '322fe29945cb1693f426952f2a330ab67ea5678545ddee6f2548e0cfd0ca03e5', 2157328,
           labels='cityscapes', palette='cityscapes', classes=19, boards=('pc',),
           variants={'edgetpu': 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant_edgetpu'},
           note='street scenes (the 19 Cityscapes classes, road = 0), uint8 513x513'),
    _model('deeplab_mobilenet_edgetpu_slim_cityscapes_quant_edgetpu.tflite',
           CORAL + 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant_edgetpu.tflite',
           '9b5ab31c15d0d4869063cc81d55e336dc80150b36061288fb42c7ab0f307e787', 3060864,
           labels='cityscapes', palette='cityscapes', classes=19, boards=('coral',),
           variants={'cpu': 'deeplab_mobilenet_edgetpu_slim_cityscapes_quant'},
           note='Edge TPU compiled; needs libedgetpu.so.1'),
    # The two 257x257 models measure better stretched (VOC train sample mIoU: stretch 64.41,
    # letterbox 62.92); every other VOC model is better letterboxed (doc/performance.md, Accuracy).
    _model('deeplabv3_257_mv_gpu.tflite', TF_MODELS + 'gpu/deeplabv3_257_mv_gpu.tflite',
           '68a539782c2c6a72f8aac3724600124a85ed977162b44e84cbae5db717c933c6', 2779264,
           labels='voc', classes=21, boards=('pc', 'gpu'), resize_mode='stretch',
           note='float32 257x257, logits out; made for the GPU delegate'),
    _model('lite-model_deeplabv3_1_metadata_2.tflite',
           TF_MODELS + 'task_library/image_segmentation/android/'
           'lite-model_deeplabv3_1_metadata_2.tflite',
           '9711334db2b01d5894feb8ed0f5cb3e97d125b8d229f8d8692f625801818f5ef', 2780051,
           classes=21, boards=('pc', 'gpu'), resize_mode='stretch',
           note='float32 257x257, logits out; labels in its TFLite metadata'),
    _model('lite-model_deeplabv3-mobilenetv2_dm05-int8_1_default_2.tflite',
           TFHUB + 'deeplabv3-mobilenetv2_dm05-int8/1/default/2?lite-format=tflite',
           'e993b00474b75da6b424da30bc1e548305b397ea43a8facf20365c06165123ab', 1006324,
           classes=21, boards=('imx8mp', 'imx93'),
           note='the NXP eIQ DeepLabV3 (int8 inside, float32 in/out 513x513, logits out)'),
    _model('lite-model_deeplabv3-mobilenetv2_1_default_1.tflite',
           TFHUB + 'deeplabv3-mobilenetv2/1/default/1?lite-format=tflite',
           '6484a23e2d5d3da904f7dbc5e8d2c74e0dc77f37b3aed6bd3c476bf1401c6051', 2219600,
           labels='voc', classes=21, boards=('pc',),
           note='float32 513x513 in, 65x65 logits out (upsampled before argmax)'),
    # Class names: see labels.ADE20K_NAMES (ADE20K ids 1..31 kept as they are, 0 = other).
    _model('deeplabv3_mnv2_ade20k_uint8.tflite',
           'https://github.com/mlcommons/mobile_models/raw/main/v0_7/tflite/'
           'deeplabv3_mnv2_ade20k_uint8.tflite',
           '2d58c681d81b5e181816b81cc815b82edf3daad905b4d7d35afade80aee93b5f', 2348952,
           labels='ade20k', classes=32, boards=('pc',),
           note='MLPerf mobile ADE20K, 31 most frequent classes + other, uint8 512x512'),
    _image('bird.bmp', '3fd22d6ed352b8e721d9982e38ed655f8429e168bb53ad205c6f3cdfa848e994',
           526986, '512x343 photo of a bird'),
    _image('cat_720p.jpg', 'cfb1dbdf64b30de79104a47555ff8e9f12737a12c2128ecd0e7f38531a8c13ce',
           104837, '1280x720 photo of a cat'),
    _image('cat_1080p.jpg', 'd579b80cadf3b2ee71743b1a9c1c0fe75b8077b7a454cb320adc0a11a41829e2',
           211937, '1920x1080 photo of a cat'),
    _image('bird_segmentation.bmp',
           '24dbd0ca9c379b5b8d055026e073a3ffb54ad72ac0746d31d16da9306865ee48', 790158,
           '513x513 golden input (PASCAL VOC)'),
    _image('bird_segmentation_mask.bmp',
           '6b21e7b7c5825bba126b4588a917339c915e7073db29d9f3d404ba8aeed53454', 265788,
           'reference class ids for bird_segmentation.bmp'),
    _image('cityscapes_segmentation.bmp',
           'c6112bc14676e1c06a6103fbde13b622109343793aa17f0b850f10cf0773816c', 790074,
           '513x513 golden input (Cityscapes)'),
    _image('cityscapes_segmentation_mask.bmp',
           '69bf49bb8210d1466bc18ba7480484f4abcab03bb9bc273425adb8c167571668', 265786,
           'reference class ids for cityscapes_segmentation.bmp'),
]

ASSETS: Dict[str, Asset] = {asset.name: asset for asset in _ASSETS}
MODELS: Dict[str, Asset] = {a.name: a for a in _ASSETS if a.kind == 'model'}
SAMPLE_IMAGES = ('cat_720p.jpg', 'bird.bmp')


def lookup(name: str) -> Optional[Asset]:
    """Return the asset called ``name`` (short name or file name), or None."""
    return ASSETS.get(name) or next((a for a in _ASSETS if a.filename == name), None)


def cache_dir() -> Path:
    """Return the cache root: ``DEEPLAB_ROS_HOME`` or ``~/.cache/deeplab_ros``."""
    home = os.environ.get('DEEPLAB_ROS_HOME')
    return Path(home).expanduser() if home else Path.home() / '.cache' / 'deeplab_ros'


def mirrors() -> List[str]:
    """
    Return the ``DEEPLAB_ROS_MIRROR`` entries (directories or URL prefixes), in order.

    Entries are separated by ``os.pathsep``; a ':' that starts '//' belongs to a URL.
    """
    value = os.environ.get('DEEPLAB_ROS_MIRROR', '')
    if os.pathsep == ':':
        parts = re.split(r':(?!//)(?!\d+/)', value)
    else:
        parts = value.split(os.pathsep)
    return [p.strip() for p in parts if p.strip()]


def offline() -> bool:
    """Return True when ``DEEPLAB_ROS_OFFLINE`` forbids network access."""
    return os.environ.get('DEEPLAB_ROS_OFFLINE', '').strip().lower() in ('1', 'true', 'yes', 'on')


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _is_url(location: str) -> bool:
    return bool(re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', location))


Progress = Callable[[int, int], None]


def _terminal_progress(name: str) -> Optional[Progress]:
    """Return a progress printer for stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        percent = f' {100 * done // total:3d}%' if total else ''
        sys.stderr.write(f'\r  {name} {done / 1e6:7.1f} MB{percent}')
        if total and done >= total:
            sys.stderr.write('\n')
        sys.stderr.flush()
    return show


def _copy_stream(source, target, total: int, progress: Optional[Progress]) -> None:
    done = 0
    for block in iter(lambda: source.read(1 << 16), b''):
        target.write(block)
        done += len(block)
        if progress:
            progress(done, total)


def _store(asset: Asset, location: str, destination: Path,
           progress: Optional[Progress]) -> None:
    """Copy or download ``location`` to ``destination`` atomically, verifying the sha256."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix='.' + asset.filename, suffix='.part',
                                         dir=destination.parent)
    try:
        with os.fdopen(handle, 'wb') as target:
            if _is_url(location):
                request = urllib.request.Request(location, headers={'User-Agent': 'deeplab_ros'})
                with urllib.request.urlopen(request, timeout=60) as response:
                    total = int(response.headers.get('Content-Length') or asset.size)
                    _copy_stream(response, target, total, progress)
            else:
                with open(location, 'rb') as source:
                    _copy_stream(source, target, asset.size, progress)
        actual = sha256_of(Path(temp_name))
        if actual != asset.sha256:
            raise AssetError(f'checksum mismatch for {asset.filename} from {location}: expected '
                             f'sha256 {asset.sha256}, got {actual}; the file was not kept')
        os.replace(temp_name, destination)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def fetch(name: str, progress: Optional[Progress] = None) -> Path:
    """
    Return a verified local copy of a registry asset, fetching it if needed.

    :param name: a registry short name or file name (``models list`` shows them).
    :param progress: called with (bytes done, bytes total); default: a line on a terminal.
    :raises AssetError: unknown name or checksum mismatch; :class:`AssetUnavailableError`
        when no cache, mirror or download has it (offline or unreachable), with the URL and
        the place to put the file by hand.
    """
    asset = lookup(name)
    if asset is None:
        raise AssetError(f'{name!r} is not a registry model or image; known: '
                         f'{", ".join(sorted(ASSETS))}')
    destination = cache_dir() / (asset.kind + 's') / asset.filename
    if destination.is_file():
        if destination.stat().st_size == asset.size and sha256_of(destination) == asset.sha256:
            return destination
        destination.unlink()
    progress = progress or _terminal_progress(asset.filename)
    errors = []
    sources = [m.rstrip('/') + '/' + asset.filename for m in mirrors()]
    if not offline():
        sources.append(asset.url)
    for location in sources:
        if offline() and _is_url(location) and not location.startswith('file:'):
            continue
        if not _is_url(location) and not os.path.isfile(location):
            continue
        try:
            _store(asset, location, destination, progress)
            return destination
        except AssetError as exc:
            errors.append(str(exc))
        except (OSError, urllib.error.URLError) as exc:
            errors.append(f'{location}: {getattr(exc, "reason", exc)}')
    why = '; '.join(errors) if errors else (
        'offline (DEEPLAB_ROS_OFFLINE=1) and not in any mirror' if offline()
        else 'not in any mirror')
    raise AssetUnavailableError(
        f'cannot get {asset.filename} ({why}). Download {asset.url} (sha256 {asset.sha256}) and '
        f'put it at {destination}, or in a directory named by DEEPLAB_ROS_MIRROR')


def resolve_model(model: str, delegate: str = 'cpu', progress: Optional[Progress] = None
                  ) -> Tuple[Path, Optional[Asset]]:
    """
    Return the model file for a registry name or path, and its registry entry if any.

    A registry model is swapped for its variant compiled for an accelerator ``delegate`` (for
    example the ``_edgetpu`` file for delegate edgetpu) when the registry has one; a compiled
    model is never swapped silently for the plain one.
    """
    asset = lookup(model)
    if asset is not None and asset.kind == 'model':
        variant = asset.variants.get(delegate) if delegate != 'cpu' else None
        if variant:
            asset = MODELS[variant]
        return fetch(asset.name, progress), asset
    path = Path(model).expanduser()
    if path.is_file():
        known = next((a for a in MODELS.values() if a.filename == path.name), None)
        return path, known
    if not model:
        raise AssetError('no model given: set model to a registry name (deeplab models list) '
                         'or a .tflite path')
    raise AssetError(f'model {model!r} is neither a registry model '
                     f'({", ".join(sorted(MODELS))}) nor an existing file')
