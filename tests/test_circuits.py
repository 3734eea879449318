"""Reference circuits (neuralrig.models.circuits): behaviour against the documented analysis."""

from __future__ import annotations

import numpy as np
import pytest

from neuralrig.models.circuits import CIRCUITS, fuzz, overdrive
from neuralrig.models.circuits._common import biquad_response, one_pole_highpass
from neuralrig.server.engine.params import ParamSpec

FS = 48000


def sine(freq: float, amp: float, seconds: float = 0.5, fs: int = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def tone_level_db(y: np.ndarray, freq: float, fs: int = FS) -> float:
    """Amplitude (dB) of the component at freq over the second half, by projection."""
    seg = y[y.size // 2:].astype(np.float64)
    t = np.arange(y.size // 2, y.size) / fs
    # whole number of periods keeps the projection exact
    periods = int(seg.size * freq / fs)
    n = max(1, round(periods * fs / freq))
    seg, t = seg[:n], t[:n]
    c = 2 * np.mean(seg * np.cos(2 * np.pi * freq * t))
    s = 2 * np.mean(seg * np.sin(2 * np.pi * freq * t))
    return 20 * np.log10(np.hypot(c, s) + 1e-30)


def harmonics_db(y: np.ndarray, f0: float, count: int = 3) -> list[float]:
    return [tone_level_db(y, k * f0) for k in range(1, count + 1)]


def test_registry_exposes_paramspecs_render_and_stream():
    assert set(CIRCUITS) == {"overdrive", "fuzz"}
    assert [s.name for s in CIRCUITS["overdrive"].controls] == ["drive", "tone", "level"]
    assert [s.name for s in CIRCUITS["fuzz"].controls] == ["fuzz", "level"]
    x = sine(440, 0.3, 0.05)
    for circuit in CIRCUITS.values():
        assert all(isinstance(s, ParamSpec) for s in circuit.controls)
        y = circuit.render(x, FS, **circuit.defaults())
        assert y.dtype == np.float32 and y.shape == x.shape
        assert np.array_equal(y, circuit.render(x, FS))  # defaults, deterministic
        stream = circuit.stream(FS)
        assert stream.latency_samples == 32
        with pytest.raises(ValueError):
            circuit.render(x, FS, nonsense=1.0)


@pytest.mark.parametrize("freq", [15.57, 100.0, 1000.0, 2000.0, 5000.0])
@pytest.mark.parametrize("drive", [0.0, 1.0])
def test_overdrive_small_signal_matches_circuit_analysis(drive, freq):
    """Input high-pass x clipping stage x tone stage, measured end to end at 0.1 mV."""
    y = overdrive.render(sine(freq, 1e-4, 1.0 if freq < 50 else 0.3), FS, drive=drive,
                         tone=0.5, level=0.0)
    measured = tone_level_db(y, freq) - 20 * np.log10(1e-4)
    b0, a1 = one_pole_highpass(FS, overdrive.INPUT_HIGHPASS_HZ)
    z1 = np.exp(-2j * np.pi * freq / FS)
    hp_db = 20 * np.log10(abs(b0 * (1 - z1) / (1 + a1 * z1)))
    expected = (hp_db + overdrive.clip_stage_gain_db(drive, freq)
                + overdrive.tone_response_db(0.5, np.array([freq]), FS)[0])
    assert measured == pytest.approx(expected, abs=0.3)


def test_clip_stage_gain_spans_documented_range():
    """At 2 kHz (between the 720 Hz leg zero and the 5.7 kHz feedback pole at full drive)
    the clipping stage's small-signal gain spans ~21.5 -> ~41.5 dB over the drive range."""
    gains = []
    for drive in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = overdrive.render(sine(2000, 1e-4, 0.3), FS, drive=drive, tone=0.5, level=0.0)
        tone_db = overdrive.tone_response_db(0.5, np.array([2000.0]), FS)[0]
        gains.append(tone_level_db(y, 2000) - 20 * np.log10(1e-4) - tone_db)
    assert np.all(np.diff(gains) > 0)
    assert gains[0] == pytest.approx(21.5, abs=2.0)
    assert gains[-1] == pytest.approx(41.5, abs=2.0)
    assert overdrive.clip_stage_gain_db(0.0) == pytest.approx(21.47, abs=0.05)
    assert overdrive.clip_stage_gain_db(1.0) == pytest.approx(41.45, abs=0.05)


def test_input_highpass_corner():
    assert abs(overdrive.INPUT_HIGHPASS_HZ - 15.57) < 0.02
    b0, a1 = one_pole_highpass(FS, overdrive.INPUT_HIGHPASS_HZ)
    z1 = np.exp(-2j * np.pi * overdrive.INPUT_HIGHPASS_HZ / FS)
    assert 20 * np.log10(abs(b0 * (1 - z1) / (1 + a1 * z1))) == pytest.approx(-3.01, abs=0.02)


def minus3_corner(tone: float) -> float:
    f = np.geomspace(20, 20000, 2000)
    r = overdrive.tone_response_db(tone, f, FS)
    return float(f[np.argmax(r < r[0] - 3)])


def test_tone_stage_corners_and_tilt_move_with_tone():
    """Tone stage alone, from its coefficients: -3 dB corner rises and the treble tilt
    (3 kHz vs 100 Hz) rises as tone goes 0 -> 1; DC gain is Gs/(Gs+Gi) = -0.83 dB."""
    tones = [0.0, 0.25, 0.5, 0.75, 1.0]
    corners = [minus3_corner(t) for t in tones]
    tilt = [np.subtract(*overdrive.tone_response_db(t, np.array([3000.0, 100.0]), FS))
            for t in tones]
    assert np.all(np.diff(corners) > 0)
    assert np.all(np.diff(tilt) > 0)
    assert corners[0] == pytest.approx(380, rel=0.1)
    assert corners[2] == pytest.approx(870, rel=0.1)
    assert corners[4] == pytest.approx(5100, rel=0.1)
    assert tilt[0] < -14 and tilt[-1] > -1
    for t in tones:
        assert overdrive.tone_response_db(t, np.array([1.0]), FS)[0] == pytest.approx(
            20 * np.log10(10 / 11), abs=0.01)


def test_tone_discretisation_matches_analogue():
    freqs = np.array([50.0, 300.0, 1000.0, 3000.0])
    for tone in (0.0, 0.5, 1.0):
        num, den = overdrive.tone_analog(tone)
        s = 2j * np.pi * freqs
        analog = np.polyval(num, s) / np.polyval(den, s)
        digital = biquad_response(overdrive.tone_coefficients(tone, FS), freqs, FS)
        assert np.allclose(20 * np.log10(abs(digital)), 20 * np.log10(abs(analog)), atol=0.3)
        # prewarped at 1 kHz: exact there
        assert abs(digital[2]) == pytest.approx(abs(analog[2]), rel=1e-6)


def test_symmetric_clipping_gives_odd_harmonics_only():
    for drive in (0.0, 1.0):
        y = overdrive.render(sine(200, 1.0), FS, drive=drive, tone=0.5, level=0.0)
        h1, h2, h3 = harmonics_db(y, 200)
        assert h3 > h1 - 30  # strong 3rd
        assert h2 < h3 - 40


@pytest.mark.parametrize("name", ["overdrive", "fuzz"])
def test_loud_input_bounded_and_finite(name):
    rng = np.random.default_rng(0)
    x = np.clip(sine(110, 1.0, 0.3) + rng.normal(0, 0.5, int(0.3 * FS)), -1, 1)
    knobs = {"overdrive": {"drive": 1.0, "tone": 1.0}, "fuzz": {"fuzz": 1.0}}[name]
    y = CIRCUITS[name].render(x.astype(np.float32), FS, **knobs)
    assert np.all(np.isfinite(y))
    assert np.abs(y).max() < 3.0


@pytest.mark.parametrize("name", ["overdrive", "fuzz"])
def test_blockwise_equals_whole(name):
    circuit = CIRCUITS[name]
    rng = np.random.default_rng(1)
    x = (0.5 * rng.standard_normal(9000)).astype(np.float32)
    whole = circuit.render(x, FS, compensate_latency=False)
    stream = circuit.stream(FS)
    parts, pos = [], 0
    for size in [1, 7, 64, 513, 3, 2048] * 10:
        if pos >= x.size:
            break
        parts.append(stream.process(x[pos:pos + size]))
        pos += size
    parts.append(stream.process(x[pos:]))
    assert np.max(np.abs(np.concatenate(parts) - whole)) <= 1e-6
    stream.reset()
    assert np.max(np.abs(stream.process(x) - whole)) <= 1e-6
    aligned = circuit.render(x, FS)
    lat = stream.latency_samples
    assert np.array_equal(aligned[:-lat], whole[lat:])


@pytest.mark.parametrize("fs", [44100, 96000, 192000])
def test_other_sample_rates_keep_the_circuit(fs):
    y = overdrive.render(sine(2000, 1e-4, 0.3, fs), fs, drive=1.0, tone=0.5)
    tone_db = overdrive.tone_response_db(0.5, np.array([2000.0]), fs)[0]
    measured = tone_level_db(y, 2000, fs) - 20 * np.log10(1e-4) - tone_db
    assert measured == pytest.approx(overdrive.clip_stage_gain_db(1.0, 2000), abs=0.3)
    assert overdrive.OverdriveStream(fs).latency_samples == (0 if fs >= 176400 else 32)


def test_fuzz_gain_rises_with_fuzz_knob():
    small, loud = [], []
    for knob in (0.0, 0.5, 1.0):
        y = fuzz.render(sine(1000, 1e-4, 0.3), FS, fuzz=knob)
        small.append(tone_level_db(y, 1000) - 20 * np.log10(1e-4))
        assert small[-1] == pytest.approx(fuzz.small_signal_gain_db(knob), abs=0.5)
        y = fuzz.render(sine(200, 0.05), FS, fuzz=knob)
        loud.append(float(np.sqrt(np.mean(y[FS // 4:] ** 2))))
    assert np.all(np.diff(small) > 10)
    assert np.all(np.diff(loud) > 0)
    assert small[0] == pytest.approx(26.0, abs=1.0) and small[-1] == pytest.approx(55.6, abs=1.0)


@pytest.mark.parametrize("amp", [0.003, 0.1])
def test_fuzz_asymmetry_gives_even_harmonics(amp):
    y = fuzz.render(sine(200, amp), FS, fuzz=0.7)
    h1, h2 = harmonics_db(y, 200, count=2)
    assert h2 > h1 - 30


TONE_PARTS = ("RS_TONE", "CS_TONE", "RI_TONE", "RF_TONE", "RZ_TONE", "CZ_TONE", "R_TONE_POT")


def tone_parts() -> dict[str, float]:
    return {name: getattr(overdrive, name) for name in TONE_PARTS}


def tone_stage_nodal(tone: float, freq: float, c: dict[str, float]) -> complex:
    """Vout/Vin of the tone stage by a direct modified-nodal solve of the netlist.

    Nodes: 0 input, 1 op-amp +, 2 pot wiper, 3 op-amp -, 4 output, 5 between Cz and Rz.
    Extra unknowns: the source current, the op-amp output current (ideal op-amp: its
    row forces V(1) = V(3)) and one current per zero-ohm pot end (a 0 V source).
    """
    s = 2j * np.pi * freq
    rl = c["R_TONE_POT"] * tone
    rr = c["R_TONE_POT"] - rl
    branches = [(0, 1, c["RS_TONE"]), (1, None, 1 / (s * c["CS_TONE"])),
                (1, None, c["RI_TONE"]), (1, 2, rl), (2, 3, rr),
                (2, 5, 1 / (s * c["CZ_TONE"])), (5, None, c["RZ_TONE"]),
                (4, 3, c["RF_TONE"])]
    shorts = [(a, b) for a, b, z in branches if z == 0]
    size = 6 + 2 + len(shorts)
    m = np.zeros((size, size), complex)
    rhs = np.zeros(size, complex)
    for a, b, z in branches:
        if z == 0:
            continue
        m[a, a] += 1 / z
        if b is not None:
            m[b, b] += 1 / z
            m[a, b] -= 1 / z
            m[b, a] -= 1 / z
    m[0, 6] = m[6, 0] = 1.0  # 1 V source at the input
    rhs[6] = 1.0
    m[4, 7] = 1.0  # op-amp output current enters node 4
    m[7, 1], m[7, 3] = 1.0, -1.0  # ideal op-amp: V+ = V-
    for k, (a, b) in enumerate(shorts):
        m[a, 8 + k] += 1.0
        m[b, 8 + k] -= 1.0
        m[8 + k, a], m[8 + k, b] = 1.0, -1.0
    return complex(np.linalg.solve(m, rhs)[4])


def tone_stage_yeh(tone: float, freqs: np.ndarray, c: dict[str, float],
                   x_cap: str = "CS_TONE") -> np.ndarray:
    """Yeh, Abel & Smith (DAFx-07), the Tube Screamer tone-stage H(s) (their eq. 24):
    H(s) = V (s + W wz) / ((s + wp)(s + wz) + X s). X = Rr / (Y Cs) is what nodal
    analysis gives; the transcriptions of the paper's X carry Cz (x_cap="CZ_TONE")."""
    s = 2j * np.pi * freqs
    rs, cs, ri, rf = c["RS_TONE"], c["CS_TONE"], c["RI_TONE"], c["RF_TONE"]
    rz, cz = c["RZ_TONE"], c["CZ_TONE"]
    rl = c["R_TONE_POT"] * tone
    rr = c["R_TONE_POT"] - rl
    par = rl * rr / (rl + rr)
    wp = 1 / (cs * rs * ri / (rs + ri))
    wz = 1 / (cz * (rz + par))
    y = (rl + rr) * (rz + par)
    w = y / (rl * rf + y)
    v = (rl * rf + y) / (y * rs * cs)
    x = rr / (y * c[x_cap])
    return v * (s + w * wz) / ((s + wp) * (s + wz) + x * s)


def tone_stage_module(tone: float, freqs: np.ndarray) -> np.ndarray:
    num, den = overdrive.tone_analog(tone)
    s = 2j * np.pi * freqs
    return np.polyval(num, s) / np.polyval(den, s)


def db(h: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.abs(h))


@pytest.mark.parametrize("cs", [None, 0.1e-6])
def test_tone_stage_matches_nodal_solve_and_yeh_paper(monkeypatch, cs):
    """The module's analogue tone stage against (a) a direct nodal solve of the netlist
    and (b) Yeh et al.'s closed form, within 0.01 dB over 20 Hz-20 kHz at five tone
    settings. With the pedal's Cs = Cz the paper's X as transcribed (with Cz) agrees
    too; with Cs changed to 0.1 uF only X = Rr / (Y Cs) still agrees, so Cs is right."""
    if cs is not None:
        monkeypatch.setattr(overdrive, "CS_TONE", cs)
    parts = tone_parts()
    freqs = np.geomspace(20, 20000, 61)
    worst_cz_form = 0.0
    for tone in (0.0, 0.25, 0.5, 0.75, 1.0):
        ours = db(tone_stage_module(tone, freqs))
        nodal = db(np.array([tone_stage_nodal(tone, f, parts) for f in freqs]))
        assert np.max(np.abs(ours - nodal)) < 0.01
        assert np.max(np.abs(ours - db(tone_stage_yeh(tone, freqs, parts)))) < 0.01
        cz_form = db(tone_stage_yeh(tone, freqs, parts, x_cap="CZ_TONE"))
        worst_cz_form = max(worst_cz_form, float(np.max(np.abs(ours - cz_form))))
    if cs is None:
        assert worst_cz_form < 0.01
    else:
        assert worst_cz_form > 1.0
