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
TensorFlow Lite runtimes and hardware delegates: the only place that imports LiteRT.

A runtime is imported lazily: ``ai_edge_litert`` (LiteRT, the default), ``tflite_runtime``
(what NXP BSPs and Coral ship) or ``tensorflow``, for the Interpreter and its delegates; LiteRT's
CompiledModel API (its GPU and NPU accelerators, see :mod:`deeplab_ros.engine.compiled`)
through :func:`import_compiled_api`. Both run behind one runner interface (:class:`Loaded`).
"""

import ctypes
from dataclasses import dataclass
import importlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

from deeplab_ros.errors import DelegateError, ModelError, RuntimeNotFoundError

RUNTIMES = ('auto', 'ai_edge_litert', 'tflite_runtime', 'tensorflow')
#: Interpreter delegates first, then LiteRT's CompiledModel accelerators.
DELEGATES = ('auto', 'cpu', 'edgetpu', 'vx', 'ethosu', 'external', 'gpu', 'openvino',
             'qualcomm', 'mediatek')
COMPILED_DELEGATES = ('gpu', 'openvino', 'qualcomm', 'mediatek')

# Where each runtime keeps Interpreter and load_delegate, and how to install it.
_RUNTIME_MODULES = {
    'ai_edge_litert': ('ai_edge_litert.interpreter', 'pip install ai-edge-litert'),
    'tflite_runtime': ('tflite_runtime.interpreter',
                       'use the tflite_runtime of your board support package (NXP eIQ, Coral)'),
    'tensorflow': ('tensorflow.lite', 'pip install tensorflow'),
}


@dataclass(frozen=True)
class DelegateSpec:
    """What a named delegate loads and what a user installs to get it."""

    library: str
    purpose: str
    install: str


DELEGATE_SPECS = {
    'edgetpu': DelegateSpec(
        'libedgetpu.so.1', 'the Coral Edge TPU (USB or PCIe)',
        'install the Edge TPU runtime (apt package libedgetpu1-std from the Coral repository, '
        'https://coral.ai/docs/accelerator/get-started/), plug the Edge TPU in, and make sure '
        'no other process holds it'),
    'vx': DelegateSpec(
        '/usr/lib/libvx_delegate.so', 'the NXP i.MX 8M Plus NPU (VX delegate)',
        'use an NXP i.MX Linux BSP image with eIQ, which ships tflite-vx-delegate as '
        '/usr/lib/libvx_delegate.so, or set delegate_library to where yours is'),
    'ethosu': DelegateSpec(
        '/usr/lib/libethosu_delegate.so', 'the NXP i.MX 93 Ethos-U65 NPU',
        'use an NXP i.MX 93 BSP image with eIQ (tflite-ethosu-delegate and the ethos-u '
        'firmware), and a model compiled with Vela'),
}

# Order in which delegate 'auto' tries accelerators before settling on the CPU (openvino only
# for the models the registry measured faster with it).
AUTO_ORDER = ('edgetpu', 'vx', 'ethosu', 'openvino')


@dataclass
class Loaded:
    """A model ready to run (an Interpreter or a CompiledModel runner) and how it was loaded."""

    runner: Any                # InterpreterRunner or compiled.CompiledRunner
    runtime: str
    delegate: str
    num_threads: int
    fell_back: bool = False
    fallback_reason: str = ''  # why the requested delegate is not the one running
    accelerator: str = ''      # what runs it, for logs and diagnostics
    fully_accelerated: Optional[bool] = None  # None: the runtime does not say
    cpu_share: str = ''        # how much of the model stays on the CPU, when the runtime says


class InterpreterRunner:
    """An allocated Interpreter behind the runner interface; views point into its memory."""

    def __init__(self, interpreter: Any):
        """Wrap an allocated interpreter."""
        self._interpreter = interpreter
        self._input = interpreter.tensor(interpreter.get_input_details()[0]['index'])
        self._output = interpreter.tensor(interpreter.get_output_details()[0]['index'])

    def details(self) -> Tuple[list, list]:
        """Return the input and output tensor details."""
        return self._interpreter.get_input_details(), self._interpreter.get_output_details()

    def input_array(self) -> Any:
        """Return the input tensor, [1, H, W, 3], in place."""
        return self._input()

    def output_array(self) -> Any:
        """Return the first output tensor in place."""
        return self._output()

    def invoke(self) -> None:
        """Run the model."""
        self._interpreter.invoke()

    def close(self) -> None:
        """Release the interpreter and its delegate."""
        self._input = self._output = self._interpreter = None


def import_compiled_api() -> SimpleNamespace:
    """
    Import LiteRT's CompiledModel API (ai_edge_litert 2.x).

    :raises RuntimeNotFoundError: ai_edge_litert is missing or too old (what to install).
    """
    try:
        from ai_edge_litert import compiled_model, environment, hardware_accelerator, options
        from ai_edge_litert import schema_py_generated
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise RuntimeNotFoundError(
            f"the gpu, openvino, qualcomm and mediatek accelerators need LiteRT's "
            f'CompiledModel API: pip install ai-edge-litert==2.3.0 ({exc})') from exc
    return SimpleNamespace(
        CompiledModel=compiled_model.CompiledModel, Options=options.Options,
        CpuOptions=options.CpuOptions, IntelOpenVinoOptions=options.IntelOpenVinoOptions,
        IntelOpenVinoGraphBackend=options.IntelOpenVinoGraphBackend,
        HardwareAccelerator=hardware_accelerator.HardwareAccelerator,
        Environment=environment.Environment, Interpreter=Interpreter,
        BuiltinOperator=schema_py_generated.BuiltinOperator,
        package_dir=os.path.dirname(os.path.abspath(compiled_model.__file__)))


def parse_options(options: Union[Sequence[str], Mapping[str, Any], None]) -> dict:
    """
    Turn ``['key=value', ...]`` (or a mapping) into a dict of delegate options.

    A later entry with the same key wins; a key whose value is empty (``key=``) is left
    out: it means unset (a launch argument given as ``none``).
    """
    if not options:
        return {}
    if isinstance(options, Mapping):
        items = [(str(k), str(v)) for k, v in options.items()]
    else:
        items = []
        for item in options:
            key, sep, value = str(item).partition('=')
            if not sep or not key.strip():
                raise DelegateError(f'delegate option {item!r} is not of the form key=value')
            items.append((key, value))
    parsed = {}
    for key, value in items:
        parsed[key.strip()] = value.strip()
    return {key: value for key, value in parsed.items() if value}


def expand_placeholders(options: Mapping[str, str], model: str, cache: Path) -> dict:
    """
    Replace {model} and {cache} in delegate option values; create folders under the cache.

    ``{model}`` is the file name (no suffix) of the model being loaded, ``{cache}`` the
    deeplab_ros cache folder: ``cache_file_path={cache}/vx_cache/{model}.nb`` gives each
    model its own NPU graph cache. The folder of a value that uses {cache} is created (end
    the value with / when it names a folder itself).
    """
    expanded = {}
    for key, value in options.items():
        try:
            expanded[key] = value.format(model=model, cache=cache)
        except (KeyError, IndexError, ValueError) as exc:
            raise DelegateError(f'delegate option {key}={value}: only {{model}} and {{cache}} '
                                f'can be substituted ({exc})') from exc
        if '{cache}' in value:
            os.makedirs(os.path.dirname(expanded[key]) or '.', exist_ok=True)
    return expanded


def import_runtime(name: str = 'auto') -> tuple:
    """Import a runtime; return ``(name, Interpreter class, load_delegate function)``."""
    if name not in RUNTIMES:
        raise RuntimeNotFoundError(f'unknown runtime {name!r}; choose one of '
                                   f'{", ".join(RUNTIMES)}')
    names = list(RUNTIMES[1:]) if name == 'auto' else [name]
    failures = []
    for candidate in names:
        module_name, install = _RUNTIME_MODULES[candidate]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # also catches tflite_runtime's numpy 2 ABI error
            failures.append(f'{candidate} ({install}: {exc})')
            continue
        if candidate == 'tensorflow':
            return candidate, module.Interpreter, module.experimental.load_delegate
        return candidate, module.Interpreter, module.load_delegate
    hint = ''
    if any('numpy' in f.lower() or 'multiarray' in f.lower() for f in failures):
        hint = ('; tflite_runtime 2.14 and older are built against numpy 1: use LiteRT '
                '(pip install ai-edge-litert) or pip install "numpy<2"')
    raise RuntimeNotFoundError(
        f'no TensorFlow Lite runtime could be imported: {"; ".join(failures)}{hint}')


def default_threads() -> int:
    """Return the number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _load_delegate(load_delegate: Callable, kind: str, library: str, options: dict) -> Any:
    """Load one delegate library or raise DelegateError saying what to install."""
    spec = DELEGATE_SPECS.get(kind)
    try:
        # Check first: load_delegate leaves a half-built object behind when this fails.
        if not hasattr(ctypes.CDLL(library), 'tflite_plugin_create_delegate'):
            raise OSError(f'{library} is not a TensorFlow Lite delegate (no '
                          'tflite_plugin_create_delegate symbol)')
        return load_delegate(library, options)
    except (OSError, ValueError, RuntimeError) as exc:
        what = f'for {spec.purpose}' if spec else 'given as delegate_library'
        todo = spec.install if spec else 'check the path and that its dependencies are installed'
        raise DelegateError(f'cannot load the {kind} delegate library {library} ({what}): '
                            f'{str(exc).strip() or type(exc).__name__}. To fix: {todo}') from exc


