"""AIDA-X / RTNeural "keras" JSON models: LSTM or GRU layers and a Dense head.

The file is JSON with ``in_shape`` (``[null, null, N]``, N the input width)
and ``layers``, each with ``type``, ``activation``, ``shape`` (the last entry
is the layer's width) and ``weights`` in Keras layout:

* LSTM: kernel (in, 4H), recurrent kernel (H, 4H), bias (4H); gates i, f, c, o,
  the same order as PyTorch's i, f, g, o.
* GRU (Keras ``reset_after``): kernel (in, 3H), recurrent kernel (H, 3H),
  bias (2, 3H) whose row 0 is the input bias and row 1 the recurrent bias;
  gates z, r, h, so the first two blocks swap to reach PyTorch's r, z, n.
* Dense: kernel (H, 1) and an optional bias (1).

AIDA-X adds ``in_skip`` (output = input + network), ``in_gain`` and
``out_gain`` in dB, up to two knob inputs after the audio (N = 2 or 3; the
network reads [audio, knob1, knob2] per sample, knobs in 0..1), ``metadata``
(``samplerate`` among others) and optionally ``input_batch``/``output_batch``,
a test vector kept in the model's metadata so the load can be verified
(:func:`reproduction_error`). The test vector is taken to be the network
output including ``in_skip`` but without the two gains.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..base import StreamingModel
from ..recurrent import MAX_HIDDEN, MAX_LAYERS, RecurrentModel

MAX_INPUTS = 3  # audio plus up to two knobs
MAX_GAIN_DB = 60.0
RECURRENT = {"lstm": 4, "gru": 3}
HEADS = ("dense", "time-distributed-dense")
# Every layer type RTNeural's JSON parser knows; the ones neuralrig cannot run are
# refused by name, anything else is refused as unknown.
KNOWN_TYPES = {"dense", "time-distributed-dense", "conv1d", "conv2d", "gru", "lstm", "prelu",
               "batchnorm", "batchnorm2d", "activation"}
RECURRENT_ACTIVATIONS = (None, "", "tanh")
HEAD_ACTIVATIONS = (None, "", "linear")
# Names a control may not take: a slot's own keys and the neural slot's options.
RESERVED_NAMES = {"id", "type", "bypass", "mix", "model", "normalize", "input_level_dbu"}
CONTROL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TEXT_METADATA = ("name", "author", "source", "style", "based", "dataset", "license",
                 "version", "description", "esr")


def looks_like_aidax(document: Any) -> bool:
    return (isinstance(document, dict) and isinstance(document.get("layers"), list)
            and "in_shape" in document)


def load_aidax(document: Mapping[str, Any]) -> StreamingModel:
    inputs = _input_width(document.get("in_shape"))
    layers = document["layers"]
    if not layers:
        raise ModelError("AIDA-X file: 'layers' is empty")
    kinds = [_layer_type(i, layer) for i, layer in enumerate(layers)]
    cell = kinds[0]
    if cell not in RECURRENT:
        raise _unsupported(0, kinds[0], layers[0], "the first layer must be LSTM or GRU")
    n_rec = 1
    while n_rec < len(kinds) and kinds[n_rec] == cell:
        n_rec += 1
    if n_rec >= len(kinds):
        raise ModelError(f"AIDA-X file: no Dense output layer after the {cell.upper()} "
                         f"layer(s)")
    if kinds[n_rec] not in HEADS:
        raise _unsupported(n_rec, kinds[n_rec], layers[n_rec],
                           f"only {cell.upper()} layers of one kind, then one Dense layer")
    if n_rec + 1 < len(kinds):
        i = n_rec + 1
        raise _unsupported(i, kinds[i], layers[i], "nothing may follow the Dense output layer")
    if n_rec > MAX_LAYERS:
        raise ModelError(f"AIDA-X file: {n_rec} {cell.upper()} layers, above the limit of "
                         f"{MAX_LAYERS}")

    hidden = _width(0, cell, layers[0])
    tensors: dict[str, np.ndarray] = {}
    width = inputs
    for k in range(n_rec):
        if _width(k, cell, layers[k]) != hidden:
            raise ModelError(f"AIDA-X layer {k} ({cell}): width {_width(k, cell, layers[k])} "
                             f"differs from layer 0's {hidden} (stacked layers must match)")
        tensors.update(_recurrent(k, cell, layers[k], width, hidden))
        width = hidden
    tensors.update(_head(n_rec, kinds[n_rec], layers[n_rec], hidden))

    skip = _flag(document.get("in_skip", 0), "in_skip")
    meta = document.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ModelError("AIDA-X file: 'metadata' must be an object")
    controls = _controls(inputs - 1, meta)
    model = RecurrentModel(cell, hidden, n_rec, tensors, skip=skip, controls=controls)
    model.input_gain = _gain(document.get("in_gain", 0.0), "in_gain")
    model.output_gain = _gain(document.get("out_gain", 0.0), "out_gain")
    rate = parse_rate(meta.get("samplerate", meta.get("sample_rate")),
                      "AIDA-X file: metadata samplerate")
    model.sample_rate = rate
    info: dict[str, Any] = {
        "format": "aidax",
        "layers": f"{n_rec}x{cell.upper()}-{hidden} + Dense",
        "in_skip": skip,
        "in_gain_db": _db(document.get("in_gain", 0.0)),
        "out_gain_db": _db(document.get("out_gain", 0.0)),
        **{k: meta[k] for k in TEXT_METADATA if k in meta},
    }
    if rate is None:
        info["sample_rate_note"] = ("the file states no sample rate; the model runs at "
                                    "whatever rate the engine uses")
    info.update(_test_vectors(document, inputs))
    model.metadata = info
    return model


# -- parsing helpers, shared with the Proteus loader ------------------------------------

def to_array(value: Any, where: str) -> np.ndarray:
    """Nested lists of numbers as a float32 array, refusing ragged, non-numeric or NaN data."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"{where} is not a rectangular array of numbers") from None
    if not np.all(np.isfinite(array)):
        raise ModelError(f"{where} contains NaN or Inf")
    return array.astype(np.float32)


