"""Small building blocks the classic processors share.

Every helper takes and returns pyo objects with one stream per channel (or a
single stream for a control signal that applies to all channels), so the
processors stay mono/stereo agnostic. Nothing here adds latency: all objects
are computed sample by sample in creation order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...engine.processor import BuildContext, Processor
from ...engine.pyo_env import pyo


class Graph:
    """Holds the pyo objects a processor created, so none is collected early."""

    def __init__(self) -> None:
        self.objects: list[Any] = []

    def __call__(self, obj: Any) -> Any:
        self.objects.append(obj)
        return obj

    def clear(self) -> None:
        self.objects.clear()


def seconds(ms: Any) -> Any:
    """A control in milliseconds as a signal in seconds."""
    return ms * 0.001


def follower_time(ms: Any) -> Any:
    """A time constant in ms (63% of a step) as a Follower2 time in seconds.

    Follower2 is a one-pole low-pass at 1/t Hz: its time constant is t/2π.
    """
    return ms * (0.001 * 2.0 * math.pi)


def linked_peak(source: Any, keep: Graph) -> Any:
    """One detector stream for all channels: the largest absolute sample.

    Linking the channels keeps a stereo image steady when one side is louder.
    """
    rect = keep(pyo.Abs(source))
    if len(rect) == 1:
        return rect
    peak = keep(pyo.Max(rect[0], rect[1]))
    for index in range(2, len(rect)):
        peak = keep(pyo.Max(peak, rect[index]))
    return peak


def blend(dry: Any, wet: Any, balance: Any, keep: Graph) -> Any:
    """Add an effect to the dry signal: 0 dry only, 0.5 both at full level, 1 wet only.

    Used by effects that sit on top of the dry sound (delay, reverb): below
    0.5 the dry level never drops, so turning the effect up does not make the
    guitar quieter.
    """
    dry_gain = keep(pyo.Clip(2.0 - 2.0 * balance, 0.0, 1.0))
    wet_gain = keep(pyo.Clip(2.0 * balance, 0.0, 1.0))
    return keep(dry * dry_gain + wet * wet_gain)


def crossfade(dry: Any, wet: Any, balance: Any, keep: Graph) -> Any:
    """Linear crossfade: 0 dry only, 0.5 equal parts, 1 wet only (chorus, phaser)."""
    return keep(pyo.Interp(dry, wet, interp=balance))


def lfo(rate: Any, phases: list[float], keep: Graph) -> Any:
    """A sine LFO from -1 to 1, one stream per phase (phase-continuous when ``rate`` moves)."""
    return keep(pyo.Sine(freq=rate, phase=phases if len(phases) > 1 else phases[0]))


def log_glide(control: Any, time: float, keep: Graph) -> Any:
    """A frequency control re-smoothed in octaves (exponential glide over ~``time`` s).

    The engine's controls ramp linearly in their own unit; a jump from 100 Hz to
    4 kHz then sweeps the first octaves in a few ms, which a modulated filter
    chain turns into a click. Gliding the logarithm keeps every octave equally slow.
    """
    start = float(getattr(control, "value", 0.0) or 0.0)
    octaves = keep(pyo.Log2(keep(pyo.Max(control, 1e-3))))
    glide = keep(pyo.Port(octaves, risetime=time, falltime=time,
                          init=math.log2(start) if start > 0 else 0.0))
    return keep(pyo.Pow(2.0, glide))


def channel_phases(channels: int, start: float, spread: float = 0.25) -> list[float]:
    """LFO start phases per channel: stereo channels are ``spread`` of a cycle apart."""
    return [(start + spread * channel) % 1.0 for channel in range(channels)]


class ClassicProcessor(Processor):
    """A processor that keeps its pyo objects in ``self.graph`` until released."""

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        super().__init__(options, ctx)
        self.graph = Graph()

    def release(self) -> None:
        self.graph.clear()
