"""Neural Amp Modeler ``.nam`` files: LSTM and WaveNet "A1", both config schemas.

The file is JSON with ``architecture``, ``config``, a flat ``weights`` list
and optional ``sample_rate`` and ``metadata`` (loudness, levels). Layouts:

* LSTM, per layer: the 4H x (in + H) matrix ``[W_ih | W_hh]`` row-major
  (gates i, f, g, o), the summed bias (4H), the initial h (H), the initial c
  (H); then the head's H weights and its bias.
* WaveNet, per layer array: rechannel W; per layer conv W, conv b, mixer W,
  1x1 W, 1x1 b; head-rechannel W (and b); after all arrays, ``head_scale``.
  Every W is PyTorch's (out, in, k) row-major.

The 0.5.x schema names ``head_size``/``head_bias``/``kernel_size``/``gated``;
0.6/0.7 name ``head{}``, ``kernel_sizes``, ``gating_mode`` and add options
(bottleneck, head1x1, groups, FiLM, slimmable, condition_dsp) that go beyond
A1. A file using any of those is refused with the option named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.errors import ModelError

from ..base import StreamingModel
from ..recurrent import RecurrentModel
from ..runtime.activations import ACTIVATION_CODES
from ..wavenet import WaveNetModel, wavenet_tensor_shapes

SUPPORTED_VERSIONS = ((0, 5), (0, 6), (0, 7))
DEFAULT_RATE = 48_000.0  # what NAM's plugin assumes when a file states none
NORMALISED_LOUDNESS_DB = -18.0
FILM_KEYS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film",
             "input_mixin_post_film", "activation_pre_film", "activation_post_film",
             "layer1x1_post_film", "head1x1_post_film")


def looks_like_nam(document: Any) -> bool:
    return (isinstance(document, dict) and "architecture" in document
            and "weights" in document and "config" in document)


def load_nam(document: Mapping[str, Any]) -> StreamingModel:
    version = _version(document.get("version"))
    arch = document.get("architecture")
    config = document.get("config")
    if not isinstance(config, dict):
        raise ModelError("NAM file: 'config' must be an object")
    weights = document.get("weights")
    if not isinstance(weights, list) or not weights:
        raise ModelError("NAM file: 'weights' must be a non-empty list of numbers")
    try:
        flat = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError("NAM file: 'weights' holds something that is not a number") from None
    if flat.ndim != 1:
        raise ModelError("NAM file: 'weights' must be a flat list")
    if not np.all(np.isfinite(flat)):
        bad = int(np.flatnonzero(~np.isfinite(flat))[0])
        raise ModelError(f"NAM file: weight {bad} is NaN or Inf")
    flat = flat.astype(np.float32)
    if arch == "LSTM":
        model: StreamingModel = _lstm(config, flat)
    elif arch == "WaveNet":
        model = _wavenet(config, flat)
    elif arch in ("SlimmableContainer", "Linear", "ConvNet", "CatLSTM", "CatWaveNet"):
        raise ModelError(f"NAM architecture {arch!r} is not supported (neuralrig runs "
                         f"NAM's LSTM and WaveNet A1)")
    else:
        raise ModelError(f"NAM file: unknown architecture {arch!r}")
    rate = document.get("sample_rate")
    if rate is None or (isinstance(rate, (int, float)) and rate <= 0):
        rate = DEFAULT_RATE
    if not isinstance(rate, (int, float)) or not 8000 <= rate <= 384_000:
        raise ModelError(f"NAM file: sample_rate {rate!r} outside 8000..384000")
    model.sample_rate = float(rate)
    meta = document.get("metadata") or {}
    model.metadata = {
        "format": "nam",
        "version": ".".join(map(str, version)),
        **{k: meta[k] for k in ("name", "modeled_by", "gear_make", "gear_model",
                                "gear_type", "tone_type", "loudness", "gain",
                                "input_level_dbu", "output_level_dbu")
           if isinstance(meta, dict) and k in meta},
    }
    return model


def _version(value: Any) -> tuple[int, int]:
    if not isinstance(value, str):
        raise ModelError(f"NAM file: 'version' must be a string like \"0.5.4\", got {value!r}")
    try:
        major, minor = (int(p) for p in value.split(".")[:2])
    except ValueError:
        raise ModelError(f"NAM file: cannot read version {value!r}") from None
    if (major, minor) not in SUPPORTED_VERSIONS:
        raise ModelError(f"NAM file version {value} is not supported (0.5.x to 0.7.x are)")
    return major, minor


def _take(flat: np.ndarray, cursor: list[int], shape: tuple[int, ...]) -> np.ndarray:
    n = math.prod(shape)
    start = cursor[0]
    if start + n > flat.size:
        raise ModelError("NAM file: too few weights for its config")
    cursor[0] = start + n
    return flat[start : start + n].reshape(shape)


def _positive_int(config: Mapping[str, Any], key: str, limit: int, where: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise ModelError(f"NAM {where}: '{key}' must be an integer 1..{limit}, got {value!r}")
    return value


def _lstm(config: Mapping[str, Any], flat: np.ndarray) -> RecurrentModel:
    hidden = _positive_int(config, "hidden_size", 1024, "LSTM")
    layers = _positive_int(config, "num_layers", 8, "LSTM")
    inputs = _positive_int(config, "input_size", 1, "LSTM")
    expected = sum(4 * hidden * ((inputs if k == 0 else hidden) + hidden) + 6 * hidden
                   for k in range(layers)) + hidden + 1
    if flat.size != expected:
        raise ModelError(f"NAM LSTM {layers}x{hidden}: expected {expected} weights, "
                         f"the file has {flat.size}")
    cursor = [0]
    tensors: dict[str, np.ndarray] = {}
    h0 = np.zeros((layers, hidden), np.float32)
    c0 = np.zeros((layers, hidden), np.float32)
    for k in range(layers):
        width = inputs if k == 0 else hidden
        matrix = _take(flat, cursor, (4 * hidden, width + hidden))
        tensors[f"weight_ih_l{k}"] = matrix[:, :width]
        tensors[f"weight_hh_l{k}"] = matrix[:, width:]
        tensors[f"bias_ih_l{k}"] = _take(flat, cursor, (4 * hidden,))
        tensors[f"bias_hh_l{k}"] = np.zeros(4 * hidden, np.float32)
        h0[k] = _take(flat, cursor, (hidden,))
        c0[k] = _take(flat, cursor, (hidden,))
    tensors["head.weight"] = _take(flat, cursor, (1, hidden))
    tensors["head.bias"] = _take(flat, cursor, (1,))
    # The stored state is already the model's state after 48,000 samples of
    # silence, so NAM LSTMs need no further pre-warm.
    return RecurrentModel("lstm", hidden, layers, tensors, initial_state={"h": h0, "c": c0})


def normalise_wavenet_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Either NAM schema in, neuralrig's A1 WaveNet config out; anything beyond A1 refused."""
    if config.get("head") is not None:
        raise ModelError("NAM WaveNet: a top-level 'head' is not part of A1 (unsupported)")
    if config.get("condition_dsp") is not None:
        raise ModelError("NAM WaveNet: 'condition_dsp' (A2) is not supported")
    arrays = config.get("layers")
    if not isinstance(arrays, list) or not arrays:
        raise ModelError("NAM WaveNet: config needs a non-empty 'layers' list")
    scale = config.get("head_scale", 1.0)
    return {"layers": [_normalise_array(i, arr) for i, arr in enumerate(arrays)],
            "head_scale": scale}


