"""State Trajectory Network (Parker, Esqueda & Bergner, DAFx-19).

A per-sample MLP predicts the change of an S-dimensional state::

    s[n] = s[n-1] + MLP([x[n], s[n-1], controls[n]])

(``hidden`` layers with ``activation``, a linear last layer of width S) and
the output is the first state component, ``y[n] = s[n][0]`` (``readout``
``"state"``: the state is the circuit's output voltage, as in the paper), or
a linear readout ``y[n] = w·s[n] + b`` (``readout`` ``"linear"``). Controls
enter normalised 0..1, per sample, so a knob ramp is followed exactly.
The state starts at zero.

Config::

    {"state_size": S, "hidden": [8, 8], "activation": "Tanh",
     "readout": "state" | "linear"}

Tensors: ``mlp.l{j}.weight`` (out, in) and ``.bias`` for the widths
[1 + S + controls, *hidden, S]; ``readout.weight`` (1, S) and
``readout.bias`` (1) when the readout is linear.
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
from .runtime.stn import stn_block
from .tcn import (
    MAX_MLP_LAYERS,
    MAX_MLP_WIDTH,
    config_activation,
    config_int,
    config_int_list,
    config_slope,
    mlp_tensor_shapes,
    pack_mlp,
)

MAX_STATE = 64
READOUTS = ("state", "linear")


def validate_stn_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with defaults filled in; ModelError naming the first problem."""
    if not isinstance(config, Mapping):
        raise ModelError("STN config must be a JSON object")
    where = "STN"
    readout = config.get("readout", "state")
    if readout not in READOUTS:
        raise ModelError(f"{where}: 'readout' must be one of {', '.join(READOUTS)}, "
                         f"got {readout!r}")
    return {
        "state_size": config_int(config, "state_size", 1, MAX_STATE, where),
        "hidden": config_int_list(config, "hidden", 1, MAX_MLP_WIDTH, where, 1, MAX_MLP_LAYERS),
        "activation": config_activation(config, "activation", "Tanh", where),
        "negative_slope": config_slope(config, where),
        "readout": readout,
    }


def stn_widths(config: Mapping[str, Any], n_controls: int) -> list[int]:
    s = config["state_size"]
    return [1 + s + n_controls, *config["hidden"], s]


def stn_tensor_shapes(config: Mapping[str, Any], n_controls: int) -> dict[str, tuple]:
    shapes = mlp_tensor_shapes("mlp", stn_widths(config, n_controls))
    if config["readout"] == "linear":
        shapes["readout.weight"] = (1, config["state_size"])
        shapes["readout.bias"] = (1,)
    return shapes


class STNModel(StreamingModel):
    """A State Trajectory Network; see the module docstring for the layout."""

    architecture = "stn"

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *,
                 controls: Sequence[ParamSpec] = ()) -> None:
        self.controls = tuple(controls)
        self.config = validate_stn_config(config)
        check_tensors(stn_tensor_shapes(self.config, len(self.controls)), tensors)
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        cfg = self.config
        self.state_size = cfg["state_size"]
        widths = stn_widths(cfg, len(self.controls))
        self._w, self._b, self._widths = pack_mlp(self.tensors, "mlp", widths, input_major=True)
        self._act = ACTIVATION_CODES[cfg["activation"]]
        self._slope = np.float32(cfg["negative_slope"])
        self._linear = cfg["readout"] == "linear"
        if self._linear:
            self._readout_w = self.tensors["readout.weight"][0].copy()
            self._readout_b = np.float32(self.tensors["readout.bias"][0])
        else:
            self._readout_w = np.zeros(self.state_size, np.float32)
            self._readout_b = np.float32(0.0)
        self.weight_count = int(sum(v.size for v in self.tensors.values()))

    def allocate(self, channels: int, max_block: int) -> None:
        self._state = np.zeros((channels, self.state_size), np.float32)
        self._scratch = np.zeros((2, self._w.shape[1]), np.float32)

    def clear_state(self) -> None:
        self._state.fill(0.0)

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        stn_block(x, ctrl, out, self._w, self._b, self._widths, self._act, self._slope,
                  self._readout_w, self._readout_b, self._linear, self._state, self._scratch)

    def export_native(self) -> tuple[str, dict, dict]:
        return "stn", dict(self.config), dict(self.tensors)

    def describe(self) -> str:
        hidden = "-".join(str(h) for h in self.config["hidden"])
        return (f"STN state {self.state_size}, hidden {hidden}, {self.weight_count} weights; "
                + super().describe())


@register_architecture("stn")
def _build_stn(config: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
               controls: Sequence[ParamSpec]) -> STNModel:
    return STNModel(config, tensors, controls=controls)

