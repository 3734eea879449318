"""Tone: one guitar-style knob tilting the spectrum from dark to bright."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor
from .eq import HIGHSHELF, LOWSHELF, SHELF_Q

PIVOT_HZ = 800.0  # the tilt turns around this frequency
TILT_DB = 9.0  # each shelf's boost or cut at the ends of the knob


@register
class Tone(ClassicProcessor):
    kind = "tone"
    summary = "Tone knob: 0 dark, 0.5 flat, 1 bright (a tilt around 800 Hz)."
    params = (
        ParamSpec("tone", 0.0, 1.0, 0.5, "",
                  description=f"0 dark (highs -{TILT_DB:g} dB, lows +{TILT_DB:g} dB), "
                              "0.5 flat, 1 bright"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        tilt = g((controls["tone"] - 0.5) * (2.0 * TILT_DB))
        freq = min(PIVOT_HZ, 0.45 * self.ctx.sample_rate)
        lows = g(pyo.EQ(source, freq=freq, q=SHELF_Q, boost=g(tilt * -1.0), type=LOWSHELF))
        return g(pyo.EQ(lows, freq=freq, q=SHELF_Q, boost=tilt, type=HIGHSHELF))
