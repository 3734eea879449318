"""Delay: a recirculating echo whose repeats darken, with a click-free time control."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, blend, seconds

MAX_TIME_MS = 2000.0
CROSSFADE = 0.05  # seconds SmoothDelay takes to glide between two read positions
DAMPING_HZ = 2000.0  # the band above this loses `damping` of its level on each repeat


@register
class Delay(ClassicProcessor):
    kind = "delay"
    summary = "Echo: repeats every `time` ms, each `feedback` as loud and darker by `damping`."
    params = (
        ParamSpec("time", 1.0, MAX_TIME_MS, 350.0, "ms", "log",
                  description="time between repeats (tap-tempo range)"),
        ParamSpec("feedback", 0.0, 0.95, 0.35, "",
                  description="level of each repeat relative to the one before"),
        ParamSpec("damping", 0.0, 1.0, 0.3, "",
                  description=f"share of the highs (above {DAMPING_HZ:g} Hz) lost on each repeat"),
        ParamSpec("balance", 0.0, 1.0, 0.3, "",
                  description="0 dry, 0.5 dry and echoes at full level, 1 echoes only"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        time = g(seconds(controls["time"]))
        feedback = controls["feedback"]
        # A filter cannot sit inside SmoothDelay's loop, so the input is split into
        # a low and a high band, each with its own loop: the highs recirculate
        # with less feedback and die away faster. The bands sum back to the input
        # exactly, so the first echo is unfiltered and damping 0 is a plain delay.
        lows = g(pyo.ButLP(source, freq=DAMPING_HZ))
        highs = g(source - lows)
        high_feedback = g(feedback * (1.0 - controls["damping"]))
        max_delay = MAX_TIME_MS / 1000.0 + 0.05
        low_echo = g(pyo.SmoothDelay(lows, delay=time, feedback=feedback,
                                     crossfade=CROSSFADE, maxdelay=max_delay))
        high_echo = g(pyo.SmoothDelay(highs, delay=time, feedback=high_feedback,
                                      crossfade=CROSSFADE, maxdelay=max_delay))
        wet = g(low_echo + high_echo)
        return blend(source, wet, controls["balance"], g)
