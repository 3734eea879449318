"""Three-band equaliser: low shelf, parametric mid peak, high shelf."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor

SHELF_Q = 0.5  # pyo's shelf slope: 0.5 is a smooth shelf without overshoot
LOWSHELF, PEAK, HIGHSHELF = 1, 0, 2


def below_nyquist(freq: Any, sample_rate: float, keep: Any) -> Any:
    """Keep a filter frequency inside the band the engine rate can represent."""
    return keep(pyo.Clip(freq, 10.0, 0.45 * sample_rate))


@register
class Equalizer(ClassicProcessor):
    kind = "eq"
    summary = "Three-band EQ: low shelf, mid peak with frequency and width, high shelf."
    params = (
        ParamSpec("low_gain", -15.0, 15.0, 0.0, "dB", description="low shelf boost or cut"),
        ParamSpec("low_freq", 30.0, 500.0, 100.0, "Hz", "log",
                  description="low shelf corner frequency"),
        ParamSpec("mid_gain", -15.0, 15.0, 0.0, "dB",
                  description="boost or cut at the mid frequency"),
        ParamSpec("mid_freq", 150.0, 8000.0, 800.0, "Hz", "log",
                  description="centre of the mid band"),
        ParamSpec("mid_q", 0.3, 8.0, 1.0, "", "log",
                  description="mid band sharpness (centre frequency / bandwidth)"),
        ParamSpec("high_gain", -15.0, 15.0, 0.0, "dB", description="high shelf boost or cut"),
        ParamSpec("high_freq", 1000.0, 12000.0, 3500.0, "Hz", "log",
                  description="high shelf corner frequency"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        rate = self.ctx.sample_rate
        low = g(pyo.EQ(source, freq=below_nyquist(controls["low_freq"], rate, g), q=SHELF_Q,
                       boost=controls["low_gain"], type=LOWSHELF))
        mid = g(pyo.EQ(low, freq=below_nyquist(controls["mid_freq"], rate, g),
                       q=controls["mid_q"], boost=controls["mid_gain"], type=PEAK))
        return g(pyo.EQ(mid, freq=below_nyquist(controls["high_freq"], rate, g), q=SHELF_Q,
                        boost=controls["high_gain"], type=HIGHSHELF))
