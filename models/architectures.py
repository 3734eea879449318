"""Native-format builders for every architecture neuralrig runs.

Each builder validates the config and the tensors (``check_tensors``) and
returns a ready StreamingModel. Modules for further architectures register
themselves here with ``register_architecture``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .builtin import Identity
from .formats.native import register_architecture
from .recurrent import RecurrentModel
from .wavenet import WaveNetModel


def _int(config: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelError(f"config '{key}' must be an integer, got {value!r}")
    return value


@register_architecture("identity")
def _identity(config, tensors, controls) -> Identity:
    return Identity()


def _recurrent(cell: str):
    def build(config: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
              controls: Sequence[ParamSpec]) -> RecurrentModel:
        initial = None
        state = {k[len("initial."):]: v for k, v in tensors.items() if k.startswith("initial.")}
        if state:
            initial = state
        weights = {k: v for k, v in tensors.items() if not k.startswith("initial.")}
        return RecurrentModel(cell, _int(config, "hidden_size"), _int(config, "num_layers", 1),
                              weights, skip=bool(config.get("skip", False)),
                              controls=controls, initial_state=initial)
    return build


register_architecture("lstm")(_recurrent("lstm"))
register_architecture("gru")(_recurrent("gru"))


@register_architecture("wavenet")
def _wavenet(config, tensors, controls) -> WaveNetModel:
    return WaveNetModel(config, tensors, controls=controls)

# Modules whose builders register themselves on import.
from . import lactose, mlp, stn, tcn, transformer  # noqa: E402, F401
