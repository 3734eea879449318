"""Chorus: two delay lines swept by a sine LFO in opposite phase, blended with the dry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, channel_phases, crossfade, lfo

BASE_MS = 10.0  # centre delay of each voice
SWEEP_MS = 4.0  # largest swing either side of the centre (depth 1)
VOICES = 2


@register
class Chorus(ClassicProcessor):
    kind = "chorus"
    summary = "Chorus: two modulated delay voices (stereo: the sides sweep a quarter apart)."
    params = (
        ParamSpec("rate", 0.05, 8.0, 0.8, "Hz", "log", description="LFO speed"),
        ParamSpec("depth", 0.0, 1.0, 0.5, "",
                  description=f"delay swing, 0 to ±{SWEEP_MS:g} ms around {BASE_MS:g} ms"),
        ParamSpec("balance", 0.0, 1.0, 0.5, "",
                  description="0 dry, 0.5 equal parts (classic chorus), 1 voices only"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        channels = len(source)
        swing = g(controls["depth"] * (SWEEP_MS / 1000.0))
        voices = []
        for voice in range(VOICES):
            sweep = lfo(controls["rate"], channel_phases(channels, voice / VOICES), g)
            delay = g(sweep * swing + BASE_MS / 1000.0)
            voices.append(g(pyo.Delay(source, delay=delay, maxdelay=(BASE_MS + SWEEP_MS) / 500.0)))
        wet = voices[0]
        for other in voices[1:]:
            wet = g(wet + other)
        wet = g(wet * (1.0 / VOICES))
        return crossfade(source, wet, controls["balance"], g)
