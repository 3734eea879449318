"""Name -> processor class. Each DSP module registers its processors on import."""

from __future__ import annotations

from ..engine.processor import Processor
from ..errors import ConfigError

_PROCESSORS: dict[str, type[Processor]] = {}


def register(cls: type[Processor]) -> type[Processor]:
    if cls.kind in _PROCESSORS:
        raise RuntimeError(f"processor kind '{cls.kind}' registered twice")
    _PROCESSORS[cls.kind] = cls
    return cls


def _load_builtin(kind: str | None = None) -> None:
    """Import the built-in processors; the neural slot (and numba) only when asked for.

    A rig without neural slots never imports numba or the model kernels,
    which saves resident memory on a small board.
    """
    from . import classic  # noqa: F401

    if kind in (None, "neural"):
        from ..engine import neural_slot  # noqa: F401
    if kind in (None, "rave"):
        from ..engine import generator_slot  # noqa: F401
    if kind in (None, "oneshots"):
        from ..engine import oneshot_slot  # noqa: F401


def processor_class(kind: str) -> type[Processor]:
    _load_builtin(kind)
    try:
        return _PROCESSORS[kind]
    except KeyError:
        _load_builtin()
        known = ", ".join(sorted(_PROCESSORS))
        raise ConfigError(f"unknown processor '{kind}' (known: {known})") from None


def all_processors() -> dict[str, type[Processor]]:
    _load_builtin()
    return dict(sorted(_PROCESSORS.items()))
