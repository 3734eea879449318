"""LACTOSE in PyTorch: routing outside the graph, one small MLP per condition region.

The seed's training loop: for each batch, find each sample's condition region
(non-differentiable: ``torch.searchsorted`` on a fixed threshold buffer, under
``no_grad``), run each region's sub-model only on its own samples, scatter the
predictions back, compute the loss and backpropagate. Autograd then reaches
only the sub-models a batch used; the others keep ``grad = None``, so
optimisers such as Adam leave them untouched (``zero_grad(set_to_none=True)``,
the default). Conditions (thresholds) and parameter sets (a ModuleList indexed
by region) are kept apart; thresholds are not learned: give them explicitly or
take quantiles of the routing signal (``quantile_thresholds``).

Each region's sub-model sees its routing column rescaled to about -1..1 over
that region's span of the training data (``fit_ranges``): a sub-model trained
on, say, x in [-1, -0.5] would otherwise start with ReLU units that are all off
across its whole slice, and a dead 4x4 sub-model never recovers. The rescaling
is an affine map of one input, so ``native_tensors`` folds it into each
sub-model's first layer and the native format needs nothing extra. For the
same reason sub-models start linear (``linear_start``): hidden biases are
raised, by interval arithmetic over the input box [-1, 1], until every unit is
on across the whole region; training then bends them where the data needs it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .mlp import MLPNet


def quantile_thresholds(signal: np.ndarray, regions: int) -> list[float]:
    """``regions - 1`` thresholds at equal quantiles of ``signal``, as float32 values."""
    if regions < 1:
        raise ValueError("regions must be at least 1")
    qs = np.quantile(np.asarray(signal, np.float64), np.arange(1, regions) / regions)
    values = sorted({float(np.float32(q)) for q in qs})
    if len(values) != regions - 1:
        raise ValueError("the routing signal has too few distinct values for "
                         f"{regions} regions")
    return values


@torch.no_grad()
def _start_linear(sub: MLPNet, margin: float = 0.1) -> None:
    """Raise hidden biases so each ReLU is on for every input in [-1, 1]^inputs."""
    lo = torch.full((sub.inputs,), -1.0)
    hi = torch.full((sub.inputs,), 1.0)
    for layer in sub.layers[:-1]:
        w = layer.weight
        low = layer.bias + (w.clamp(min=0) @ lo) + (w.clamp(max=0) @ hi)
        layer.bias += (margin - low).clamp(min=0)
        lo, hi = (layer.bias + (w.clamp(min=0) @ lo) + (w.clamp(max=0) @ hi),
                  layer.bias + (w.clamp(min=0) @ hi) + (w.clamp(max=0) @ lo))


class LactoseNet(nn.Module):
    """R = len(thresholds) + 1 sub-MLPs; each sample runs the one its routing value selects.

    ``inputs`` = 1 + number of controls; ``route`` is the input column used for routing
    (0: the audio sample; 1 + k: control k, normalised 0..1).
    """

    def __init__(self, thresholds: Sequence[float], hidden_sizes: Sequence[int] = (4, 4),
                 inputs: int = 1, activation: str = "ReLU", route: int = 0,
                 linear_start: bool = True) -> None:
        super().__init__()
        values = [float(np.float32(t)) for t in thresholds]
        if any(not a < b for a, b in itertools.pairwise(values)):
            raise ValueError("thresholds must be strictly ascending")
        if not 0 <= route < inputs:
            raise ValueError(f"route column {route} outside 0..{inputs - 1}")
        self.register_buffer("thresholds", torch.tensor(values, dtype=torch.float32))
        self.hidden_sizes = list(hidden_sizes)
        self.inputs = inputs
        self.activation = activation
        self.route = route
        self.regions = nn.ModuleList(MLPNet(hidden_sizes, inputs, activation)
                                     for _ in range(len(values) + 1))
        count = len(values) + 1
        # Per region and input column: (v - centre) / half_span; identity but for the route.
        self.register_buffer("centre", torch.zeros(count, inputs))
        self.register_buffer("half_span", torch.ones(count, inputs))
        if linear_start and activation == "ReLU":
            for sub in self.regions:
                _start_linear(sub)

    @torch.no_grad()
    def fit_ranges(self, inp: torch.Tensor) -> None:
        """Set each region's input rescaling from the routing values that fall in it."""
        inp = torch.as_tensor(inp, dtype=torch.float32)
        if inp.ndim == 1:
            inp = inp[:, None]
        regions = self.region_of(inp)
        signal = inp[:, self.route]
        for r in range(len(self.regions)):
            values = signal[regions == r]
            if values.numel() == 0:
                continue
            lo, hi = float(values.min()), float(values.max())
            self.centre[r, self.route] = 0.5 * (lo + hi)
            self.half_span[r, self.route] = max(0.5 * (hi - lo), 1e-6)

    @torch.no_grad()
    def region_of(self, inp: torch.Tensor) -> torch.Tensor:
        """Region index per row: the count of thresholds strictly below the routing value."""
        return torch.searchsorted(self.thresholds, inp[:, self.route].contiguous(), right=False)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        """inp: (B, inputs) -> (B, 1); each row through its own region's sub-model."""
        regions = self.region_of(inp)
        out = inp.new_zeros((inp.shape[0], 1))
        for r, sub in enumerate(self.regions):
            idx = torch.nonzero(regions == r, as_tuple=True)[0]
            if idx.numel():
                local = (inp.index_select(0, idx) - self.centre[r]) / self.half_span[r]
                out = out.index_copy(0, idx, sub(local))
        return out

    def native_config(self, route_control: str | None = None) -> dict:
        config = {"thresholds": self.thresholds.tolist(), "hidden_sizes": self.hidden_sizes,
                  "activation": self.activation,
                  "route": "input" if self.route == 0 else "control"}
        if self.route:
            config["route_control"] = route_control
        return config

    def native_tensors(self) -> dict[str, np.ndarray]:
        tensors: dict[str, np.ndarray] = {}
        for r, sub in enumerate(self.regions):
            sub_tensors = sub.native_tensors(prefix=f"regions.{r}.")
            # Fold (v - centre) / half_span on the routing column into the first layer.
            w = sub_tensors[f"regions.{r}.layers.0.weight"].astype(np.float64)
            b = sub_tensors[f"regions.{r}.layers.0.bias"].astype(np.float64)
            centre = float(self.centre[r, self.route])
            half = float(self.half_span[r, self.route])
            column = w[:, self.route] / half
            b = b - column * centre
            w[:, self.route] = column
            sub_tensors[f"regions.{r}.layers.0.weight"] = w.astype(np.float32)
            sub_tensors[f"regions.{r}.layers.0.bias"] = b.astype(np.float32)
            tensors.update(sub_tensors)
        return tensors

    def to_streaming(self, controls=()):
        """The trained net as a neuralrig LactoseModel (``controls``: ParamSpecs)."""
        from neuralrig.models.lactose import LactoseModel

        name = controls[self.route - 1].name if self.route else None
        return LactoseModel(self.native_config(name), self.native_tensors(),
                            controls=controls)
