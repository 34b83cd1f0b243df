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
The ``deeplab`` desk tool: models, segment, bench, eval, demo and bag.

Exit status: 0 on success, 1 on failure, 2 on usage errors, 130 after Ctrl-C.
"""

import argparse
import json
from pathlib import Path
import sys
import time
from typing import Callable, Iterator, List, Optional, Sequence

import cv2
from deeplab_ros.engine import registry
from deeplab_ros.engine.evaluate import (evaluate, find_pairs, IMAGE_SUFFIXES, read_class_map,
                                         read_image)
from deeplab_ros.engine.pipeline import DEFAULT_RESIZE_MODE, RESIZE_CHOICES, Segmenter
from deeplab_ros.engine.postprocess import UPSAMPLINGS
from deeplab_ros.engine.runtime import DELEGATES, RUNTIMES
from deeplab_ros.errors import AssetError, DeeplabError
from deeplab_ros.tools.arguments import fraction, positive, size
from deeplab_ros.tools.bench import agreement_with_cpu, print_report, run_bench
import numpy as np

DEFAULT_MODEL = 'deeplabv3_mnv2_dm05_pascal_quant'


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every model-running subcommand shares."""
    parser.add_argument('--model', '-m', default=DEFAULT_MODEL,
                        help='registry name (deeplab models list) or .tflite path '
                             '(default: %(default)s)')
    parser.add_argument('--delegate', '-d', default='cpu', choices=DELEGATES,
                        help='hardware delegate (default: %(default)s)')
    parser.add_argument('--delegate-library', default='',
                        help='delegate library path (required for external)')
    parser.add_argument('--delegate-option', action='append', default=[], metavar='KEY=VALUE',
                        help='delegate option, repeatable (e.g. device=usb:0)')
    parser.add_argument('--fallback', action='store_true',
                        help='run on the CPU if the delegate cannot load (reported)')
    parser.add_argument('--runtime', default='auto', choices=RUNTIMES,
                        help='TensorFlow Lite runtime (default: %(default)s)')
    parser.add_argument('--threads', '-t', type=positive, default=None,
                        help='CPU threads (default: all cores)')
    parser.add_argument('--labels', default='', help='labels file or set name (voc, cityscapes)')
    parser.add_argument('--palette', default='', help='palette file or name (voc, cityscapes)')
    parser.add_argument('--resize-mode', default=DEFAULT_RESIZE_MODE, choices=RESIZE_CHOICES,
                        help="fit to the model input; auto: the model's measured best "
                             '(default: %(default)s)')
    parser.add_argument('--upsampling', default='auto', choices=UPSAMPLINGS,
                        help='geometry of score maps smaller than the input; auto: '
                             'align_corners for (n-1)*k+1 sizes, else half_pixel '
                             '(default: %(default)s)')


def _open(args: argparse.Namespace, output_resolution: str = 'input'):
    """Open a Segmenter from the shared options, reporting the delegate on stderr."""
    segmenter = Segmenter.open(
        args.model, runtime=args.runtime, delegate=args.delegate,
        delegate_library=args.delegate_library, delegate_options=args.delegate_option,
        delegate_fallback=args.fallback, num_threads=args.threads, labels=args.labels,
        palette=args.palette, resize_mode=args.resize_mode,
        output_resolution=output_resolution, upsampling=args.upsampling)
    info = segmenter.info
    if info.fallback_reason:
        print(f'deeplab: note: running on {info.delegate}: {info.fallback_reason}',
              file=sys.stderr)
    return segmenter


