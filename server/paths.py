"""Path confinement: names from configs and clients resolve only inside allowed folders."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .errors import ConfigError


def resolve_inside(name: str, folders: Iterable[Path], what: str) -> Path:
    """Resolve ``name`` to an existing file inside one of ``folders``.

    Absolute paths and ``..`` are accepted only when the resolved file still
    lies inside an allowed folder; symlinks are resolved before the check.
    """
    if not name or "\x00" in name:
        raise ConfigError(f"{what}: empty or invalid file name")
    folders = [Path(f).resolve() for f in folders]
    candidates = [Path(name)] if Path(name).is_absolute() else [f / name for f in folders]
    for candidate in candidates:
        resolved = candidate.resolve()
        if not any(resolved.is_relative_to(f) for f in folders):
            continue
        if resolved.is_file():
            return resolved
    where = ", ".join(str(f) for f in folders) or "(no folders configured)"
    raise ConfigError(f"{what} '{name}' not found in {where}")
