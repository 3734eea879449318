"""LACTOSE: a linear array of conditions, each with its own small MLP.

"Linear Array of Conditions, TOpologies with Separated Error-backpropagation":
per sample, the routing signal (the input sample, or one control) is compared
with a sorted array of thresholds; the region it falls in picks one of R small
parameter sets, and only that sub-model runs. Each sub-model covers only its
slice of the input space, so it can stay small (the seed: 4x4 sub-models where
a plain MLP needed 8x8). Training keeps the routing outside the differentiable
graph (models/nets/lactose.py); at inference the kernel finds the region (a
linear count of thresholds below the signal, or a binary search past 16
thresholds) and runs that tiny MLP (models/runtime/dense.py).

Config::

    {"thresholds": [-0.5, -0.25, 0.25, 0.5],   # ascending; R = len + 1 regions
     "hidden_sizes": [4, 4], "activation": "ReLU",
     "route": "input",                         # or "control"
     "route_control": "gain"}                  # the control's name when route = "control"

Region 0 is ``v <= t[0]``, region r is ``t[r-1] < v <= t[r]``, the last ``v > t[-1]``.
Routing by the input compares the sample (after any input gain); routing by a
control compares its normalised 0..1 value, so thresholds are in 0..1 then.
Every sub-model sees [audio, control 1, ...]. Tensors, PyTorch names:
``regions.{r}.layers.{k}.weight`` (out, in) and ``regions.{r}.layers.{k}.bias`` (out,).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .base import as_f32
from .formats.native import register_architecture
from .mlp import DenseRouter, dense_shapes, validate_dense_config
from .recurrent import check_tensors

MAX_REGIONS = 1024


def validate_thresholds(value: Any) -> list[float]:
    """A list of finite numbers in strictly ascending order, else a ModelError."""
    if not isinstance(value, list) or len(value) > MAX_REGIONS - 1:
        raise ModelError(f"LACTOSE: 'thresholds' must be a list of at most {MAX_REGIONS - 1} "
                         f"numbers, got {value!r}")
    for item in value:
        if (not isinstance(item, (int, float)) or isinstance(item, bool)
                or not math.isfinite(item)):
            raise ModelError(f"LACTOSE: threshold {item!r} is not a finite number")
    for k in range(1, len(value)):
        if not value[k - 1] < value[k]:
            raise ModelError(f"LACTOSE: thresholds must be strictly ascending, but "
                             f"thresholds[{k - 1}] = {value[k - 1]} >= thresholds[{k}] = "
                             f"{value[k]}")
    return [float(v) for v in value]


def lactose_shapes(regions: int, inputs: int, hidden_sizes: Sequence[int]) -> dict[str, tuple]:
    shapes: dict[str, tuple] = {}
    for r in range(regions):
        shapes.update(dense_shapes(inputs, hidden_sizes, prefix=f"regions.{r}."))
    return shapes


class LactoseModel(DenseRouter):
    """Per-sample region routing over a sorted threshold array, one small MLP per region."""

    architecture = "lactose"

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *,
                 controls: Sequence[ParamSpec] = ()) -> None:
        self.controls = tuple(controls)
        sizes, activation, slope = validate_dense_config(config, "LACTOSE")
        thresholds = validate_thresholds(config.get("thresholds"))
        route_kind = config.get("route", "input")
        route_control = config.get("route_control")
        if route_kind == "input":
            route = 0
        elif route_kind == "control":
            names = [c.name for c in self.controls]
            if not names:
                raise ModelError("LACTOSE: route 'control' needs a model with controls")
            if route_control not in names:
                raise ModelError(f"LACTOSE: 'route_control' must name one of the controls "
                                 f"{names}, got {route_control!r}")
            route = 1 + names.index(route_control)
        else:
            raise ModelError(f"LACTOSE: 'route' must be 'input' or 'control', "
                             f"got {route_kind!r}")
        regions = len(thresholds) + 1
        inputs = 1 + len(self.controls)
        check_tensors(lactose_shapes(regions, inputs, sizes), tensors)
        self.regions = regions
        self.config = {"thresholds": thresholds, "hidden_sizes": sizes,
                       "activation": activation, "negative_slope": slope, "route": route_kind}
        if route_kind == "control":
            self.config["route_control"] = route_control
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        n = len(sizes) + 1
        weights = [np.stack([self.tensors[f"regions.{r}.layers.{k}.weight"]
                             for r in range(regions)]) for k in range(n)]
        biases = [np.stack([self.tensors[f"regions.{r}.layers.{k}.bias"]
                            for r in range(regions)]) for k in range(n)]
        self._setup(weights, biases, np.asarray(thresholds, np.float32), route, activation,
                    slope)

    def export_native(self) -> tuple[str, dict, dict]:
        return "lactose", dict(self.config), dict(self.tensors)

    def describe(self) -> str:
        shape = "x".join(str(s) for s in self.config["hidden_sizes"])
        by = ("input" if self.config["route"] == "input"
              else f"control '{self.config['route_control']}'")
        return (f"LACTOSE {self.regions} regions of {shape} {self.config['activation']} "
                f"routed by {by}; " + super().describe())


@register_architecture("lactose")
def _lactose(config, tensors, controls) -> LactoseModel:
    return LactoseModel(config, tensors, controls=controls)