def check_shape(array: np.ndarray, expected: tuple[int, ...], where: str,
                meaning: str = "") -> None:
    if tuple(array.shape) != tuple(expected):
        note = f" ({meaning})" if meaning else ""
        raise ModelError(f"{where} has shape {tuple(array.shape)}, expected "
                         f"{tuple(expected)}{note}")


def control_specs(names: Sequence[str], defaults: Sequence[float], what: str
                  ) -> tuple[ParamSpec, ...]:
    return tuple(ParamSpec(name, 0.0, 1.0, float(default), curve="linear",
                           description=f"{what} knob input {i + 1} (0..1)")
                 for i, (name, default) in enumerate(zip(names, defaults, strict=True)))


def _input_width(shape: Any) -> int:
    if not isinstance(shape, list) or not shape:
        raise ModelError(f"AIDA-X file: 'in_shape' must be a list like [null, null, 1], "
                         f"got {shape!r}")
    width = shape[-1]
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ModelError(f"AIDA-X file: 'in_shape' must end with the input width, got "
                         f"{shape!r}")
    if width > MAX_INPUTS:
        raise ModelError(f"AIDA-X file: input width {width} is above {MAX_INPUTS} (audio plus "
                         f"up to two knobs)")
    return width


def _layer_type(index: int, layer: Any) -> str:
    if not isinstance(layer, dict):
        raise ModelError(f"AIDA-X layer {index}: must be an object")
    kind = layer.get("type")
    if not isinstance(kind, str):
        raise ModelError(f"AIDA-X layer {index}: 'type' must be a string, got {kind!r}")
    kind = kind.lower()
    if kind not in KNOWN_TYPES:
        raise ModelError(f"AIDA-X layer {index}: unknown layer type {kind!r}")
    return kind


def _unsupported(index: int, kind: str, layer: Mapping[str, Any], rule: str) -> ModelError:
    shape = layer.get("shape")
    return ModelError(f"AIDA-X layer {index}: unsupported layer type {kind!r} with shape "
                      f"{shape!r} ({rule}; neuralrig runs LSTM or GRU layers followed by "
                      f"Dense to 1 output)")


