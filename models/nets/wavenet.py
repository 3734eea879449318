"""Trainable WaveNet (NAM's A1 form); ``to_model`` gives the streaming WaveNetModel.

Same config and tensor names as neuralrig.models.wavenet. Per layer array:
``u = rechannel(input)``; each layer computes ``z = conv_dilated(u) + mixer(cond)``,
``a = act(z)`` (or ``act(z[:C]) * sigmoid(z[C:])`` when gated), adds ``a`` to the
head accumulator (seeded with the previous array's head output) and updates
``u += out(a)``; the array's head is ``head(accumulator)``. The model's output
is ``head_scale`` times the last array's head. The condition is [x, controls].
Convolutions are left-padded (causal), so tap k of a kernel K, dilation d,
reads x[t - d (K - 1 - k)], as the streaming kernel does.
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

from ..wavenet import WaveNetModel, validate_wavenet_config
from .tcn import audio_tensor, check_control_count, controls_tensor, torch_activation


class _Layer(nn.Module):
    def __init__(self, channels: int, cond: int, kernel: int, dilation: int, gated: bool):
        super().__init__()
        z = 2 * channels if gated else channels
        self.kernel, self.dilation = kernel, dilation
        self.conv = nn.Conv1d(channels, z, kernel, dilation=dilation)
        self.mixer = nn.Conv1d(cond, z, 1, bias=False)
        self.out = nn.Conv1d(channels, channels, 1)


class _Array(nn.Module):
    def __init__(self, spec: Mapping[str, Any]):
        super().__init__()
        c = spec["channels"]
        self.channels, self.gated = c, bool(spec["gated"])
        self.act = torch_activation(spec["activation"], spec.get("negative_slope", 0.01))
        self.rechannel = nn.Conv1d(spec["input_size"], c, 1, bias=False)
        self.layers = nn.ModuleList(
            _Layer(c, spec["condition_size"], k, d, self.gated)
            for k, d in zip(spec["kernel_sizes"], spec["dilations"], strict=True))
        self.head = nn.Conv1d(c, spec["head_size"], 1, bias=bool(spec["head_bias"]))

    def forward(self, u: torch.Tensor, cond: torch.Tensor,
                head_prev: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        u = self.rechannel(u)
        acc = torch.zeros_like(u) if head_prev is None else head_prev
        for layer in self.layers:
            z = layer.conv(F.pad(u, ((layer.kernel - 1) * layer.dilation, 0)))
            z = z + layer.mixer(cond)
            if self.gated:
                a = self.act(z[:, : self.channels]) * torch.sigmoid(z[:, self.channels:])
            else:
                a = self.act(z)
            acc = acc + a
            u = u + layer.out(a)
        return u, self.head(acc)


class WaveNetNet(nn.Module):
    def __init__(self, config: Mapping[str, Any], n_controls: int = 0) -> None:
        super().__init__()
        validate_wavenet_config(config, n_controls)
        self.config = {"layers": [dict(a) for a in config["layers"]],
                       "head_scale": float(config["head_scale"])}
        self.n_controls = n_controls
        self.arrays = nn.ModuleList(_Array(spec) for spec in self.config["layers"])
        self.receptive_field = 1 + sum(
            (k - 1) * d for spec in self.config["layers"]
            for k, d in zip(spec["kernel_sizes"], spec["dilations"], strict=True))

    def forward(self, x: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        """Output (batch, 1, T); the first receptive_field - 1 samples see zero history."""
        x = audio_tensor(x)
        batch, _, frames = x.shape
        cond = torch.cat([x, controls_tensor(controls, batch, self.n_controls, frames, x)], 1)
        u, head = x, None
        for array in self.arrays:
            u, head = array(u, cond, head)
        assert head is not None
        return self.config["head_scale"] * head

    def export(self) -> tuple[dict, dict[str, np.ndarray]]:
        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float32).copy()

        tensors: dict[str, np.ndarray] = {}
        for a, array in enumerate(self.arrays):
            tensors[f"a{a}.rechannel.weight"] = arr(array.rechannel.weight[:, :, 0])
            for n, layer in enumerate(array.layers):
                p = f"a{a}.l{n}."
                tensors[p + "conv.weight"] = arr(layer.conv.weight)
                tensors[p + "conv.bias"] = arr(layer.conv.bias)
                tensors[p + "mixer.weight"] = arr(layer.mixer.weight[:, :, 0])
                tensors[p + "out.weight"] = arr(layer.out.weight[:, :, 0])
                tensors[p + "out.bias"] = arr(layer.out.bias)
            tensors[f"a{a}.head.weight"] = arr(array.head.weight[:, :, 0])
            if array.head.bias is not None:
                tensors[f"a{a}.head.bias"] = arr(array.head.bias)
        return {"layers": [dict(a) for a in self.config["layers"]],
                "head_scale": self.config["head_scale"]}, tensors

    def load_exported(self, tensors: dict[str, np.ndarray]) -> None:
        """Start from an exported model's weights (the inverse of ``export``)."""
        state = {}
        for key, value in tensors.items():
            t = torch.from_numpy(np.asarray(value, np.float32))
            a, rest = key.split(".", 1)
            if rest.startswith("l"):  # a{a}.l{n}.conv|mixer|out.weight|bias
                layer, name = rest.split(".", 1)
                one_by_one = name in ("mixer.weight", "out.weight")
                state[f"arrays.{a[1:]}.layers.{layer[1:]}.{name}"] = \
                    t[:, :, None] if one_by_one else t
            else:  # rechannel.weight, head.weight, head.bias
                state[f"arrays.{a[1:]}.{rest}"] = t[:, :, None] if rest.endswith("weight") else t
        self.load_state_dict(state, strict=True)

    def to_model(self, controls: Sequence[ParamSpec] = ()) -> WaveNetModel:
        check_control_count(self.n_controls, controls)
        config, tensors = self.export()
        return WaveNetModel(config, tensors, controls=controls)


