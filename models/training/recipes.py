"""What `neuralrig train --arch A --size S` builds: a network, its warm-up, segment and rate.

Sizes run from ``nano`` (the smallest that still sounds right on a clean or
mildly driven device) to ``standard`` (NAM's standard WaveNet, LSTM 1x24), and
``large`` for LSTM and GRU (1x32; Proteus runs 1x40 and NeuralPi 1x20 on a Pi 4).
WaveNet sizes are NAM's four presets (channels 16/12/8/4 in the first array,
half that in the second). A recipe's ``warmup`` is how many samples each
example runs before the loss starts counting: the receptive field for
convolutional nets, a few thousand samples for recurrent ones (their state
starts at zero and must settle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..base import StreamingModel
from ..nets.recurrent import RecurrentNet
from ..nets.stn import STN
from ..nets.tcn import TCN
from ..nets.wavenet import WaveNetNet
from ..runtime.knob_blend import lattice_json
from .choices import ARCHITECTURES, RECURRENT_ONLY_SIZES, SIZES

_RECURRENT_HIDDEN = {"nano": 8, "feather": 12, "lite": 16, "standard": 24, "large": 32}
_WAVENET_CHANNELS = {"nano": 4, "feather": 8, "lite": 12, "standard": 16}
_TCN = {"nano": (4, (1, 2, 4, 8, 16, 32)), "feather": (8, (1, 2, 4, 8, 16, 32, 64)),
        "lite": (12, (1, 2, 4, 8, 16, 32, 64, 128)),
        "standard": (16, (1, 2, 4, 8, 16, 32, 64, 128, 256, 512))}
_STN_HIDDEN = {"nano": (4, 4), "feather": (8, 8), "lite": (12, 12), "standard": (16, 16)}
_LACTOSE = {"nano": (4, (4, 4)), "feather": (8, (4, 4)), "lite": (8, (8, 8)),
            "standard": (16, (8, 8))}


def wavenet_config(size: str, n_controls: int, gated: bool = False,
                   knob_weights: Sequence[int | Sequence[float]] = ()) -> dict:
    """NAM's WaveNet preset of this size, with the condition widened for the controls.

    ``gated``: each layer's activation is tanh(z) * sigmoid(z'), NAM's A1 ``gated``
    option: twice the convolution and mixer weights, and a way for the knobs to scale a
    channel's signal rather than only shift it.
    ``knob_weights``: one weight set per point of this lattice over the controls, blended
    by the knobs (``models.wavenet``): a plain WaveNet's cost per block, the weights of
    one per lattice point.
    """
    c = _WAVENET_CHANNELS[size]
    if size == "standard":
        first = second = [1 << i for i in range(10)]
    else:
        first = [1 << i for i in range(7)]
        second = [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    cond = 1 + n_controls

    def array(inputs: int, channels: int, head: int, dilations: list[int], bias: bool) -> dict:
        return {"input_size": inputs, "condition_size": cond, "channels": channels,
                "head_size": head, "kernel_sizes": [3] * len(dilations),
                "dilations": dilations, "activation": "Tanh", "gated": gated,
                "head_bias": bias}

    config = {"layers": [array(1, c, c // 2, first, False),
                         array(c, c // 2, 1, second, True)], "head_scale": 0.02}
    if knob_weights:
        config["knob_weights"] = lattice_json(knob_weights)
    return config


class _LactoseAdapter(nn.Module):
    """LACTOSE is memoryless: run it sample by sample over [x, controls]."""

    def __init__(self, net: nn.Module, n_controls: int) -> None:
        super().__init__()
        self.net, self.n_controls = net, n_controls

    def forward(self, x: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        batch, frames = x.shape[0], x.shape[-1]
        flat = x.reshape(batch, frames, 1)
        if self.n_controls:
            assert controls is not None
            ctrl = controls.reshape(batch, 1, -1).expand(batch, frames, self.n_controls)
            flat = torch.cat([flat, ctrl], dim=2)
        return self.net(flat.reshape(batch * frames, -1)).reshape(batch, 1, frames)


@dataclass
class Recipe:
    arch: str
    size: str
    net: nn.Module
    warmup: int  # samples before the loss counts
    segment: int  # samples per example that count
    batch: int
    lr: float
    export: Callable[[Sequence[ParamSpec]], StreamingModel]

    def forward(self, x: torch.Tensor, controls: torch.Tensor,
                net: nn.Module | None = None) -> torch.Tensor:
        """The output of ``net`` (default this recipe's; e.g. its weights' average)."""
        out = (net if net is not None else self.net)(x, controls)
        return out[0] if isinstance(out, tuple) else out

    def describe(self) -> str:
        weights = sum(p.numel() for p in self.net.parameters())
        return f"{self.arch} {self.size} ({weights:,} weights)"


def build_recipe(arch: str, size: str, n_controls: int, dry_train: np.ndarray | None = None,
                 gated: bool = False,
                 knob_weights: Sequence[int | Sequence[float]] = ()) -> Recipe:
    """The network for ``arch``/``size`` taking ``n_controls`` knobs.

    ``gated`` (WaveNet only) gates every layer's activation, ``knob_weights`` (WaveNet
    only) gives it a weight set per point of that lattice over the controls; see
    ``wavenet_config``.

    LACTOSE needs ``dry_train`` (a sample of the training input) to place its
    region thresholds at the input's quantiles.
    """
    if arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {arch!r} (choose from {', '.join(ARCHITECTURES)})")
    if size not in SIZES:
        raise ModelError(f"unknown size {size!r} (choose from {', '.join(SIZES)})")
    if size in RECURRENT_ONLY_SIZES and arch not in ("lstm", "gru"):
        raise ModelError(f"size {size!r} is for lstm and gru; {arch} goes up to standard")
    if gated and arch != "wavenet":
        raise ModelError(f"gated activations are a WaveNet option, not {arch}'s")
    if knob_weights and arch != "wavenet":
        raise ModelError(f"knob-dependent weights are a WaveNet option, not {arch}'s")
    if knob_weights and len(knob_weights) != n_controls:
        raise ModelError(f"knob weights need one lattice per control: {n_controls} "
                         f"control(s), {len(knob_weights)} lattice(s) given")
    if arch in ("lstm", "gru"):
        net = RecurrentNet(arch, _RECURRENT_HIDDEN[size], 1, n_controls)
        return Recipe(arch, size, net, 1024, 4096, 64, 0.008, net.to_model)
    if arch == "wavenet" and knob_weights:
        from ..nets.knob_wavenet import KnobWaveNetNet

        knob_net = KnobWaveNetNet(wavenet_config(size, n_controls, gated, knob_weights),
                                  n_controls)
        return Recipe(arch, size, knob_net, knob_net.receptive_field - 1, 8192, 16, 0.004,
                      knob_net.to_model)
    if arch == "wavenet":
        net = WaveNetNet(wavenet_config(size, n_controls, gated), n_controls)
        return Recipe(arch, size, net, net.receptive_field - 1, 8192, 16, 0.004, net.to_model)
    if arch == "tcn":
        channels, dilations = _TCN[size]
        net = TCN(n_controls, channels, 3, dilations, norm="none")
        return Recipe(arch, size, net, net.receptive_field - 1, 8192, 16, 0.004,
                      net.to_model)
    if arch == "stn":  # backpropagation through time in Python: short examples
        net = STN(n_controls, 2, _STN_HIDDEN[size], readout="linear")
        return Recipe(arch, size, net, 256, 1024, 16, 0.004, net.to_model)
    from ..nets.lactose import LactoseNet, quantile_thresholds

    regions, hidden = _LACTOSE[size]
    if dry_train is None:
        raise ModelError("LACTOSE needs training audio to place its regions")
    lactose = LactoseNet(quantile_thresholds(dry_train, regions), hidden, 1 + n_controls)
    with torch.no_grad():
        lactose.fit_ranges(torch.from_numpy(np.asarray(dry_train, np.float32)).reshape(-1, 1)
                           if n_controls == 0 else _with_controls(dry_train, n_controls))
    adapter = _LactoseAdapter(lactose, n_controls)
    return Recipe(arch, size, adapter, 0, 8192, 16, 0.004, lactose.to_streaming)


def _with_controls(dry: np.ndarray, n_controls: int) -> torch.Tensor:
    x = torch.from_numpy(np.asarray(dry, np.float32)).reshape(-1, 1)
    return torch.cat([x, torch.full((x.shape[0], n_controls), 0.5)], dim=1)