def _width(index: int, kind: str, layer: Mapping[str, Any]) -> int:
    shape = layer.get("shape")
    width = shape[-1] if isinstance(shape, list) and shape else None
    if not isinstance(width, int) or isinstance(width, bool):
        raise ModelError(f"AIDA-X layer {index} ({kind}): 'shape' must end with the layer "
                         f"width, got {shape!r}")
    if kind in RECURRENT and not 1 <= width <= MAX_HIDDEN:
        raise ModelError(f"AIDA-X layer {index} ({kind}): hidden size {width} outside "
                         f"1..{MAX_HIDDEN}")
    return width


def _weights(index: int, kind: str, layer: Mapping[str, Any], counts: tuple[int, ...]
             ) -> list[np.ndarray]:
    weights = layer.get("weights")
    if not isinstance(weights, list):
        raise ModelError(f"AIDA-X layer {index} ({kind}): 'weights' must be a list")
    if len(weights) not in counts:
        expected = " or ".join(map(str, counts))
        raise ModelError(f"AIDA-X layer {index} ({kind}): expected {expected} weight arrays, "
                         f"got {len(weights)}")
    return [to_array(w, f"AIDA-X layer {index} ({kind}) weights[{i}]")
            for i, w in enumerate(weights)]


def _recurrent(index: int, cell: str, layer: Mapping[str, Any], inputs: int, hidden: int
               ) -> dict[str, np.ndarray]:
    activation = layer.get("activation")
    if activation not in RECURRENT_ACTIVATIONS:
        raise ModelError(f"AIDA-X layer {index} ({cell}): activation {activation!r} is not "
                         f"supported (the cell's own tanh is)")
    g = RECURRENT[cell] * hidden
    kernel, recurrent, bias = _weights(index, cell, layer, (3,))
    where = f"AIDA-X layer {index} ({cell})"
    check_shape(kernel, (inputs, g), f"{where} kernel",
                f"input width x {RECURRENT[cell]}*hidden")
    check_shape(recurrent, (hidden, g), f"{where} recurrent kernel",
                f"hidden x {RECURRENT[cell]}*hidden")
    if cell == "lstm":
        check_shape(bias, (g,), f"{where} bias", "4*hidden")
        bias_ih, bias_hh = bias, np.zeros(g, np.float32)
        order = np.arange(g)
    else:
        check_shape(bias, (2, g), f"{where} bias",
                    "2 x 3*hidden: Keras GRU with reset_after=True")
        bias_ih, bias_hh = bias[0], bias[1]
        h = np.arange(hidden)
        order = np.concatenate([h + hidden, h, h + 2 * hidden])  # z, r, h -> r, z, n
    return {
        f"weight_ih_l{index}": np.ascontiguousarray(kernel[:, order].T),
        f"weight_hh_l{index}": np.ascontiguousarray(recurrent[:, order].T),
        f"bias_ih_l{index}": np.ascontiguousarray(bias_ih[order]),
        f"bias_hh_l{index}": np.ascontiguousarray(bias_hh[order]),
    }


def _head(index: int, kind: str, layer: Mapping[str, Any], hidden: int
          ) -> dict[str, np.ndarray]:
    activation = layer.get("activation")
    if activation not in HEAD_ACTIVATIONS:
        raise ModelError(f"AIDA-X layer {index} ({kind}): activation {activation!r} on the "
                         f"output layer is not supported (only linear)")
    out = _width(index, kind, layer)
    if out != 1:
        raise _unsupported(index, kind, layer, f"the output layer has width {out}, not 1")
    arrays = _weights(index, kind, layer, (1, 2))
    where = f"AIDA-X layer {index} ({kind})"
    check_shape(arrays[0], (hidden, 1), f"{where} kernel", "hidden x 1")
    bias = arrays[1] if len(arrays) == 2 else np.zeros(1, np.float32)
    check_shape(bias, (1,), f"{where} bias")
    return {"head.weight": np.ascontiguousarray(arrays[0].T), "head.bias": bias}


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ModelError(f"AIDA-X file: '{key}' must be 0, 1, true or false, got {value!r}")


