"""Overdrive: pre-emphasis, gain into an asymmetric tanh clipper, tone filter, level."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor
from .eq import LOWSHELF

MAX_GAIN_DB = 40.0  # pre-gain at drive 1
BIAS = 0.2  # offset into the clipper: the asymmetry adds even harmonics to the odd ones
PRE_SHELF_HZ = 300.0  # bass is cut before clipping (tighter, less mud) ...
PRE_SHELF_DB = -9.0
TONE_MIN_HZ = 700.0  # ... and the tone knob sweeps a low-pass from here
TONE_SPAN = 14.0  # to 14 x that (9.8 kHz)


@register
class Overdrive(ClassicProcessor):
    kind = "overdrive"
    summary = "Overdrive: bass-tightened gain into an asymmetric soft clipper, then a tone filter."
    params = (
        ParamSpec("drive", 0.0, 1.0, 0.5, "",
                  description=f"gain into the clipper, 0 to +{MAX_GAIN_DB:g} dB"),
        ParamSpec("tone", 0.0, 1.0, 0.5, "",
                  description=f"low-pass after the clipper, {TONE_MIN_HZ:g} Hz (0) to "
                              f"{TONE_MIN_HZ * TONE_SPAN:g} Hz (1)"),
        ParamSpec("level", -40.0, 12.0, -6.0, "dB", description="output level"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        tightened = g(pyo.EQ(source, freq=PRE_SHELF_HZ, q=0.5, boost=PRE_SHELF_DB, type=LOWSHELF))
        gain = g(pyo.DBToA(controls["drive"] * MAX_GAIN_DB))
        clipped = g(pyo.Tanh(tightened * gain + BIAS))
        # Remove the clipper's static offset, then the DC the asymmetry leaves.
        centred = g(pyo.DCBlock(clipped - math.tanh(BIAS)))
        cutoff = g(pyo.Pow(TONE_SPAN, controls["tone"], mul=TONE_MIN_HZ))
        cutoff = g(pyo.Clip(cutoff, 20.0, 0.45 * self.ctx.sample_rate))
        toned = g(pyo.ButLP(centred, freq=cutoff))
        return g(toned * g(pyo.DBToA(controls["level"])))
