"""GuitarML Proteus / Automated-GuitarAmpModelling JSON models ("SimpleRNN").

The file is JSON with ``model_data`` (``model``: "SimpleRNN", ``input_size``,
``output_size``, ``unit_type`` "LSTM" or "GRU", ``num_layers``,
``hidden_size``, ``skip``, ``bias_fl``) and ``state_dict``, PyTorch's weights
as nested lists: ``rec.weight_ih_l{k}``, ``rec.weight_hh_l{k}``,
``rec.bias_ih_l{k}``, ``rec.bias_hh_l{k}`` for each layer and ``lin.weight``
(1, H), ``lin.bias`` (1,) (absent when ``bias_fl`` is false).

Output = lin(RNN(x)) + x when ``skip`` is set. An ``input_size`` of 2 or 3
means one or two conditioning knobs in 0..1 appended to the audio sample;
they become the controls ``gain`` and ``tone``. Proteus models are trained at
44.1 kHz, which is assumed unless the file states a rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neuralrig.server.errors import ModelError

from ..base import StreamingModel
from ..recurrent import GATES, MAX_HIDDEN, MAX_LAYERS, RecurrentModel
from .aidax import MAX_INPUTS, check_shape, control_specs, parse_rate, to_array

DEFAULT_RATE = 44_100.0
KNOB_NAMES = ("gain", "tone")
UNITS = {"LSTM": "lstm", "GRU": "gru"}


def looks_like_proteus(document: Any) -> bool:
    return (isinstance(document, dict) and "model_data" in document
            and "state_dict" in document)


def load_proteus(document: Mapping[str, Any]) -> StreamingModel:
    data = document["model_data"]
    state = document["state_dict"]
    if not isinstance(data, dict):
        raise ModelError("Proteus file: 'model_data' must be an object")
    if not isinstance(state, dict):
        raise ModelError("Proteus file: 'state_dict' must be an object")
    kind = data.get("model", "SimpleRNN")
    if kind != "SimpleRNN":
        raise ModelError(f"Proteus file: model {kind!r} is not supported (only SimpleRNN)")
    unit = data.get("unit_type")
    if not isinstance(unit, str) or unit.upper() not in UNITS:
        raise ModelError(f"Proteus file: unit_type {unit!r} is not supported (LSTM or GRU)")
    cell = UNITS[unit.upper()]
    inputs = _int(data, "input_size", MAX_INPUTS, "audio plus up to two knobs")
    hidden = _int(data, "hidden_size", MAX_HIDDEN)
    layers = _int(data, "num_layers", MAX_LAYERS, default=1)
    _int(data, "output_size", 1, "one audio output", default=1)
    skip = _flag(data.get("skip", 0), "skip")
    bias_fl = _flag(data.get("bias_fl", True), "bias_fl")

    g = GATES[cell] * hidden
    expected: dict[str, tuple[int, ...]] = {}
    for k in range(layers):
        expected[f"rec.weight_ih_l{k}"] = (g, inputs if k == 0 else hidden)
        expected[f"rec.weight_hh_l{k}"] = (g, hidden)
        expected[f"rec.bias_ih_l{k}"] = (g,)
        expected[f"rec.bias_hh_l{k}"] = (g,)
    expected["lin.weight"] = (1, hidden)
    if bias_fl or "lin.bias" in state:
        expected["lin.bias"] = (1,)
    missing = [k for k in expected if k not in state]
    if missing:
        raise ModelError(f"Proteus file: state_dict lacks {missing} for a {layers}-layer "
                         f"{cell.upper()}-{hidden}")
    extra = sorted(k for k in state if k not in expected)
    if extra:
        raise ModelError(f"Proteus file: unexpected state_dict entries {extra} for a "
                         f"{layers}-layer {cell.upper()}-{hidden} (bidirectional or "
                         f"projected RNNs are not supported)")
    tensors: dict[str, np.ndarray] = {}
    for key, shape in expected.items():
        array = to_array(state[key], f"Proteus state_dict '{key}'")
        check_shape(array, shape, f"Proteus state_dict '{key}'")
        name = key[len("rec."):] if key.startswith("rec.") else "head." + key[len("lin."):]
        tensors[name] = array
    if "head.bias" not in tensors:
        tensors["head.bias"] = np.zeros(1, np.float32)

    controls = control_specs(KNOB_NAMES[: inputs - 1], [0.5] * (inputs - 1), "Proteus")
    model = RecurrentModel(cell, hidden, layers, tensors, skip=skip, controls=controls)
    stated = _stated_rate(document)
    model.sample_rate = stated if stated is not None else DEFAULT_RATE
    model.metadata = {
        "format": "proteus",
        "layers": f"{layers}x{cell.upper()}-{hidden} + Linear",
        "skip": skip,
    }
    if stated is None:
        model.metadata["sample_rate_note"] = ("the file states no sample rate; 44100 Hz "
                                              "assumed (Proteus models are trained at it)")
    return model


def _int(data: Mapping[str, Any], key: str, limit: int, meaning: str = "",
         default: int | None = None) -> int:
    value = data.get(key, default)
    note = f" ({meaning})" if meaning else ""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelError(f"Proteus file: model_data '{key}' must be an integer, got {value!r}")
    if not 1 <= value <= limit:
        raise ModelError(f"Proteus file: model_data '{key}' = {value} outside "
                         f"1..{limit}{note}")
    return value


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ModelError(f"Proteus file: model_data '{key}' must be 0, 1, true or false, "
                     f"got {value!r}")


def _stated_rate(document: Mapping[str, Any]) -> float | None:
    for where, place in ((document["model_data"], "model_data"), (document, "file"),
                         (document.get("metadata"), "metadata")):
        if not isinstance(where, dict):
            continue
        for key in ("samplerate", "sample_rate"):
            rate = parse_rate(where.get(key), f"Proteus {place}: {key}")
            if rate is not None:
                return rate
    return None
