"""The one-shot model file: safetensors tensors, JSON metadata in the header, no pickle.

``__metadata__["neuralrig"]`` holds a JSON object with ``format`` (1),
``architecture`` ("oneshot-autoencoder"), ``sample_rate``, ``length``, ``net`` (the
NetConfig), ``loss``, ``feature_names``, ``feature_units``, ``names``, ``packs``,
``pack_of``, ``heldout`` and ``training`` (a summary of the report). Tensors:
``encoder.*``/``decoder.*``/``head.*`` (the network) and ``latent.points``,
``latent.features`` (true features of each point), ``latent.feature_A``,
``latent.feature_c``, ``latent.feature_range``, ``latent.pca_axes``,
``latent.pca_mean``, ``latent.pca_range``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from neuralrig.server.atomic import write_atomic
from neuralrig.server.errors import ModelError

FORMAT_VERSION = 1
ARCHITECTURE = "oneshot-autoencoder"
META_KEY = "neuralrig"
LATENT_TENSORS = ("points", "features", "feature_A", "feature_c", "feature_range", "pca_axes",
                  "pca_mean", "pca_range")


def save(path: str | Path, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write atomically (temporary file beside it, fsync, rename); tensors as float32."""
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    header = {"format": FORMAT_VERSION, "architecture": ARCHITECTURE, **meta}
    text = json.dumps(header, separators=(",", ":"))
    write_atomic(Path(path), lambda tmp: save_file(arrays, tmp, metadata={META_KEY: text}))


def read(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, tensors); ModelError naming the file and the problem for anything else."""
    path = Path(path)

    def fail(problem: str) -> ModelError:
        return ModelError(f"{path}: {problem}")

    if not path.is_file():
        raise fail("model file not found" if not path.exists() else "not a file")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises several types for bad files
        raise fail(f"not a readable safetensors file ({exc})") from None
    if META_KEY not in header:
        raise fail("not a neuralrig one-shot model (a safetensors file without neuralrig "
                   "metadata)")
    try:
        meta = json.loads(header[META_KEY])
    except json.JSONDecodeError as exc:
        raise fail(f"metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise fail("metadata must be a JSON object")
    if meta.get("architecture") != ARCHITECTURE:
        raise fail(f"not a one-shot model (architecture {meta.get('architecture')!r}, expected "
                   f"{ARCHITECTURE!r}); effect models load with --model or a rig slot")
    if meta.get("format") != FORMAT_VERSION:
        raise fail(f"unsupported one-shot model format {meta.get('format')!r} (this neuralrig "
                   f"reads {FORMAT_VERSION})")
    for key, array in tensors.items():
        if not np.issubdtype(array.dtype, np.floating):
            raise fail(f"tensor '{key}' is {array.dtype}, not floating point")
        if not np.all(np.isfinite(array)):
            raise fail(f"tensor '{key}' contains NaN or Inf")
    missing = [f"latent.{k}" for k in LATENT_TENSORS if f"latent.{k}" not in tensors]
    if missing:
        raise fail(f"missing tensors: {', '.join(missing)}")
    return meta, tensors