def _normalise_array(index: int, arr: Any) -> dict[str, Any]:
    where = f"NAM WaveNet layer array {index}"
    if not isinstance(arr, dict):
        raise ModelError(f"{where}: must be an object")
    dilations = arr.get("dilations")
    if not isinstance(dilations, list) or not dilations:
        raise ModelError(f"{where}: 'dilations' must be a non-empty list")
    n = len(dilations)
    if "head" in arr:  # 0.6/0.7 schema
        head = arr["head"]
        if not isinstance(head, dict):
            raise ModelError(f"{where}: 'head' must be an object")
        if head.get("kernel_size", 1) != 1:
            raise ModelError(f"{where}: a head kernel_size of {head.get('kernel_size')} is "
                             f"beyond A1 (unsupported)")
        head_size, head_bias = head.get("out_channels"), bool(head.get("bias", False))
        kernels = arr.get("kernel_sizes", arr.get("kernel_size"))
        _refuse_beyond_a1(where, arr)
        activation, gated = _new_activation(where, arr, n)
    else:  # 0.5.x schema
        head_size, head_bias = arr.get("head_size"), bool(arr.get("head_bias", False))
        kernels = arr.get("kernel_size")
        activation, gated = arr.get("activation"), bool(arr.get("gated", False))
    if isinstance(kernels, int) and not isinstance(kernels, bool):
        kernels = [kernels] * n
    if not isinstance(kernels, list) or len(kernels) != n:
        raise ModelError(f"{where}: kernel sizes must be an integer or one per dilation")
    if activation not in ACTIVATION_CODES:
        raise ModelError(f"{where}: unsupported activation {activation!r}")
    return {
        "input_size": arr.get("input_size"),
        "condition_size": arr.get("condition_size"),
        "channels": arr.get("channels"),
        "head_size": head_size,
        "kernel_sizes": kernels,
        "dilations": dilations,
        "activation": activation,
        "gated": gated,
        "head_bias": head_bias,
    }


