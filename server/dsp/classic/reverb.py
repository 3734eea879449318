"""Reverb: Freeverb (eight combs, four all-passes per channel) after a pre-delay."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, blend, seconds

MAX_PREDELAY_MS = 200.0
WET_GAIN = 1.5  # brings the reverb's level near the dry level at the default size


@register
class Reverb(ClassicProcessor):
    kind = "reverb"
    summary = "Room reverb with decay, damping, pre-delay and its own dry/wet balance."
    params = (
        ParamSpec("decay", 0.0, 1.0, 0.5, "", description="room size: 0 short, 1 very long"),
        ParamSpec("damping", 0.0, 1.0, 0.5, "",
                  description="how much faster the highs decay than the lows"),
        ParamSpec("predelay", 0.0, MAX_PREDELAY_MS, 10.0, "ms",
                  description="gap before the reverb starts"),
        ParamSpec("balance", 0.0, 1.0, 0.3, "",
                  description="0 dry, 0.5 dry and reverb at full level, 1 reverb only"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        # SmoothDelay crossfades between read positions, so moving the pre-delay
        # never sweeps the pitch. (Its shortest delay is one sample.)
        delayed = g(pyo.SmoothDelay(source, delay=g(seconds(controls["predelay"])),
                                    crossfade=0.05, maxdelay=MAX_PREDELAY_MS / 1000.0 + 0.01))
        wet = g(pyo.Freeverb(delayed, size=controls["decay"], damp=controls["damping"],
                             bal=1.0, mul=WET_GAIN))
        return blend(source, wet, controls["balance"], g)
