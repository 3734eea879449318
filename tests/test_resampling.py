"""Models at their native rate in an engine at another: polyphase resampling in the slot.

Spectral figures use one second of settled output (1 Hz bins, so integer-Hz
tones sit on a bin) under a periodic 4-term Blackman-Harris window, whose
spectrum of an on-bin tone is exactly 7 bins wide: everything outside the
tone's main lobe is aliasing, imaging or numerical noise.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from neuralrig.models.base import StreamingModel
from neuralrig.models.builtin import Identity, tiny_lstm
from neuralrig.models.formats.native import save_model
from neuralrig.models.resampled import ResampledModel
from neuralrig.server.config import RigConfig
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError
from neuralrig.server.render import model_rig, render_array

SETTLE = 2048  # engine or model samples skipped before measuring (filter transients)


class Recorder(StreamingModel):
    """Identity that keeps everything it was given (at the model rate)."""

    name = architecture = "recorder"

    def __init__(self, rate: int, capacity: int, latency: int = 0) -> None:
        self.sample_rate = rate
        self.latency_samples = latency
        self.seen = np.zeros(capacity, np.float32)
        self.count = 0
        self.blocks: set[int] = set()
        self._line = np.zeros(latency + 1, np.float32)

    def clear_state(self) -> None:
        self.count = 0
        self.blocks = set()
        self._line[:] = 0.0

    def run(self, x, ctrl, out) -> None:
        n = x.shape[1]
        self.blocks.add(n)
        take = min(n, self.seen.size - self.count)
        self.seen[self.count:self.count + take] = x[0, :take]
        self.count += take
        d = self.latency_samples
        if d == 0:
            out[:] = x
            return
        for t in range(n):  # a d-sample delay line: the model's own latency
            self._line[d] = x[0, t]
            out[:, t] = self._line[0]
            self._line[:d] = self._line[1:]


class Tone(StreamingModel):
    """Ignores its input and plays a sine: content the model makes above the engine's band."""

    name = architecture = "tone"

    def __init__(self, rate: int, freq: float) -> None:
        self.sample_rate = rate
        self.freq = freq
        self.n = 0

    def clear_state(self) -> None:
        self.n = 0

    def run(self, x, ctrl, out) -> None:
        t = np.arange(self.n, self.n + x.shape[1])
        out[:] = 0.5 * np.sin(2 * np.pi * self.freq * t / self.sample_rate)
        self.n += x.shape[1]


class Level(StreamingModel):
    """A model with one control: output = input x level."""

    name = architecture = "level"
    controls = (ParamSpec("level", 0.0, 2.0, 1.0),)

    def __init__(self, rate: int) -> None:
        self.sample_rate = rate
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1
        super().reset()

    def run(self, x, ctrl, out) -> None:
        out[:] = x * (2.0 * ctrl[0])


def sine(freq: float, rate: int, frames: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(frames) / rate)).astype(np.float32)


def spectrum_report(signal: np.ndarray, rate: int, freq: float) -> tuple[float, float, float]:
    """(peak frequency Hz, everything off the tone's main lobe vs the tone in dB, tone amplitude)
    over the last second of ``signal``."""
    seg = np.asarray(signal[-rate:], np.float64)
    k = np.arange(rate)
    window = (0.35875 - 0.48829 * np.cos(2 * np.pi * k / rate)
              + 0.14128 * np.cos(4 * np.pi * k / rate) - 0.01168 * np.cos(6 * np.pi * k / rate))
    power = np.abs(np.fft.rfft(seg * window)) ** 2
    peak = float(np.argmax(power))  # 1 Hz bins
    lobe = np.zeros(power.size, bool)
    centre = round(freq)
    lobe[max(0, centre - 6):centre + 7] = True
    tone = power[lobe].sum()
    spurs = power[~lobe].sum()
    amplitude = 2.0 * np.sqrt(tone / np.sum(window**2) / seg.size)
    return peak, 10 * np.log10(max(spurs, 1e-300) / tone), float(amplitude)


def run_blocks(model: StreamingModel, x: np.ndarray, block: int) -> np.ndarray:
    x = np.atleast_2d(x)
    y = np.zeros_like(x)
    for start in range(0, x.shape[1], block):
        model.process(x[:, start:start + block], y[:, start:start + block])
    return y


def wrapped(inner: StreamingModel, engine_rate: int, block: int = 128,
            channels: int = 1) -> ResampledModel:
    model = ResampledModel(inner, engine_rate)
    model.prepare(channels, block)
    return model


# -- the filters ----------------------------------------------------------------------


@pytest.mark.parametrize(("model_rate", "engine_rate"),
                         [(48000, 44100), (44100, 48000), (96000, 48000), (22050, 48000)])