def _db(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _gain(value: Any, key: str) -> float:
    if value is None:
        return 1.0
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or abs(value) > MAX_GAIN_DB):
        raise ModelError(f"AIDA-X file: '{key}' must be a level in dB within "
                         f"±{MAX_GAIN_DB:g}, got {value!r}")
    return 10.0 ** (float(value) / 20.0)


def parse_rate(value: Any, where: str) -> float | None:
    """A sample rate (a number or a numeric string); None when absent, empty or 0."""
    if value is None or value == "" or value == 0:
        return None
    rate: Any = value
    if isinstance(value, str):
        try:
            rate = float(value)
        except ValueError:
            rate = value
    if (not isinstance(rate, (int, float)) or isinstance(rate, bool)
            or not math.isfinite(rate) or not 8000 <= rate <= 384_000):
        raise ModelError(f"{where} {value!r} outside 8000..384000")
    return float(rate)


def _controls(knobs: int, meta: Mapping[str, Any]) -> tuple[ParamSpec, ...]:
    """Knob inputs as controls: named by metadata 'params'/'parameters' if usable."""
    names = [f"param{i + 1}" for i in range(knobs)]
    defaults = [0.5] * knobs
    declared = meta.get("params", meta.get("parameters"))
    if isinstance(declared, list) and len(declared) == knobs:
        wanted, wanted_defaults = [], []
        for i, entry in enumerate(declared):
            name, default = entry, defaults[i]
            if isinstance(entry, dict):
                name, default = entry.get("name"), entry.get("default", default)
            if isinstance(name, str):
                name = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
            ok_default = (isinstance(default, (int, float)) and not isinstance(default, bool)
                          and 0.0 <= default <= 1.0)
            if (not isinstance(name, str) or not CONTROL_NAME.match(name)
                    or name in RESERVED_NAMES or not ok_default):
                break
            wanted.append(name)
            wanted_defaults.append(float(default))
        else:
            if len(set(wanted)) == knobs:
                names, defaults = wanted, wanted_defaults
    return control_specs(names, defaults, "AIDA-X")


def _test_vectors(document: Mapping[str, Any], inputs: int) -> dict[str, Any]:
    """input_batch/output_batch as (frames, inputs) and (frames,) float32 arrays, if usable."""
    if "input_batch" not in document and "output_batch" not in document:
        return {}
    try:
        x = np.asarray(document.get("input_batch"), dtype=np.float64)
        y = np.asarray(document.get("output_batch"), dtype=np.float64)
    except (TypeError, ValueError):
        return {"test_vectors_note": "input_batch/output_batch are not numeric arrays; ignored"}
    x = x.reshape(-1, inputs) if x.size % inputs == 0 else x
    y = y.reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.size or y.size == 0:
        return {"test_vectors_note": f"input_batch {x.shape} and output_batch {y.shape} do "
                                     f"not match the input width {inputs}; ignored"}
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return {"test_vectors_note": "input_batch/output_batch contain NaN or Inf; ignored"}
    return {"input_batch": x.astype(np.float32), "output_batch": y.astype(np.float32)}


def reproduction_error(model: StreamingModel, block: int = 128) -> float | None:
    """Max abs difference between the model and the file's output_batch, or None.

    Knob columns of input_batch drive the knob inputs sample by sample; the
    file's in_gain/out_gain are not applied (the test vector is the network's).
    The model is prepared for one channel and left reset.
    """
    meta = getattr(model, "metadata", None) or {}
    x, y = meta.get("input_batch"), meta.get("output_batch")
    if x is None or y is None:
        return None
    model.prepare(1, block)
    model.reset()
    audio = np.ascontiguousarray(x[:, 0][None, :])
    ctrl = np.ascontiguousarray(x[:, 1:].T)
    out = np.zeros_like(audio)
    for start in range(0, audio.shape[1], block):
        stop = min(start + block, audio.shape[1])
        model.run(audio[:, start:stop], ctrl[:, start:stop], out[:, start:stop])
    model.reset()
    return float(np.max(np.abs(out[0] - y)))
