"""Trainable causal FiLM TCN (micro-TCN style); ``to_model`` gives the streaming TCNModel.

Input (batch, 1, T); controls normalised 0..1, either (batch, K) for one
setting per example or (batch, K, T) per sample. Convs are left-padded
(causal). BatchNorm (``norm="batch"``, no affine, before FiLM) trains as
usual; in eval mode it is a fixed scale and shift, which ``export`` folds
into the conv, so the eval-mode forward and the streaming kernel compute the
same function. See neuralrig.models.tcn for the block formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..tcn import TCNModel, tcn_receptive_field, validate_tcn_config


def torch_activation(name: str, negative_slope: float = 0.01):
    """The torch function for an activation name of runtime.activations."""
    table = {
        "Tanh": torch.tanh,
        "ReLU": F.relu,
        "Sigmoid": torch.sigmoid,
        "Identity": lambda v: v,
        "LeakyReLU": lambda v: F.leaky_relu(v, negative_slope),
        "Hardtanh": F.hardtanh,
        "Softsign": F.softsign,
        "SiLU": F.silu,
    }
    if name not in table:
        raise ModelError(f"unsupported activation {name!r} (supported: {', '.join(table)})")
    return table[name]


class DenseStack(nn.Module):
    """Linear layers ``widths[0] -> ... -> widths[-1]``, activation between (not after).

    Parameters are ``l{j}.weight`` (out, in) and ``l{j}.bias``; a zero-width
    input (a model without controls) leaves only the biases doing anything.
    """

    def __init__(self, widths: Sequence[int], activation: str = "Tanh",
                 negative_slope: float = 0.01, last_scale: float = 1.0) -> None:
        super().__init__()
        self.widths = [int(w) for w in widths]
        self.act = torch_activation(activation, negative_slope)
        self.layers = nn.ModuleList()
        for j, (n_in, n_out) in enumerate(zip(self.widths[:-1], self.widths[1:], strict=True)):
            layer = nn.Module()
            bound = 1.0 / math.sqrt(n_in) if n_in else 0.0
            scale = last_scale if j == len(self.widths) - 2 else 1.0
            layer.weight = nn.Parameter(torch.empty(n_out, n_in).uniform_(-bound, bound) * scale)
            layer.bias = nn.Parameter(torch.empty(n_out).uniform_(-bound, bound) * scale)
            self.layers.append(layer)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for j, layer in enumerate(self.layers):
            v = F.linear(v, layer.weight, layer.bias)
            if j < last:
                v = self.act(v)
        return v

    def export(self, prefix: str) -> dict[str, np.ndarray]:
        tensors = {}
        for j, layer in enumerate(self.layers):
            tensors[f"{prefix}.l{j}.weight"] = layer.weight.detach().cpu().numpy().copy()
            tensors[f"{prefix}.l{j}.bias"] = layer.bias.detach().cpu().numpy().copy()
        return tensors


def controls_tensor(controls: torch.Tensor | None, batch: int, n_controls: int,
                    frames: int, like: torch.Tensor) -> torch.Tensor:
    """Controls as (batch, K, T): broadcasts (batch, K) or (K,); checks the shape."""
    if controls is None:
        if n_controls:
            raise ModelError(f"the network takes {n_controls} controls, none given")
        return like.new_zeros(batch, 0, frames)
    if controls.dim() == 1:
        controls = controls.unsqueeze(0).expand(batch, -1)
    if controls.dim() == 2:
        controls = controls.unsqueeze(-1).expand(-1, -1, frames)
    if tuple(controls.shape) != (batch, n_controls, frames):
        raise ModelError(f"controls have shape {tuple(controls.shape)}, expected "
                         f"({batch}, {n_controls}) or ({batch}, {n_controls}, {frames})")
    return controls


def check_control_count(n_controls: int, controls: Sequence[ParamSpec]) -> None:
    """``to_model``'s check: one ParamSpec per control input the network was built with."""
    if len(controls) != n_controls:
        raise ModelError(f"the network takes {n_controls} controls, {len(controls)} declared")


def audio_tensor(x: torch.Tensor) -> torch.Tensor:
    """Audio as (batch, 1, T) from (batch, 1, T) or (batch, T)."""
    if x.dim() == 2:
        x = x.unsqueeze(1)
    if x.dim() != 3 or x.shape[1] != 1:
        raise ModelError(f"audio has shape {tuple(x.shape)}, expected (batch, 1, T) or "
                         "(batch, T)")
    return x


