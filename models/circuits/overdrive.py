"""Tube Screamer-style overdrive, modelled at circuit level.

Signal levels are volts (1.0 = 1 V peak); a guitar gives roughly 0.1-1 V.

Stages
------
1. Input high-pass: 1 uF into 220 ohm + 10 kohm, fc = 1/(2 pi 10.22k 1u) = 15.57 Hz;
   first order, bilinear with prewarping (exact corner).
2. Clipping stage (run oversampled, see ``_common``): a non-inverting op-amp whose
   inverting input sits at vin (ideal op-amp). The leg to ground, R1 = 4.7 kohm in
   series with C1 = 47 nF (zero at 720 Hz), carries i = vin sC1 / (1 + s R1 C1); that
   current must flow through the feedback network Rf = 51 kohm + drive pot (500 kohm
   audio taper) in parallel with Cf = 51 pF and an antiparallel 1N914 pair:
       i = v/Rf + Cf dv/dt + 2 Is sinh(v / (n Vt)),     output = vin + v.
   Diode parameters: the 1N914 SPICE values Is = 2.52 nA, n = 1.752, Vt = 25.85 mV.
   Both capacitors are discretised with the trapezoidal rule (companion models at
   the oversampled rate). Per sample, v solves
       v (1/Rf + 2Cf/T) + 2 Is sinh(v/nVt) = i[n] + (2Cf/T) v[n-1] + iCf[n-1],
   by Newton's method on |rhs| (the left side is odd, increasing and convex for
   v > 0), started at min(|rhs|/G, nVt asinh(|rhs| / 2Is)), an upper bound of the
   root, so the iteration descends monotonically with no overshoot.
   Small-signal (diodes off) mid-band gain is 1 + Rf/R1 = 11.9x (21.5 dB) at drive 0
   up to 118x (41.5 dB) at drive 1; ``clip_stage_gain_db`` gives it exactly.
   Drive pot taper: audio (log) taper r(d) = (10^(2d) - 1)/99, 9 % at mid travel.
3. Tone stage (Yeh, Abel & Smith, DAFx-07): Vi -Rs- V1, Cs from V1 to ground,
   Ri (10 kohm bias resistor) from V1 to AC ground, V1 on the op-amp + input. The
   20 kohm tone pot runs from V1 (Rl part) to the - input (Rr part); its wiper goes
   to ground through Cz + Rz; Rf from the output to the - input. Nodal analysis with
   an ideal op-amp (V- = V1), Yz = sCz / (1 + sCzRz), Gx = 1/Rx, Gp = Gl + Gr:
       wiper:  Vw = V1 Gp / (Gp + Yz)
       output: Vo = V1 + Rf Gr (V1 - Vw) = V1 (1 + Rf Gr Yz / (Gp + Yz))
       V1:     Gs (Vi - V1) = (Gi + sCs) V1 + Gl (V1 - Vw)
   Multiplying through by Rl Rr (1 + sCzRz) keeps the ends of the pot finite:
       H(s) = (n1 s + n0) / (d2 s^2 + d1 s + d0) with P = Rl + Rr = 20 kohm and
       n0 = Gs P,                n1 = Gs (P CzRz + Cz (Rl Rr + Rf Rl)),
       q1 = P CzRz + Cz Rl Rr,   d0 = (Gs + Gi) P,
       d1 = (Gs + Gi) q1 + Cs P + Cz Rr,   d2 = Cs q1.
   Every term of each coefficient has the same units (ohm s^k). DC gain is
   Gs/(Gs+Gi) = 10/11 (-0.83 dB) at any setting.
   Against the paper: Yeh et al. write this stage (their eq. 24) as
       H(s) = V (s + W wz) / ((s + wp)(s + wz) + X s),   with par = Rl Rr / (Rl + Rr),
       wp = 1 / (Cs (Rs || Ri)),  wz = 1 / (Cz (Rz + par)),  Y = (Rl + Rr)(Rz + par),
       W = Y / (Rl Rf + Y),  V = (Rl Rf + Y) / (Y Rs Cs),
   with the same pot convention as here (Rl between V1 and the wiper). Divided by
   d2, the coefficients above give exactly that form (checked symbolically) provided
   X = Rr / (Y Cs). The transcriptions of the paper's X we checked write Cz where
   the nodal analysis puts Cs (one writes Y there, which is not even a rate: ohm^-3).
   Cz is wrong in general but numerically identical here, since Cs = Cz = 0.22 uF,
   so the paper's curves for this pedal stand; with Cs != Cz (say 0.1 uF) the Cz
   form is off by up to 3.4 dB at tone 0. tests/test_circuits.py checks both forms.
   tone = 1 puts the wiper at the - input end (Rr = 0): a treble shelf (zero
   593 Hz, pole 3.29 kHz) over the 795 Hz (Rs || Ri)-Cs low-pass. tone = 0 (Rl = 0)
   hangs Cz + Rz on V1 as well: the darkest setting. Linear pot, Rl = 20k * tone.
   Discretised by the bilinear transform prewarped at 1 kHz.
4. Level: a gain in dB.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from neuralrig.server.engine.params import ParamSpec

from ._common import (
    CircuitStream,
    bilinear2,
    biquad_response,
    decimate,
    interpolate_phase,
    one_pole_highpass,
    prewarp_constant,
    render_with,
    ring_push,
)

# Component values.
R_IN = 10e3 + 220.0
C_IN = 1e-6
R1 = 4.7e3
C1 = 47e-9
RF_FIXED = 51e3
R_DRIVE = 500e3
CF = 51e-12
DIODE_IS = 2.52e-9
DIODE_N = 1.752
THERMAL_V = 25.85e-3
RS_TONE = 1e3
CS_TONE = 0.22e-6
RI_TONE = 10e3
RF_TONE = 1e3
RZ_TONE = 220.0
CZ_TONE = 0.22e-6
R_TONE_POT = 20e3
TONE_PREWARP_HZ = 1000.0

INPUT_HIGHPASS_HZ = 1.0 / (2.0 * math.pi * R_IN * C_IN)

CONTROLS = (
    ParamSpec("drive", 0.0, 1.0, 0.5, "", description="drive pot, audio taper"),
    ParamSpec("tone", 0.0, 1.0, 0.5, "", description="tone pot, 0 dark .. 1 bright"),
    ParamSpec("level", -40.0, 12.0, 0.0, "dB", description="output level"),
)


def drive_resistance(drive: float) -> float:
    taper = (10.0 ** (2.0 * float(drive)) - 1.0) / 99.0
    return RF_FIXED + R_DRIVE * taper


def clip_stage_gain_db(drive: float, freq: float | None = None) -> float:
    """Small-signal gain of the clipping stage.

    Without freq: the nominal mid-band gain 1 + Rf/R1 (21.5 dB .. 41.5 dB). With freq:
    the exact linearised response there, including the diodes' zero-bias conductance
    2 Is / (n Vt) (about 9 Mohm, which costs 0.5 dB at full drive).
    """
    rf = drive_resistance(drive)
    if freq is None:
        return 20.0 * math.log10(1.0 + rf / R1)
    s = 2j * math.pi * freq
    z1 = R1 + 1.0 / (s * C1)
    gd = 2.0 * DIODE_IS / (DIODE_N * THERMAL_V)
    zf = 1.0 / (1.0 / rf + gd + s * CF)
    return 20.0 * math.log10(abs(1.0 + zf / z1))


def tone_analog(tone: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(num, den) polynomial coefficients (s^2, s, 1) of the tone stage at a tone setting."""
    t = min(1.0, max(0.0, float(tone)))
    rl = R_TONE_POT * t
    rr = R_TONE_POT - rl
    p = R_TONE_POT
    gs, gi = 1.0 / RS_TONE, 1.0 / RI_TONE
    tz = CZ_TONE * RZ_TONE
    n0 = gs * p
    n1 = gs * (p * tz + CZ_TONE * (rl * rr + RF_TONE * rl))
    q1 = p * tz + CZ_TONE * rl * rr
    d0 = (gs + gi) * p
    d1 = (gs + gi) * q1 + CS_TONE * p + CZ_TONE * rr
    d2 = CS_TONE * q1
    return (0.0, n1, n0), (d2, d1, d0)


