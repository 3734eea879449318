"""Compressor: a feed-forward peak compressor with a soft knee, linked across channels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, follower_time, linked_peak

MIN_KNEE_DB = 0.01  # a zero knee is a hard knee; keeps the quadratic segment defined


@register
class Compressor(ClassicProcessor):
    kind = "compressor"
    summary = "Peak compressor: above the threshold, the level rises 1/ratio as fast."
    params = (
        ParamSpec("threshold", -60.0, 0.0, -20.0, "dB",
                  description="peak level (dBFS) above which the gain is reduced"),
        ParamSpec("ratio", 1.0, 20.0, 4.0, ":1", "log",
                  description="input dB above threshold per output dB above threshold"),
        ParamSpec("attack", 0.1, 100.0, 5.0, "ms", "log",
                  description="time constant of the level detector rising"),
        ParamSpec("release", 10.0, 2000.0, 150.0, "ms", "log",
                  description="time constant of the level detector falling"),
        ParamSpec("knee", 0.0, 24.0, 6.0, "dB",
                  description="width of the soft knee around the threshold (0: hard knee)"),
        ParamSpec("makeup", -12.0, 24.0, 0.0, "dB", description="gain after compression"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        envelope = g(pyo.Follower2(linked_peak(source, g),
                                   risetime=follower_time(controls["attack"]),
                                   falltime=follower_time(controls["release"])))
        level_db = g(pyo.AToDB(envelope))  # -120 dB for silence
        over = g(level_db - controls["threshold"])
        width = g(pyo.Max(controls["knee"], MIN_KNEE_DB))
        # Static curve (dB above threshold -> dB of gain change), continuous in the knee:
        #   over <= -w/2: 0;  |over| < w/2: s (over + w/2)^2 / 2w;  over >= w/2: s over
        # with s = 1/ratio - 1, written without branches.
        inside = g(pyo.Min(g(pyo.Max(over + width * 0.5, 0.0)), width))
        above = g(pyo.Max(over - width * 0.5, 0.0))
        curve = g(inside * inside / (width * 2.0) + above)
        slope = g(1.0 / controls["ratio"] - 1.0)
        gain = g(pyo.DBToA(curve * slope + controls["makeup"]))
        return g(source * gain)
