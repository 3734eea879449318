"""Parameter declarations: name, range, unit, default, and the 0..1 mapping."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Curve = Literal["linear", "log"]


@dataclass(frozen=True)
class ParamSpec:
    """One controllable parameter of a processor.

    ``curve`` shapes the normalised 0..1 mapping (a TouchOSC fader, a MIDI CC):
    ``log`` suits frequencies and times, whose range spans decades.
    ``smoothing`` is the ramp time in seconds a change takes inside the audio
    graph, so a jump from minimum to maximum never clicks.
    """

    name: str
    minimum: float
    maximum: float
    default: float
    unit: str = ""
    curve: Curve = "linear"
    smoothing: float = 0.03
    description: str = ""

    def __post_init__(self) -> None:
        if not self.minimum < self.maximum:
            raise ValueError(f"{self.name}: minimum must be below maximum")
        if not self.minimum <= self.default <= self.maximum:
            raise ValueError(f"{self.name}: default {self.default} outside its range")
        if self.curve == "log" and self.minimum <= 0:
            raise ValueError(f"{self.name}: a log curve needs a positive minimum")

    def clamp(self, value: float) -> float:
        """Clamp to the declared range; NaN and infinities are refused."""
        if not math.isfinite(value):
            raise ValueError(f"{self.name}: value must be a finite number, got {value}")
        return min(self.maximum, max(self.minimum, float(value)))

    def to_norm(self, value: float) -> float:
        value = self.clamp(value)
        if self.curve == "log":
            return math.log(value / self.minimum) / math.log(self.maximum / self.minimum)
        return (value - self.minimum) / (self.maximum - self.minimum)

    def from_norm(self, norm: float) -> float:
        if not math.isfinite(norm):
            raise ValueError(f"{self.name}: value must be a finite number, got {norm}")
        norm = min(1.0, max(0.0, float(norm)))
        if self.curve == "log":
            return self.minimum * (self.maximum / self.minimum) ** norm
        return self.minimum + norm * (self.maximum - self.minimum)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "min": self.minimum,
            "max": self.maximum,
            "default": self.default,
            "unit": self.unit,
            "curve": self.curve,
            "description": self.description,
        }


def db_to_amp(db: float) -> float:
    return 10.0 ** (db / 20.0)
