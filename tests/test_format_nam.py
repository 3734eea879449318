"""NAM .nam files against the neural-amp-modeler package's own forward pass."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from nam_reference import (
    lstm_nam,
    reference_output,
    reference_signal,
    to_old_schema,
    wavenet_nam,
)

from neuralrig.models.formats import load_model
from neuralrig.server.errors import ConfigError, ModelError
from neuralrig.server.render import model_rig, render_array

BLOCK = 128


def _stream(model, x: np.ndarray, block: int = BLOCK) -> np.ndarray:
    model.prepare(1, block)
    out = np.zeros((1, x.size), np.float32)
    for start in range(0, x.size, block):
        model.process(x[None, start : start + block], out[:, start : start + block])
    return out[0]


def _save(tmp_path, document, name="model.nam"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return reference_signal(10.0)


GATED = {"name": "PairMultiply", "primary": "Tanh", "secondary": "Sigmoid"}


def _new(document):
    return document, document


def _old(document):
    """Ours reads the 0.5.x schema; the package (0.13) reads only the new one."""
    return to_old_schema(document), document


@pytest.mark.parametrize(
    ("make", "label"),
    [
        (lambda: _new(wavenet_nam("standard", seed=1)), "WaveNet standard, 0.7 schema"),
        (lambda: _old(wavenet_nam("standard", seed=2)), "WaveNet standard, 0.5 schema"),
        (lambda: _new(wavenet_nam("lite", seed=3)), "WaveNet lite"),
        (lambda: _new(wavenet_nam("nano", seed=4, activation=GATED)), "WaveNet nano, gated"),
        (lambda: _old(wavenet_nam("nano", seed=5, activation=GATED)),
         "WaveNet nano, gated, 0.5 schema"),
        (lambda: _new(wavenet_nam("nano", seed=6, activation="ReLU")), "WaveNet nano, ReLU"),
        (lambda: _new(lstm_nam(24, 1, seed=7)), "LSTM 1x24 (standard)"),
        (lambda: _new(lstm_nam(8, 2, seed=8)), "LSTM 2x8 (lite)"),
    ],
)
def test_matches_the_reference_implementation(tmp_path, signal, make, label) -> None:
    """10 s streamed in 128-sample blocks against the package's whole-signal forward."""
    ours_document, reference_document = make()
    model = load_model(_save(tmp_path, ours_document))
    ours = _stream(model, signal)
    reference = reference_output(reference_document, signal)
    assert np.sqrt(np.mean(reference**2)) > 1e-3, "reference output is silent"
    assert np.max(np.abs(ours - reference)) <= 1e-4, label


def test_weight_count_of_the_standard_preset() -> None:
    document = wavenet_nam("standard")
    assert len(document["weights"]) == 13_802
    assert len(lstm_nam(24, 1)["weights"]) == 2_569
    model = load_model_from(document)
    assert model.weight_count == 13_802
    assert model.receptive_field == 4_093


def load_model_from(document):
    from neuralrig.models.formats.nam import load_nam

    return load_nam(document)