def _make_interpreter(interpreter_cls: Callable, model_path: Path, delegates: list,
                      num_threads: int) -> Any:
    """Create and allocate an interpreter, translating runtime errors into ModelError."""
    try:
        interpreter = interpreter_cls(model_path=str(model_path),
                                      experimental_delegates=delegates or None,
                                      num_threads=num_threads)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        message = str(exc)
        if 'edgetpu-custom-op' in message:
            raise ModelError(
                f'{model_path.name} is compiled for the Coral Edge TPU and runs only with '
                f'delegate edgetpu (library libedgetpu.so.1, {DELEGATE_SPECS["edgetpu"].install})'
                '; on a machine without an Edge TPU use the model without the _edgetpu '
                'suffix') from exc
        if 'ethos-u' in message.lower():
            raise ModelError(f'{model_path.name} is compiled with Vela for the Ethos-U NPU and '
                             f'runs only with delegate ethosu '
                             f'({DELEGATE_SPECS["ethosu"].library})') from exc
        raise ModelError(f'cannot load model {model_path}: {message.strip()}') from exc
    return interpreter


def _on_cpu(runtime: Optional[str], model_path: Path, threads: int, **report) -> Loaded:
    """Load a model on the CPU (XNNPACK) with the Interpreter."""
    runtime_name, interpreter_cls, _ = import_runtime(runtime or 'auto')
    interpreter = _make_interpreter(interpreter_cls, model_path, [], threads)
    return Loaded(InterpreterRunner(interpreter), runtime_name, 'cpu', threads,
                  accelerator='cpu: XNNPACK', **report)