GATE_BIAS = 2.0  # sigmoid(2) = 0.88: open, with gradients (sigmoid' = 0.10) to learn from


def gate_tensors(config: Mapping[str, Any], tensors: Mapping[str, np.ndarray]
                 ) -> dict[str, np.ndarray]:
    """An ungated WaveNet's weights as the gated ``config`` with the same output.

    Each layer's gate half starts with zero weights and bias ``GATE_BIAS``, so every
    activation is scaled by one constant g = sigmoid(GATE_BIAS); dividing each layer's
    ``out`` by g keeps the residual path, and the head sums (every array's, seeded with the
    one before) then all carry g, which the last array's head weight divides out. Training
    then learns what the gates (and the knobs in their mixers) should do.
    """
    g = float(1.0 / (1.0 + np.exp(-GATE_BIAS)))
    arrays = config["layers"]
    out = {k: np.asarray(v, np.float32).copy() for k, v in tensors.items()}
    for a, arr in enumerate(arrays):
        if not arr["gated"]:
            raise ModelError(f"gate_tensors: layer array {a} of the target is not gated")
        c = arr["channels"]
        for n in range(len(arr["dilations"])):
            p = f"a{a}.l{n}."
            conv, bias, mixer = out[p + "conv.weight"], out[p + "conv.bias"], \
                out[p + "mixer.weight"]
            if conv.shape[0] != c:
                raise ModelError(f"gate_tensors: {p}conv.weight has {conv.shape[0]} output "
                                 f"channels, not the {c} of an ungated layer")
            out[p + "conv.weight"] = np.concatenate([conv, np.zeros_like(conv)])
            out[p + "conv.bias"] = np.concatenate([bias, np.full_like(bias, GATE_BIAS)])
            out[p + "mixer.weight"] = np.concatenate([mixer, np.zeros_like(mixer)])
            out[p + "out.weight"] /= g
        last = a == len(arrays) - 1
        if last:
            out[f"a{a}.head.weight"] /= g
        elif f"a{a}.head.bias" in out:
            out[f"a{a}.head.bias"] *= g
    return out


