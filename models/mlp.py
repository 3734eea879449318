"""A per-sample MLP: a static nonlinearity (waveshaper) learned as a small dense network.

Config::

    {"hidden_sizes": [8, 8], "activation": "ReLU", "negative_slope": 0.01}

Input per sample is [audio, control 1, ...] (controls normalised 0..1), output one
sample. Tensors in PyTorch's names and layout: ``layers.{k}.weight`` (out, in) and
``layers.{k}.bias`` (out,) for each hidden layer and the final linear layer. Hidden
layers use ``activation``; the last layer is linear. Stateless: no history.
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
from .runtime.dense import conditional_mlp_block, pack_dense

MAX_WIDTH = 256
MAX_HIDDEN_LAYERS = 8


def validate_dense_config(config: Mapping[str, Any], where: str) -> tuple[list[int], str, float]:
    """Check ``hidden_sizes``, ``activation`` and ``negative_slope``; return them."""
    sizes = config.get("hidden_sizes")
    if (not isinstance(sizes, list) or not 1 <= len(sizes) <= MAX_HIDDEN_LAYERS
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_WIDTH
                       for s in sizes)):
        raise ModelError(f"{where}: 'hidden_sizes' must list 1..{MAX_HIDDEN_LAYERS} integers "
                         f"in 1..{MAX_WIDTH}, got {sizes!r}")
    activation = config.get("activation", "ReLU")
    if activation not in ACTIVATION_CODES:
        raise ModelError(f"{where}: unsupported activation {activation!r} "
                         f"(supported: {', '.join(ACTIVATION_CODES)})")
    slope = config.get("negative_slope", 0.01)
    if not isinstance(slope, (int, float)) or isinstance(slope, bool) or not np.isfinite(slope):
        raise ModelError(f"{where}: 'negative_slope' must be a finite number, got {slope!r}")
    return list(sizes), activation, float(slope)


def dense_shapes(inputs: int, hidden_sizes: Sequence[int], prefix: str = "",
                 regions: int | None = None) -> dict[str, tuple]:
    """Tensor shapes of one MLP (``regions`` None) or of stacked ones."""
    widths = [inputs, *hidden_sizes, 1]
    shapes: dict[str, tuple] = {}
    for k in range(len(widths) - 1):
        lead = () if regions is None else (regions,)
        shapes[f"{prefix}layers.{k}.weight"] = (*lead, widths[k + 1], widths[k])
        shapes[f"{prefix}layers.{k}.bias"] = (*lead, widths[k + 1])
    return shapes


class DenseRouter(StreamingModel):
    """Shared runtime of MLP and LACTOSE: per-region MLPs chosen per sample by thresholds."""

    def _setup(self, weights: list[np.ndarray], biases: list[np.ndarray],
               thresholds: np.ndarray, route: int, activation: str, slope: float) -> None:
        self._w, self._b, self._sizes, self._width = pack_dense(weights, biases)
        self._thresholds = as_f32(thresholds)
        self._route = int(route)
        self._act = ACTIVATION_CODES[activation]
        self._slope = np.float32(slope)
        self.weight_count = int(sum(w.size for w in weights) + sum(b.size for b in biases))

    def allocate(self, channels: int, max_block: int) -> None:
        self._h0 = np.zeros(self._width, np.float32)
        self._h1 = np.zeros(self._width, np.float32)

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        conditional_mlp_block(x, ctrl, out, self._route, self._thresholds, self._w, self._b,
                              self._sizes, self._act, self._slope, self._h0, self._h1)

    def kernel_only(self, x: np.ndarray, out: np.ndarray) -> None:
        """The kernel on a whole (channels, frames) array, no controls or gains (benchmarks)."""
        ctrl = np.zeros((len(self.controls), x.shape[1]), np.float32)
        conditional_mlp_block(x, ctrl, out, self._route, self._thresholds, self._w, self._b,
                              self._sizes, self._act, self._slope, self._h0, self._h1)


class MLPModel(DenseRouter):
    """One MLP applied to every sample: y[t] = f(x[t], controls[t])."""

    architecture = "mlp"

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *,
                 controls: Sequence[ParamSpec] = ()) -> None:
        self.controls = tuple(controls)
        sizes, activation, slope = validate_dense_config(config, "MLP")
        inputs = 1 + len(self.controls)
        check_tensors(dense_shapes(inputs, sizes), tensors)
        self.config = {"hidden_sizes": sizes, "activation": activation, "negative_slope": slope}
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        n = len(sizes) + 1
        weights = [self.tensors[f"layers.{k}.weight"][None] for k in range(n)]
        biases = [self.tensors[f"layers.{k}.bias"][None] for k in range(n)]
        self._setup(weights, biases, np.zeros(0, np.float32), 0, activation, slope)

    def export_native(self) -> tuple[str, dict, dict]:
        return "mlp", dict(self.config), dict(self.tensors)

    def describe(self) -> str:
        shape = "x".join(str(s) for s in self.config["hidden_sizes"])
        return f"MLP {shape} {self.config['activation']}; " + super().describe()


@register_architecture("mlp")
def _mlp(config, tensors, controls) -> MLPModel:
    return MLPModel(config, tensors, controls=controls)
