"""neuralrig's own model file: weights in safetensors, JSON metadata in its header.

One file, ``NAME.safetensors``; ``__metadata__["neuralrig"]`` holds a JSON
object: ``format`` (version), ``architecture``, ``config``, ``sample_rate``,
``controls`` (name, min, max, default, unit, curve), ``loudness`` (dB on the
standard signal), ``input_gain``/``output_gain`` (linear, around the
network), ``provenance`` and ``training`` (the training report). No pickle
anywhere: safetensors holds only raw arrays.

Architectures register a builder, ``(config, tensors, controls) -> model``;
a saveable model offers ``export_native() -> (architecture, config, tensors)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from neuralrig.server.atomic import write_atomic
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from ..base import StreamingModel

FORMAT_VERSION = 1
Builder = Callable[[Mapping[str, Any], Mapping[str, np.ndarray], Sequence[ParamSpec]],
                   StreamingModel]
ARCHITECTURES: dict[str, Builder] = {}


def register_architecture(name: str) -> Callable[[Builder], Builder]:
    def decorate(builder: Builder) -> Builder:
        ARCHITECTURES[name] = builder
        return builder
    return decorate


def _builtin_architectures() -> None:
    """Import the modules whose builders register themselves."""
    from .. import architectures  # noqa: F401


def save_model(path: Path, model: StreamingModel, *, provenance: Mapping[str, Any] | None = None,
               training: Mapping[str, Any] | None = None,
               loudness: float | None = None) -> None:
    """Write ``model`` atomically: a temporary file in the same folder, fsync, rename."""
    export = getattr(model, "export_native", None)
    if export is None:
        raise ModelError(f"a {model.architecture} model cannot be saved in neuralrig's format")
    architecture, config, tensors = export()
    meta = {
        "format": FORMAT_VERSION,
        "architecture": architecture,
        "config": config,
        "sample_rate": model.sample_rate,
        "controls": [controls_to_json(c) for c in model.controls],
        "loudness": loudness,
        "input_gain": model.input_gain,
        "output_gain": model.output_gain,
        "provenance": dict(provenance or {}),
        "training": dict(training or {}),
    }
    path = Path(path)
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    write_atomic(path, lambda tmp: save_file(arrays, tmp, metadata={"neuralrig": json.dumps(meta)}))


def controls_to_json(spec: ParamSpec) -> dict[str, Any]:
    return {"name": spec.name, "min": spec.minimum, "max": spec.maximum,
            "default": spec.default, "unit": spec.unit, "curve": spec.curve}


def controls_from_json(items: Any) -> tuple[ParamSpec, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > 8:
        raise ModelError("'controls' must be a list of at most 8 controls")
    specs = []
    for item in items:
        try:
            specs.append(ParamSpec(str(item["name"]), float(item["min"]), float(item["max"]),
                                   float(item["default"]), str(item.get("unit", "")),
                                   item.get("curve", "linear")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"bad control {item!r}: {exc}") from None
    return tuple(specs)


def is_native(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(9)
    except OSError:
        return False
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 2 <= header_len <= 100_000_000 and head[8:9] == b"{"


def load_native(path: Path) -> StreamingModel:
    try:
        with safe_open(str(path), framework="numpy") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises several types for bad files
        raise ModelError(f"not a readable safetensors file ({exc})") from None
    if "neuralrig" not in header:
        raise ModelError("safetensors file without neuralrig metadata")
    try:
        meta = json.loads(header["neuralrig"])
    except json.JSONDecodeError as exc:
        raise ModelError(f"metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"unsupported format version {meta.get('format')!r}"
                         if isinstance(meta, dict) else "metadata must be a JSON object")
    for key, array in tensors.items():
        if not np.issubdtype(array.dtype, np.floating):
            raise ModelError(f"weight '{key}' is {array.dtype}, not floating point")
        if not np.all(np.isfinite(array)):
            raise ModelError(f"weight '{key}' contains NaN or Inf")
    _builtin_architectures()
    arch = meta.get("architecture")
    builder = ARCHITECTURES.get(arch)  # type: ignore[arg-type]
    if builder is None:
        raise ModelError(f"unsupported architecture {arch!r} (known: "
                         f"{', '.join(sorted(ARCHITECTURES))})")
    config = meta.get("config") or {}
    if not isinstance(config, dict):
        raise ModelError("'config' must be a JSON object")
    model = builder(config, tensors, controls_from_json(meta.get("controls")))
    rate = meta.get("sample_rate")
    if rate is not None and (not isinstance(rate, (int, float)) or not math.isfinite(rate)
                             or not 8000 <= rate <= 384_000):
        raise ModelError(f"sample_rate {rate!r} outside 8000..384000")
    model.sample_rate = rate
    for key in ("input_gain", "output_gain"):
        gain = meta.get(key, 1.0)
        if not isinstance(gain, (int, float)) or not math.isfinite(gain) or not 0 < gain <= 1e3:
            raise ModelError(f"{key} {gain!r} must be a number in (0, 1000]")
        setattr(model, key, float(gain))
    model.metadata = {"format": "neuralrig", "loudness": meta.get("loudness"),
                      "provenance": meta.get("provenance") or {},
                      "training": meta.get("training") or {}}
    return model