def _terminal_counter(unit: str) -> Optional[Callable[[int, int], None]]:
    """Return a progress line printer for stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    start = time.perf_counter()

    def show(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - start, 1e-9)
        sys.stderr.write(f'\r  {done}/{total} {unit}, {rate:.1f} per second')
        if done >= total:
            sys.stderr.write('\n')
        sys.stderr.flush()
    return show


def _write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB image file."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise AssetError(f'cannot write {path}')


def cmd_models(args: argparse.Namespace) -> int:
    """List registry models or fetch them."""
    if args.action == 'fetch':
        names = sorted(registry.MODELS) if args.names == ['all'] else args.names
        for name in names:
            print(registry.fetch(name))
        return 0
    rows = []
    for asset in registry.MODELS.values():
        cached = registry.cache_dir() / 'models' / asset.filename
        rows.append({'name': asset.name, 'file': asset.filename, 'url': asset.url,
                     'sha256': asset.sha256, 'size': asset.size, 'classes': asset.classes,
                     'labels': asset.labels or 'metadata/generic', 'boards': list(asset.boards),
                     'variants': dict(asset.variants), 'cached': cached.is_file(),
                     'note': asset.note})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f'{"model":<58} {"MB":>7} {"classes":>7}  {"boards":<14} notes')
    for row in rows:
        cached = ' [cached]' if row['cached'] else ''
        print(f'{row["name"]:<58} {row["size"] / 1e6:7.1f} {row["classes"]:7d}  '
              f'{",".join(row["boards"]):<14} {row["note"]}{cached}')
    images = ', '.join(a.name for a in registry.ASSETS.values() if a.kind == 'image')
    print(f'\nsample images: {images}')
    return 0


def _iter_images(paths: Sequence[str]) -> Iterator[Path]:
    """Yield image files from the files and folders named on the command line."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            yield path
        else:
            raise AssetError(f'{path}: no such file or folder')


