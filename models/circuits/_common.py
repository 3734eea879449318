"""Shared pieces of the reference circuits: oversampling filter design, bilinear
transforms and the streaming wrapper.

Oversampling: a circuit whose sample rate is below 176.4 kHz runs its nonlinear
part at ``M = ceil(176400 / rate)`` times the rate (4x at 44.1/48 kHz, 2x at
88.2/96 kHz, 1x from 176.4 kHz up). Interpolation and decimation share one
linear-phase lowpass of ``32 M + 1`` taps (Kaiser-windowed sinc, beta 8, cutoff
at the base Nyquist frequency, roughly 80 dB stopband). Up plus down delays the
signal by exactly 32 base-rate samples (0 when ``M == 1``); ``render`` removes
that delay so its output is time-aligned with its input, while the streaming
classes report it as ``latency_samples``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba as nb
import numpy as np

from neuralrig.server.engine.params import ParamSpec

INTERNAL_RATE = 176400.0
FIR_TAPS_PER_PHASE = 32


def oversampling_factor(sample_rate: float) -> int:
    return max(1, math.ceil(INTERNAL_RATE / float(sample_rate) - 1e-9))


def oversampling_filter(factor: int) -> np.ndarray:
    """Polyphase matrix (factor, taps_per_phase + 1) of the shared lowpass, scaled by factor.

    Row p holds taps h[p], h[p + M], ... so an interpolated sample at phase p is
    ``sum_i phases[p, i] * x[n - i]``; the flat filter is ``phases.T.ravel()[:N]/M``.
    """
    m = int(factor)
    n = FIR_TAPS_PER_PHASE * m + 1
    k = np.arange(n) - (n - 1) / 2.0
    h = np.sinc(k / m) / m * np.kaiser(n, 8.0)
    h /= h.sum()
    width = FIR_TAPS_PER_PHASE + 1
    phases = np.zeros((m, width))
    for p in range(m):
        taps = h[p::m]
        phases[p, : taps.size] = taps * m
    return phases


def flat_filter(phases: np.ndarray) -> np.ndarray:
    m = phases.shape[0]
    n = FIR_TAPS_PER_PHASE * m + 1
    return (phases.T.ravel() / m)[:n].copy()


def latency_for(factor: int) -> int:
    return 0 if factor == 1 else FIR_TAPS_PER_PHASE


def prewarp_constant(sample_rate: float, f0: float) -> float:
    """Bilinear ``s -> c (1 - 1/z) / (1 + 1/z)``; c matches analogue and digital at f0."""
    w0 = 2.0 * math.pi * f0
    if f0 <= 0.0 or w0 / sample_rate >= 0.9 * math.pi:
        return 2.0 * sample_rate
    return w0 / math.tan(w0 / (2.0 * sample_rate))


def bilinear2(num: tuple[float, float, float], den: tuple[float, float, float],
              c: float) -> np.ndarray:
    """Second-order analogue (n2 s^2 + n1 s + n0)/(d2 s^2 + d1 s + d0) to [b0,b1,b2,a1,a2]."""
    n2, n1, n0 = num
    d2, d1, d0 = den
    c2 = c * c
    a0 = d2 * c2 + d1 * c + d0
    a1 = 2.0 * (d0 - d2 * c2)
    a2 = d2 * c2 - d1 * c + d0
    b0 = n2 * c2 + n1 * c + n0
    b1 = 2.0 * (n0 - n2 * c2)
    b2 = n2 * c2 - n1 * c + n0
    return np.array([b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0])


def one_pole_highpass(sample_rate: float, fc: float) -> np.ndarray:
    """[b0, a1] of the bilinear (prewarped) first-order high-pass y = b0 (x - x1) - a1 y1."""
    k = math.tan(math.pi * min(fc, 0.45 * sample_rate) / sample_rate)
    return np.array([1.0 / (1.0 + k), (k - 1.0) / (k + 1.0)])


def one_pole_lowpass(sample_rate: float, fc: float) -> np.ndarray:
    """[b0, a1] of the bilinear (prewarped) first-order low-pass y = b0 (x + x1) - a1 y1."""
    k = math.tan(math.pi * min(fc, 0.45 * sample_rate) / sample_rate)
    return np.array([k / (1.0 + k), (k - 1.0) / (k + 1.0)])


def biquad_response(coeffs: np.ndarray, freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    """Complex response of [b0, b1, b2, a1, a2] at freqs (Hz)."""
    z1 = np.exp(-2j * np.pi * np.asarray(freqs, dtype=float) / sample_rate)
    b0, b1, b2, a1, a2 = coeffs
    return (b0 + b1 * z1 + b2 * z1 * z1) / (1.0 + a1 * z1 + a2 * z1 * z1)


class CircuitStream:
    """Block-wise renderer of one circuit at fixed knob values (subclasses fill in).

    ``process(block)`` returns the next block of output (float32, same length);
    state carries across calls so any split of a signal gives the same output as
    one call. The output lags the input by ``latency_samples`` (the oversampling
    filters); ``render`` compensates that, ``process`` cannot.
    """

    controls: tuple[ParamSpec, ...] = ()

    def __init__(self, sample_rate: int, **knobs: float) -> None:
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.sample_rate = int(sample_rate)
        self.factor = oversampling_factor(self.sample_rate)
        self.latency_samples = latency_for(self.factor)
        self.knobs = self._knob_values(knobs)
        self._setup()
        self.reset()

    @classmethod
    def _knob_values(cls, knobs: dict[str, float]) -> dict[str, float]:
        specs = {spec.name: spec for spec in cls.controls}
        unknown = set(knobs) - set(specs)
        if unknown:
            raise ValueError(f"unknown knob(s) {sorted(unknown)}; known: {sorted(specs)}")
        return {name: spec.clamp(knobs.get(name, spec.default)) for name, spec in specs.items()}

    def set_knobs(self, **knobs: float) -> None:
        """Change knob values between blocks (state is kept)."""
        merged = dict(self.knobs)
        merged.update(knobs)
        self.knobs = self._knob_values(merged)
        self._setup()

    state_size = 0  # floats of per-kernel filter state

    def _setup(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _ensure_phases(self) -> None:
        """The polyphase oversampling filter, made once per factor."""
        if not hasattr(self, "_phases") or self._phases.shape[0] != self.factor:
            self._phases = oversampling_filter(self.factor)

    def reset(self) -> None:
        """Clear the oversampling rings and the filter state."""
        taps = self._phases.shape[1]
        self._ring_x = np.zeros(2 * taps)
        self._ring_y = np.zeros(2 * (32 * self.factor + 1))
        self._state = np.zeros(self.state_size)

    def _run(self, x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(block, dtype=np.float32).reshape(-1))
        out = np.empty(x.shape[0], dtype=np.float32)
        if x.shape[0]:
            self._run(x, out)
        return out


def render_with(stream_cls: Callable[..., CircuitStream], x: np.ndarray, sample_rate: int,
                compensate_latency: bool = True, **knobs: float) -> np.ndarray:
    """Render a whole mono signal through a fresh stream, latency removed by default."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    stream = stream_cls(sample_rate, **knobs)
    lat = stream.latency_samples if compensate_latency else 0
    if lat:
        y = stream.process(np.concatenate([x, np.zeros(lat, dtype=np.float32)]))
        return np.ascontiguousarray(y[lat:])
    return stream.process(x)


# -- oversampling inside the per-sample kernels (inlined into them) ----------------
@nb.njit(inline="always", cache=True, nogil=True)
def ring_push(ring, pos, length, value):
    """Push ``value`` into a doubled ring of ``length``; returns the new read position.

    The ring holds every sample twice, so ``ring[pos : pos + length]`` is always
    the latest ``length`` samples, newest first, without wrapping.
    """
    pos -= 1
    if pos < 0:
        pos += length
    ring[pos] = value
    ring[pos + length] = value
    return pos


@nb.njit(inline="always", cache=True, nogil=True)
def interpolate_phase(phases, ring, pos, taps, phase):
    """Sub-sample ``phase`` of the upsampled signal from the input ring."""
    row = phases[phase]
    acc = 0.0
    for i in range(taps):
        acc += row[i] * ring[pos + i]
    return acc


@nb.njit(inline="always", cache=True, nogil=True)
def decimate(phases, ring, pos, taps, factor, length):
    """One output sample from the oversampled ring (flat tap j = i*factor + q)."""
    acc = 0.0
    for i in range(taps):
        for q in range(factor):
            j = i * factor + q
            if j < length:
                acc += phases[q, i] * ring[pos + j]
    return acc / factor