def test_filters_meet_the_specification(model_rate: int, engine_rate: int) -> None:
    """Both prototypes: flat to 0.91 of the lower Nyquist, >= 99 dB down from it on."""
    model = ResampledModel(Recorder(model_rate, 1), engine_rate)
    nyquist = 0.5 * min(model_rate, engine_rate)
    if nyquist == 22050:
        assert model.passband_hz >= 20000
    for bank, up, rate in ((model._bank_in, model.up, engine_rate),
                           (model._bank_out, model.down, model_rate)):
        h = bank[:, ::-1].T.reshape(-1).astype(np.float64) / up
        n = 1 << 21
        response = np.abs(np.fft.rfft(h, n))
        freqs = np.fft.rfftfreq(n, 1.0 / (up * rate))
        db = 20 * np.log10(np.maximum(response, 1e-300))
        passband = db[freqs <= model.passband_hz]
        assert passband.max() < 0.001 and passband.min() > -0.001
        assert db[freqs >= nyquist].max() < -99.0


def test_inner_model_gets_blocks_sized_for_the_model_rate() -> None:
    inner = Recorder(48000, 48000)
    model = wrapped(inner, 44100, block=128)
    assert model.max_model_block == inner.max_block == 140  # ceil(128 * 160 / 147)
    inner.clear_state()
    run_blocks(model, np.zeros(128 * 200, np.float32), 128)
    assert inner.blocks == {139, 140}
    assert model.underruns == 0


# -- tones, directly on ResampledModel -----------------------------------------------


@pytest.mark.parametrize(("model_rate", "engine_rate"), [(48000, 44100), (44100, 48000)])
@pytest.mark.parametrize("freq", [1000, 7000, 18000])
def test_tone_keeps_its_frequency_without_images_or_aliases(
        model_rate: int, engine_rate: int, freq: int) -> None:
    inner = Recorder(model_rate, 2 * model_rate)
    model = wrapped(inner, engine_rate)
    inner.clear_state()
    x = sine(freq, engine_rate, engine_rate + SETTLE + 200)
    y = run_blocks(model, x, 128)[0]
    assert model.underruns == 0
    # What the model heard, at its own rate: the tone and nothing else.
    heard = inner.seen[:inner.count]
    assert heard.size > model_rate + SETTLE
    peak, spurs, amplitude = spectrum_report(heard[:model_rate + SETTLE], model_rate, freq)
    assert peak == freq
    assert spurs < -80.0, f"imaging/aliasing into the model {spurs:.1f} dB"
    assert amplitude == pytest.approx(0.5, rel=2e-4)
    # What came back at the engine rate.
    peak, spurs, amplitude = spectrum_report(y, engine_rate, freq)
    assert peak == freq
    assert spurs < -80.0, f"imaging/aliasing back in the engine {spurs:.1f} dB"
    assert amplitude == pytest.approx(0.5, rel=2e-4)
    # The round trip is a pure delay of latency_samples.
    lat = model.latency_samples
    np.testing.assert_allclose(y[SETTLE + lat:], x[SETTLE:x.size - lat], atol=1e-4)


def test_engine_content_above_the_model_band_does_not_alias() -> None:
    """A 23 kHz tone in a 48 kHz engine would alias to 21.1 kHz at 44.1 kHz."""
    inner = Recorder(44100, 2 * 44100)
    model = wrapped(inner, 48000)
    inner.clear_state()
    y = run_blocks(model, sine(23000, 48000, 48000 + SETTLE), 128)[0]
    heard = inner.seen[SETTLE:inner.count]
    assert 20 * np.log10(np.sqrt(2) * np.std(heard) / 0.5) < -80.0
    assert 20 * np.log10(np.sqrt(2) * np.std(y[SETTLE:]) / 0.5) < -80.0


def test_model_content_above_the_engine_band_does_not_alias() -> None:
    """A 48 kHz model making 23 kHz would alias to 21.1 kHz in a 44.1 kHz engine."""
    model = wrapped(Tone(48000, 23000), 44100)
    y = run_blocks(model, np.zeros(44100 + SETTLE, np.float32), 128)[0]
    assert 20 * np.log10(np.sqrt(2) * np.std(y[SETTLE:]) / 0.5) < -80.0


# -- latency and streaming ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_rate", "engine_rate", "inner_latency"),
    [(48000, 44100, 0), (44100, 48000, 0), (96000, 48000, 0), (48000, 96000, 0),
     (88200, 48000, 0), (22050, 48000, 0), (48000, 44100, 5), (44100, 48000, 3)])
def test_declared_latency_is_the_measured_delay(
        model_rate: int, engine_rate: int, inner_latency: int) -> None:
    model = wrapped(Recorder(model_rate, 1, latency=inner_latency), engine_rate, block=64)
    x = np.zeros(3000, np.float32)
    x[100] = 1.0
    y = run_blocks(model, x, 64)[0]
    lat = model.latency_samples
    assert int(np.argmax(np.abs(y))) - 100 == lat
    # Linear phase about a whole sample: the delay is exactly latency_samples.
    assert y[100 + lat - 1] == pytest.approx(y[100 + lat + 1], abs=1e-4)
    converted = inner_latency * engine_rate / model_rate
    assert model.latency_samples - model.added_latency == round(converted)


