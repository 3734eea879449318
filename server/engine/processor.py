"""The processor interface every slot kind (classic DSP, neural, generator) implements.

A processor is built once per chain instance, off the audio thread: ``__init__``
validates options and loads files, ``build`` wires pyo objects. At run time the
engine only moves the smoothed control signals it handed to ``build``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ConfigError
from .params import ParamSpec


@dataclass(frozen=True)
class OptionSpec:
    """A build-time setting that is not a smoothed number (a file name, a mode)."""

    name: str
    kind: type = str
    default: Any = None
    description: str = ""
    choices: tuple[Any, ...] = ()


@dataclass
class BuildContext:
    """What a processor may know about the engine while it builds."""

    sample_rate: float
    block: int
    channels: int
    # Emits 1.0 on the first sample of every block, 0.0 elsewhere; a processor
    # that needs a Python hook once per block (neural inference) triggers on it.
    block_trigger: Any = None
    # Folders files may be read from (impulse responses, models); nothing
    # outside them is opened.
    data_dirs: tuple[Path, ...] = ()
    # Objects that must live as long as the chain instance (tables, hooks).
    keep: list[Any] = field(default_factory=list)
    # False offline (render, tests): blocks come as fast as they are computed, so
    # work a live rig hands to a worker thread runs inline instead.
    realtime: bool = True

    def resolve_file(self, name: str, what: str) -> Path:
        """Find ``name`` in the data folders; a bare name or a path inside them."""
        from ..paths import resolve_inside

        return resolve_inside(name, self.data_dirs, what)


class Processor(ABC):
    """Base class: declare ``kind``, ``params`` and ``options``; implement ``build``."""

    kind: ClassVar[str]
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[ParamSpec, ...]] = ()
    options: ClassVar[tuple[OptionSpec, ...]] = ()

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        self.ctx = ctx
        self.option_values = self.validate_options(options)

    # -- declarations ---------------------------------------------------
    def spec(self, name: str) -> ParamSpec:
        """The declaration of one parameter (a neural slot's come from its model)."""
        for spec in self.params:
            if spec.name == name:
                return spec
        from ..errors import UnknownParameterError

        known = ", ".join(p.name for p in self.params) or "none"
        raise UnknownParameterError(
            f"processor '{self.kind}' has no parameter '{name}' (known: {known})"
        )

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        known = {o.name: o for o in cls.options}
        for key in options:
            if key not in known:  # parameters were split off by the caller
                names = ", ".join(known) or "none"
                raise ConfigError(
                    f"processor '{cls.kind}' has no option '{key}' (options: {names})"
                )
        values: dict[str, Any] = {}
        for spec in cls.options:
            value = options.get(spec.name, spec.default)
            if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # TOML writes 12 for 12.0
            if value is not None and not isinstance(value, spec.kind):
                raise ConfigError(
                    f"option '{spec.name}' of '{cls.kind}' must be {spec.kind.__name__}, "
                    f"got {type(value).__name__}"
                )
            if spec.choices and value not in spec.choices:
                raise ConfigError(
                    f"option '{spec.name}' of '{cls.kind}' must be one of {list(spec.choices)}"
                )
            values[spec.name] = value
        return values

    # -- run time -------------------------------------------------------
    @property
    def latency_samples(self) -> int:
        """Latency the processor adds, in samples at the engine rate."""
        return 0

    def report(self) -> dict[str, Any]:
        """Counters worth showing in the slot's state (late chunks, errors); none by default."""
        return {}

    def reset(self) -> None:  # noqa: B027 - pyo objects keep no state worth clearing
        """Clear state a model carries between blocks."""

    def release(self) -> None:  # noqa: B027 - most processors hold nothing special
        """Drop buffers that view pyo tables, before the tables themselves go."""

    @abstractmethod
    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        """Wire pyo objects from ``source`` (one stream per channel) and return the wet output.

        ``controls`` maps each declared parameter name to a smoothed pyo signal
        in the parameter's own unit. The returned object must have one stream
        per channel of ``source``. Objects are created in signal-flow order
        (pyo computes them in creation order), so a processor adds no latency
        unless it declares it.
        """
