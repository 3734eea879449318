"""neuralrig's model file: weights in safetensors, JSON metadata in its header.

One file, ``NAME.safetensors``, whose ``__metadata__["neuralrig"]`` holds a JSON
object: ``format`` (version), ``architecture``, ``config``, ``sample_rate``,
``controls`` and free-form ``provenance``. No pickle is involved anywhere.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from neuralrig.server.errors import ModelError

from .base import StreamingModel
from .builtin import BUILTIN_MODELS, Identity, LSTMModel

FORMAT_VERSION = 1
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_HIDDEN = 1024
MAX_LAYERS = 8


def save_model(path: Path, architecture: str, config: dict[str, Any],
               tensors: dict[str, torch.Tensor], sample_rate: float | None = None,
               provenance: dict[str, Any] | None = None) -> None:
    """Write atomically: a temporary file in the same folder, fsync, rename."""
    meta = {
        "format": FORMAT_VERSION,
        "architecture": architecture,
        "config": config,
        "sample_rate": sample_rate,
        "provenance": provenance or {},
    }
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, tmp,
                  metadata={"neuralrig": json.dumps(meta)})
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_model(name_or_path: str | Path) -> StreamingModel:
    """A built-in model by name, or a neuralrig model file."""
    if str(name_or_path) in BUILTIN_MODELS:
        return BUILTIN_MODELS[str(name_or_path)]()
    path = Path(name_or_path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ModelError(f"{path}: model file is {size >> 20} MiB, above the 256 MiB limit")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises several types for bad files
        raise ModelError(f"{path}: not a neuralrig model file ({exc})") from None
    if "neuralrig" not in header:
        raise ModelError(f"{path}: safetensors file without neuralrig metadata")
    try:
        meta = json.loads(header["neuralrig"])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: metadata is not valid JSON ({exc})") from None
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelError(f"{path}: weight '{key}' contains NaN or Inf")
    return _build(path, meta, tensors)


def _build(path: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> StreamingModel:
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"{path}: unsupported format version {meta.get('format')!r}")
    arch = meta.get("architecture")
    config = meta.get("config") or {}
    if arch == "identity":
        model: StreamingModel = Identity()
    elif arch == "lstm":
        hidden, layers = int(config.get("hidden_size", 0)), int(config.get("num_layers", 1))
        if not (1 <= hidden <= MAX_HIDDEN and 1 <= layers <= MAX_LAYERS):
            raise ModelError(f"{path}: LSTM size {layers}x{hidden} outside 1..8 x 1..1024")
        model = LSTMModel(hidden, layers, skip=bool(config.get("skip", False)))
        expected = {f"lstm.{k}": v for k, v in model.lstm.state_dict().items()}
        expected.update({f"head.{k}": v for k, v in model.head.state_dict().items()})
        _check_shapes(path, expected, tensors)
        model.lstm.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("lstm.")})
        model.head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
    else:
        raise ModelError(f"{path}: unsupported architecture {arch!r}")
    rate = meta.get("sample_rate")
    if rate is not None and (not isinstance(rate, (int, float)) or not math.isfinite(rate)
                             or not 8000 <= rate <= 192000):
        raise ModelError(f"{path}: sample_rate {rate!r} outside 8000..192000")
    model.sample_rate = rate
    model.name = path.stem
    return model


def _check_shapes(path: Path, expected: dict[str, torch.Tensor],
                  tensors: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelError(f"{path}: weights do not match the config (missing {missing}, "
                         f"unexpected {extra})")
    for key, ref in expected.items():
        if tuple(tensors[key].shape) != tuple(ref.shape):
            raise ModelError(f"{path}: weight '{key}' has shape {tuple(tensors[key].shape)}, "
                             f"expected {tuple(ref.shape)}")


def lstm_tensors(model: LSTMModel) -> dict[str, torch.Tensor]:
    tensors = {f"lstm.{k}": v for k, v in model.lstm.state_dict().items()}
    tensors.update({f"head.{k}": v for k, v in model.head.state_dict().items()})
    return tensors
