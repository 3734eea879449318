"""The capture signal (deterministic, documented layout) and the recording check/alignment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, lfilter

from conftest import run_cli
from neuralrig.models.capture import capture_signal, check_and_align
from neuralrig.models.capture.align import CAUSAL_MARGIN
from neuralrig.server.errors import CaptureError

SCALE = 0.05  # a ~14 s signal: every section, fast to generate and check
RATE = 48000


@pytest.fixture(scope="module")
def short() -> tuple[np.ndarray, object]:
    return capture_signal(RATE, seconds_scale=SCALE)


def _device(x: np.ndarray, delay: int, invert: bool = False) -> np.ndarray:
    """A stand-in pedal: tanh(3x) into a one-pole lowpass, then `delay` samples of latency."""
    y = lfilter([0.3], [1.0, -0.7], np.tanh(3.0 * x.astype(np.float64)))
    y = np.concatenate([np.zeros(delay), y])
    return (-y if invert else y).astype(np.float32)



def test_full_signal_layout_and_level() -> None:
    x, layout = capture_signal(48000)
    assert x.dtype == np.float32 and x.ndim == 1
    assert 170 * 48000 <= x.size <= 190 * 48000 and layout.length == x.size
    assert 20 * np.log10(np.max(np.abs(x))) <= -0.5
    names = [s.name for s in layout.sections]
    assert names == ["lead_silence", "blips", "sweeps", "noise", "playing", "level_steps",
                     "gap", "validation", "tail_silence", "end_blips"]
    # Contiguous sections covering the whole signal, at the documented positions.
    assert layout.sections[0].start == 0 and layout.sections[-1].end == x.size
    for a, b in itertools.pairwise(layout.sections):
        assert a.end == b.start
    assert layout.lead_blips == (24000, 72000)
    assert layout.section("playing").start == round(20.3 * 48000)
    assert layout.section("validation").length == 9 * 48000
    # Silence where the layout says, clicks where it says (and nowhere in the silences).
    for name in ("lead_silence", "gap", "tail_silence"):
        sec = layout.section(name)
        assert not np.any(x[sec.start:sec.end])
    for name in ("blips", "end_blips"):
        sec = layout.section(name)
        hits = sec.start + np.flatnonzero(x[sec.start:sec.end])
        assert tuple(hits) == (layout.lead_blips if name == "blips" else layout.end_blips)
    # The validation material is not repeated in the training part.
    val = x[slice(*layout.validation)]
    train = x[slice(*layout.train)]
    probe = val[48000:48000 + 4096]
    hay = train[: 60 * 48000].astype(np.float64)
    corr = np.correlate(hay, probe.astype(np.float64), mode="valid")
    energy = np.concatenate([[0.0], np.cumsum(hay * hay)])
    window = np.sqrt(np.maximum(energy[probe.size:] - energy[: -probe.size], 0.0))
    norm = float(np.linalg.norm(probe))
    loud = window > 0.05 * norm  # cosine similarity where the training part is not silent
    assert np.max(np.abs(corr[loud]) / (window[loud] * norm)) < 0.9
    # The level steps repeat one phrase 6 dB apart.
    steps = layout.section("level_steps")
    parts = np.split(x[steps.start:steps.end].astype(np.float64), 5)
    for quiet, loud in itertools.pairwise(parts):
        assert np.allclose(loud * 10 ** (-6 / 20), quiet, atol=1e-6)


def test_deterministic_and_both_rates(short) -> None:
    x, layout = short
    again, layout2 = capture_signal(RATE, seconds_scale=SCALE)
    assert np.array_equal(x, again) and layout == layout2
    other, _ = capture_signal(RATE, seed=1, seconds_scale=SCALE)
    assert not np.array_equal(x, other)
    y, ly = capture_signal(44100, seconds_scale=SCALE)
    assert ly.sample_rate == 44100 and ly.lead_blips == (22050, 66150)
    assert abs(y.size / 44100 - x.size / RATE) < 0.01
    assert np.max(np.abs(y)) <= 10 ** (-0.5 / 20)
    for b in ly.lead_blips + ly.end_blips:
        assert y[b] > 0.85 and not np.any(y[b - 2000:b]) and not np.any(y[b + 1:b + 2000])


@pytest.mark.parametrize("delay", [0, 37, 480, 1234])
def test_latency_detected_and_pairs_line_up(short, delay: int) -> None:
    x, layout = short
    wet = _device(x, delay)
    result = check_and_align(x, wet, RATE, RATE, layout)
    assert abs(result.latency_samples - delay) <= 1
    assert result.warnings == [] and not result.polarity_inverted
    assert result.dry.size == result.wet.size
    # Aligned a little early (never late): the model never needs to look ahead.
    assert result.shift == max(0, result.latency_samples - CAUSAL_MARGIN)
    expected = _device(x, delay - result.shift)[: result.wet.size]
    assert np.allclose(result.wet, expected, atol=1e-6)
    assert result.train == layout.train and result.validation == layout.validation
    assert result.validation[1] <= result.wet.size


def test_a_given_latency_overrides_the_detected_one_for_the_shift(short) -> None:
    x, layout = short
    wet = _device(x, 41)
    result = check_and_align(x, wet, RATE, RATE, layout, latency=39)
    assert result.latency_samples == 41  # still detected and reported
    assert result.shift == 39 - CAUSAL_MARGIN
    assert np.allclose(result.wet, _device(x, 41 - result.shift)[: result.wet.size], atol=1e-6)
    with pytest.raises(CaptureError, match="cannot align at a latency of -1"):
        check_and_align(x, wet, RATE, RATE, layout, latency=-1)


def test_polarity_inversion_flipped_with_warning(short) -> None:
    x, layout = short
    result = check_and_align(x, _device(x, 480, invert=True), RATE, RATE, layout)
    assert result.latency_samples == 480 and result.polarity_inverted
    assert any("polarity" in w for w in result.warnings)
    assert np.allclose(result.wet, _device(x, 480 - result.shift)[: result.wet.size], atol=1e-6)


def test_filtered_device_aligns_on_the_response_onset_not_its_peak(short) -> None:
    """A dark, inverting device: its click response peaks 11 samples after it starts."""
    x, layout = short
    b, a = butter(4, 1500, fs=RATE)
    wet = -0.5 * lfilter(b, a, np.tanh(3.0 * x.astype(np.float64)))
    wet = np.concatenate([np.zeros(100), wet]).astype(np.float32)
    result = check_and_align(x, wet, RATE, RATE, layout)
    peak = int(np.argmax(np.abs(lfilter(b, a, np.eye(1, 200)[0]))))
    assert peak > 10  # the peak is well after the onset
    assert 100 <= result.latency_samples <= 104
    assert result.shift <= 100  # causal: the response is never before its input
    assert result.polarity_inverted


def test_44k1_alignment() -> None:
    x, layout = capture_signal(44100, seconds_scale=SCALE)
    assert check_and_align(x, _device(x, 200), 44100, 44100, layout).latency_samples == 200


def _refused(x, wet, layout, *needles: str, dry_rate=RATE, wet_rate=RATE) -> str:
    with pytest.raises(CaptureError) as info:
        check_and_align(x, wet, dry_rate, wet_rate, layout)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return message


def test_errors(short) -> None:
    x, layout = short
    wet = _device(x, 100)
    _refused(x, wet, layout, "44100 Hz", "48000 Hz", wet_rate=44100)
    _refused(x, wet[: x.size // 2], layout, "long", "record the whole")
    _refused(x, np.concatenate([wet, np.zeros(3 * RATE, np.float32)]), layout, "long")
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, x.size).astype(np.float32)
    _refused(noise, wet, layout, "DRY.wav is not neuralrig's capture signal")
    _refused(x[:-10], wet, layout, "DRY.wav is not neuralrig's capture signal")
    clipped = np.clip(4.0 * np.concatenate([np.zeros(100), x]), -1.0, 1.0).astype(np.float32)
    _refused(x, clipped, layout, "clips", "samples at full scale")
    quiet = (wet / np.max(np.abs(wet)) * 10 ** (-70 / 20)).astype(np.float32)
    _refused(x, quiet, layout, "too quiet", "dBFS")
    _refused(x, np.zeros_like(wet), layout, "silent")


def _stretch(x: np.ndarray, ratio: float, after: int = 0) -> np.ndarray:
    """Resample by `ratio` (a recording clock running fast), from sample `after` on."""
    head, tail = x[:after], x[after:].astype(np.float64)
    grid = np.arange(int(tail.size * ratio)) / ratio
    return np.concatenate([head, np.interp(grid, np.arange(tail.size), tail)]).astype(np.float32)


def test_drift_refused(short) -> None:
    x, layout = short
    wet = _device(x, 50)
    # The whole recording resampled by 1.0005: the clicks disagree already at the start.
    _refused(x, _stretch(wet, 1.0005), layout, "latency drifts", "clock")
    # Drift only after the leading clicks: the trailing clicks give another latency.
    message = _refused(x, _stretch(wet, 1.0005, after=layout.section("sweeps").start), layout,
                       "latency drifts", "trailing click")
    assert "50 samples" in message


def test_cli_writes_signal(tmp_path) -> None:
    out = tmp_path / "capture.wav"
    result = run_cli("capture-signal", str(out), "--sr", "44100")
    assert result.returncode == 0, result.stderr
    info = sf.info(str(out))
    signal, layout = capture_signal(44100)
    assert info.samplerate == 44100 and info.channels == 1 and info.frames == signal.size
    assert info.subtype == "FLOAT"
    data, _ = sf.read(str(out), dtype="float32")
    assert np.array_equal(data, signal)
    for sec in layout.sections:
        assert sec.name in result.stdout
    assert "177.80 s" in result.stdout


def test_cli_bad_rate(tmp_path) -> None:
    result = run_cli("capture-signal", str(tmp_path / "c.wav"), "--sr", "1000")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("neuralrig: error:"), result.stderr
    assert "1000 Hz" in lines[0]
    assert not (tmp_path / "c.wav").exists()
