"""Causal TCN with FiLM conditioning (after micro-TCN, Steinmetz & Reiss 2021).

Made causal for streaming: every conv is left-padded, so the output at n
depends on inputs up to n only. Block b::

    z = conv_b(u)              # K_b taps, dilation d_b, C channels, bias
    z = γ_b · z + β_b          # FiLM, per channel, from the control MLP
    z = PReLU_b(z)             # per-channel slope
    u' = z + res_b(u)          # 1x1 residual conv, no bias

then ``y = out(u_B)`` (1x1 conv to mono, with bias), optionally ``tanh``.
The FiLM MLP maps the normalised 0..1 controls through ``film_hidden`` layers
(``film_activation``) to 2·C·B values: block b's γ then its β. It runs per
sample, so a control ramp is followed exactly; while the controls stand
still it runs once and its result is reused. Training-time BatchNorm (no
affine, before FiLM) is folded into the conv weights on export.

Config::

    {"channels": C, "kernel_sizes": [K_b...], "dilations": [d_b...],
     "film_hidden": [16, 32], "film_activation": "ReLU",
     "output_activation": "tanh" | "none"}

Tensors: ``film.l{j}.weight`` (out, in) and ``.bias``; ``b{b}.conv.weight``
(C, Cin, K_b), ``b{b}.conv.bias`` (C), ``b{b}.prelu.weight`` (C),
``b{b}.res.weight`` (C, Cin) with Cin = 1 for block 0 and C after;
``out.weight`` (1, C), ``out.bias`` (1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .base import StreamingModel, as_f32
from .formats.native import register_architecture
from .recurrent import check_tensors
from .runtime.activations import ACTIVATION_CODES
from .runtime.tcn import tcn_block, tcn_film

MAX_CHANNELS = 256
MAX_BLOCKS = 64
MAX_KERNEL = 64
MAX_DILATION = 1 << 16
MAX_MLP_LAYERS = 4
MAX_MLP_WIDTH = 256
# Elements of conv history one audio channel may hold (blocks x channels x reach): 256 MiB.
MAX_HISTORY = 1 << 26
OUTPUT_ACTIVATIONS = ("tanh", "none")


def config_int(config: Mapping[str, Any], key: str, low: int, high: int, where: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ModelError(f"{where}: '{key}' must be an integer {low}..{high}, got {value!r}")
    return value


def config_int_list(config: Mapping[str, Any], key: str, low: int, high: int, where: str,
                    min_len: int, max_len: int) -> list[int]:
    values = config.get(key)
    if not isinstance(values, list) or not min_len <= len(values) <= max_len:
        raise ModelError(f"{where}: '{key}' must be a list of {min_len}..{max_len} integers, "
                         f"got {values!r}")
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ModelError(f"{where}: '{key}' entry {value!r} outside {low}..{high}")
    return list(values)


def config_activation(config: Mapping[str, Any], key: str, default: str, where: str) -> str:
    name = config.get(key, default)
    if name not in ACTIVATION_CODES:
        raise ModelError(f"{where}: unsupported {key} {name!r} "
                         f"(supported: {', '.join(ACTIVATION_CODES)})")
    return name


def config_slope(config: Mapping[str, Any], where: str) -> float:
    slope = config.get("negative_slope", 0.01)
    if (not isinstance(slope, (int, float)) or isinstance(slope, bool)
            or not np.isfinite(slope)):
        raise ModelError(f"{where}: 'negative_slope' must be a finite number, got {slope!r}")
    return float(slope)


def mlp_tensor_shapes(prefix: str, widths: Sequence[int]) -> dict[str, tuple]:
    """Shapes of a dense stack ``widths[0] -> widths[1] -> ...`` in PyTorch layout."""
    shapes: dict[str, tuple] = {}
    for j in range(len(widths) - 1):
        shapes[f"{prefix}.l{j}.weight"] = (widths[j + 1], widths[j])
        shapes[f"{prefix}.l{j}.bias"] = (widths[j + 1],)
    return shapes


def pack_mlp(tensors: Mapping[str, np.ndarray], prefix: str, widths: Sequence[int], *,
             input_major: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-padded (L, Wmax, Wmax) weights, (L, Wmax) biases and the widths array."""
    layers = len(widths) - 1
    wmax = max(widths)
    w = np.zeros((layers, wmax, wmax), np.float32)
    b = np.zeros((layers, wmax), np.float32)
    for j in range(layers):
        weight = tensors[f"{prefix}.l{j}.weight"]
        n_out, n_in = weight.shape
        if input_major:
            w[j, :n_in, :n_out] = weight.T
        else:
            w[j, :n_out, :n_in] = weight
        b[j, :n_out] = tensors[f"{prefix}.l{j}.bias"]
    return w, b, np.asarray(widths, np.int64)


