"""`neuralrig render IN.wav OUT.wav --model FILE` for every model format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from nam_reference import wavenet_nam
from test_format_aidax import _aidax
from test_format_proteus import _proteus

from conftest import run_cli
from neuralrig.models.builtin import tiny_lstm
from neuralrig.models.formats.native import save_model
from neuralrig.server.render import model_rig, render_array


def _native(folder):
    model = tiny_lstm()
    model.sample_rate = 48_000
    path = folder / "tiny.safetensors"
    save_model(path, model)
    return path


def _json(folder, name, document):
    path = folder / name
    path.write_text(json.dumps(document))
    return path


FORMATS = {
    "neuralrig": _native,
    "nam": lambda folder: _json(folder, "amp.nam", wavenet_nam("nano", seed=2)),
    "aidax": lambda folder: _json(folder, "aida.json", _aidax("gru", knobs=1, skip=True)[0]),
    # A 44.1 kHz Proteus model on a 48 kHz file: the slot resamples.
    "proteus": lambda folder: _json(folder, "proteus.json", _proteus("LSTM", inputs=2)[0]),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_runs_every_format(tmp_path, guitar_wav, fmt: str) -> None:
    model = FORMATS[fmt](tmp_path)
    out = tmp_path / f"out-{fmt}.wav"
    result = run_cli("render", str(guitar_wav), str(out), "--model", str(model))
    assert result.returncode == 0, result.stderr
    rendered, rate = sf.read(out, dtype="float32", always_2d=True)
    source, _ = sf.read(guitar_wav, dtype="float32", always_2d=True)
    assert rendered.shape == source.shape
    assert np.max(np.abs(rendered - source)) > 1e-3, "the model changed nothing"
    # The WAV is PCM: the file clips at full scale (the CLI logs the peak).
    expected = np.clip(render_array(model_rig(model), source, rate), -1.0, 1.0)
    np.testing.assert_allclose(rendered, expected, atol=1e-4)
