"""Trainable LSTM/GRU; ``to_model`` gives the streaming RecurrentModel.

Input audio (batch, 1, T) or (batch, T); controls normalised 0..1 as (batch, K)
(one setting per example) or (batch, K, T). Layer 0 sees [x, controls], the
head reads the last layer's hidden state, and ``skip`` adds the input to the
output. The parameter names are torch's own, which are also the streaming
model's (see neuralrig.models.recurrent).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..recurrent import RecurrentModel
from .tcn import audio_tensor, check_control_count, controls_tensor

MAX_HIDDEN = 256


class RecurrentNet(nn.Module):
    def __init__(self, cell: str = "lstm", hidden_size: int = 16, num_layers: int = 1,
                 n_controls: int = 0, skip: bool = False) -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ModelError(f"recurrent cell must be 'lstm' or 'gru', got {cell!r}")
        if not 1 <= hidden_size <= MAX_HIDDEN or not 1 <= num_layers <= 8:
            raise ModelError(f"recurrent size {num_layers}x{hidden_size} outside 1..8 x "
                             f"1..{MAX_HIDDEN}")
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.n_controls, self.skip = n_controls, skip
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(1 + n_controls, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)
        if cell == "lstm":  # forget gates open: long memory from the first step
            with torch.no_grad():
                for k in range(num_layers):
                    getattr(self.rnn, f"bias_hh_l{k}")[hidden_size:2 * hidden_size].fill_(1.0)

    def forward(self, x: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        """Output (batch, 1, T) from a zero initial state."""
        x = audio_tensor(x)
        batch, _, frames = x.shape
        ctrl = controls_tensor(controls, batch, self.n_controls, frames, x)
        inputs = torch.cat([x, ctrl], dim=1).transpose(1, 2)  # (batch, T, 1 + K)
        hidden, _ = self.rnn(inputs)
        y = self.head(hidden).transpose(1, 2)
        return y + x if self.skip else y

    def export(self) -> tuple[dict, dict[str, np.ndarray]]:
        tensors = {name: value.detach().cpu().numpy().astype(np.float32).copy()
                   for name, value in self.rnn.state_dict().items()}
        tensors["head.weight"] = self.head.weight.detach().cpu().numpy().copy()
        tensors["head.bias"] = self.head.bias.detach().cpu().numpy().copy()
        config = {"cell": self.cell, "hidden_size": self.hidden_size,
                  "num_layers": self.num_layers, "skip": self.skip}
        return config, tensors

    def load_exported(self, tensors: dict[str, np.ndarray]) -> None:
        """Start from an exported model's weights (the inverse of ``export``)."""
        state = {(k if k.startswith("head.") else f"rnn.{k}"): torch.from_numpy(np.asarray(v))
                 for k, v in tensors.items() if not k.startswith("initial.")}
        self.load_state_dict(state, strict=True)

    def to_model(self, controls: Sequence[ParamSpec] = ()) -> RecurrentModel:
        check_control_count(self.n_controls, controls)
        config, tensors = self.export()
        return RecurrentModel(config["cell"], config["hidden_size"], config["num_layers"],
                              tensors, skip=config["skip"], controls=controls)


def widen(cell: str, tensors: dict[str, np.ndarray], hidden: int,
          seed: int = 0) -> dict[str, np.ndarray]:
    """A one-layer LSTM/GRU's exported weights grown to ``hidden`` units, computing the
    same output (function-preserving, as Net2Net): the old units keep their weights and
    do not hear the new ones (zero recurrent columns), and the head ignores the new ones
    (zero weights), while the new units get torch's default random weights, so training
    can put them to use. Used by ``train --init`` to start a wider model from a trained one.
    """
    gates = 4 if cell == "lstm" else 3
    old = tensors["weight_hh_l0"].shape[1]
    if "weight_hh_l1" in tensors:
        raise ModelError("only one-layer recurrent models can be widened")
    if hidden < old:
        raise ModelError(f"cannot narrow a {old}-unit model to {hidden} units")
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden)

    def blocks(array: np.ndarray, columns: int | None) -> np.ndarray:
        """Rows per gate from ``old`` to ``hidden`` (new rows random); recurrent columns
        from ``old`` to ``hidden`` (zero for the old rows, random for the new)."""
        shape = (gates * hidden,) + ((columns,) if columns is not None else ())
        out = rng.uniform(-bound, bound, shape).astype(np.float32)
        for g in range(gates):
            rows = slice(g * hidden, g * hidden + old)
            if columns is None:
                out[rows] = array[g * old:(g + 1) * old]
            else:
                out[rows, :array.shape[1]] = array[g * old:(g + 1) * old]
                if columns == hidden:
                    out[rows, array.shape[1]:] = 0.0
        return out

    wide = dict(tensors)
    inputs = tensors["weight_ih_l0"].shape[1]
    wide["weight_ih_l0"] = blocks(tensors["weight_ih_l0"], inputs)
    wide["weight_hh_l0"] = blocks(tensors["weight_hh_l0"], hidden)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        wide[name] = blocks(tensors[name], None)
    if cell == "lstm":  # the new units' forget gates open, as a fresh net's
        wide["bias_hh_l0"][hidden + old:2 * hidden] = 1.0
        wide["bias_ih_l0"][hidden + old:2 * hidden] = 0.0
    head = np.zeros((1, hidden), np.float32)
    head[:, :old] = tensors["head.weight"]
    wide["head.weight"] = head
    return {k: v for k, v in wide.items() if not k.startswith("initial.")}
