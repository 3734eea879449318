"""Phaser: a chain of swept all-pass filters blended with the dry signal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, channel_phases, crossfade, lfo, log_glide

STAGES = 4  # second-order all-passes: four notches
SPREAD = 1.6  # ratio between successive notch frequencies
STAGE_Q = 0.7
SWEEP_OCTAVES = 2.0  # largest swing either side of the centre (depth 1)
CENTER_GLIDE = 0.05  # seconds; the centre moves in octaves, not Hz (no zipper or click)


@register
class Phaser(ClassicProcessor):
    kind = "phaser"
    summary = "Phaser: four swept notches (stereo: the sides sweep a quarter apart)."
    params = (
        ParamSpec("rate", 0.05, 8.0, 0.5, "Hz", "log", description="LFO speed"),
        ParamSpec("depth", 0.0, 1.0, 0.7, "",
                  description=f"sweep width, 0 to ±{SWEEP_OCTAVES:g} octaves"),
        ParamSpec("center", 100.0, 4000.0, 600.0, "Hz", "log",
                  description="frequency of the first notch at the middle of the sweep"),
        # Above ~0.7, a swept resonance peaks beyond +10 dB.
        ParamSpec("feedback", 0.0, 0.7, 0.3, "", description="resonance between the notches"),
        ParamSpec("balance", 0.0, 1.0, 0.5, "",
                  description="0 dry, 0.5 deepest notches, 1 phase-shifted signal only"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        sweep = lfo(controls["rate"], channel_phases(len(source), 0.0), g)
        octaves = g(sweep * controls["depth"] * SWEEP_OCTAVES)
        centre = log_glide(controls["center"], CENTER_GLIDE, g)
        freq = g(pyo.Pow(2.0, octaves, mul=centre))
        freq = g(pyo.Clip(freq, 20.0, 0.4 * self.ctx.sample_rate / SPREAD ** (STAGES - 1)))
        shifted = g(pyo.Phaser(source, freq=freq, spread=SPREAD, q=STAGE_Q,
                               feedback=controls["feedback"], num=STAGES))
        return crossfade(source, shifted, controls["balance"], g)