def cmd_segment(args: argparse.Namespace) -> int:
    """Segment images; write <stem>_labels.png, <stem>_color.png and <stem>_overlay.png."""
    images = list(_iter_images(args.inputs))
    if not images:
        raise AssetError(f"no images found in {', '.join(args.inputs)}")
    segmenter = _open(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in images:
        rgb = read_image(path)
        result = segmenter.segment(rgb)
        color = segmenter.colorize(result.labels)
        if not cv2.imwrite(str(out / (path.stem + '_labels.png')), result.labels):
            raise AssetError(f'cannot write into {out}')
        _write_rgb(out / (path.stem + '_color.png'), color)
        _write_rgb(out / (path.stem + '_overlay.png'),
                   segmenter.overlay(rgb, color, args.alpha, result.labels))
        present = np.unique(result.labels)
        names = ', '.join(segmenter.class_names[i] if i < len(segmenter.class_names) else str(i)
                          for i in present)
        print(f'{path.name}: {rgb.shape[1]}x{rgb.shape[0]}, '
              f'{result.timings["inference"]:.1f} ms inference, classes: {names}')
    return 0


def _bench_image(size: tuple) -> np.ndarray:
    """Return the 720p sample image resized to ``size``, or a synthetic one offline."""
    try:
        rgb = read_image(registry.fetch('cat_720p.jpg'))
    except AssetError as exc:
        print(f"deeplab: note: using a synthetic image ({str(exc).split(' (')[0]})",
              file=sys.stderr)
        ramp_x = np.linspace(0, 255, size[0], dtype=np.float32)
        ramp_y = np.linspace(0, 255, size[1], dtype=np.float32)[:, None]
        return np.dstack([np.broadcast_to(ramp_x, (size[1], size[0])),
                          np.broadcast_to(ramp_y, (size[1], size[0])),
                          (ramp_x + ramp_y) / 2]).astype(np.uint8)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def cmd_bench(args: argparse.Namespace) -> int:
    """Print the latency table of each stage against raw invoke, and how it is accelerated."""
    started = time.perf_counter()
    segmenter = _open(args)
    compile_ms = (time.perf_counter() - started) * 1e3
    image = read_image(Path(args.image)) if args.image else _bench_image(args.input_size)
    if args.image and args.input_size:
        image = cv2.resize(image, args.input_size, interpolation=cv2.INTER_AREA)
    report = run_bench(segmenter, image, runs=args.runs, alpha=args.alpha)
    info = segmenter.info
    report.update({'model': info.model_name, 'runtime': info.runtime, 'delegate': info.delegate,
                   'accelerator': info.accelerator, 'fully_accelerated': info.fully_accelerated,
                   'cpu_share': info.cpu_share, 'compile_ms': compile_ms,
                   'threads': info.num_threads,
                   'input_size': f'{image.shape[1]}x{image.shape[0]}',
                   'model_input': f'{info.input_size[0]}x{info.input_size[1]}', 'runs': args.runs,
                   'agreement_with_cpu': agreement_with_cpu(segmenter, image, info.model_path,
                                                            info.num_threads)})
    report.update(segmenter.protocol())
    segmenter.close()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Print mIoU, pixel accuracy, per-class IoU and confusions on a VOC-layout folder."""
    pairs = find_pairs(Path(args.voc))
    if args.limit:
        pairs = pairs[:args.limit]
    segmenter = _open(args)
    names = segmenter.class_names
    class_map = read_class_map(Path(args.class_map), names) if args.class_map else None
    if class_map is not None and class_map.unmapped_classes(names):
        print(f'deeplab: note: model classes not in {args.class_map} count as misses: '
              f'{", ".join(class_map.unmapped_classes(names))}', file=sys.stderr)
    protocol = segmenter.protocol()
    start = time.perf_counter()
    scores = evaluate(pairs, lambda rgb: segmenter.segment(rgb).labels, len(names),
                      segmenter.labels.palette, _terminal_counter('images'), names=names,
                      class_map=class_map)
    rate = scores.images / max(time.perf_counter() - start, 1e-9)
    iou = scores.class_iou()
    per_class = {scores.names[i]: (None if np.isnan(v) else round(float(v), 4))
                 for i, v in enumerate(iou) if i not in scores.skip}
    confusions = [dict(c, share=round(c['share'], 4)) for c in scores.confusions(args.top)]
    if args.json:
        extra = {'class_map': args.class_map} if class_map is not None else {}
        print(json.dumps({'model': segmenter.info.model_name, **protocol, **extra,
                          'images': scores.images, 'images_per_second': round(rate, 2),
                          'miou': scores.miou, 'pixel_accuracy': scores.pixel_accuracy,
                          'class_iou': per_class, 'confusions': confusions}, indent=2))
        return 0
    mapped = f', class map {args.class_map}' if class_map else ''
    print(f'model {segmenter.info.model_name}, {scores.images} images ({rate:.1f} per second), '
          f'resize mode {protocol["resize_mode"]}, upsampling {protocol["upsampling"]}{mapped}')
    print(f'mIoU {scores.miou:.4f}   pixel accuracy {scores.pixel_accuracy:.4f}')
    for name, value in per_class.items():
        if value is not None:
            print(f'  {name:20} {value:.4f}')
    if confusions:
        print('most frequent confusions (ground truth -> predicted, share of its pixels):')
    for confusion in confusions:
        pair = f'{confusion["truth"]} -> {confusion["predicted"]}'
        print(f'  {pair:<32} {100 * confusion["share"]:6.2f}%')
    return 0


def _add_models(commands) -> None:
    models = commands.add_parser('models', help='list or fetch registry models',
                                 description='List registry models or fetch them into the '
                                 'cache (DEEPLAB_ROS_HOME), mirrors first.')
    actions = models.add_subparsers(dest='action', metavar='ACTION', required=True)
    listing = actions.add_parser('list', help='list models', description='List registry models.')
    listing.add_argument('--json', action='store_true', help='print JSON')
    fetching = actions.add_parser('fetch', help='download and verify models or images',
                                  description='Fetch registry assets by name ("all": every '
                                  'model), verify their sha256 and print their paths.')
    fetching.add_argument('names', nargs='+', metavar='NAME')
    models.set_defaults(func=cmd_models)


def _add_segment(commands) -> None:
    segment = commands.add_parser('segment', help='segment images into PNGs',
                                  description='Segment images or folders of images; write '
                                  '<stem>_labels.png (8-bit class ids), <stem>_color.png and '
                                  '<stem>_overlay.png into --out.')
    _add_engine_arguments(segment)
    segment.add_argument('inputs', nargs='+', metavar='IMAGE_OR_DIR')
    segment.add_argument('--out', '-o', required=True, help='output folder')
    segment.add_argument('--alpha', type=fraction, default=0.5, help='overlay opacity')
    segment.set_defaults(func=cmd_segment)


def _add_bench(commands) -> None:
    bench = commands.add_parser('bench', help='latency of each stage vs raw invoke',
                                description='Time raw invoke and each pipeline stage (median '
                                'and p95) on one image, alternating runs; say how long the '
                                'model took to load and compile, whether it is fully '
                                "accelerated, and how far its labels agree with the CPU's.")
    _add_engine_arguments(bench)
    bench.add_argument('--input-size', type=size, default=None, metavar='WxH',
                       help='camera image size (default 1280x720)')
    bench.add_argument('--image', default='', help='image to use (default: cat_720p.jpg)')
    bench.add_argument('--runs', type=positive, default=50, help='timed runs')
    bench.add_argument('--alpha', type=fraction, default=0.5, help='overlay opacity')
    bench.add_argument('--json', action='store_true', help='print JSON')
    bench.set_defaults(func=cmd_bench)


def _add_eval(commands) -> None:
    evaluation = commands.add_parser('eval', help='mIoU on a VOC-layout folder',
                                     description='Mean IoU, pixel accuracy and per-class IoU '
                                     'on JPEGImages/ + SegmentationClass/ (or images/ + '
                                     'masks/); palette or grey masks, 255 ignored; '
                                     '--class-map scores data labelled in other classes.')
    _add_engine_arguments(evaluation)
    evaluation.add_argument('--voc', required=True, metavar='DIR', help='dataset folder')
    evaluation.add_argument('--limit', type=positive, default=None,
                            help='only the first N images')
    evaluation.add_argument('--class-map', default='', metavar='FILE',
                            help="YAML file mapping the model's classes onto the classes the "
                                 'masks are labelled in (e.g. config/camvid_cityscapes.yaml)')
    evaluation.add_argument('--top', type=positive, default=10, metavar='N',
                            help='confusions to list (default: %(default)s)')
    evaluation.add_argument('--json', action='store_true', help='print JSON')
    evaluation.set_defaults(func=cmd_eval)


def _add_accelerators(commands) -> None:
    from deeplab_ros.tools import accelerators
    probe = commands.add_parser('accelerators', help='what this machine can run on',
                                description='Probe each accelerator in a child process and '
                                'print a table: present, device (Vulkan adapter, OpenVINO '
                                'devices), the library it loads, whether a small model '
                                "compiles and how far its labels agree with the CPU's.")
    probe.add_argument('--only', nargs='+', choices=list(accelerators.PROBES), metavar='KIND',
                       help=f'probe only these ({", ".join(accelerators.PROBES)})')
    probe.set_defaults(func=lambda args: accelerators.run(args.only))


def _add_ros_tools(commands) -> None:
    demo = commands.add_parser('demo', help='run the ROS node end to end on sample images',
                               description='Start segmentation_node, play the sample images '
                               'on a real topic, drive the lifecycle, save PNGs and print the '
                               "node's figures.")
    from deeplab_ros.tools import demo as demo_module
    demo_module.add_arguments(demo)
    demo.set_defaults(func=demo_module.run)

    bag = commands.add_parser('bag', help='label every frame of recorded ROS 2 bags',
                              description='Segment every camera frame of a rosbag2 folder or '
                              'MCAP file into a new bag: the inputs passed through plus the '
                              "node's outputs under each camera's namespace, at the input's "
                              'timestamps. Needs rosbags (pip install rosbags), not ROS.')
    from deeplab_ros.tools.bag import command as bag_command
    bag_command.add_arguments(bag)
    bag.set_defaults(func=bag_command.run)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``deeplab`` tool."""
    parser = argparse.ArgumentParser(
        prog='deeplab', description='DeepLab segmentation on your desk: fetch models, segment '
        'images, benchmark, evaluate accuracy, probe accelerators, and run the ROS node end to '
        'end.')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for add in (_add_models, _add_segment, _add_bench, _add_eval, _add_accelerators,
                _add_ros_tools):
        add(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == 'bench' and args.input_size is None and not args.image:
        args.input_size = (1280, 720)
    try:
        return args.func(args)
    except DeeplabError as exc:
        print(f'deeplab: error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
