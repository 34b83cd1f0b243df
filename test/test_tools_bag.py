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

"""``deeplab bag`` on bags written by rosbags: outputs, definitions, passthrough, bad input."""

import importlib.util
import json
import os
from pathlib import Path
import re
import signal
import struct
import subprocess
import sys
import tarfile
import time

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.engine.pipeline import Segmenter
from deeplab_ros.tools import cli
import numpy as np
import pytest
import yaml

try:
    from deeplab_ros.tools.bag.msgtypes import make_typestore
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer
    from rosbags.typesys import get_typestore, Stores
except ImportError:  # without rosbags: the tests are deselected (pytestmark)
    get_typestore = None

pytestmark = pytest.mark.requires('rosbags', 'deeplab bag reads and writes bags with rosbags '
                                  '(pip install rosbags)')
MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'
ROOT = Path(__file__).resolve().parents[1]
TS = get_typestore(Stores.ROS2_JAZZY) if get_typestore else None
T = TS.types if TS else {}
IMAGE, COMPRESSED = 'sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage'
INFO, CLOUD = 'sensor_msgs/msg/CameraInfo', 'sensor_msgs/msg/PointCloud2'
# vision_msgs 4.1.1's type hashes, as its rosidl build writes them (LabelInfo.json).
LABEL_INFO_HASH = 'RIHS01_3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783'
T0 = 1_700_000_000 * 10**9


def frames(count, size=(320, 240)):
    """Return ``count`` different RGB frames: windows of the 720p cat image, and the bird."""
    cat = cv2.cvtColor(cv2.imread(str(registry.fetch('cat_720p.jpg'))), cv2.COLOR_BGR2RGB)
    bird = cv2.cvtColor(cv2.imread(str(registry.fetch('bird.bmp'))), cv2.COLOR_BGR2RGB)
    out = []
    for i in range(count):
        if i % 4 == 3:
            out.append(cv2.resize(bird, size, interpolation=cv2.INTER_AREA))
        else:
            x = 60 * i % 400
            out.append(cv2.resize(cat[:, x:x + 880], size, interpolation=cv2.INTER_AREA))
    return out