@pytest.mark.parametrize(("model_rate", "engine_rate"),
                         [(48000, 44100), (44100, 48000), (22050, 48000), (96000, 48000)])
def test_block_size_does_not_change_the_output(model_rate: int, engine_rate: int) -> None:
    frames = 9000
    rng = np.random.default_rng(3)
    x = (0.3 * rng.standard_normal((2, frames))).astype(np.float32)

    def make() -> ResampledModel:
        inner = tiny_lstm()
        inner.sample_rate = model_rate
        model = ResampledModel(inner, engine_rate)
        model.prepare(2, 4096)
        return model

    big = make()
    big.prepare(2, frames)
    whole = np.zeros_like(x)
    big.process(x, whole)
    assert np.max(np.abs(whole)) > 0.01
    model = make()
    for block in (1, 7, 64, 128, 4096):
        model.reset()
        y = run_blocks(model, x, block)
        assert np.max(np.abs(y - whole)) <= 1e-5, f"block {block}"
        assert model.underruns == 0


@pytest.mark.parametrize("channels", [1, 2])
def test_nothing_compiles_after_prepare(channels: int) -> None:
    from neuralrig.models.runtime.resample import fifo_pop, resample_block

    inner = tiny_lstm()
    inner.sample_rate = 48000
    model = wrapped(inner, 44100, block=128, channels=channels)
    before = (len(resample_block.signatures), len(fifo_pop.signatures))
    x = np.zeros((channels, 1000), np.float32)
    for block in (128, 1, 77, 128):
        run_blocks(model, x, block)
    assert (len(resample_block.signatures), len(fifo_pop.signatures)) == before


def test_controls_and_reset_reach_the_inner_model() -> None:
    inner = Level(48000)
    model = wrapped(inner, 44100)
    assert model.controls == inner.controls
    resets = inner.resets
    model.reset()
    assert inner.resets == resets + 1
    x = sine(1000, 44100, 6000)
    loud = run_blocks(model, x, 128)[0]
    model.set_control("level", 0.5)
    model.reset()
    quiet = run_blocks(model, x, 128)[0]
    np.testing.assert_allclose(quiet[3000:], 0.5 * loud[3000:], atol=1e-5)
    with pytest.raises(KeyError):
        model.set_control("nope", 1.0)


def test_unreasonable_ratio_is_refused() -> None:
    with pytest.raises(ModelError, match="ratio"):
        ResampledModel(Recorder(44101, 1), 48000)


# -- through the real offline engine ----------------------------------------------------


@pytest.fixture(scope="module")
def saved_identities(tmp_path_factory) -> dict[int, object]:
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for rate in (48000, 44100):
        model = Identity()
        model.sample_rate = rate
        path = folder / f"identity-{rate}.safetensors"
        save_model(path, model)
        paths[rate] = path
    return paths


@pytest.mark.parametrize(("model_rate", "engine_rate"), [(48000, 44100), (44100, 48000)])
def test_rendered_tones_through_a_model_at_another_rate(
        saved_identities, caplog, model_rate: int, engine_rate: int) -> None:
    rig = model_rig(saved_identities[model_rate], RigConfig(sample_rate=engine_rate))
    frames = engine_rate + SETTLE
    for freqs in ((1000, 7000), (18000,)):  # a stereo render, then a mono one
        x = np.stack([sine(f, engine_rate, frames) for f in freqs], axis=1)
        with caplog.at_level(logging.INFO, logger="neuralrig.neural"):
            y = render_array(rig, x, engine_rate)
        assert f"resampling from {engine_rate} Hz adds" in caplog.text
        assert y.shape == x.shape
        # The tone stops dead at the end; the filters' ring there is not measured.
        settled = slice(SETTLE // 2, frames - SETTLE // 2)
        for channel, freq in enumerate(freqs):
            peak, spurs, amplitude = spectrum_report(y[settled, channel], engine_rate, freq)
            assert peak == freq
            assert spurs < -80.0, f"{freq} Hz: {spurs:.1f} dB"
            assert amplitude == pytest.approx(0.5, rel=2e-4)
        # Latency compensated: the output lines up with the input.
        np.testing.assert_allclose(y[settled], x[settled], atol=1e-4)


def test_rendered_impulse_lines_up_after_compensation(saved_identities) -> None:
    rig = model_rig(saved_identities[48000], RigConfig(sample_rate=44100))
    x = np.zeros((4000, 1), np.float32)
    x[1000, 0] = 1.0
    y = render_array(rig, x, 44100)[:, 0]
    assert abs(int(np.argmax(np.abs(y))) - 1000) <= 1
    assert y[1000] > 0.9