def tone_coefficients(tone: float, sample_rate: float) -> np.ndarray:
    """[b0, b1, b2, a1, a2] of the discretised tone stage."""
    num, den = tone_analog(tone)
    return bilinear2(num, den, prewarp_constant(sample_rate, TONE_PREWARP_HZ))


def tone_response_db(tone: float, freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    resp = biquad_response(tone_coefficients(tone, sample_rate), freqs, sample_rate)
    return 20.0 * np.log10(np.abs(resp))


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _solve_diodes(rhs, g, is2, nvt):
    """Root of g v + is2 sinh(v/nvt) = rhs (odd, monotone): Newton from an upper bound."""
    r = abs(rhs)
    if r == 0.0:
        return 0.0
    v_lin = r / g
    a = r / is2
    v_dio = nvt * math.log(a + math.sqrt(a * a + 1.0))
    v = min(v_lin, v_dio)
    for _ in range(40):
        e = math.exp(v / nvt)
        ie = 1.0 / e
        f = g * v + 0.5 * is2 * (e - ie) - r
        fp = g + 0.5 * is2 * (e + ie) / nvt
        step = f / fp
        v -= step
        if abs(step) < 1e-12:
            break
    if v < 0.0:
        v = 0.0
    return v if rhs > 0.0 else -v


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _overdrive_kernel(x, out, hp, clip, phases, ring_x, ring_y, st, tone, level):
    # st: 0 hp x1, 1 hp y1, 2 vin1, 3 i1, 4 v1, 5 icf1, 6/7 tone DF2T, 8 ring_x pos, 9 ring_y pos
    m = phases.shape[0]
    kx = phases.shape[1]
    ny = ring_y.shape[0] // 2
    b0h, a1h = hp[0], hp[1]
    g0, pole, g, cfk, is2, nvt = clip[0], clip[1], clip[2], clip[3], clip[4], clip[5]
    tb0, tb1, tb2, ta1, ta2 = tone[0], tone[1], tone[2], tone[3], tone[4]
    hx1, hy1 = st[0], st[1]
    vin1, i1, v1, icf1 = st[2], st[3], st[4], st[5]
    z1, z2 = st[6], st[7]
    wx = int(st[8])
    wy = int(st[9])
    for n in range(x.shape[0]):
        xv = np.float64(x[n])
        yh = b0h * (xv - hx1) - a1h * hy1
        hx1 = xv
        hy1 = yh
        if m > 1:
            wx = ring_push(ring_x, wx, kx, yh)
        y = 0.0
        for p in range(m):
            u = interpolate_phase(phases, ring_x, wx, kx, p) if m > 1 else yh
            cur = g0 * (u - vin1) - pole * i1
            vin1 = u
            i1 = cur
            rhs = cur + cfk * v1 + icf1
            v = _solve_diodes(rhs, g, is2, nvt)
            icf1 = cfk * (v - v1) - icf1
            v1 = v
            o = u + v
            if m > 1:
                wy = ring_push(ring_y, wy, ny, o)
                if p == 0:
                    y = decimate(phases, ring_y, wy, kx, m, ny)
            else:
                y = o
        t = tb0 * y + z1
        z1 = tb1 * y - ta1 * t + z2
        z2 = tb2 * y - ta2 * t
        out[n] = level * t
    st[0], st[1] = hx1, hy1
    st[2], st[3], st[4], st[5] = vin1, i1, v1, icf1
    st[6], st[7] = z1, z2
    st[8] = wx
    st[9] = wy


class OverdriveStream(CircuitStream):
    """Streaming Tube Screamer-style overdrive (knobs: drive, tone, level dB)."""

    controls = CONTROLS
    state_size = 10

    def _setup(self) -> None:
        fs = float(self.sample_rate)
        fso = fs * self.factor
        k = 2.0 * fso
        rf = drive_resistance(self.knobs["drive"])
        self._hp = one_pole_highpass(fs, INPUT_HIGHPASS_HZ)
        g0 = C1 * k / (1.0 + R1 * C1 * k)
        pole = (1.0 - R1 * C1 * k) / (1.0 + R1 * C1 * k)
        self._clip = np.array([g0, pole, 1.0 / rf + CF * k, CF * k, 2.0 * DIODE_IS,
                               DIODE_N * THERMAL_V])
        self._tone = tone_coefficients(self.knobs["tone"], fs)
        self._level = 10.0 ** (self.knobs["level"] / 20.0)
        self._ensure_phases()

    def _run(self, x: np.ndarray, out: np.ndarray) -> None:
        _overdrive_kernel(x, out, self._hp, self._clip, self._phases, self._ring_x,
                          self._ring_y, self._state, self._tone, self._level)


def render(x: np.ndarray, sample_rate: int, compensate_latency: bool = True,
           **knobs: float) -> np.ndarray:
    """Render a mono signal through the overdrive; output aligned with the input."""
    return render_with(OverdriveStream, x, sample_rate, compensate_latency, **knobs)