def header(i, frame_id='cam'):
    return T['std_msgs/msg/Header'](stamp=T['builtin_interfaces/msg/Time'](
        sec=1_700_000_000 + i // 10, nanosec=i % 10 * 100_000_000), frame_id=frame_id)


def image_msg(i, rgb, encoding='rgb8', step=None, data=None):
    height, width = rgb.shape[:2]
    return TS.serialize_cdr(T[IMAGE](
        header=header(i), height=height, width=width, encoding=encoding, is_bigendian=0,
        step=step or width * 3, data=rgb.reshape(-1) if data is None else data), IMAGE)


def jpeg_msg(i, jpeg):
    return TS.serialize_cdr(T[COMPRESSED](header=header(i), format='jpeg', data=jpeg), COMPRESSED)


def info_msg(i, width, height):
    f = 0.8 * width
    return TS.serialize_cdr(T[INFO](
        header=header(i), height=height, width=width, distortion_model='plumb_bob',
        d=np.zeros(5), k=np.array([f, 0, width / 2, 0, f, height / 2, 0, 0, 1.0]),
        r=np.eye(3).reshape(-1),
        p=np.array([f, 0, width / 2, 0, 0, f, height / 2, 0, 0, 0, 1, 0.0]),
        binning_x=0, binning_y=0, roi=T['sensor_msgs/msg/RegionOfInterest'](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)), INFO)


def depth_msg(i, width, height, metres=2.0):
    depth = np.full((height, width), int(metres * 1000), np.uint16)
    return TS.serialize_cdr(T[IMAGE](
        header=header(i), height=height, width=width, encoding='16UC1', is_bigendian=0,
        step=width * 2, data=depth.view(np.uint8).reshape(-1)), IMAGE)


def write_bag(path, storage='mcap', count=6, size=(320, 240), extra=()):
    """
    Write a bag as a robot records one: a raw camera with camera_info and depth, a JPEG camera.

    Each frame: /front/image_raw (rgb8), /front/camera_info and /front/depth/image_raw just
    after it, /rear/image_raw/compressed, and a /chatter String. ``extra``: (topic, type,
    [(timestamp, bytes)]) topics added.
    """
    rgbs = frames(count, size)
    width, height = size
    messages = []
    for i, rgb in enumerate(rgbs):
        t = T0 + i * 100_000_000
        jpeg = cv2.imencode('.jpg', cv2.cvtColor(rgb[:, ::-1], cv2.COLOR_RGB2BGR))[1].reshape(-1)
        messages += [('/front/image_raw', IMAGE, t, image_msg(i, rgb)),
                     ('/front/camera_info', INFO, t + 1000, info_msg(i, width, height)),
                     ('/front/depth/image_raw', IMAGE, t + 2000, depth_msg(i, width, height)),
                     ('/rear/image_raw/compressed', COMPRESSED, t + 3000, jpeg_msg(i, jpeg)),
                     ('/chatter', 'std_msgs/msg/String', t + 4000, TS.serialize_cdr(
                         T['std_msgs/msg/String'](data=f'frame {i}'), 'std_msgs/msg/String'))]
    for topic, msgtype, items in extra:
        messages += [(topic, msgtype, t, data) for t, data in items]
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        connections = {}
        for topic, msgtype, t, data in sorted(messages, key=lambda m: m[2]):
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=TS)
            writer.write(connections[topic], t, data)
    return rgbs


def read_bag(path):
    """Return {topic: [(timestamp, bytes)]}, the connections by topic, and the metadata."""
    messages = {}
    with Reader(path) as reader:
        connections = {c.topic: c for c in reader.connections}
        for connection, t, data in reader.messages():
            messages.setdefault(connection.topic, []).append((t, bytes(data)))
    metadata = yaml.safe_load((path / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    return messages, connections, metadata


def bag(*args):
    """Run ``deeplab bag`` in this process; return its exit status."""
    return cli.main(['bag', *map(str, args), '--threads', '2'])


def deeplab(*args, timeout=300):
    """Run the ``deeplab`` tool of this source tree in a subprocess."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, '-m', 'deeplab_ros.tools.cli', *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def labels_of(messages, topic):
    out = []
    for t, data in messages[topic]:
        msg = TS.deserialize_cdr(data, IMAGE)
        assert msg.encoding == 'mono8' and msg.step == msg.width and not msg.is_bigendian
        out.append((t, msg, msg.data.reshape(msg.height, msg.width)))
    return out


@pytest.fixture(scope='module')
def segmenter():
    with_model = Segmenter.open(MODEL, num_threads=2)
    yield with_model
    with_model.close()


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_labels_equal_deeplab_segment(tmp_path, storage, segmenter, capsys):
    source, out = tmp_path / 'in', tmp_path / 'out'
    rgbs = write_bag(source, storage)
    assert bag(source, '--out', out) == 0
    summary = capsys.readouterr().out
    assert '/front/image_raw: 6 frames segmented, 0 rejected' in summary
    assert '/rear/image_raw/compressed: 6 frames segmented, 0 rejected' in summary
    assert re.search(r'classes: background \d+\.\d%, cat \d+\.\d%', summary)
    assert (out / f'out.{"mcap" if storage == "mcap" else "db3"}').is_file()
    messages, connections, _ = read_bag(out)
    inputs, _, _ = read_bag(source)

    # deeplab segment on the same frames: PNGs of the raw ones, the JPEG bytes of the others.
    pictures = tmp_path / 'pictures'
    pictures.mkdir()
    for i, rgb in enumerate(rgbs):
        cv2.imwrite(str(pictures / f'front{i}.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        jpeg = TS.deserialize_cdr(inputs['/rear/image_raw/compressed'][i][1], COMPRESSED)
        (pictures / f'rear{i}.jpg').write_bytes(jpeg.data.tobytes())
    assert cli.main(['segment', '--model', MODEL, '--threads', '2', str(pictures), '--out',
                     str(tmp_path / 'segmented')]) == 0
    for camera, topic in (('front', '/front/image_raw'), ('rear', '/rear/image_raw/compressed')):
        got = labels_of(messages, f'/{camera}/segmentation/labels')
        assert [t for t, _, _ in got] == [t for t, _ in inputs[topic]]  # the input's bag time
        for i, (_, msg, labels) in enumerate(got):
            assert msg.header.stamp.sec == 1_700_000_000 + i // 10
            assert msg.header.stamp.nanosec == i % 10 * 100_000_000
            assert msg.header.frame_id == 'cam' and labels.shape == (240, 320)
            expected = cv2.imread(str(tmp_path / 'segmented' / f'{camera}{i}_labels.png'),
                                  cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(labels, expected)
        assert len(np.unique(np.concatenate([x.ravel() for _, _, x in got]))) > 1

    # camera_info for the label map, with the image's header; LabelInfo once per camera.
    infos = [TS.deserialize_cdr(d, INFO) for _, d in messages['/front/segmentation/camera_info']]
    assert len(infos) == 6 and (infos[0].width, infos[0].height) == (320, 240)
    np.testing.assert_allclose(infos[0].k, [256, 0, 160, 0, 256, 120, 0, 0, 1])
    assert infos[3].header.stamp.nanosec == 300_000_000
    assert '/rear/segmentation/camera_info' not in connections  # the bag has no /rear info
    for camera, first in (('front', inputs['/front/image_raw'][0][0]),
                          ('rear', inputs['/rear/image_raw/compressed'][0][0])):
        (t, data), = messages[f'/{camera}/segmentation/label_info']
        label_info = make_typestore('jazzy').deserialize_cdr(data, 'vision_msgs/msg/LabelInfo')
        assert t == first and label_info.threshold == 0.0
        assert label_info.header.stamp.sec == 1_700_000_000
        assert [(c.class_id, c.class_name) for c in label_info.class_map] == list(
            enumerate(segmenter.class_names))
        assert connections[f'/{camera}/segmentation/label_info'].ext.offered_qos_profiles[
            0].durability.name == 'TRANSIENT_LOCAL'


def rosbag2_definition(name, texts):
    """Assemble a complete definition as rosbag2's LocalMessageDefinitionSource does."""
    seen = set()

    def append(typename):
        text = texts(typename)
        package = typename.split('/')[0]
        deps = set()
        for match in re.finditer(r'(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+', text):
            field = match.group(1)
            if field not in ('bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8',
                             'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
                             'string'):
                deps.add(field if '/' in field else f'{package}/{field}')
        for dep in sorted(deps):
            if dep not in seen:
                seen.add(dep)
                pkg, msg = dep.split('/')
                text += '\n' + '=' * 80 + '\nMSG: ' + dep + '\n' + append(f'{pkg}/msg/{msg}')
        return text
    return append(name)


def vision_msgs_text(typename):
    """Return vision_msgs 4.1.1's .msg text, from an install or the shared sources (or skip)."""
    name = typename.split('/')[-1]
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) + ['/opt/ros/jazzy']
    spec = importlib.util.find_spec('vision_msgs')
    if spec is not None and spec.origin:  # <prefix>/lib/python3.X/site-packages/vision_msgs
        prefixes.insert(0, str(Path(spec.origin).parents[4]))
    for share in prefixes:
        path = Path(share, 'share', 'vision_msgs', 'msg', name + '.msg')
        if share and path.is_file():
            return path.read_text()
    # Beside the datasets of the CI layout (assets/ and ros-src/ in one folder), if any.
    datasets = os.environ.get('DEEPLAB_ROS_DATASETS', '')
    archive = Path(datasets).parent / 'ros-src' / 'ros-perception+vision_msgs.tar.gz'
    if not datasets or not archive.is_file():
        pytest.skip('vision_msgs .msg sources not found (install vision_msgs)')
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getnames() if m.endswith(f'vision_msgs/msg/{name}.msg'))
        return tar.extractfile(member).read().decode()


def message_install():
    """Return an install prefix with the ROS message packages' .msg files, and its distro."""
    from importlib import metadata
    names = {(d.metadata['Name'] or '').lower() for d in metadata.distributions()}
    wheels = [d for d in ('humble', 'jazzy', 'kilted') if any(
        n.startswith(f'ros-{d}-') for n in names)]
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    for prefix in [sys.prefix] + prefixes + ['/opt/ros/jazzy']:
        if Path(prefix, 'share', 'sensor_msgs', 'msg', 'Image.msg').is_file():
            return Path(prefix), (wheels + [os.environ.get('ROS_DISTRO') or 'jazzy'])[0]
    pytest.skip('no ROS message packages installed to compare the definitions with')


def mcap_channels(path):
    """Return {topic: channel metadata} from an MCAP file's summary section."""
    data = path.read_bytes()
    footer = len(data) - 8 - 29  # footer record: opcode, length, 3 x u64, crc u32
    summary_start, = struct.unpack_from('<Q', data, footer + 9)
    pos, channels = summary_start, {}

    def string(at):
        size, = struct.unpack_from('<I', data, at)
        return data[at + 4:at + 4 + size].decode(), at + 4 + size
    while pos < footer:
        opcode, length = data[pos], struct.unpack_from('<Q', data, pos + 1)[0]
        if opcode == 0x04:
            topic, at = string(pos + 9 + 4)
            _, at = string(at)
            size, = struct.unpack_from('<I', data, at)
            at, end, meta = at + 4, at + 4 + size, {}
            while at < end:
                key, at = string(at)
                meta[key], at = string(at)
            channels[topic] = meta
        pos += 9 + length
    return channels


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_types_definitions_and_hashes_as_rosbag2_records(tmp_path, storage, monkeypatch):
    prefix, distro = message_install()  # what rosbag2 would read its .msg files from
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(prefix))
    monkeypatch.setenv('ROS_DISTRO', distro)
    share = prefix / 'share'
    source, out = tmp_path / 'in', tmp_path / 'out'
    write_bag(source, storage, count=2)
    params = tmp_path / 'params.yaml'
    params.write_text('/**:\n  ros__parameters:\n    geometry: depth\n'
                      '    obstacle_classes: [cat]\n')
    assert bag(source, '--out', out, '--distro', distro, '--params-file', params) == 0
    _, connections, metadata = read_bag(out)
    assert metadata['version'] == 9
    expected_types = {'labels': IMAGE, 'camera_info': INFO, 'obstacles': CLOUD, 'points': CLOUD,
                      'label_info': 'vision_msgs/msg/LabelInfo'}
    for name, msgtype in expected_types.items():
        assert connections[f'/front/segmentation/{name}'].msgtype == msgtype
    assert '/front/segmentation/ground' not in connections  # no ground_classes

    def texts(typename):
        if typename.startswith('vision_msgs/'):
            return vision_msgs_text(typename)
        package, _, msg = typename.split('/')
        return (share / package / 'msg' / f'{msg}.msg').read_text()
    hashes = {}
    for msgtype in (IMAGE, INFO, CLOUD, COMPRESSED, 'std_msgs/msg/String'):
        package, _, msg = msgtype.split('/')
        description = json.loads((share / package / 'msg' / f'{msg}.json').read_text())
        hashes[msgtype] = next(h['hash_string'] for h in description['type_hashes']
                               if h['type_name'] == msgtype)
    hashes['vision_msgs/msg/LabelInfo'] = LABEL_INFO_HASH
    recorded = {t['topic_metadata']['name']: t['topic_metadata']
                for t in metadata['topics_with_message_count']}
    _, inputs, _ = read_bag(source)
    for topic, connection in connections.items():
        assert recorded[topic]['type_description_hash'] == hashes[connection.msgtype], topic
        if connection.msgtype in expected_types.values():  # the types of the outputs
            assert connection.msgdef.data == rosbag2_definition(connection.msgtype, texts), topic
        else:  # types only passed through keep the definition the input recorded
            assert connection.msgdef == inputs[topic].msgdef, topic
    if storage == 'mcap':
        channels = mcap_channels(out / 'out.mcap')
        assert channels['/front/segmentation/labels']['topic_type_hash'] == hashes[IMAGE]
        assert channels['/front/segmentation/label_info']['topic_type_hash'] == LABEL_INFO_HASH
    else:
        with Reader(out / 'out.db3') as reader:  # the sqlite3 tables hold the hashes too
            assert {c.topic: c.digest for c in reader.connections}[
                '/front/segmentation/points'] == hashes[CLOUD]


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_humble_bags_have_no_type_hashes(tmp_path, storage):
    source, out = tmp_path / 'in', tmp_path / 'out'
    write_bag(source, storage, count=1)
    assert bag(source, '--out', out, '--distro', 'humble') == 0
    _, connections, metadata = read_bag(out)
    assert metadata['version'] == 8  # the newest Humble reads: QoS profiles as a string
    for topic in metadata['topics_with_message_count']:
        assert topic['topic_metadata']['type_description_hash'] == ''
        assert isinstance(topic['topic_metadata']['offered_qos_profiles'], str)
    assert connections['/front/segmentation/labels'].msgtype == IMAGE
    if storage == 'mcap':
        assert 'topic_type_hash' not in mcap_channels(out / 'out.mcap')['/front/image_raw']


