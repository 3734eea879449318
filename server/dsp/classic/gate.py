"""Noise gate: mutes the signal while its peak level stays below a threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, follower_time, linked_peak

# The level detector: a peak follower (time constants in ms) that rides over
# the zero crossings of a low E string (82 Hz, 2.6 dB of ripple) and reacts to
# an attack within a fraction of a millisecond.
DETECT_RISE_MS = 0.05
DETECT_FALL_MS = 20.0


@register
class Gate(ClassicProcessor):
    kind = "gate"
    summary = "Noise gate: mutes the signal while its peak level is below the threshold."
    params = (
        ParamSpec("threshold", -90.0, 0.0, -60.0, "dB",
                  description="peak level (dBFS) below which the gate closes"),
        ParamSpec("attack", 0.1, 50.0, 1.0, "ms", "log",
                  description="time constant of the gate opening"),
        ParamSpec("release", 5.0, 2000.0, 100.0, "ms", "log",
                  description="time constant of the gate closing"),
        ParamSpec("range", -90.0, 0.0, -90.0, "dB",
                  description="attenuation while closed (0 dB: the gate does nothing)"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        # Linked channels: both sides of a stereo signal open and close together.
        level = g(pyo.Follower2(linked_peak(source, g), risetime=follower_time(DETECT_RISE_MS),
                                falltime=follower_time(DETECT_FALL_MS)))
        threshold = g(pyo.DBToA(controls["threshold"]))
        is_open = g(pyo.Compare(level, threshold, mode=">="))
        envelope = g(pyo.Follower2(is_open, risetime=follower_time(controls["attack"]),
                                   falltime=follower_time(controls["release"])))
        floor = g(pyo.DBToA(controls["range"]))
        gain = g(floor + (1.0 - floor) * envelope)
        return g(source * gain)
