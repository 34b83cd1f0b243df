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
LiteRT's own accelerators through its CompiledModel API: the GPU and the NPU dispatches.

``gpu`` is LiteRT's WebGPU accelerator (Vulkan on Linux), with XNNPACK on the CPU for the
operators it lacks. ``openvino``, ``qualcomm`` and ``mediatek`` are the vendor dispatches
(LiteRT compiles the model for the vendor's runtime when it loads it). The runtime tells
what it placed where only in its log, so the log of the compile step is read (and passed
on to stderr unchanged) to say which adapter runs and how much of the model stays on the CPU.
"""

from contextlib import contextmanager
from dataclasses import dataclass
import importlib.util
import os
from pathlib import Path
import re
import sys
import tempfile
from typing import Any, Dict, Iterator, List, Tuple

from deeplab_ros.engine.runtime import import_compiled_api, Loaded
from deeplab_ros.errors import DelegateError, ModelError
import numpy as np

#: Pinned with ai-edge-litert 2.3.0 (requirements-openvino.txt, the openvino extra).
OPENVINO_INSTALL = ("pip install 'deeplab_ros[openvino]' (or pip install -r "
                    'requirements-openvino.txt: ai-edge-litert-sdk-intel==2.3.0, which brings '
                    'openvino 2026.3.1)')
VULKAN_INSTALL = (
    'install a Vulkan driver that LiteRT accepts: Mesa 23.1 or newer for Intel and AMD GPUs '
    '(apt package mesa-vulkan-drivers; on Debian 12 from bookworm-backports), the NVIDIA '
    "driver, or a Jetson's L4T; check with `vulkaninfo --summary` and `deeplab accelerators`")
OPENVINO_DEVICES = ('AUTO', 'CPU', 'GPU', 'NPU')


@dataclass(frozen=True)
class AcceleratorSpec:
    """What a CompiledModel accelerator is, what it loads, and what a user installs."""

    purpose: str
    library: str   # the accelerator or dispatch library it loads
    install: str
    vendor: str = ''  # folder under ai_edge_litert/vendors for the NPU dispatches


ACCELERATOR_SPECS = {
    'gpu': AcceleratorSpec(
        'a GPU through LiteRT (WebGPU over Vulkan)', 'libLiteRtWebGpuAccelerator.so',
        VULKAN_INSTALL),
    'openvino': AcceleratorSpec(
        'Intel OpenVINO (NPU, GPU or CPU; option device)', 'libLiteRtDispatch_IntelOpenvino.so',
        OPENVINO_INSTALL, 'intel_openvino'),
    'qualcomm': AcceleratorSpec(
        'a Qualcomm NPU (Hexagon HTP through QNN; RB3 Gen 2, RB5)',
        'libLiteRtDispatch_Qualcomm.so',
        'on the Qualcomm board, install ai-edge-litert-sdk-qualcomm==2.3.0 and the QNN runtime '
        '(libQnnHtp.so from the board image or QAIRT), and set delegate_library to the LiteRT '
        'Qualcomm dispatch library (libLiteRtDispatch_Qualcomm.so) or its folder', 'qualcomm'),
    'mediatek': AcceleratorSpec(
        'a MediaTek NPU (NeuroPilot; Genio boards)', 'libLiteRtDispatch_MediaTek.so',
        'on the Genio board, install ai-edge-litert-sdk-mediatek==2.3.0 and the NeuroPilot '
        'runtime of the board image, and set delegate_library to the LiteRT MediaTek dispatch '
        'library (libLiteRtDispatch_MediaTek.so) or its folder', 'mediatek'),
}

_ADAPTER = re.compile(r'Selected adapter: (.*?), arch=.*?adapterType=([^\n]*)')
_GPU_SPLIT = re.compile(r'(\d+) operations will run on the GPU, and the remaining (\d+) '
                        r'operations will run on the CPU')
_NPU_SPLIT = re.compile(r'selected (\d+) ops, from a total of (\d+) ops')
_PLUGINS = re.compile(r'(\d+) compiler plugins were applied successfully')
_UNSUPPORTED_GPU = re.compile(r'^([A-Z_0-9]+): (?:Operation|Tensor type|.*not supported)', re.M)
_UNSUPPORTED_NPU = re.compile(r'op type (\d+) is not supported')
_EXCEPTION = re.compile(r'Exception in compilation: ([^\n]*)')


@dataclass
class Placement:
    """Where the runtime put the model, read from its log."""

    fully_accelerated: bool
    device: str = ''         # the Vulkan adapter or the OpenVINO device
    cpu_share: str = ''      # e.g. '87 of 113 operators on the CPU'
    unsupported: Tuple[str, ...] = ()
    applied: bool = True     # False: the vendor compiler did nothing (all on the CPU)
    error: str = ''          # the compiler's own reason, when it gave one


@contextmanager
def native_log() -> Iterator[List[str]]:
    """
    Capture what native code writes to stderr meanwhile, then pass it on unchanged.

    Yields a list that holds the captured text once the block ends.
    """
    captured: List[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            scratch.seek(0)
            data = scratch.read()
            captured.append(data.decode('utf-8', 'replace'))
            while data:
                data = data[os.write(2, data):]


def _operator_names(codes: List[str]) -> Tuple[str, ...]:
    """Return TFLite operator names for builtin operator codes (as the log gives them)."""
    api = import_compiled_api()
    names = {v: k for k, v in vars(api.BuiltinOperator).items() if not k.startswith('_')}
    return tuple(sorted({names.get(int(code), f'op {code}') for code in codes}))


def read_placement(log: str, kind: str, fully: bool) -> Placement:
    """Return what the compile log says about where the model runs."""
    placement = Placement(fully_accelerated=fully)
    adapter = _ADAPTER.search(log)
    if adapter:
        placement.device = f'{adapter.group(1)} ({adapter.group(2).strip()})'
    split = _GPU_SPLIT.search(log) if kind == 'gpu' else None
    if split:
        on_cpu = int(split.group(2))
        total = on_cpu + int(split.group(1))
        placement.cpu_share = f'{on_cpu} of {total} operators on the CPU'
        placement.unsupported = tuple(sorted(set(_UNSUPPORTED_GPU.findall(log))))
    if kind != 'gpu':
        plugins = _PLUGINS.search(log)
        placement.applied = bool(plugins and int(plugins.group(1)) > 0)
        selected = _NPU_SPLIT.search(log)
        if selected and placement.applied:
            total = int(selected.group(2))
            on_cpu = total - int(selected.group(1))
            placement.cpu_share = f'{on_cpu} of {total} operators on the CPU'
        elif not placement.applied:
            placement.cpu_share = 'all operators on the CPU (the vendor compiler took none)'
        placement.unsupported = _operator_names(_UNSUPPORTED_NPU.findall(log))
        error = _EXCEPTION.search(log)
        placement.error = error.group(1).strip() if error else ''
    return placement


def _vendor_dir(api: Any, vendor: str, sub: str) -> Path:
    return Path(api.package_dir) / 'vendors' / vendor / sub


def preload_openvino() -> Path:
    """
    Load OpenVINO's libraries from the openvino package, so the dispatch finds them.

    The LiteRT dispatch and compiler plugin look for ``libopenvino.so.*`` beside their own
    package; this makes them work wherever pip put openvino (user site, another prefix).

    :raises DelegateError: OpenVINO is not installed (what to install).
    """
    import ctypes
    try:
        spec = importlib.util.find_spec('openvino')
    except (ImportError, ValueError):
        spec = None
    libs = Path(spec.origin).parent / 'libs' if spec and spec.origin else None
    found = sorted(libs.glob('libopenvino.so.*')) if libs and libs.is_dir() else []
    if not found:
        raise DelegateError(
            'cannot start the openvino accelerator (for Intel OpenVINO): the openvino '
            f'package is not installed. To fix: {OPENVINO_INSTALL}')
    for pattern in ('libtbb.so.*', 'libopenvino.so.*',
                    'libopenvino_tensorflow_lite_frontend.so.*'):
        for library in sorted(libs.glob(pattern))[:1]:
            ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    return found[0]


def openvino_devices() -> Tuple[str, ...]:
    """Return the devices OpenVINO sees here (CPU, GPU, NPU...)."""
    preload_openvino()
    import openvino
    return tuple(openvino.Core().available_devices)


def pick_openvino_device(wanted: str) -> str:
    """
    Return the OpenVINO device to compile for: ``AUTO`` takes the NPU, else GPU, else CPU.

    :raises DelegateError: an unknown device, or one OpenVINO does not see (what to install).
    """
    wanted = (wanted or 'AUTO').upper()
    if wanted not in OPENVINO_DEVICES:
        raise DelegateError(f'openvino option device={wanted}: choose one of '
                            f'{", ".join(OPENVINO_DEVICES)}')
    present = {name.split('.')[0] for name in openvino_devices()}
    if wanted == 'AUTO':
        return next((d for d in ('NPU', 'GPU', 'CPU') if d in present), 'CPU')
    if wanted not in present:
        raise DelegateError(
            f'cannot start the openvino accelerator on device {wanted}: OpenVINO sees only '
            f'{", ".join(sorted(present)) or "no device"}. To fix: for the NPU, an Intel Core '
            'Ultra with the NPU driver (intel-driver-compiler-npu, intel-fw-npu, level-zero); '
            'for the GPU, the Intel compute runtime (intel-opencl-icd); or use device=CPU')
    return wanted


def _dispatch_dir(api: Any, kind: str, library: str) -> Path:
    """Return the folder of a vendor dispatch library, or raise DelegateError saying why."""
    spec = ACCELERATOR_SPECS[kind]
    where = Path(library) if library else _vendor_dir(api, spec.vendor, 'dispatch')
    folder = where if where.is_dir() or not where.suffix else where.parent
    if not (folder / spec.library).is_file():
        raise DelegateError(
            f'cannot start the {kind} accelerator (for {spec.purpose}): no {spec.library} in '
            f'{folder}. To fix: {spec.install}')
    return folder


def _options(api: Any, kind: str, threads: int, device: str) -> Any:
    hw = api.HardwareAccelerator
    cpu = api.CpuOptions(num_threads=threads)
    if kind == 'gpu':
        return api.Options(hardware_accelerators=hw.GPU | hw.CPU, cpu_options=cpu)
    options = api.Options(hardware_accelerators=hw.NPU | hw.CPU, cpu_options=cpu)
    if kind == 'openvino':
        backend = getattr(api.IntelOpenVinoGraphBackend, device)
        options = api.Options(hardware_accelerators=hw.NPU | hw.CPU, cpu_options=cpu,
                              intel_openvino_options=api.IntelOpenVinoOptions(
                                  graph_backend=backend))
    return options


def _environment(api: Any, kind: str, library: str) -> Any:
    if kind == 'gpu':
        return api.Environment.create(runtime_path=api.package_dir)
    dispatch = _dispatch_dir(api, kind, library)
    compiler = _vendor_dir(api, ACCELERATOR_SPECS[kind].vendor, 'compiler')
    return api.Environment.create(runtime_path=api.package_dir,
                                  dispatch_library_path=str(dispatch),
                                  compiler_plugin_path=str(compiler))


def _refusal(kind: str, model_path: Path, placement: Placement, log: str, exc: Exception
             ) -> Exception:
    """Return the error for an accelerator that did not take the model."""
    spec = ACCELERATOR_SPECS[kind]
    if kind == 'gpu' and ('No adapters found' in log or 'Selected adapter' not in log):
        reason = next((line.strip() for line in log.splitlines()
                       if 'required' in line and 'Vulkan' in line), 'no Vulkan adapter found')
        return DelegateError(f'cannot start the gpu accelerator ({spec.purpose}): {reason}. '
                             f'To fix: {spec.install}')
    why = placement.error or (str(exc).strip() if exc else 'its compiler took no operator')
    ops = f'; operators it lacks: {", ".join(placement.unsupported)}' if (
        placement.unsupported) else ''
    return ModelError(f'the {kind} accelerator cannot compile {model_path.name}: {why}{ops}. '
                      'To fix: run this model with delegate cpu, or set delegate_fallback '
                      'true to run it on the CPU when the accelerator cannot')


def compile_model(model_path: Path, kind: str, threads: int, options: Dict[str, str],
                  library: str = '') -> Loaded:
    """
    Compile a model for one of :data:`ACCELERATOR_SPECS` and return it ready to run.

    :param options: ``device`` for openvino (AUTO, CPU, GPU or NPU).
    :param library: the dispatch library (or its folder) for the NPU dispatches.
    :raises DelegateError: the accelerator cannot start (what to install).
    :raises ModelError: it cannot compile this model (which operators, what to do).
    """
    unknown = set(options) - ({'device'} if kind == 'openvino' else set())
    if unknown:
        raise DelegateError(f'delegate {kind} takes no option {", ".join(sorted(unknown))}'
                            + ('; it takes device' if kind == 'openvino' else ''))
    device = ''
    if kind == 'openvino':
        device = pick_openvino_device(options.get('device', 'AUTO'))
    api = import_compiled_api()
    placement, log, error, compiled = Placement(False), '', None, None
    with native_log() as captured:
        try:
            environment = _environment(api, kind, library)
            compiled = api.CompiledModel.from_file(
                str(model_path), environment=environment,
                options=_options(api, kind, threads, device))
        except (RuntimeError, ValueError) as exc:
            error = exc
    log = ''.join(captured)
    if compiled is not None:
        placement = read_placement(log, kind, compiled.is_fully_accelerated())
    if compiled is None or not placement.applied:
        raise _refusal(kind, model_path, placement, log, error)
    placement.device = placement.device or device
    return Loaded(runner=CompiledRunner(compiled, api.Interpreter(model_path=str(model_path))),
                  runtime='ai_edge_litert', delegate=kind, num_threads=threads,
                  accelerator=_describe(kind, placement), fully_accelerated=fully_or_not(
                      placement), cpu_share=placement.cpu_share)


def fully_or_not(placement: Placement) -> bool:
    """Return whether every operator runs on the accelerator, as far as the runtime tells."""
    return placement.fully_accelerated and (
        not placement.cpu_share or placement.cpu_share.startswith('0 of'))


def _describe(kind: str, placement: Placement) -> str:
    spec = ACCELERATOR_SPECS[kind]
    where = f' on {placement.device}' if placement.device else ''
    return f'{kind}: {spec.purpose}{where}'


class CompiledRunner:
    """A CompiledModel behind the interface the Model uses (arrays in, arrays out)."""

    def __init__(self, compiled: Any, interpreter: Any):
        """Wrap a compiled model; ``interpreter`` (never allocated) gives the tensor facts."""
        self._compiled = compiled
        self._inputs = interpreter.get_input_details()
        self._outputs = interpreter.get_output_details()
        self._in_buffers = compiled.create_input_buffers(0)
        self._out_buffers = compiled.create_output_buffers(0)
        spec = self._inputs[0]
        self._input = np.zeros(tuple(spec['shape']), np.dtype(spec['dtype']))
        out = self._outputs[0]
        self._output = np.zeros(tuple(out['shape']), np.dtype(out['dtype']))

    def details(self) -> Tuple[list, list]:
        """Return the input and output tensor details, as the Interpreter gives them."""
        return self._inputs, self._outputs

    def input_array(self) -> np.ndarray:
        """Return the input, [1, H, W, 3], written to the accelerator at each invoke."""
        return self._input

    def output_array(self) -> np.ndarray:
        """Return the output of the last invoke."""
        return self._output

    def invoke(self) -> None:
        """Copy the input in, run, and read the first output back."""
        self._in_buffers[0].write(self._input)
        self._compiled.run_by_index(0, self._in_buffers, self._out_buffers)
        out = self._output
        if out.dtype in (np.float32, np.int32, np.uint8, np.int8):
            data = self._out_buffers[0].read(out.size, out.dtype)
        else:  # int64 argmax outputs: the buffer reader takes only 4- and 1-byte types
            data = self._out_buffers[0].read(out.nbytes, np.uint8).view(out.dtype)
        self._output = data.reshape(out.shape)

    def close(self) -> None:
        """Release the buffers and the compiled model."""
        for buffer in self._in_buffers + self._out_buffers:
            buffer.destroy()
        self._in_buffers = self._out_buffers = []
        if self._compiled is not None:
            self._compiled.close()
        self._compiled = None
