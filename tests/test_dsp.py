"""The classic DSP library: each processor does what it says, in mono and stereo, with no latency.

Every render goes through the real engine (``render_array`` on a ``parse_config``
rig). Test signals start with a zero sample: pyo's biquad filters process the
very first sample of a stream with unset coefficients (see test_first_sample_quirk).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from neuralrig.server.audio.offline import OfflineBackend
from neuralrig.server.config import builtin_data_dir, parse_config
from neuralrig.server.dsp.classic.resample import resample
from neuralrig.server.dsp.registry import all_processors, processor_class
from neuralrig.server.engine.engine import Engine
from neuralrig.server.engine.processor import BuildContext
from neuralrig.server.errors import ConfigError
from neuralrig.server.render import render_array

SR = 48000
# The registry's classic processors (tests elsewhere may register their own kinds).
CLASSIC = sorted(kind for kind, cls in all_processors().items()
                 if kind != "neural" and cls.__module__.startswith("neuralrig.server.dsp.classic."))
EXPECTED = {"gain", "gate", "eq", "tone", "compressor", "overdrive", "chorus", "phaser",
            "delay", "reverb", "cabinet"}


# -- helpers ---------------------------------------------------------------------


def rig(kind: str, settings: dict[str, object] | None = None, extra: str = "") -> str:
    lines = [extra, "[[slot]]", 'id = "fx"', f'type = "{kind}"']
    for key, value in (settings or {}).items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, bool) else
                     f"{key} = {str(value).lower()}")
    return "\n".join(lines) + "\n"


def render(kind: str, audio: np.ndarray, extra: str = "", **settings: object) -> np.ndarray:
    """Render through a one-slot rig; returns float64, shaped like ``audio``."""
    audio = np.asarray(audio, dtype=np.float32)
    out = render_array(parse_config(rig(kind, settings, extra)), audio, SR)
    out = np.asarray(out, dtype=np.float64)
    return out[:, 0] if audio.ndim == 1 else out


def sine(freq: float, amplitude: float = 0.3, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return amplitude * np.sin(2 * np.pi * freq * t)


def impulse(frames: int, at: int = 1000, height: float = 1.0) -> np.ndarray:
    x = np.zeros(frames)
    x[at] = height
    return x


def noise(frames: int, seed: int = 0, amplitude: float = 0.1) -> np.ndarray:
    x = amplitude * np.random.default_rng(seed).standard_normal(frames)
    x[0] = 0.0
    return x


def amplitude_at(y: np.ndarray, freq: float, start: float = 0.5, seconds: float = 0.5) -> float:
    """Amplitude of the ``freq`` component in a window (integer-Hz tones fall on a bin)."""
    segment = y[int(start * SR) : int((start + seconds) * SR)]
    spectrum = np.fft.rfft(segment)
    return float(2.0 * np.abs(spectrum[round(freq * seconds)]) / len(segment))


def db(ratio: float) -> float:
    return float(20.0 * np.log10(ratio))


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y))))


# -- the library ----------------------------------------------------------------


def test_every_expected_processor_is_registered() -> None:
    assert set(CLASSIC) >= EXPECTED


@pytest.mark.parametrize("kind", CLASSIC)
def test_declarations_are_complete(kind: str) -> None:
    cls = processor_class(kind)
    assert cls.summary
    assert cls.params, "a processor without parameters cannot be played"
    names = [p.name for p in cls.params]
    assert len(names) == len(set(names))
    assert not set(names) & {"id", "type", "bypass", "mix"}, "reserved slot keys"
    assert not set(names) & {o.name for o in cls.options}
    for spec in cls.params:
        assert spec.description, f"{kind}.{spec.name} lacks a description"
        if spec.unit in ("Hz", "ms") and spec.minimum > 0 and spec.maximum / spec.minimum >= 20:
            assert spec.curve == "log", f"{kind}.{spec.name} spans decades: use a log curve"


# -- zero latency, mono and stereo ----------------------------------------------------

# Settings under which a processor must pass its input through unchanged.
TRANSPARENT: dict[str, dict[str, float]] = {
    "gain": {"gain": 0.0},
    "gate": {"range": 0.0},
    "eq": {},
    "tone": {"tone": 0.5},
    "compressor": {"ratio": 1.0},
    "chorus": {"balance": 0.0},
    "phaser": {"balance": 0.0},
    "delay": {"balance": 0.0},
    "reverb": {"balance": 0.0},
    "synth": {},  # no notes playing: the input passes through
}


@pytest.mark.parametrize("kind", sorted(TRANSPARENT))
def test_transparent_setting_is_sample_exact(kind: str) -> None:
    """At a neutral setting the output is the input, sample for sample: no added latency."""
    x = 0.5 * noise(SR // 2, seed=3) + sine(220, 0.2, 0.5)
    y = render(kind, x, **TRANSPARENT[kind])
    # (Filters at 0 dB are exact up to float32 coefficient rounding; a shift by
    # one sample would be off by ~0.1.)
    np.testing.assert_allclose(y, x, atol=1e-4)


@pytest.mark.parametrize("kind", CLASSIC)
def test_no_processor_adds_latency(kind: str) -> None:
    config = parse_config(rig(kind)).with_engine(sample_rate=SR, channels=1, block=128)
    engine = Engine(OfflineBackend(), config)
    engine.start()
    try:
        assert engine.latency_samples == 0
        assert engine.slot("fx").processor.latency_samples == 0
        # At default settings, an impulse's response starts on the impulse's own sample.
        x = impulse(SR // 4, at=1000, height=0.1)[:, None].astype(np.float32)
        y = engine.process_offline(x)
    finally:
        engine.stop()
    first = int(np.argmax(np.abs(y[:, 0]) > 1e-7))
    assert first == 1000, f"{kind}: response starts {first - 1000} samples late"
    assert abs(y[1000, 0]) > 1e-4


def test_transparent_table_covers_every_processor() -> None:
    assert set(CLASSIC) <= set(TRANSPARENT) | {"overdrive", "cabinet"}


# The sides of these are processed alike, so either channel equals a mono render.
SYMMETRIC = {"gain", "gate", "eq", "tone", "compressor", "overdrive", "delay", "reverb",
             "cabinet", "synth"}


@pytest.mark.parametrize("kind", CLASSIC)
def test_mono_and_stereo(kind: str) -> None:
    x = sine(220, 0.3, 0.75) + noise(int(0.75 * SR), seed=1, amplitude=0.05)
    silent = np.zeros_like(x)
    mono = render(kind, x)
    assert mono.shape == x.shape and np.all(np.isfinite(mono))
    assert rms(mono) > 1e-3

    left = render(kind, np.stack([x, silent], axis=1))
    assert left.shape == (len(x), 2)
    np.testing.assert_allclose(left[:, 0], mono, atol=1e-5)
    assert np.max(np.abs(left[:, 1])) < 1e-6, "a silent channel must stay silent"

    right = render(kind, np.stack([silent, x], axis=1))
    assert np.max(np.abs(right[:, 0])) < 1e-6
    if kind in SYMMETRIC:
        np.testing.assert_allclose(right[:, 1], mono, atol=1e-5)
    else:  # stereo spread: the right side sweeps or diffuses differently, as loud
        assert abs(db(rms(right[:, 1]) / rms(mono))) < 6.0
        assert np.max(np.abs(right[:, 1] - mono)) > 1e-3

    both = render(kind, np.stack([x, 0.5 * x], axis=1))
    assert rms(both[:, 0]) > 1e-3 and rms(both[:, 1]) > 1e-3


@pytest.mark.parametrize(("rate", "block"), [(22050, 64), (96000, 256)])
def test_every_processor_runs_at_other_rates_and_blocks(rate: int, block: int) -> None:
    t = np.arange(rate // 2) / rate
    x = 0.3 * np.sin(2 * np.pi * 110 * t)
    for kind in CLASSIC:
        y = render_array(parse_config(rig(kind)), np.stack([x, x], axis=1).astype(np.float32),
                         rate, block=block)
        assert y.shape == (len(x), 2), kind
        assert np.all(np.isfinite(y)) and rms(y[:, 1]) > 1e-3, kind


# -- gain -------------------------------------------------------------------------


def test_gain_scales_exactly() -> None:
    x = noise(SR // 4, seed=2)
    np.testing.assert_allclose(render("gain", x, gain=-6.0), x * 10 ** (-6 / 20), atol=1e-6)
    np.testing.assert_allclose(render("gain", x, gain=12.0), x * 10 ** (12 / 20), atol=1e-5)


# -- gate ---------------------------------------------------------------------------


def test_gate_mutes_below_threshold_and_passes_above() -> None:
    quiet = sine(110, 10 ** (-60 / 20))
    out = render("gate", quiet, threshold=-40.0)
    assert rms(out[SR // 2 :]) < rms(quiet) * 10 ** (-80 / 20)

    loud = sine(110, 10 ** (-10 / 20))
    out = render("gate", loud, threshold=-40.0)
    np.testing.assert_allclose(out[SR // 4 :], loud[SR // 4 :], atol=1e-5)


def test_gate_range_limits_the_attenuation() -> None:
    quiet = sine(110, 10 ** (-60 / 20))
    out = render("gate", quiet, threshold=-40.0, range=-20.0)
    assert db(amplitude_at(out, 110) / amplitude_at(quiet, 110)) == pytest.approx(-20, abs=0.1)


def test_gate_closes_after_the_signal_stops_within_its_release() -> None:
    x = np.concatenate([sine(110, 0.3, 0.5), sine(110, 10 ** (-70 / 20), 2.0)[SR // 2 :]])

    def closing_time(release: float) -> float:
        out = render("gate", x, threshold=-50.0, release=release)
        envelope = np.abs(out[SR // 2 :])
        reference = 10 ** (-70 / 20)
        # First sample after which the output stays 20 dB under the quiet input.
        above = np.nonzero(envelope > 0.1 * reference)[0]
        return (above[-1] + 1) / SR if len(above) else 0.0

    # The detector itself falls 40 dB in ~90 ms; the release adds 2.3 time
    # constants to reach -20 dB.
    fast, slow = closing_time(10.0), closing_time(200.0)
    assert fast < 0.2
    assert slow > fast + 0.3
    assert slow < 1.0


# -- EQ and tone -----------------------------------------------------------------------


def test_eq_boosts_the_mid_frequency_by_the_set_gain() -> None:
    settings = {"mid_gain": 12.0, "mid_freq": 1000.0, "mid_q": 1.0}
    for freq, expected, tolerance in [(1000, 12.0, 0.2), (40, 0.0, 0.2), (16000, 0.0, 0.3)]:
        x = sine(freq, 0.1)
        gain = db(amplitude_at(render("eq", x, **settings), freq) / amplitude_at(x, freq))
        assert gain == pytest.approx(expected, abs=tolerance), f"{freq} Hz"


def test_eq_mid_cut_and_shelves() -> None:
    x = sine(2000, 0.3)
    cut = db(amplitude_at(render("eq", x, mid_gain=-9.0, mid_freq=2000.0), 2000) / 0.3)
    assert cut == pytest.approx(-9.0, abs=0.2)
    low = sine(30, 0.3)
    boosted = db(amplitude_at(render("eq", low, low_gain=10.0, low_freq=200.0), 30) / 0.3)
    assert boosted == pytest.approx(10.0, abs=0.3)
    high = sine(12000, 0.3)
    cut = db(amplitude_at(render("eq", high, high_gain=-10.0, high_freq=3000.0), 12000) / 0.3)
    assert cut == pytest.approx(-10.0, abs=0.3)


def test_tone_knob_tilts_from_dark_to_bright() -> None:
    x = sine(200, 0.2) + sine(4000, 0.2)

    def tilt(tone: float) -> float:
        y = render("tone", x, tone=tone)
        return db(amplitude_at(y, 4000) / amplitude_at(y, 200))

    dark, flat, bright = tilt(0.0), tilt(0.5), tilt(1.0)
    assert flat == pytest.approx(0.0, abs=0.05)
    assert dark < -15.0 < 15.0 < bright
    assert tilt(0.25) < flat < tilt(0.75)


# -- compressor ---------------------------------------------------------------------


def compressed_levels(**settings: float) -> tuple[float, float]:
    """Output dB of a loud (-6 dBFS) and a quiet (-36 dBFS) 1 kHz section."""
    loud, quiet = sine(1000, 10 ** (-6 / 20), 0.6), sine(1000, 10 ** (-36 / 20), 0.6)
    y = render("compressor", np.concatenate([loud, quiet]), **settings)
    return (db(amplitude_at(y, 1000, 0.3, 0.25)), db(amplitude_at(y, 1000, 0.9, 0.25)))


@pytest.mark.parametrize("ratio", [2.0, 4.0, 10.0])
def test_compressor_reduces_the_level_difference_by_the_ratio(ratio: float) -> None:
    loud, quiet = compressed_levels(threshold=-24.0, ratio=ratio, knee=0.0, attack=1.0,
                                    release=50.0)
    # Input: loud 18 dB over the threshold, quiet 12 dB under it (30 dB apart).
    assert quiet == pytest.approx(-36.0, abs=0.2)  # untouched below the threshold
    assert loud == pytest.approx(-24.0 + 18.0 / ratio, abs=0.6)
    assert loud - quiet < 30.0 - 5.0


def test_compressor_makeup_and_soft_knee() -> None:
    loud, quiet = compressed_levels(threshold=-24.0, ratio=4.0, knee=0.0, makeup=6.0,
                                    attack=1.0, release=50.0)
    assert loud == pytest.approx(-24.0 + 18.0 / 4.0 + 6.0, abs=0.6)
    assert quiet == pytest.approx(-30.0, abs=0.2)
    # At the threshold itself a 12 dB knee already reduces: (1/4 - 1) * 12 / 8 = -1.1 dB.
    x = sine(1000, 10 ** (-24 / 20))
    y = render("compressor", x, threshold=-24.0, ratio=4.0, knee=12.0, release=200.0)
    assert db(amplitude_at(y, 1000) / amplitude_at(x, 1000)) == pytest.approx(-1.125, abs=0.3)
    y = render("compressor", x, threshold=-24.0, ratio=4.0, knee=0.0, release=200.0)
    assert db(amplitude_at(y, 1000) / amplitude_at(x, 1000)) == pytest.approx(0.0, abs=0.3)


# -- overdrive ------------------------------------------------------------------------


def harmonics(y: np.ndarray, fundamental: float, count: int) -> np.ndarray:
    """Levels in dB of harmonics 1..count relative to the fundamental."""
    levels = np.array([amplitude_at(y, fundamental * k) for k in range(1, count + 1)])
    return 20 * np.log10(np.maximum(levels, 1e-12) / levels[0])


def test_overdrive_makes_odd_harmonics_on_a_sine() -> None:
    x = sine(220, 0.3)
    driven = harmonics(render("overdrive", x, drive=0.7), 220, 5)
    assert driven[2] > -30.0, "3rd harmonic"
    assert driven[4] > -45.0, "5th harmonic"
    clean = harmonics(render("overdrive", x, drive=0.0), 220, 5)
    assert driven[2] > clean[2] + 15.0
    assert driven[1] > -60.0  # the asymmetric clipper adds even ones too


def test_overdrive_output_is_bounded_and_level_applies() -> None:
    x = sine(220, 0.9)
    loud = render("overdrive", x, drive=1.0, level=0.0)
    assert np.max(np.abs(loud)) < 1.6
    quiet = render("overdrive", x, drive=1.0, level=-20.0)
    assert db(rms(quiet[SR // 2 :]) / rms(loud[SR // 2 :])) == pytest.approx(-20.0, abs=0.05)


def test_overdrive_tone_darkens() -> None:
    x = sine(220, 0.3)
    dark = harmonics(render("overdrive", x, tone=0.0), 220, 15)
    bright = harmonics(render("overdrive", x, tone=1.0), 220, 15)
    assert bright[14] > dark[14] + 20.0  # 3.3 kHz


# -- delay ----------------------------------------------------------------------------


def test_delay_repeats_an_impulse_at_the_set_time_with_feedback_levels() -> None:
    x = impulse(SR, at=1000)
    y = render("delay", x, time=250.0, feedback=0.5, damping=0.0, balance=1.0)
    assert abs(y[1000]) < 1e-6  # wet only: no dry impulse
    for repeat, level in [(1, 1.0), (2, 0.5), (3, 0.25)]:
        at = 1000 + repeat * 12000
        assert abs(y[at]) == pytest.approx(level, abs=1e-3)
        assert np.max(np.abs(y[at - 11000 : at - 1])) < 1e-6  # nothing else in between


@pytest.mark.parametrize("time_ms", [1.0, 12.34, 333.3, 1999.0])
def test_delay_time_is_accurate_to_a_sample(time_ms: float) -> None:
    frames = 1000 + int(time_ms * SR / 1000) + 2000
    y = render("delay", impulse(frames, at=1000), time=time_ms, feedback=0.0, balance=1.0)
    assert abs(int(np.argmax(np.abs(y))) - 1000 - time_ms * SR / 1000) <= 1.0
    assert np.sum(y) == pytest.approx(1.0, abs=1e-3)  # one echo, full level


def test_delay_time_change_moves_the_echo() -> None:
    """Tap tempo: after a change of `time` settles, echoes land at the new time."""
    settings = {"time": 350.0, "feedback": 0.0, "balance": 1.0}
    config = parse_config(rig("delay", settings)).with_engine(sample_rate=SR, channels=1,
                                                              block=128)
    silence = np.zeros((128 * 40, 1), dtype=np.float32)
    engine = Engine(OfflineBackend(), config)
    engine.start()
    try:
        engine.process_offline(silence)
        engine.set_param("fx", "time", 500.0)
        engine.process_offline(silence)  # 107 ms: the ramp and SmoothDelay's crossfade end
        y = engine.process_offline(impulse(SR, at=1000)[:, None].astype(np.float32))[:, 0]
    finally:
        engine.stop()
    assert int(np.argmax(np.abs(y))) == 1000 + 24000
    assert abs(y[1000 + 24000]) == pytest.approx(1.0, abs=1e-3)


def test_delay_balance_keeps_the_dry_level_and_damping_darkens_later_repeats() -> None:
    x = impulse(SR, at=1000)
    y = render("delay", x, time=100.0, feedback=0.5, damping=0.0, balance=0.3)
    assert y[1000] == pytest.approx(1.0, abs=1e-6)  # dry at full level below 0.5
    assert y[1000 + 4800] == pytest.approx(0.6, abs=1e-3)

    def repeat_spectrum(damping: float, repeat: int) -> np.ndarray:
        out = render("delay", x, time=100.0, feedback=0.8, damping=damping, balance=1.0)
        start = 1000 + repeat * 4800 - 100
        return np.abs(np.fft.rfft(out[start : start + 4000]))

    band = slice(int(8000 * 4000 / SR), int(16000 * 4000 / SR))
    bright, dark = repeat_spectrum(0.0, 3), repeat_spectrum(1.0, 3)
    assert np.mean(dark[band]) < 0.1 * np.mean(bright[band])
    np.testing.assert_allclose(repeat_spectrum(1.0, 1), repeat_spectrum(0.0, 1), atol=1e-4)


# -- reverb ----------------------------------------------------------------------------


def test_reverb_leaves_a_tail() -> None:
    x = impulse(2 * SR, at=1000)
    y = render("reverb", x, decay=0.5, balance=1.0, predelay=0.0)
    tail = y[1000 + SR // 2 : 1000 + SR]
    assert rms(tail) > 1e-4, "energy more than 0.5 s after the impulse"
    long = render("reverb", x, decay=0.9, balance=1.0)
    short = render("reverb", x, decay=0.1, balance=1.0)
    window = slice(1000 + SR // 2, 1000 + SR)
    assert rms(long[window]) > 10 * rms(short[window])


def test_reverb_predelay_and_balance() -> None:
    x = impulse(SR, at=1000)
    y = render("reverb", x, predelay=100.0, balance=1.0)
    first = int(np.argmax(np.abs(y) > 1e-6))
    assert first >= 1000 + 4800
    y = render("reverb", x, balance=0.3)
    assert y[1000] == pytest.approx(1.0, abs=1e-6)


# -- chorus and phaser -------------------------------------------------------------------


def short_term_levels(y: np.ndarray, window: int = 2400) -> np.ndarray:
    """RMS per 50 ms (a whole number of cycles of 440 Hz and 1 kHz)."""
    frames = len(y) // window
    return np.sqrt(np.mean(y[: frames * window].reshape(frames, window) ** 2, axis=1))


@pytest.mark.parametrize("kind", ["chorus", "phaser"])
def test_modulation_effects_change_the_signal_over_time(kind: str) -> None:
    x = sine(440, 0.3, 2.0) + sine(1000, 0.2, 2.0)
    y = render(kind, x, rate=2.0, depth=1.0)
    steady = slice(SR // 4, None)
    assert np.max(np.abs(y[steady] - x[steady])) > 0.05
    levels = short_term_levels(y[steady])
    reference = short_term_levels(x[steady])
    assert np.std(reference) / np.mean(reference) < 0.01
    assert np.std(levels) / np.mean(levels) > 0.05
    # Two windows a quarter of an LFO period apart have different spectra. (Half
    # a period would not do for the chorus: its two voices just swap places.)
    a = np.abs(np.fft.rfft(y[SR // 2 : SR // 2 + 4800]))
    b = np.abs(np.fft.rfft(y[SR // 2 + SR // 8 : SR // 2 + SR // 8 + 4800]))
    assert np.max(np.abs(a - b)) > 0.05 * np.max(a)


def test_chorus_depth_zero_is_a_fixed_delay_blend() -> None:
    x = sine(440, 0.3, 1.0)
    y = render("chorus", x, depth=0.0, balance=1.0)
    levels = short_term_levels(y[SR // 4 :])
    assert np.std(levels) / np.mean(levels) < 0.01


def test_phaser_makes_notches() -> None:
    x = noise(SR, seed=5)
    y = render("phaser", x, depth=0.0, center=1000.0, feedback=0.0, balance=0.5)
    spectrum = np.abs(np.fft.rfft(y[SR // 4 :])) / np.maximum(np.abs(np.fft.rfft(x[SR // 4 :])),
                                                              1e-9)
    freqs = np.fft.rfftfreq(len(y) - SR // 4, 1 / SR)
    notch = spectrum[(freqs > 900) & (freqs < 1100)]
    assert db(float(np.min(notch))) < -20.0
    assert db(float(np.median(spectrum[freqs < 100]))) > -1.0


# -- cabinet -------------------------------------------------------------------------


def make_context(*dirs: Path, rate: float = SR) -> BuildContext:
    return BuildContext(sample_rate=rate, block=128, channels=1,
                        data_dirs=(*dirs, builtin_data_dir()))


def cabinet(options: dict[str, object] | None = None, *dirs: Path, rate: float = SR):
    return processor_class("cabinet")(options or {}, make_context(*dirs, rate=rate))


def test_cabinet_output_is_the_convolution_with_its_impulse_response() -> None:
    ir = cabinet().ir
    x = noise(SR // 2, seed=7, amplitude=0.2)
    y = render("cabinet", x)
    np.testing.assert_allclose(y, np.convolve(x, ir)[: len(x)], atol=1e-4)
    quieter = render("cabinet", x, level=-12.0)
    np.testing.assert_allclose(quieter, y * 10 ** (-12 / 20), atol=1e-5)


def test_shipped_cabinet_ir_is_a_guitar_cabinet() -> None:
    path = builtin_data_dir() / "cab_4x12.wav"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels) == (48000, 1)
    assert 1024 <= info.frames <= 2048
    assert path.stat().st_size < 16_000
    ir = cabinet().ir
    response = np.abs(np.fft.rfft(ir, 1 << 15))
    freqs = np.fft.rfftfreq(1 << 15, 1 / SR)

    def level(lo: float, hi: float) -> float:
        return db(float(np.max(response[(freqs >= lo) & (freqs <= hi)])))

    assert level(20, 20000) == pytest.approx(0.0, abs=1e-6)  # normalised to a 0 dB peak
    assert level(2000, 3500) > level(700, 1200) + 4  # presence peak
    assert level(90, 140) > level(250, 400) + 4  # low resonance
    assert level(20, 40) < level(90, 140) - 15  # high-pass
    assert level(8000, 20000) < level(2000, 3500) - 25  # steep roll-off


def test_cabinet_ir_generator_is_deterministic(tmp_path: Path) -> None:
    from neuralrig.models.make_cabinet_ir import main

    out = tmp_path / "cab.wav"
    assert main([str(out)]) == 0
    assert out.read_bytes() == (builtin_data_dir() / "cab_4x12.wav").read_bytes()
    assert sf.info(str(out)).subtype == "FLOAT"


def test_cabinet_missing_or_bad_ir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.wav"):
        render("cabinet", sine(100, 0.1, 0.1), ir="nope.wav")
    (tmp_path / "broken.wav").write_text("this is not a wav file")
    sf.write(str(tmp_path / "silent.wav"), np.zeros(256), SR)
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0), SR)
    extra = f"[paths]\nimpulses = [{str(tmp_path)!r}]\n"
    for name in ("broken.wav", "silent.wav", "empty.wav"):
        with pytest.raises(ConfigError, match=re.escape(name)):
            render("cabinet", sine(100, 0.1, 0.1), extra=extra, ir=name)
    with pytest.raises(ConfigError, match="max_length"):
        render("cabinet", sine(100, 0.1, 0.1), max_length=10)
    with pytest.raises(ConfigError, match="max_length"):
        render("cabinet", sine(100, 0.1, 0.1), max_length="long")
    with pytest.raises(ConfigError, match=r"outside\.wav"):
        cabinet({"ir": "../outside.wav"}, tmp_path)


def test_cabinet_mixes_down_truncates_and_fades(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    decay = np.exp(-np.arange(4000) / 800.0)
    left, right = rng.standard_normal(4000) * decay, rng.standard_normal(4000) * decay
    sf.write(str(tmp_path / "stereo.wav"), np.stack([left, right], axis=1), SR,
             subtype="FLOAT")
    loaded = cabinet({"ir": "stereo.wav", "max_length": 1000}, tmp_path).ir
    assert len(loaded) == 1000
    mono = (left + right) / 2
    scale = loaded[0] / mono[0]
    np.testing.assert_allclose(loaded[:900], mono[:900] * scale, rtol=1e-5, atol=1e-7)
    assert abs(loaded[-1]) < 1e-3 * np.max(np.abs(loaded))  # faded out, no step at the cut
    peak = np.max(np.abs(np.fft.rfft(loaded, 1 << 16)))
    assert peak == pytest.approx(1.0, rel=1e-6)


def test_cabinet_resamples_an_ir_recorded_at_another_rate(tmp_path: Path) -> None:
    # A resonance at 1 kHz recorded at 44.1 kHz keeps its frequency at 48 kHz.
    rate = 44100
    t = np.arange(3000) / rate
    ir = np.exp(-t / 0.004) * np.sin(2 * np.pi * 1000 * t)
    sf.write(str(tmp_path / "at44k.wav"), ir, rate, subtype="FLOAT")
    loaded = cabinet({"ir": "at44k.wav", "max_length": 4096}, tmp_path).ir
    assert len(loaded) == pytest.approx(3000 * SR / rate, abs=2)
    response = np.abs(np.fft.rfft(loaded, 1 << 16))
    freqs = np.fft.rfftfreq(1 << 16, 1 / SR)
    assert freqs[np.argmax(response)] == pytest.approx(1000, abs=5)
    original = np.abs(np.fft.rfft(ir, 1 << 16))
    original_freqs = np.fft.rfftfreq(1 << 16, 1 / rate)
    for f in (300, 2000, 8000):
        ours = response[np.argmin(np.abs(freqs - f))] / np.max(response)
        theirs = original[np.argmin(np.abs(original_freqs - f))] / np.max(original)
        assert db(ours / theirs) == pytest.approx(0.0, abs=0.1), f"{f} Hz"


def test_resample_keeps_tones_and_levels() -> None:
    t = np.arange(4410) / 44100
    tone = np.sin(2 * np.pi * 1000 * t)
    up = resample(tone, 44100, 48000)
    assert len(up) == 4800
    expected = np.sin(2 * np.pi * 1000 * np.arange(4800) / 48000)
    np.testing.assert_allclose(up[200:-200], expected[200:-200], atol=1e-3)
    down = resample(np.sin(2 * np.pi * 1000 * np.arange(9600) / 96000), 96000, 48000)
    assert len(down) == 4800
    np.testing.assert_allclose(down[200:-200], expected[200:-200], atol=1e-3)
    # Above the new Nyquist a tone is removed, not folded back.
    alias = resample(np.sin(2 * np.pi * 30000 * np.arange(9600) / 96000), 96000, 48000)
    assert np.max(np.abs(alias[200:-200])) < 1e-3
