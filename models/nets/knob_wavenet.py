"""Trainable WaveNet whose weights follow the knobs (config ``knob_weights``).

The same network as ``nets.wavenet.WaveNetNet``, but every weight is a stack of weight
sets, one per point of a lattice over the controls (``runtime.knob_blend``), and each
example runs with the sets blended at its controls' values (the last sample's, as the
streaming model blends at each block's end). Parameters are kept under the exported
tensor names, so ``export`` is a copy; an example's blended weights drive grouped
convolutions, one group per example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..runtime.knob_blend import (
    LatticeSpec,
    coefficients,
    lattice_axes,
    lattice_json,
    lattice_size,
    lattice_values,
)
from ..wavenet import WaveNetModel, knob_points, validate_wavenet_config, wavenet_tensor_shapes
from .tcn import audio_tensor, check_control_count, controls_tensor, torch_activation


def _key(name: str) -> str:  # parameter names cannot hold dots
    return name.replace(".", "__")


def torch_coefficients(values: torch.Tensor, lattice: LatticeSpec) -> torch.Tensor:
    """(batch, sets): each weight set's share at normalised ``values`` (batch, controls);
    ``runtime.knob_blend.knob_coefficients`` in torch, for a batch."""
    coeffs = values.new_ones(values.shape[0], 1)
    for k, axis in enumerate(lattice_axes(lattice)):
        count = axis.size
        if count == 1:
            share = values.new_ones(values.shape[0], 1)
        else:
            pos = torch.as_tensor(axis, dtype=values.dtype, device=values.device)
            u = values[:, k].clamp(0.0, 1.0)
            low = (torch.searchsorted(pos, u.contiguous(), right=False) - 1).clamp(0, count - 2)
            frac = ((u - pos[low]) / (pos[low + 1] - pos[low])).clamp(0.0, 1.0)[:, None]
            index = torch.arange(count, device=values.device)[None]
            share = torch.where(index == low[:, None], 1.0 - frac,
                                torch.where(index == low[:, None] + 1, frac,
                                            torch.zeros_like(frac)))
        coeffs = (coeffs[:, :, None] * share[:, None, :]).reshape(values.shape[0], -1)
    return coeffs


class KnobWaveNetNet(nn.Module):
    def __init__(self, config: Mapping[str, Any], n_controls: int) -> None:
        super().__init__()
        validate_wavenet_config(config, n_controls)
        self.points = knob_points(config)
        if not self.points:
            raise ModelError("KnobWaveNetNet needs a config with knob_weights")
        self.config = {"layers": [dict(a) for a in config["layers"]],
                       "head_scale": float(config["head_scale"]),
                       "knob_weights": lattice_json(self.points)}
        self.n_controls = n_controls
        self.sets = lattice_size(self.points)
        self.shapes = wavenet_tensor_shapes(self.config)
        self.weights = nn.ParameterDict()
        for name, shape in self.shapes.items():
            self.weights[_key(name)] = nn.Parameter(self._initial(name, shape[1:]))
        self.acts = [torch_activation(a["activation"], a.get("negative_slope", 0.01))
                     for a in self.config["layers"]]
        self.receptive_field = 1 + sum(
            (k - 1) * d for spec in self.config["layers"]
            for k, d in zip(spec["kernel_sizes"], spec["dilations"], strict=True))

    def _initial(self, name: str, shape: tuple[int, ...]) -> torch.Tensor:
        """One set as torch's default conv initialisation would draw it, repeated."""
        if name.endswith("bias"):
            one = torch.zeros(shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            bound = 1.0 / np.sqrt(fan_in)
            one = torch.empty(shape).uniform_(-bound, bound)
        return one[None].repeat(self.sets, *([1] * len(shape)))

    def _blended(self, coeffs: torch.Tensor, name: str) -> torch.Tensor:
        w = self.weights[_key(name)]
        return torch.einsum("bs,s...->b...", coeffs, w)

    def forward(self, x: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        """Output (batch, 1, T); the first receptive_field - 1 samples see zero history."""
        x = audio_tensor(x)
        batch, _, frames = x.shape
        ctrl = controls_tensor(controls, batch, self.n_controls, frames, x)
        cond = torch.cat([x, ctrl], 1)
        coeffs = torch_coefficients(ctrl[:, :, -1], self.points)
        u, head = x, None
        for a, spec in enumerate(self.config["layers"]):
            u, head = self._array(a, spec, u, cond, head, coeffs)
        assert head is not None
        return self.config["head_scale"] * head

    def _array(self, a: int, spec: Mapping[str, Any], u: torch.Tensor, cond: torch.Tensor,
               head_prev: torch.Tensor | None, coeffs: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, frames, c = u.shape[0], u.shape[2], spec["channels"]
        w = lambda name: self._blended(coeffs, f"a{a}.{name}")  # noqa: E731
        u = torch.einsum("bci,bit->bct", w("rechannel.weight"), u)
        acc = torch.zeros_like(u) if head_prev is None else head_prev
        act = self.acts[a]
        for n, (k, d) in enumerate(zip(spec["kernel_sizes"], spec["dilations"], strict=True)):
            p = f"l{n}."
            conv_w = w(p + "conv.weight")  # (B, Z, C, K)
            z_ch = conv_w.shape[1]
            padded = F.pad(u, ((k - 1) * d, 0)).reshape(1, batch * c, -1)
            z = F.conv1d(padded, conv_w.reshape(batch * z_ch, c, k),
                         w(p + "conv.bias").reshape(-1), dilation=d, groups=batch)
            z = z.reshape(batch, z_ch, frames)
            z = z + torch.einsum("bzk,bkt->bzt", w(p + "mixer.weight"), cond)
            out = act(z[:, :c]) * torch.sigmoid(z[:, c:]) if spec["gated"] else act(z)
            acc = acc + out
            u = u + torch.einsum("bcd,bdt->bct", w(p + "out.weight"), out) \
                + w(p + "out.bias")[:, :, None]
        head = torch.einsum("bhc,bct->bht", w("head.weight"), acc)
        if spec["head_bias"]:
            head = head + w("head.bias")[:, :, None]
        return u, head

    def export(self) -> tuple[dict, dict[str, np.ndarray]]:
        tensors = {name: self.weights[_key(name)].detach().cpu().numpy().astype(np.float32)
                   .copy() for name in self.shapes}
        return {"layers": [dict(a) for a in self.config["layers"]],
                "head_scale": self.config["head_scale"],
                "knob_weights": lattice_json(self.points)}, tensors

    def load_exported(self, tensors: Mapping[str, np.ndarray]) -> None:
        """Start from exported weights: this lattice's sets, or one plain WaveNet's set
        (every lattice point then starts as that model)."""
        missing = set(self.shapes) - set(tensors)
        extra = set(tensors) - set(self.shapes)
        if missing or extra:
            raise ValueError(f"tensors do not match: missing {sorted(missing)[:3]}, "
                             f"unexpected {sorted(extra)[:3]}")
        with torch.no_grad():
            for name, shape in self.shapes.items():
                value = np.asarray(tensors[name], np.float32)
                if value.shape == shape[1:]:
                    value = np.broadcast_to(value, shape)
                if value.shape != shape:
                    raise ValueError(f"{name} has shape {value.shape}, expected {shape} "
                                     f"or {shape[1:]}")
                self.weights[_key(name)].copy_(torch.from_numpy(np.ascontiguousarray(value)))

    def to_model(self, controls: Sequence[ParamSpec] = ()) -> WaveNetModel:
        check_control_count(self.n_controls, controls)
        config, tensors = self.export()
        return WaveNetModel(config, tensors, controls=controls)


def resample_knob_weights(tensors: Mapping[str, np.ndarray], old: LatticeSpec,
                          new: LatticeSpec) -> dict[str, np.ndarray]:
    """Weight sets for lattice ``new`` that play what lattice ``old`` plays at its points:
    each new point's set is the old sets blended there (exact when ``new`` keeps every old
    point, e.g. 3 points to 5 or to [0, 0.125, 0.5, 1], as the blend is linear between
    old points)."""
    if len(old) != len(new):
        raise ModelError(f"knob weights: a lattice over {len(old)} controls cannot become one "
                         f"over {len(new)}")
    mix = np.stack([coefficients(v, old) for v in lattice_values(new)])
    return {name: np.tensordot(mix, np.asarray(value, np.float32), axes=1).astype(np.float32)
            for name, value in tensors.items()}