def _accelerated(kind: str, runtime: str, model_path: Path, threads: int, library: str,
                 options: dict) -> Loaded:
    """Load a model with one accelerator, Interpreter delegate or CompiledModel."""
    if kind in COMPILED_DELEGATES:
        if runtime not in ('auto', 'ai_edge_litert'):
            raise DelegateError(f"delegate {kind} runs on LiteRT's CompiledModel API: use "
                                f'runtime auto or ai_edge_litert, not {runtime}')
        from deeplab_ros.engine.compiled import compile_model
        return compile_model(model_path, kind, threads, options, library)
    runtime_name, interpreter_cls, load_delegate = import_runtime(runtime)
    library = library or DELEGATE_SPECS[kind].library
    loaded = _load_delegate(load_delegate, kind, library, options)
    interpreter = _make_interpreter(interpreter_cls, model_path, [loaded], threads)
    # The Interpreter does not say which operators its delegate took.
    return Loaded(InterpreterRunner(interpreter), runtime_name, kind, threads,
                  accelerator=f'{kind}: {DELEGATE_SPECS[kind].purpose}' if (
                      kind in DELEGATE_SPECS) else f'external: {library}')


def load_interpreter(model_path: Path, runtime: str = 'auto', delegate: str = 'cpu',
                     num_threads: Optional[int] = None, delegate_library: str = '',
                     delegate_options: Union[Sequence[str], Mapping, None] = None,
                     fallback: bool = False, auto_models: Optional[Mapping[str, Path]] = None,
                     cpu_model_path: Optional[Path] = None) -> Loaded:
    """
    Load a model with a runtime and delegate (an Interpreter delegate or an accelerator).

    :param delegate: one of :data:`DELEGATES`; 'auto' tries the accelerators in
        :data:`AUTO_ORDER` and settles on the CPU, saying which it took; 'external' loads
        ``delegate_library``.
    :param delegate_library: overrides the library path of a named delegate.
    :param fallback: when the delegate cannot load, run on the CPU and report it as a fallback.
    :param cpu_model_path: the model to run when settling on the CPU (the plain variant of an
        accelerator-compiled model); defaults to ``model_path``.
    :param auto_models: for delegate 'auto', the model file to try with each accelerator
        (accelerators not named are skipped); defaults to ``model_path`` for the Interpreter
        delegates.
    :raises DelegateError, ModelError, RuntimeNotFoundError: with a message saying what to do.
    """
    if delegate not in DELEGATES:
        raise DelegateError(f'unknown delegate {delegate!r}; choose one of {", ".join(DELEGATES)}')
    if num_threads is not None and num_threads < 1:
        raise DelegateError(f'num_threads must be at least 1 (got {num_threads})')
    threads = num_threads or default_threads()
    options = parse_options(delegate_options)
    model_path = Path(model_path)
    cpu_path = Path(cpu_model_path or model_path)
    if delegate == 'cpu':
        return _on_cpu(runtime, model_path, threads)
    if delegate == 'auto':
        reasons = []
        candidates = auto_models or {kind: model_path for kind in AUTO_ORDER[:3]}
        for kind in (k for k in AUTO_ORDER if k in candidates):
            try:
                return _accelerated(kind, runtime, Path(candidates[kind]), threads, '', {})
            except (DelegateError, ModelError) as exc:
                reasons.append(f'{kind}: {str(exc).split(". To fix")[0]}')
        return _on_cpu(runtime, cpu_path, threads, fallback_reason=(
            f'auto: no accelerator found ({"; ".join(reasons) or "none tried"})'))
    if delegate == 'external' and not delegate_library:
        raise DelegateError('delegate external needs delegate_library, the path of a '
                            'TensorFlow Lite delegate shared library')
    try:
        return _accelerated(delegate, runtime, model_path, threads, delegate_library, options)
    except (DelegateError, ModelError) as exc:
        if not fallback:
            raise
        return _on_cpu(runtime, cpu_path, threads, fell_back=True, fallback_reason=str(exc))
