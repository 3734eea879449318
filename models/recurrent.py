"""LSTM and GRU models: any depth and width, knob inputs, optional input skip.

Weights are held in PyTorch's layout (``weight_ih_l0`` (G*H, I) and so on,
G = 4 for LSTM, 3 for GRU) and transposed once for the kernels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .base import StreamingModel, as_f32
from .runtime.recurrent import gru_block, lstm_block

GATES = {"lstm": 4, "gru": 3}
MAX_HIDDEN = 1024
MAX_LAYERS = 8


def recurrent_tensor_shapes(cell: str, hidden: int, layers: int, inputs: int) -> dict[str, tuple]:
    """Every tensor a recurrent model needs, by PyTorch name, with its shape."""
    g = GATES[cell] * hidden
    shapes: dict[str, tuple] = {}
    for layer in range(layers):
        width = inputs if layer == 0 else hidden
        shapes[f"weight_ih_l{layer}"] = (g, width)
        shapes[f"weight_hh_l{layer}"] = (g, hidden)
        shapes[f"bias_ih_l{layer}"] = (g,)
        shapes[f"bias_hh_l{layer}"] = (g,)
    shapes["head.weight"] = (1, hidden)
    shapes["head.bias"] = (1,)
    return shapes


class RecurrentModel(StreamingModel):
    """A stack of LSTM or GRU layers and a linear head; output = head(h) (+ x)."""

    def __init__(self, cell: str, hidden_size: int, num_layers: int,
                 tensors: Mapping[str, np.ndarray], *, skip: bool = False,
                 controls: Sequence[ParamSpec] = (),
                 initial_state: Mapping[str, np.ndarray] | None = None) -> None:
        if cell not in GATES:
            raise ModelError(f"unknown recurrent cell {cell!r} (expected lstm or gru)")
        if not (1 <= hidden_size <= MAX_HIDDEN and 1 <= num_layers <= MAX_LAYERS):
            raise ModelError(f"{cell.upper()} size {num_layers}x{hidden_size} outside "
                             f"1..{MAX_LAYERS} layers x 1..{MAX_HIDDEN} units")
        self.cell, self.hidden, self.layers = cell, hidden_size, num_layers
        self.architecture = cell
        self.skip = skip
        self.controls = tuple(controls)
        inputs = 1 + len(self.controls)
        check_tensors(recurrent_tensor_shapes(cell, hidden_size, num_layers, inputs), tensors)
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        g = GATES[cell] * hidden_size
        width = max(inputs, hidden_size)
        self._wx = np.zeros((num_layers, width, g), np.float32)
        self._wh = np.zeros((num_layers, hidden_size, g), np.float32)
        self._bx = np.zeros((num_layers, g), np.float32)
        self._bh = np.zeros((num_layers, g), np.float32)
        for layer in range(num_layers):
            w_ih = self.tensors[f"weight_ih_l{layer}"]
            self._wx[layer, : w_ih.shape[1]] = w_ih.T
            self._wh[layer] = self.tensors[f"weight_hh_l{layer}"].T
            self._bx[layer] = self.tensors[f"bias_ih_l{layer}"]
            self._bh[layer] = self.tensors[f"bias_hh_l{layer}"]
        if cell == "lstm":  # the kernel takes one summed bias
            self._bx += self._bh
        self._head_w = self.tensors["head.weight"][0].copy()
        self._head_b = np.float32(self.tensors["head.bias"][0])
        shape = (num_layers, hidden_size)
        self._h0 = np.zeros(shape, np.float32)
        self._c0 = np.zeros(shape, np.float32)
        if initial_state:
            self._h0[:] = as_f32(initial_state["h"]).reshape(shape)
            self._c0[:] = as_f32(initial_state["c"]).reshape(shape)

    def allocate(self, channels: int, max_block: int) -> None:
        g = GATES[self.cell] * self.hidden
        self._h = np.zeros((channels, self.layers, self.hidden), np.float32)
        self._c = np.zeros_like(self._h)
        self._g1 = np.zeros(g, np.float32)
        self._g2 = np.zeros(g, np.float32)
        self._inp = np.zeros(self._wx.shape[1], np.float32)

    def clear_state(self) -> None:
        self._h[:] = self._h0
        self._c[:] = self._c0

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        if self.cell == "lstm":
            lstm_block(x, ctrl, out, self._wx, self._wh, self._bx, self._head_w,
                       self._head_b, self.skip, self._h, self._c, self._g1, self._inp)
        else:
            gru_block(x, ctrl, out, self._wx, self._wh, self._bx, self._bh, self._head_w,
                      self._head_b, self.skip, self._h, self._g1, self._g2, self._inp)

    def export_native(self) -> tuple[str, dict, dict]:
        tensors = dict(self.tensors)
        if np.any(self._h0) or np.any(self._c0):
            tensors["initial.h"], tensors["initial.c"] = self._h0, self._c0
        config = {"hidden_size": self.hidden, "num_layers": self.layers, "skip": self.skip}
        return self.cell, config, tensors

    def describe(self) -> str:
        return f"{self.cell.upper()} {self.layers}x{self.hidden}" + (
            " + skip" if self.skip else "") + "; " + super().describe()


def check_tensors(expected: Mapping[str, tuple], tensors: Mapping[str, np.ndarray]) -> None:
    """Refuse missing, unexpected, misshapen or non-finite weights, naming them."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelError(f"weights do not match the config (missing {missing}, "
                         f"unexpected {extra})")
    for key, shape in expected.items():
        array = np.asarray(tensors[key])
        if tuple(array.shape) != tuple(shape):
            raise ModelError(f"weight '{key}' has shape {tuple(array.shape)}, "
                             f"expected {tuple(shape)}")
        if not np.all(np.isfinite(array)):
            raise ModelError(f"weight '{key}' contains NaN or Inf")