def test_loudness_normalisation_follows_the_plugin(tmp_path, signal) -> None:
    document = wavenet_nam("nano", seed=9, with_metadata=True)
    loudness = document["metadata"]["loudness"]
    path = _save(tmp_path, document)
    x = signal[: 48_000, None]
    raw = render_array(_rig(path, normalize=False), x, 48_000)[:, 0]
    normalised = render_array(_rig(path), x, 48_000)[:, 0]
    gain = 10 ** ((-18.0 - loudness) / 20)
    np.testing.assert_allclose(normalised, raw * gain, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(raw, reference_output(document, x[:, 0]), atol=1e-4)


def test_input_level_calibration(tmp_path) -> None:
    document = lstm_nam(8, 1, seed=10)
    document["metadata"] = {"input_level_dbu": 12.0}
    path = _save(tmp_path, document)
    x = (0.1 * np.random.default_rng(0).standard_normal((4_800, 1))).astype(np.float32)
    calibrated = render_array(_rig(path, normalize=False, input_level_dbu=18), x, 48_000)
    # 6 dB hotter interface: the model sees the input doubled (10^(6/20) = 1.995).
    expected = reference_output(document, x[:, 0] * 10 ** (6 / 20))
    np.testing.assert_allclose(calibrated[:, 0], expected, atol=1e-4)


def _rig(path, **options):
    from dataclasses import replace

    rig = model_rig(path)
    slot = rig.slots[0]
    settings = {**slot.settings, **options}
    return replace(rig, slots=(replace(slot, settings=settings),))


def _mutate(document, change):
    document = copy.deepcopy(document)
    change(document)
    return document


def _first_array(document):
    return document["config"]["layers"][0]


WAVENET = wavenet_nam("nano", seed=11)
LSTM = lstm_nam(8, 1, seed=12)

REFUSALS = [
    ("bottleneck", lambda d: _first_array(d).update(bottleneck=2), "bottleneck"),
    ("head1x1", lambda d: _first_array(d).update(head1x1={"active": True, "out_channels": 2,
                                                           "groups": 1}), "head1x1"),
    ("film", lambda d: _first_array(d).update(conv_pre_film={"active": True, "shift": True,
                                                             "groups": 1}), "FiLM"),
    ("slimmable", lambda d: _first_array(d).update(
        slimmable={"method": "slice_channels_uniform", "kwargs": {}}), "slimmable"),
    ("condition_dsp", lambda d: d["config"].update(condition_dsp={"name": "WaveNet"}),
     "condition_dsp"),
    ("blended", lambda d: _first_array(d).update(gating_mode=["blended"] * 7), "gating_mode"),
    ("groups", lambda d: _first_array(d).update(groups_input=2), "groups_input"),
    ("version", lambda d: d.update(version="0.9.0"), "version 0.9.0"),
    ("a2-container", lambda d: d.update(architecture="SlimmableContainer"),
     "SlimmableContainer"),
    ("too-few", lambda d: d["weights"].pop(), "expected 842 weights"),
    ("too-many", lambda d: d["weights"].append(0.5), "expected 842 weights"),
    ("nan", lambda d: d["weights"].__setitem__(5, math.nan), "weight 5 is NaN or Inf"),
    ("inf", lambda d: d["weights"].__setitem__(7, math.inf), "weight 7 is NaN or Inf"),
    ("text-weight", lambda d: d["weights"].__setitem__(0, "x"), "not a number"),
    ("absurd-channels", lambda d: _first_array(d).update(channels=100_000), "channels"),
    ("absurd-dilation", lambda d: _first_array(d)["dilations"].__setitem__(0, 10**9),
     "dilation"),
    ("rate", lambda d: d.update(sample_rate=5), "sample_rate"),
]


@pytest.mark.parametrize(("case", "change", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_malformed_wavenet_files_are_refused(tmp_path, case, change, message) -> None:
    path = _save(tmp_path, _mutate(WAVENET, change))
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["config"].update(hidden_size=0), "hidden_size"),
        (lambda d: d["config"].update(hidden_size=5000), "hidden_size"),
        (lambda d: d["config"].update(num_layers=2), "expected"),
        (lambda d: d.update(weights=[]), "non-empty"),
    ],
)
def test_malformed_lstm_files_are_refused(tmp_path, change, message) -> None:
    with pytest.raises(ModelError, match=message):
        load_model(_save(tmp_path, _mutate(LSTM, change)))


def test_content_not_extension_decides(tmp_path, signal) -> None:
    path = _save(tmp_path, LSTM, name="capture.json")
    model = load_model(path)
    assert model.metadata["format"] == "nam"
    garbage = tmp_path / "amp.nam"
    garbage.write_bytes(b"\x00\x01 not json")
    with pytest.raises(ModelError, match="not a model file"):
        load_model(garbage)


def test_a_running_rig_keeps_its_model_when_a_bad_one_is_loaded(tmp_path, signal) -> None:
    from neuralrig.server.audio.offline import OfflineBackend
    from neuralrig.server.engine.engine import Engine

    good = _save(tmp_path, LSTM, "good.nam")
    bad = _save(tmp_path, _mutate(LSTM, lambda d: d["weights"].pop()), "bad.nam")
    engine = Engine(OfflineBackend(), _rig(good, normalize=False))
    engine.start()
    try:
        x = signal[: 4 * BLOCK, None]
        before = engine.process_offline(x)
        with pytest.raises(ConfigError, match="expected 345 weights, the file has 344"):
            engine.load(_rig(bad, normalize=False))
        after = engine.process_offline(x)
        assert np.max(np.abs(after)) > 1e-3
        assert engine.config.slots[0].settings["model"] == "good.nam"
        assert before.shape == after.shape
    finally:
        engine.stop()


def test_render_cli_runs_a_nam_file(tmp_path, guitar_wav) -> None:
    from conftest import run_cli

    path = _save(tmp_path, WAVENET, "amp.nam")
    out = tmp_path / "out.wav"
    result = run_cli("render", str(guitar_wav), str(out), "--model", str(path))
    assert result.returncode == 0, result.stderr
    assert out.exists()


def test_bench_reports_the_reference_side_by_side(tmp_path) -> None:
    from conftest import run_cli

    path = _save(tmp_path, WAVENET, "amp.nam")
    result = run_cli("bench", "--model", str(path), "--block", "64", "--seconds", "0.5",
                     "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["model"]
    assert report["block"] == 64 and report["sample_rate"] == 48_000
    assert report["neuralrig_rtf"] > 0 and report["reference_rtf"] > 0
    assert "neural-amp-modeler" in report["reference"]
    assert report["speedup"] == pytest.approx(report["neuralrig_rtf"] / report["reference_rtf"],
                                              rel=0.02)