class _Block(nn.Module):
    def __init__(self, cin: int, channels: int, kernel: int, dilation: int, norm: bool):
        super().__init__()
        self.kernel, self.dilation = kernel, dilation
        self.conv = nn.Conv1d(cin, channels, kernel, dilation=dilation)
        self.norm = nn.BatchNorm1d(channels, affine=False) if norm else None
        self.prelu = nn.PReLU(channels)
        self.res = nn.Conv1d(cin, channels, 1, bias=False)

    def forward(self, u: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        z = self.conv(F.pad(u, ((self.kernel - 1) * self.dilation, 0)))
        if self.norm is not None:
            z = self.norm(z)
        return self.prelu(gamma * z + beta) + self.res(u)

    def folded(self) -> tuple[np.ndarray, np.ndarray]:
        """Conv weight and bias with eval-mode BatchNorm folded in."""
        w = self.conv.weight.detach().double()
        b = self.conv.bias.detach().double()
        if self.norm is not None:
            scale = 1.0 / torch.sqrt(self.norm.running_var.double() + self.norm.eps)
            w = w * scale[:, None, None]
            b = (b - self.norm.running_mean.double()) * scale
        return w.float().numpy(), b.float().numpy()


class TCN(nn.Module):
    """Causal FiLM TCN: ``forward(x, controls)`` -> (batch, 1, T)."""

    def __init__(self, n_controls: int = 0, channels: int = 16,
                 kernel_size: int | Sequence[int] = 3,
                 dilations: Sequence[int] = (1, 2, 4, 8, 16),
                 film_hidden: Sequence[int] = (16, 32), film_activation: str = "ReLU",
                 norm: str = "batch", output_activation: str = "tanh",
                 negative_slope: float = 0.01) -> None:
        super().__init__()
        kernels = ([int(kernel_size)] * len(dilations) if isinstance(kernel_size, int)
                   else [int(k) for k in kernel_size])
        if norm not in ("batch", "none"):
            raise ModelError(f"TCN: norm must be 'batch' or 'none', got {norm!r}")
        if not isinstance(n_controls, int) or not 0 <= n_controls <= 8:
            raise ModelError(f"TCN: n_controls must be 0..8, got {n_controls!r}")
        self.cfg = validate_tcn_config({
            "channels": channels, "kernel_sizes": kernels, "dilations": list(dilations),
            "film_hidden": list(film_hidden), "film_activation": film_activation,
            "output_activation": output_activation, "negative_slope": negative_slope})
        self.n_controls = n_controls
        self.channels = channels
        self.blocks = nn.ModuleList(
            _Block(1 if b == 0 else channels, channels, k, d, norm == "batch")
            for b, (k, d) in enumerate(zip(kernels, dilations, strict=True)))
        self.film = DenseStack([n_controls, *film_hidden, 2 * channels * len(kernels)],
                               film_activation, negative_slope, last_scale=0.1)
        with torch.no_grad():  # start near the identity FiLM: γ ≈ 1, β ≈ 0
            gamma_rows = torch.zeros(2 * channels * len(kernels), dtype=torch.bool)
            for b in range(len(kernels)):
                gamma_rows[2 * channels * b : 2 * channels * b + channels] = True
            self.film.layers[-1].bias[gamma_rows] += 1.0
        self.out = nn.Conv1d(channels, 1, 1)
        self.out_tanh = output_activation == "tanh"

    @property
    def receptive_field(self) -> int:
        return tcn_receptive_field(self.cfg["kernel_sizes"], self.cfg["dilations"])

    def forward(self, x: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        x = audio_tensor(x)
        batch, _, frames = x.shape
        ctrl = controls_tensor(controls, batch, self.n_controls, frames, x)
        if ctrl.shape[2] and bool(torch.all(ctrl == ctrl[:, :, :1])):
            film = self.film(ctrl[:, :, 0]).unsqueeze(-1)  # (batch, 2CB, 1)
        else:
            film = self.film(ctrl.transpose(1, 2)).transpose(1, 2)  # (batch, 2CB, T)
        c = self.channels
        u = x
        for b, block in enumerate(self.blocks):
            gamma = film[:, 2 * c * b : 2 * c * b + c]
            beta = film[:, 2 * c * b + c : 2 * c * (b + 1)]
            u = block(u, gamma, beta)
        y = self.out(u)
        return torch.tanh(y) if self.out_tanh else y

    def export(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The native config and tensors (eval-mode BatchNorm folded into the convs)."""
        tensors = self.film.export("film")
        for b, block in enumerate(self.blocks):
            w, bias = block.folded()
            tensors[f"b{b}.conv.weight"] = w
            tensors[f"b{b}.conv.bias"] = bias
            tensors[f"b{b}.prelu.weight"] = block.prelu.weight.detach().numpy().copy()
            tensors[f"b{b}.res.weight"] = block.res.weight.detach()[:, :, 0].numpy().copy()
        tensors["out.weight"] = self.out.weight.detach()[:, :, 0].numpy().copy()
        tensors["out.bias"] = self.out.bias.detach().numpy().copy()
        return dict(self.cfg), tensors

    def to_model(self, controls: Sequence[ParamSpec] = ()) -> TCNModel:
        """The streaming model; ``controls`` declares the network's control inputs in order."""
        check_control_count(self.n_controls, controls)
        config, tensors = self.export()
        return TCNModel(config, tensors, controls=controls)
