"""Two-transistor Fuzz-Face-style fuzz (behavioural, physically motivated).

Signal levels are volts (1.0 = 1 V peak). Knobs: ``fuzz`` (0..1) and ``level`` (dB).

Model
-----
1. Input coupling: 2.2 uF into the low input impedance of Q1 (taken as 10 kohm):
   a first-order high-pass at 7.2 Hz.
2. Two common-emitter stages, run oversampled (see ``_common``). Each stage is an
   inverting transconductor whose collector current follows the exponential
   junction law around its bias point and saturates on the other side:
       w(u) = exp(u) - 1                 for u < 0  (soft cutoff: w -> -1 as Ic -> 0)
       w(u) = S tanh((exp(u) - 1) / S)   for u >= 0 (saturation, headroom S)
       stage output = -H w(v_in / Vs)
   w'(0) = 1, so the small-signal gain is H / Vs. The exponential makes the stage
   asymmetric at every level (even harmonics grow with level), and the different
   headroom on the two sides (S != 1, the bias point) makes loud clipping
   asymmetric too. The stages are DC-coupled, as in the Fuzz Face, so the DC that
   stage 1 produces on loud notes shifts stage 2's operating point (the
   programme-dependent "sag" of a fuzz). In the Fuzz Face the DC feedback (100 kohm
   from Q2's emitter back to Q1's base, with the 20 uF emitter bypass) servoes the
   bias to the programme's average; that is modelled as removing the part of stage
   1's output below 20 Hz (a first-order high-pass) before stage 2. Because stage
   1's clipped output is lopsided, removing its average moves stage 2's switching
   points off the input's zero crossings: an asymmetric duty cycle, so loud, fully
   clipped notes keep strong even harmonics.
     Q1: H1 = 1 V, Vs1 = 50 mV (gain 20x, 26 dB), S1 = 3.
     Between the stages a one-pole low-pass at 12 kHz (junction/Miller bandwidth)
     and the 20 Hz bias-servo high-pass.
     Q2: H2 = 2 V, S2 = 1.3; the fuzz pot sets the emitter bypass, modelled as the
         stage gain A2 = 2 * 30**fuzz (6 dB .. 35.6 dB), Vs2 = H2 / A2.
3. Output: 10 nF into the 500 kohm volume pot (high-pass at 31.8 Hz), a one-pole
   low-pass at 6 kHz for the cable/pickup load, a fixed 0.5 scaling (so a full fuzz
   peaks near 1 V), then ``level``.
Small-signal mid-band gain at level 0 dB: 20 * A2 * 0.5, from 26 dB (fuzz 0) to
55.6 dB (fuzz 1); ``small_signal_gain_db`` returns it.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from neuralrig.server.engine.params import ParamSpec

from ._common import (
    CircuitStream,
    decimate,
    interpolate_phase,
    one_pole_highpass,
    one_pole_lowpass,
    render_with,
    ring_push,
)

INPUT_HIGHPASS_HZ = 1.0 / (2.0 * math.pi * 2.2e-6 * 10e3)
OUTPUT_HIGHPASS_HZ = 1.0 / (2.0 * math.pi * 10e-9 * 500e3)
OUTPUT_LOWPASS_HZ = 6000.0
INTERSTAGE_LOWPASS_HZ = 12000.0
SERVO_HIGHPASS_HZ = 20.0
H1, VS1, S1 = 1.0, 0.05, 3.0
H2, S2 = 2.0, 1.3
OUTPUT_SCALE = 0.5

CONTROLS = (
    ParamSpec("fuzz", 0.0, 1.0, 0.7, "", description="fuzz pot (stage-2 gain)"),
    ParamSpec("level", -40.0, 12.0, 0.0, "dB", description="output level"),
)


def stage2_gain(fuzz: float) -> float:
    return 2.0 * 30.0 ** float(fuzz)


def small_signal_gain_db(fuzz: float) -> float:
    """Mid-band small-signal gain of the whole pedal at level 0 dB."""
    return 20.0 * math.log10(H1 / VS1 * stage2_gain(fuzz) * OUTPUT_SCALE)


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _stage(u, s):
    if u > 30.0:
        u = 30.0
    e = math.exp(u) - 1.0
    if u < 0.0:
        return e
    return s * math.tanh(e / s)


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _fuzz_kernel(x, out, coef, phases, ring_x, ring_y, st):
    # coef: 0 in-hp b0, 1 in-hp a1, 2 mid-lp b0, 3 mid-lp a1, 4 out-hp b0, 5 out-hp a1,
    #       6 out-lp b0, 7 out-lp a1, 8 1/Vs2, 9 output gain, 10 servo-hp b0, 11 servo-hp a1
    # st: 0/1 in-hp x1,y1, 2/3 mid-lp x1,y1, 4/5 out-hp x1,y1, 6/7 out-lp x1,y1, 8/9 ring pos,
    #     10/11 servo-hp x1,y1
    m = phases.shape[0]
    kx = phases.shape[1]
    ny = ring_y.shape[0] // 2
    ib0, ia1, mb0, ma1 = coef[0], coef[1], coef[2], coef[3]
    ob0, oa1, lb0, la1 = coef[4], coef[5], coef[6], coef[7]
    inv_vs2, gain = coef[8], coef[9]
    sb0, sa1 = coef[10], coef[11]
    sx1, sy1 = st[10], st[11]
    ix1, iy1, mx1, my1 = st[0], st[1], st[2], st[3]
    ox1, oy1, lx1, ly1 = st[4], st[5], st[6], st[7]
    wx = int(st[8])
    wy = int(st[9])
    inv_vs1 = 1.0 / VS1
    for n in range(x.shape[0]):
        xv = np.float64(x[n])
        yh = ib0 * (xv - ix1) - ia1 * iy1
        ix1 = xv
        iy1 = yh
        if m > 1:
            wx = ring_push(ring_x, wx, kx, yh)
        y = 0.0
        for p in range(m):
            u = interpolate_phase(phases, ring_x, wx, kx, p) if m > 1 else yh
            v1 = -H1 * _stage(u * inv_vs1, S1)
            lp = mb0 * (v1 + mx1) - ma1 * my1
            mx1 = v1
            my1 = lp
            sv = sb0 * (lp - sx1) - sa1 * sy1
            sx1 = lp
            sy1 = sv
            o = -H2 * _stage(sv * inv_vs2, S2)
            if m > 1:
                wy = ring_push(ring_y, wy, ny, o)
                if p == 0:
                    y = decimate(phases, ring_y, wy, kx, m, ny)
            else:
                y = o
        hp = ob0 * (y - ox1) - oa1 * oy1
        ox1 = y
        oy1 = hp
        lo = lb0 * (hp + lx1) - la1 * ly1
        lx1 = hp
        ly1 = lo
        out[n] = gain * lo
    st[0], st[1], st[2], st[3] = ix1, iy1, mx1, my1
    st[4], st[5], st[6], st[7] = ox1, oy1, lx1, ly1
    st[8] = wx
    st[9] = wy
    st[10], st[11] = sx1, sy1


class FuzzStream(CircuitStream):
    """Streaming Fuzz-Face-style fuzz (knobs: fuzz, level dB)."""

    controls = CONTROLS
    state_size = 12

    def _setup(self) -> None:
        fs = float(self.sample_rate)
        fso = fs * self.factor
        ihp = one_pole_highpass(fs, INPUT_HIGHPASS_HZ)
        mlp = one_pole_lowpass(fso, INTERSTAGE_LOWPASS_HZ)
        ohp = one_pole_highpass(fs, OUTPUT_HIGHPASS_HZ)
        olp = one_pole_lowpass(fs, OUTPUT_LOWPASS_HZ)
        shp = one_pole_highpass(fso, SERVO_HIGHPASS_HZ)
        gain = OUTPUT_SCALE * 10.0 ** (self.knobs["level"] / 20.0)
        self._coef = np.array([ihp[0], ihp[1], mlp[0], mlp[1], ohp[0], ohp[1], olp[0],
                               olp[1], stage2_gain(self.knobs["fuzz"]) / H2, gain, shp[0], shp[1]])
        self._ensure_phases()

    def _run(self, x: np.ndarray, out: np.ndarray) -> None:
        _fuzz_kernel(x, out, self._coef, self._phases, self._ring_x, self._ring_y, self._state)


def render(x: np.ndarray, sample_rate: int, compensate_latency: bool = True,
           **knobs: float) -> np.ndarray:
    """Render a mono signal through the fuzz; output aligned with the input."""
    return render_with(FuzzStream, x, sample_rate, compensate_latency, **knobs)
