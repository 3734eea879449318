"""Model files: neuralrig's own, NAM, AIDA-X/RTNeural and Proteus, told apart by content.

``load_model`` takes a built-in name or a path. The file's bytes decide the
loader (a safetensors header, or JSON whose keys identify the format); the
extension is never trusted alone. Every refusal is a ModelError that names
the file and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralrig.server.errors import ModelError

from ..base import StreamingModel
from ..builtin import BUILTIN_MODELS

MAX_FILE_BYTES = 256 * 1024 * 1024


def load_model(name_or_path: str | Path) -> StreamingModel:
    """A built-in model by name, or a model file in any supported format."""
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
        model = _load(path)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    model.name = path.stem
    return model


def detect_format(document: Any) -> str | None:
    """Which JSON model format ``document`` is, or None."""
    from .aidax import looks_like_aidax
    from .nam import looks_like_nam
    from .proteus import looks_like_proteus

    if looks_like_nam(document):
        return "nam"
    if looks_like_proteus(document):
        return "proteus"
    if looks_like_aidax(document):
        return "aidax"
    return None


def _load(path: Path) -> StreamingModel:
    from .native import is_native, load_native

    if is_native(path):
        return load_native(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ModelError("not a model file (neither a safetensors model nor a JSON "
                         "model)") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file ({exc.strerror})") from None
    if not text.lstrip().startswith("{"):
        raise ModelError("not a model file (neither a safetensors model nor a JSON model)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})") from None
    kind = detect_format(document)
    if kind == "nam":
        from .nam import load_nam

        return load_nam(document)
    if kind == "proteus":
        from .proteus import load_proteus

        return load_proteus(document)
    if kind == "aidax":
        from .aidax import load_aidax

        return load_aidax(document)
    raise ModelError("JSON that is not a known model format (expected a NAM .nam file, "
                     "an AIDA-X/RTNeural model or a Proteus model)")