def validate_tcn_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with defaults filled in; ModelError naming the first problem."""
    if not isinstance(config, Mapping):
        raise ModelError("TCN config must be a JSON object")
    where = "TCN"
    channels = config_int(config, "channels", 1, MAX_CHANNELS, where)
    dilations = config_int_list(config, "dilations", 1, MAX_DILATION, where, 1, MAX_BLOCKS)
    kernels = config_int_list(config, "kernel_sizes", 1, MAX_KERNEL, where, 1, MAX_BLOCKS)
    if len(kernels) != len(dilations):
        raise ModelError(f"{where}: 'kernel_sizes' ({len(kernels)}) must match 'dilations' "
                         f"({len(dilations)}) in length")
    hidden = config_int_list({"film_hidden": config.get("film_hidden", [])}, "film_hidden",
                             1, MAX_MLP_WIDTH, where, 0, MAX_MLP_LAYERS)
    reach = max((k - 1) * d for k, d in zip(kernels, dilations, strict=True))
    if reach * channels * len(kernels) > MAX_HISTORY:
        raise ModelError(f"{where}: the conv history would need {reach * channels * len(kernels)}"
                         f" values per audio channel (limit {MAX_HISTORY})")
    output = config.get("output_activation", "tanh")
    if output not in OUTPUT_ACTIVATIONS:
        raise ModelError(f"{where}: 'output_activation' must be one of "
                         f"{', '.join(OUTPUT_ACTIVATIONS)}, got {output!r}")
    return {
        "channels": channels,
        "kernel_sizes": kernels,
        "dilations": dilations,
        "film_hidden": hidden,
        "film_activation": config_activation(config, "film_activation", "ReLU", where),
        "negative_slope": config_slope(config, where),
        "output_activation": output,
    }


def tcn_film_widths(config: Mapping[str, Any], n_controls: int) -> list[int]:
    blocks = len(config["dilations"])
    return [n_controls, *config["film_hidden"], 2 * config["channels"] * blocks]


def tcn_tensor_shapes(config: Mapping[str, Any], n_controls: int) -> dict[str, tuple]:
    c = config["channels"]
    shapes = mlp_tensor_shapes("film", tcn_film_widths(config, n_controls))
    for b, k in enumerate(config["kernel_sizes"]):
        cin = 1 if b == 0 else c
        shapes[f"b{b}.conv.weight"] = (c, cin, k)
        shapes[f"b{b}.conv.bias"] = (c,)
        shapes[f"b{b}.prelu.weight"] = (c,)
        shapes[f"b{b}.res.weight"] = (c, cin)
    shapes["out.weight"] = (1, c)
    shapes["out.bias"] = (1,)
    return shapes


def tcn_receptive_field(kernel_sizes: Sequence[int], dilations: Sequence[int]) -> int:
    return 1 + sum((k - 1) * d for k, d in zip(kernel_sizes, dilations, strict=True))


class TCNModel(StreamingModel):
    """A causal FiLM-conditioned TCN; see the module docstring for the layout."""

    architecture = "tcn"

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *,
                 controls: Sequence[ParamSpec] = ()) -> None:
        self.controls = tuple(controls)
        self.config = validate_tcn_config(config)
        check_tensors(tcn_tensor_shapes(self.config, len(self.controls)), tensors)
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        cfg = self.config
        c = cfg["channels"]
        kernels, dilations = cfg["kernel_sizes"], cfg["dilations"]
        blocks = len(kernels)
        self.blocks, self.width = blocks, c
        self._kernel_sizes = np.asarray(kernels, np.int64)
        self._dilations = np.asarray(dilations, np.int64)
        self._n_in = np.asarray([1] + [c] * (blocks - 1), np.int64)
        self.reach = int(np.max((self._kernel_sizes - 1) * self._dilations))
        self._conv_w = np.zeros((blocks, c, c, max(kernels)), np.float32)
        self._conv_b = np.zeros((blocks, c), np.float32)
        self._prelu = np.zeros((blocks, c), np.float32)
        self._res_w = np.zeros((blocks, c, c), np.float32)
        for b, k in enumerate(kernels):
            cin = int(self._n_in[b])
            self._conv_w[b, :, :cin, :k] = self.tensors[f"b{b}.conv.weight"]
            self._conv_b[b] = self.tensors[f"b{b}.conv.bias"]
            self._prelu[b] = self.tensors[f"b{b}.prelu.weight"]
            self._res_w[b, :, :cin] = self.tensors[f"b{b}.res.weight"]
        self._out_w = self.tensors["out.weight"][0].copy()
        self._out_b = self.tensors["out.bias"].copy()
        self._out_tanh = cfg["output_activation"] == "tanh"
        widths = tcn_film_widths(cfg, len(self.controls))
        self._film_w, self._film_b, self._film_widths = pack_mlp(
            self.tensors, "film", widths, input_major=False)
        self._film_act = ACTIVATION_CODES[cfg["film_activation"]]
        self._slope = np.float32(cfg["negative_slope"])
        self.receptive_field = tcn_receptive_field(kernels, dilations)
        self.prewarm_samples = self.receptive_field - 1
        self.weight_count = int(sum(v.size for v in self.tensors.values()))

    def allocate(self, channels: int, max_block: int) -> None:
        length = self.reach + max(64 * max_block, 4096)
        self._hist = np.zeros((channels, self.blocks, self.width, length), np.float32)
        self._pos = np.full(channels, self.reach, np.int64)
        self._last = np.zeros((self.width, max_block), np.float32)
        self._film = np.zeros((int(self._film_widths[-1]), max_block), np.float32)
        self._film_scratch = np.zeros((2, self._film_w.shape[1], max_block), np.float32)
        self._film_key = np.zeros(len(self.controls), np.float32)
        self._film_valid = np.zeros(1, np.int64)

    def clear_state(self) -> None:
        self._hist.fill(0.0)
        self._pos.fill(self.reach)

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        cols = tcn_film(ctrl, self._film_w, self._film_b, self._film_widths, self._film_act,
                        self._slope, self._film_key, self._film_valid, self._film,
                        self._film_scratch)
        tcn_block(x, out, self._film, cols, self._conv_w, self._conv_b, self._prelu,
                  self._res_w, self._n_in, self._dilations, self._kernel_sizes, self._hist,
                  self._pos, self.reach, self._out_w, self._out_b, self._out_tanh, self._last)

    def export_native(self) -> tuple[str, dict, dict]:
        return "tcn", dict(self.config), dict(self.tensors)

    def describe(self) -> str:
        return (f"TCN {self.blocks} blocks x {self.width}ch, {self.weight_count} weights, "
                f"receptive field {self.receptive_field}; " + super().describe())


@register_architecture("tcn")
def _build_tcn(config: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
               controls: Sequence[ParamSpec]) -> TCNModel:
    return TCNModel(config, tensors, controls=controls)
