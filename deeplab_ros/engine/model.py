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

"""A loaded DeepLab model: what its tensors say about input, normalisation and output."""

from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

from deeplab_ros.engine.runtime import Loaded
from deeplab_ros.errors import ModelError
import numpy as np


@dataclass(frozen=True)
class TensorFacts:
    """Shape, type and quantization of the model's input and output, read from the tensors."""

    input_size: Tuple[int, int]          # (width, height)
    input_dtype: np.dtype                # uint8, int8 or float32
    input_quantization: Tuple[float, int]
    output_kind: str                     # 'ids' ([1,H,W] class ids) or 'scores' ([1,h,w,C])
    output_size: Tuple[int, int]         # (width, height), may be smaller than the input
    output_dtype: np.dtype
    output_quantization: Tuple[float, int]
    num_classes: int                     # C for score outputs, 0 when the model emits ids


def read_tensor_facts(inputs: list, outputs: list, name: str) -> TensorFacts:
    """Describe a segmentation model from its tensor details, or raise ModelError saying why."""
    if len(inputs) != 1 or not outputs:
        raise ModelError(f'{name} has {len(inputs)} inputs and {len(outputs)} outputs; a '
                         'segmentation model has one image input and a class-id or score '
                         'output')
    inp, out = inputs[0], outputs[0]
    in_shape, out_shape = tuple(inp['shape']), tuple(out['shape'])
    in_dtype, out_dtype = np.dtype(inp['dtype']), np.dtype(out['dtype'])
    if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3 or in_dtype not in (
            np.uint8, np.int8, np.float32):
        raise ModelError(f'{name} takes {in_dtype} {list(in_shape)}; expected one RGB image '
                         '[1,H,W,3] of uint8, int8 or float32')
    integer_output = np.issubdtype(out_dtype, np.integer)
    if len(out_shape) == 3 or (len(out_shape) == 4 and out_shape[3] == 1 and integer_output
                               and not out['quantization'][0]):
        kind, classes = 'ids', 0
        if not integer_output:
            raise ModelError(f'{name} outputs {out_dtype} class ids; expected an integer type')
    elif len(out_shape) == 4 and out_shape[3] > 1:
        kind, classes = 'scores', int(out_shape[3])
    else:
        raise ModelError(f'{name} outputs {out_dtype} {list(out_shape)}; expected class ids '
                         '[1,H,W] or scores [1,h,w,C]')
    return TensorFacts(
        input_size=(int(in_shape[2]), int(in_shape[1])), input_dtype=in_dtype,
        input_quantization=(float(inp['quantization'][0]), int(inp['quantization'][1])),
        output_kind=kind, output_size=(int(out_shape[2]), int(out_shape[1])),
        output_dtype=out_dtype,
        output_quantization=(float(out['quantization'][0]), int(out['quantization'][1])),
        num_classes=classes)


class Model:
    """
    A runner (Interpreter or CompiledModel) with its tensor facts; writes inputs, reads outputs.

    Arrays from :meth:`input_view` and :meth:`output_view` may point into the runtime's
    memory: drop them before the next :meth:`invoke`. Not thread-safe: one caller at a time.
    """

    def __init__(self, loaded: Loaded, path: Path, name: str):
        """Wrap a model ready to run, loaded from ``path``."""
        self.loaded = loaded
        self.path = Path(path)
        self.name = name
        self.facts = read_tensor_facts(*loaded.runner.details(), self.path.name)

    def input_view(self) -> np.ndarray:
        """Return the input tensor as a writable [H, W, 3] array."""
        return self.loaded.runner.input_array()[0]

    def output_view(self) -> np.ndarray:
        """Return the output as [h, w] class ids or [h, w, C] scores, without copying."""
        out = self.loaded.runner.output_array()[0]
        return out[..., 0] if out.ndim == 3 and self.facts.output_kind == 'ids' else out

    def invoke(self) -> None:
        """Run the model on what was written into the input."""
        self.loaded.runner.invoke()

    def close(self) -> None:
        """Release the runtime and its accelerator."""
        if self.loaded.runner is not None:
            self.loaded.runner.close()
        self.loaded.runner = None