def test_passthrough_is_byte_identical_and_optional(tmp_path):
    source = tmp_path / 'in'
    write_bag(source, 'sqlite3', count=4)
    inputs, input_connections, _ = read_bag(source)
    assert bag(source, '--out', tmp_path / 'out', '--storage', 'mcap') == 0
    messages, connections, _ = read_bag(tmp_path / 'out')
    for topic, recorded in inputs.items():
        assert messages[topic] == recorded, topic
        assert connections[topic].msgtype == input_connections[topic].msgtype
    assert bag(source, '--out', tmp_path / 'bare', '--no-passthrough') == 0
    bare, _, metadata = read_bag(tmp_path / 'bare')
    assert metadata['storage_identifier'] == 'sqlite3'  # the input's
    assert not set(bare) & set(inputs)
    assert bare['/front/segmentation/labels'] == messages['/front/segmentation/labels']


@pytest.mark.parametrize('rosbags', ['MCAP storage of another class',
                                     'MCAP storage with other attributes'])
def test_a_rosbags_unlike_0_11_9_writes_the_same_bag_through_its_public_api(
        tmp_path, monkeypatch, rosbags):
    # The MCAP writer is tuned on rosbags 0.11.9's internals (frame-sized messages written
    # without copies); a rosbags whose internals differ must give the same bag, only slower.
    from deeplab_ros.tools.bag import rosbags_internals
    from rosbags.rosbag2.storage_mcap import McapWriter
    source = tmp_path / 'in'
    write_bag(source, count=3, size=(640, 480))  # frames and labels of the copy-free size
    assert bag(source, '--out', tmp_path / 'tuned') == 0
    if rosbags == 'MCAP storage of another class':
        monkeypatch.setitem(Writer.STORAGE_PLUGINS, StoragePlugin.MCAP,
                            type('McapWriter', (McapWriter,), {}))
    else:  # expecting an attribute the writer lacks: as if one it uses were absent
        monkeypatch.setitem(rosbags_internals._MCAP_STATE, 'pending_chunk', object)
    assert bag(source, '--out', tmp_path / 'public') == 0
    tuned, tuned_connections, _ = read_bag(tmp_path / 'tuned')
    public, connections, metadata = read_bag(tmp_path / 'public')
    inputs, _, _ = read_bag(source)
    assert public == tuned and len(public['/front/segmentation/labels']) == 3
    for topic, recorded in inputs.items():
        assert public[topic] == recorded, topic
    assert metadata['message_count'] == sum(len(m) for m in public.values())
    for topic, connection in connections.items():
        expected = tuned_connections[topic]
        assert (connection.msgtype, connection.digest, connection.msgdef) == (
            expected.msgtype, expected.digest, expected.msgdef), topic