WIDEN_SCALE = 0.05  # std of the weights that write into a new channel


def _grow(old: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator,
          new_bias: float = 0.0) -> np.ndarray:
    """``old`` embedded in ``shape``: old outputs (rows) read no new inputs (zeros); new
    rows read everything with small random weights, or are ``new_bias`` for a bias."""
    if old.ndim != len(shape) or any(o > n for o, n in zip(old.shape, shape, strict=True)):
        raise ModelError(f"widen: a {old.shape} tensor does not fit in {shape}")
    if old.ndim == 1:
        big = np.full(shape, new_bias, np.float32)
    else:
        big = np.zeros(shape, np.float32)
        big[old.shape[0]:] = rng.normal(0.0, WIDEN_SCALE, (shape[0] - old.shape[0], *shape[1:]))
    big[tuple(slice(0, s) for s in old.shape)] = old
    return big


def widen_tensors(config: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
                  seed: int = 0) -> dict[str, np.ndarray]:
    """A narrower WaveNet's weights as the wider ``config`` with the same output.

    Every weight that reads a new channel into an old one (or into the output) is zero,
    so the old channels, and the output, compute what they did; every weight that writes
    into a new channel is small and random, so the new channels carry a signal from the
    start and the zero weights reading them get gradients. Layer counts, dilations,
    kernels, the condition and gating must match; only channel and head widths grow.
    """
    rng = np.random.default_rng(seed)
    old = {k: np.asarray(v, np.float32) for k, v in tensors.items()}
    new: dict[str, np.ndarray] = {}
    for a, arr in enumerate(config["layers"]):
        c, halves, layers = arr["channels"], 2 if arr["gated"] else 1, len(arr["dilations"])
        present = sum(f"a{a}.l{n}.conv.weight" in old for n in range(layers + 1))
        if present != layers or f"a{a}.l{layers}.conv.weight" in old:
            raise ModelError(f"widen: layer array {a} has {present} layers, not {layers}")
        old_c = old[f"a{a}.l0.out.weight"].shape[0]
        if old_c > c:
            raise ModelError(f"widen: layer array {a} has {old_c} channels, more than {c}")
        new[f"a{a}.rechannel.weight"] = _grow(old[f"a{a}.rechannel.weight"],
                                              (c, arr["input_size"]), rng)
        for n, k in enumerate(arr["kernel_sizes"]):
            p = f"a{a}.l{n}."
            conv = old[p + "conv.weight"]
            if conv.shape != (halves * old_c, old_c, k):
                raise ModelError(f"widen: {p}conv.weight is {conv.shape}, not a "
                                 f"{'gated' if halves == 2 else 'plain'} layer of {old_c} "
                                 f"channels and kernel {k}")
            # The activation half and the gate half (gated) each grow from old_c to c rows.
            for name, shape in (("conv.weight", (c, c, k)), ("conv.bias", (c,)),
                                ("mixer.weight", (c, arr["condition_size"]))):
                new[p + name] = np.concatenate([
                    _grow(old[p + name][h * old_c:(h + 1) * old_c], shape, rng,
                          GATE_BIAS if h == 1 else 0.0) for h in range(halves)])
            new[p + "out.weight"] = _grow(old[p + "out.weight"], (c, c), rng)
            new[p + "out.bias"] = _grow(old[p + "out.bias"], (c,), rng)
        new[f"a{a}.head.weight"] = _grow(old[f"a{a}.head.weight"], (arr["head_size"], c), rng)
        if f"a{a}.head.bias" in old:
            new[f"a{a}.head.bias"] = _grow(old[f"a{a}.head.bias"], (arr["head_size"],), rng)
    return new