def _refuse_beyond_a1(where: str, arr: Mapping[str, Any]) -> None:
    if arr.get("slimmable") is not None:
        raise ModelError(f"{where}: slimmable models are not supported")
    if arr.get("bottleneck", arr.get("channels")) != arr.get("channels"):
        raise ModelError(f"{where}: a bottleneck narrower than the channels is beyond A1 "
                         f"(unsupported)")
    if (arr.get("head1x1") or {}).get("active", False):
        raise ModelError(f"{where}: 'head1x1' is beyond A1 (unsupported)")
    layer1x1 = arr.get("layer1x1") or {"active": True, "groups": 1}
    if not layer1x1.get("active", True) or layer1x1.get("groups", 1) != 1:
        raise ModelError(f"{where}: a layer1x1 that is inactive or grouped is beyond A1 "
                         f"(unsupported)")
    for key in ("groups_input", "groups_input_mixin"):
        if arr.get(key, 1) != 1:
            raise ModelError(f"{where}: '{key}' = {arr.get(key)} is beyond A1 (unsupported)")
    for key in FILM_KEYS:
        film = arr.get(key)
        if isinstance(film, dict) and film.get("active", False):
            raise ModelError(f"{where}: FiLM ('{key}') is not supported")


def _new_activation(where: str, arr: Mapping[str, Any], n: int) -> tuple[Any, bool]:
    def name(entry: Any) -> Any:
        if isinstance(entry, dict):
            extra = set(entry) - {"type"}
            if extra:
                raise ModelError(f"{where}: activation parameters {sorted(extra)} are not "
                                 f"supported")
            return entry.get("type")
        return entry

    acts = arr.get("activation")
    acts = [name(a) for a in acts] if isinstance(acts, list) else [name(acts)] * n
    modes = arr.get("gating_mode", "none")
    modes = modes if isinstance(modes, list) else [modes] * n
    secondary = arr.get("secondary_activation")
    secondary = secondary if isinstance(secondary, list) else [secondary] * n
    if len(set(acts)) != 1:
        raise ModelError(f"{where}: per-layer activations {sorted(set(map(str, acts)))} are "
                         f"beyond A1 (unsupported)")
    if len(set(modes)) != 1 or modes[0] not in ("none", "gated"):
        raise ModelError(f"{where}: gating_mode {modes[0]!r} is not supported "
                         f"(A1 is 'none' or 'gated')")
    gated = modes[0] == "gated"
    if gated and any(name(s) not in (None, "Sigmoid") for s in secondary):
        raise ModelError(f"{where}: a gate other than Sigmoid is beyond A1 (unsupported)")
    return acts[0], gated


def _wavenet(config: Mapping[str, Any], flat: np.ndarray) -> WaveNetModel:
    cfg = normalise_wavenet_config(config)
    from ..wavenet import validate_wavenet_config

    validate_wavenet_config(cfg, 0)
    shapes = wavenet_tensor_shapes(cfg)
    expected = sum(math.prod(s) for s in shapes.values()) + 1
    if flat.size != expected:
        raise ModelError(f"NAM WaveNet: expected {expected} weights for its config, the file "
                         f"has {flat.size}")
    cursor = [0]
    tensors: dict[str, np.ndarray] = {}
    for a, arr in enumerate(cfg["layers"]):
        tensors[f"a{a}.rechannel.weight"] = _take(flat, cursor, shapes[f"a{a}.rechannel.weight"])
        for layer in range(len(arr["dilations"])):
            p = f"a{a}.l{layer}."
            for key in ("conv.weight", "conv.bias", "mixer.weight", "out.weight", "out.bias"):
                shape = shapes[p + key]
                if key == "mixer.weight" or key == "out.weight":
                    tensors[p + key] = _take(flat, cursor, (*shape, 1))[..., 0]
                else:
                    tensors[p + key] = _take(flat, cursor, shape)
        tensors[f"a{a}.head.weight"] = _take(flat, cursor, shapes[f"a{a}.head.weight"])
        if arr["head_bias"]:
            tensors[f"a{a}.head.bias"] = _take(flat, cursor, shapes[f"a{a}.head.bias"])
    cfg["head_scale"] = float(flat[cursor[0]])
    return WaveNetModel(cfg, tensors)


def apply_nam_levels(model: StreamingModel, *, normalize: bool,
                     input_calibration_dbu: float | None = None) -> Sequence[str]:
    """The NAM plugin's level handling; returns what was applied, for the log.

    Normalised output scales so the model's loudness reads -18 dB; input
    calibration adds (interface level - the capture's input level) in dB.
    """
    meta = getattr(model, "metadata", {}) or {}
    applied = []
    loudness = meta.get("loudness")
    if normalize and isinstance(loudness, (int, float)) and math.isfinite(loudness):
        db = NORMALISED_LOUDNESS_DB - loudness
        model.output_gain = 10.0 ** (db / 20.0)
        applied.append(f"output normalised by {db:+.1f} dB")
    level = meta.get("input_level_dbu")
    if input_calibration_dbu is not None and isinstance(level, (int, float)):
        db = input_calibration_dbu - level
        model.input_gain = 10.0 ** (db / 20.0)
        applied.append(f"input calibrated by {db:+.1f} dB")
    return applied