def test_malformed_frames_are_counted_and_skipped(tmp_path, capsys):
    source = tmp_path / 'in'
    rgb = frames(1)[0]
    good = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].reshape(-1)
    bad = [(T0 + 10**9, image_msg(10, rgb, step=100)),            # step < width x 3
           (T0 + 2 * 10**9, image_msg(11, rgb, data=rgb.reshape(-1)[:1000])),  # cut short
           (T0 + 3 * 10**9, b'\x00\x01\x00\x00' + b'\xff' * 7)]   # not an Image at all
    jpegs = [(T0 + 10**9 + 5, jpeg_msg(10, good[:len(good) // 2]))]  # truncated JPEG
    write_bag(source, count=2, extra=[('/front/image_raw', IMAGE, bad),
                                      ('/rear/image_raw/compressed', COMPRESSED, jpegs)])
    assert bag(source, '--out', tmp_path / 'out') == 0
    summary = capsys.readouterr().out
    assert '/front/image_raw: 2 frames segmented, 3 rejected' in summary
    assert '/rear/image_raw/compressed: 2 frames segmented, 1 rejected' in summary
    assert 'step 100 is smaller than width 320' in summary
    assert 'truncated data' in summary and 'unreadable message' in summary
    assert 'truncated JPEG' in summary
    messages, _, _ = read_bag(tmp_path / 'out')
    assert len(messages['/front/segmentation/labels']) == 2
    assert len(messages['/front/image_raw']) == 5  # passed through as they are


def test_depth_clouds_pair_each_frame_with_its_depth_image(tmp_path):
    source, out = tmp_path / 'in', tmp_path / 'out'
    write_bag(source, count=3)  # each depth image is recorded just after its colour frame
    params = tmp_path / 'params.yaml'
    params.write_text('deeplab:\n  ros__parameters:\n    geometry: depth\n    depth_slop: 0.0\n'
                      '    obstacle_classes: [cat]\n    ground_classes: [background]\n')
    assert bag(source, '--out', out, '--params-file', params, '--topics',
               '/front/image_raw') == 0
    messages, connections, _ = read_bag(out)
    assert '/rear/segmentation/labels' not in connections
    for name in ('obstacles', 'ground'):
        clouds = [TS.deserialize_cdr(d, CLOUD) for _, d in messages[f'/front/segmentation/{name}']]
        assert len(clouds) == 3  # the first frame too: its depth image comes after it
        for cloud in clouds:
            assert [f.name for f in cloud.fields] == ['x', 'y', 'z', 'label']
            assert cloud.point_step == 16 and cloud.height == 1 and cloud.is_dense
            assert cloud.row_step == 16 * cloud.width and cloud.width > 0
            points = np.frombuffer(cloud.data, np.float32).reshape(-1, 4)
            np.testing.assert_allclose(points[:, 2], 2.0)
    organized = TS.deserialize_cdr(messages['/front/segmentation/points'][0][1], CLOUD)
    assert (organized.height, organized.width) == (240, 320) and not organized.is_dense
    assert [f.name for f in organized.fields] == ['x', 'y', 'z']


def test_png_pairs_read_by_deeplab_eval(tmp_path, capsys):
    source, pairs = tmp_path / 'in', tmp_path / 'pairs'
    write_bag(source, count=3)
    assert bag(source, '--out', tmp_path / 'out', '--png', pairs) == 0
    names = sorted(p.name for p in (pairs / 'images').iterdir())
    assert names == sorted(p.name for p in (pairs / 'masks').iterdir())
    assert names[:3] == ['front_1700000000_000000000.png', 'front_1700000000_100000000.png',
                         'front_1700000000_200000000.png'] and len(names) == 6
    capsys.readouterr()
    assert cli.main(['eval', '--model', MODEL, '--voc', str(pairs), '--json']) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores['images'] == 6 and scores['pixel_accuracy'] == 1.0


def test_every_and_time_window(tmp_path, capsys):
    source = tmp_path / 'in'
    write_bag(source, count=8)
    assert bag(source, '--out', tmp_path / 'out', '--every', '3', '--start', '0.15',
               '--end', '0.65', '--topics', '/front/image_raw') == 0
    assert 'left out by --every' in capsys.readouterr().out
    messages, _, _ = read_bag(tmp_path / 'out')
    # frames 2..6 are in the window; every third of them: 2 and 5.
    assert [t for t, _ in messages['/front/segmentation/labels']] == [
        T0 + 200_000_000, T0 + 500_000_000]
    assert len(messages['/front/image_raw']) == 5
    infos = messages['/front/segmentation/camera_info']  # camera_info from before the window
    assert len(infos) == 2


def test_params_file_applies_to_the_deeplab_node(tmp_path, capsys):
    source = tmp_path / 'in'
    write_bag(source, count=1)
    params = tmp_path / 'params.yaml'
    params.write_text('/**/deeplab:\n  ros__parameters:\n    output_resolution: model\n'
                      '    max_rate: 5.0\n    cameras: [front]\n/**/other:\n'
                      '  ros__parameters:\n    output_resolution: input\n')
    assert bag(source, '--out', tmp_path / 'out', '--params-file', params) == 0
    err = capsys.readouterr().err
    assert 'do not apply to a bag: max_rate, cameras' in err
    messages, _, _ = read_bag(tmp_path / 'out')
    (_, msg, labels), = labels_of(messages, '/front/segmentation/labels')
    assert max(labels.shape) == 513  # model resolution
    info = TS.deserialize_cdr(messages['/front/segmentation/camera_info'][0][1], INFO)
    assert (info.width, info.height) == (msg.width, msg.height)
    params.write_text('/**:\n  ros__parameters:\n    modle: x\n    thresold: 1\n')
    assert bag(source, '--out', tmp_path / 'out2', '--params-file', params) == 1
    assert 'unknown parameters: modle, thresold' in capsys.readouterr().err


def test_errors_say_what_is_wrong(tmp_path, capsys):
    source = tmp_path / 'in'
    write_bag(source, count=1)
    assert bag(source, '--out', tmp_path / 'o', '--topics', '/front/image') == 1
    err = capsys.readouterr().err
    assert 'no image topic /front/image' in err
    assert ('/front/depth/image_raw, /front/image_raw, /rear/image_raw/compressed' in err)
    (tmp_path / 'taken').mkdir()
    (tmp_path / 'taken' / 'notes.txt').write_text('mine')
    assert bag(source, '--out', tmp_path / 'taken') == 1
    assert 'exists' in capsys.readouterr().err
    assert bag(source, '--out', tmp_path / 'taken', '--overwrite') == 1
    assert 'not a bag folder' in capsys.readouterr().err
    assert (tmp_path / 'taken' / 'notes.txt').read_text() == 'mine'
    assert bag(source, '--out', source / 'inside') == 1
    assert 'refusing to write into' in capsys.readouterr().err
    assert bag(source, '--out', tmp_path / 'first') == 0
    assert bag(source, '--out', tmp_path / 'first', '--overwrite') == 0
    broken = tmp_path / 'broken.mcap'
    broken.write_bytes(b'\x89MCAP0\r\n' + b'\x00' * 64)
    assert bag(broken, '--out', tmp_path / 'o2') == 1
    err = capsys.readouterr().err
    assert f'{broken}: cannot read the bag' in err
    assert not (tmp_path / 'o2').exists()


def test_without_rosbags_it_says_how_to_install(tmp_path):
    code = ('import sys; sys.modules["rosbags"] = None; from deeplab_ros.tools import cli; '
            f'sys.exit(cli.main(["bag", "{tmp_path}", "--out", "{tmp_path / "o"}"]))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert result.returncode == 1 and 'pip install rosbags' in result.stderr


def test_the_bag_tool_imports_no_ros(tmp_path):
    source = tmp_path / 'in'
    write_bag(source, count=1)
    code = ('import sys\nimport deeplab_ros.tools.bag\nfrom deeplab_ros.tools import cli\n'
            f'assert cli.main(["bag", "{source}", "--out", "{tmp_path / "o"}"]) == 0\n'
            'loaded = [m for m in sys.modules if m.split(".")[0] in ("rclpy", "sensor_msgs")]\n'
            'assert not loaded, loaded\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert result.returncode == 0, result.stderr


def test_ctrl_c_leaves_a_readable_bag_under_a_temporary_name(tmp_path):
    source, out = tmp_path / 'in', tmp_path / 'out'
    rgb = frames(1)[0]
    long = [(T0 + i * 10_000_000, image_msg(i, rgb)) for i in range(400)]
    with Writer(source, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection('/cam/image_raw', IMAGE, typestore=TS)
        for t, data in long:
            writer.write(connection, t, data)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, '-m', 'deeplab_ros.tools.cli', 'bag', str(source), '--out', str(out),
         '--threads', '2'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=env)
    partial = tmp_path / '.out.partial' / 'out'  # OUT's name once complete
    storage = partial / 'out.mcap'
    deadline = time.monotonic() + 120
    while not (storage.is_file() and storage.stat().st_size > 4 * 2**20):  # frames written
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert f'interrupted (Ctrl-C): the frames done are in {partial}, a valid bag' in stdout
    assert not out.exists()  # not taken for complete by the next run
    messages, _, metadata = read_bag(partial)
    labels = messages['/cam/segmentation/labels']
    assert 0 < len(labels) < 400
    assert metadata['message_count'] == sum(len(m) for m in messages.values())
    # the bag holds the input up to the last frame done, and that frame's outputs
    assert messages['/cam/image_raw'] == long[:len(messages['/cam/image_raw'])]
    assert labels[-1][0] == messages['/cam/image_raw'][-1][0]


@pytest.mark.parametrize('args', [['--outputs', 'labels,frobnicate'], ['--every', '0'],
                                  ['--depth', 'front'], ['--start', '-1']])
def test_usage_errors_exit_2(tmp_path, args):
    result = deeplab('bag', tmp_path, '--out', tmp_path / 'o', *args)
    assert result.returncode == 2 and 'usage: deeplab bag' in result.stderr
    assert deeplab('bag', '--help').returncode == 0
