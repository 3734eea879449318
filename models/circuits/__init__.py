"""Reference DSP circuits that make neuralrig's own training data.

Each entry of ``CIRCUITS`` is a :class:`Circuit` with
- ``controls``: the knobs as ``ParamSpec`` (name, minimum, maximum, default, unit);
- ``render(x, sample_rate, **knobs) -> np.ndarray``: a whole mono float32 signal,
  deterministic, time-aligned with the input (oversampling latency removed);
- ``stream``: a class ``stream(sample_rate, **knobs)`` with ``process(block)``,
  ``reset()``, ``set_knobs(**knobs)`` and ``latency_samples``; feeding a signal in any
  blocks gives ``render(x, rate, compensate_latency=False, **knobs)`` exactly.

Circuits: ``overdrive`` (Tube Screamer-style, circuit-level; see ``overdrive``)
and ``fuzz`` (Fuzz-Face-style two-transistor fuzz; see ``fuzz``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neuralrig.server.engine.params import ParamSpec

from . import fuzz, overdrive
from ._common import CircuitStream


@dataclass(frozen=True)
class Circuit:
    name: str
    controls: tuple[ParamSpec, ...]
    render: Callable[..., np.ndarray]
    stream: type[CircuitStream]
    description: str = ""

    def defaults(self) -> dict[str, float]:
        return {spec.name: spec.default for spec in self.controls}


CIRCUITS: dict[str, Circuit] = {
    "overdrive": Circuit("overdrive", overdrive.CONTROLS, overdrive.render,
                         overdrive.OverdriveStream,
                         "Tube Screamer-style overdrive: diode-feedback clipper, Yeh tone stage"),
    "fuzz": Circuit("fuzz", fuzz.CONTROLS, fuzz.render, fuzz.FuzzStream,
                    "Fuzz-Face-style two-transistor fuzz with asymmetric clipping"),
}

__all__ = ["CIRCUITS", "Circuit", "CircuitStream"]
