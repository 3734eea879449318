"""Trainable State Trajectory Network; ``to_model`` gives the streaming STNModel.

``forward(x, controls, state=None)`` unrolls s[n] = s[n-1] + MLP([x[n], s[n-1],
c[n]]) over time (backpropagation through time; keep training segments
short, the loop runs in Python). ``delta(inputs)`` is the bare MLP, for
teacher-forced training when the true state trajectory is known (Parker et
al. train on circuit states this way). See neuralrig.models.stn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..stn import STNModel, validate_stn_config
from .tcn import DenseStack, audio_tensor, check_control_count, controls_tensor


class STN(nn.Module):
    def __init__(self, n_controls: int = 0, state_size: int = 2,
                 hidden: Sequence[int] = (8, 8), activation: str = "Tanh",
                 readout: str = "state", negative_slope: float = 0.01) -> None:
        super().__init__()
        if not isinstance(n_controls, int) or not 0 <= n_controls <= 8:
            raise ModelError(f"STN: n_controls must be 0..8, got {n_controls!r}")
        self.cfg = validate_stn_config({
            "state_size": state_size, "hidden": list(hidden), "activation": activation,
            "readout": readout, "negative_slope": negative_slope})
        self.n_controls, self.state_size = n_controls, state_size
        # A small last layer starts the state near rest rather than drifting.
        self.mlp = DenseStack([1 + state_size + n_controls, *hidden, state_size], activation,
                              negative_slope, last_scale=0.1)
        self.readout = nn.Linear(state_size, 1) if readout == "linear" else None

    def delta(self, inputs: torch.Tensor) -> torch.Tensor:
        """The state change for inputs (..., 1 + S + K) = [x, s, controls]."""
        return self.mlp(inputs)

    def forward(self, x: torch.Tensor, controls: torch.Tensor | None = None,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Output (batch, 1, T) and the final state (batch, S)."""
        x = audio_tensor(x)
        batch, _, frames = x.shape
        ctrl = controls_tensor(controls, batch, self.n_controls, frames, x)
        s = x.new_zeros(batch, self.state_size) if state is None else state
        if tuple(s.shape) != (batch, self.state_size):
            raise ModelError(f"state has shape {tuple(s.shape)}, expected "
                             f"({batch}, {self.state_size})")
        outputs = []
        for t in range(frames):
            s = s + self.mlp(torch.cat([x[:, :, t], s, ctrl[:, :, t]], dim=1))
            outputs.append(self.readout(s) if self.readout is not None else s[:, :1])
        return torch.stack(outputs, dim=2), s

    def export(self) -> tuple[dict, dict[str, np.ndarray]]:
        tensors = self.mlp.export("mlp")
        if self.readout is not None:
            tensors["readout.weight"] = self.readout.weight.detach().numpy().copy()
            tensors["readout.bias"] = self.readout.bias.detach().numpy().copy()
        return dict(self.cfg), tensors

    def to_model(self, controls: Sequence[ParamSpec] = ()) -> STNModel:
        check_control_count(self.n_controls, controls)
        config, tensors = self.export()
        return STNModel(config, tensors, controls=controls)
