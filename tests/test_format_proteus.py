"""GuitarML Proteus / Automated-GuitarAmpModelling JSON models against PyTorch, and refusals."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from stream_util import stream_cycled

from neuralrig.models.formats import load_model
from neuralrig.server.errors import ModelError
from neuralrig.server.render import model_rig, render_array

TOLERANCE = 1e-4
FRAMES = 1500


def _proteus(unit: str = "LSTM", inputs: int = 2, hidden: int = 40, layers: int = 1,
             skip: bool = True, bias_fl: bool = True, seed: int = 0):
    """A SimpleRNN document and the torch modules it was written from."""
    torch.manual_seed(seed)
    kind = torch.nn.LSTM if unit == "LSTM" else torch.nn.GRU
    rnn = kind(inputs, hidden, num_layers=layers, batch_first=True).double()
    lin = torch.nn.Linear(hidden, 1, bias=bias_fl).double()
    with torch.no_grad():
        for p in (*rnn.parameters(), *lin.parameters()):
            p.uniform_(-0.4, 0.4)
    state = {f"rec.{k}": v.numpy().tolist() for k, v in rnn.state_dict().items()}
    state.update({f"lin.{k}": v.numpy().tolist() for k, v in lin.state_dict().items()})
    doc = {
        "model_data": {"model": "SimpleRNN", "input_size": inputs, "skip": int(skip),
                       "output_size": 1, "unit_type": unit, "num_layers": layers,
                       "hidden_size": hidden, "bias_fl": bias_fl},
        "state_dict": state,
    }
    return doc, rnn, lin


def _features(knob_values, frames: int = FRAMES) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(frames) / 44100.0
    audio = 0.5 * np.sin(2 * np.pi * 82.4 * t) + 0.05 * rng.standard_normal(frames)
    return np.stack([audio, *(np.full(frames, v) for v in knob_values)],
                    axis=1).astype(np.float32)


def _reference(rnn, lin, features: np.ndarray, skip: bool) -> np.ndarray:
    with torch.no_grad():
        x = torch.from_numpy(features.astype(np.float64))[None]
        y = lin(rnn(x)[0])[0, :, 0].numpy()
    return y + features[:, 0] if skip else y


def _write(tmp_path, doc, name: str = "proteus.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("unit", "inputs", "hidden", "layers", "skip", "bias_fl"),
    [
        ("LSTM", 2, 40, 1, True, True),
        ("LSTM", 3, 40, 1, True, True),
        ("LSTM", 1, 40, 1, True, True),
        ("GRU", 2, 16, 1, False, True),
        ("LSTM", 1, 8, 2, False, False),
    ],
)
def test_reproduces_torch_in_blocks(tmp_path, unit, inputs, hidden, layers, skip,
                                    bias_fl) -> None:
    doc, rnn, lin = _proteus(unit, inputs, hidden, layers, skip, bias_fl)
    model = load_model(_write(tmp_path, doc))
    assert model.architecture == unit.lower()
    assert (model.hidden, model.layers, model.skip) == (hidden, layers, skip)
    assert [c.name for c in model.controls] == ["gain", "tone"][: inputs - 1]
    assert all((c.minimum, c.maximum, c.default) == (0.0, 1.0, 0.5) for c in model.controls)
    assert model.sample_rate == 44100
    assert model.metadata["format"] == "proteus"
    knob_values = (0.7, 0.2)[: inputs - 1]
    features = _features(knob_values)
    expected = _reference(rnn, lin, features, skip)
    for sizes in [(128,), (41, 128, 3)]:
        got = stream_cycled(model, features, sizes, knob_values)
        assert np.max(np.abs(got - expected)) <= TOLERANCE, sizes


def test_a_stated_rate_wins(tmp_path) -> None:
    doc, _, _ = _proteus(hidden=4)
    doc["model_data"]["samplerate"] = 48000
    assert load_model(_write(tmp_path, doc)).sample_rate == 48000


def test_detected_by_content_not_extension(tmp_path) -> None:
    doc, _, _ = _proteus(hidden=4)
    model = load_model(_write(tmp_path, doc, "capture.nam"))
    assert model.metadata["format"] == "proteus"


def test_renders_in_a_rig_with_its_knob(tmp_path) -> None:
    doc, rnn, lin = _proteus("LSTM", 2, 40)
    path = _write(tmp_path, doc)
    rig = model_rig(path)
    slot = rig.slots[0]
    rig = replace(rig, slots=(replace(slot, settings={**slot.settings, "gain": 0.7}),))
    features = _features((0.7,))
    out = render_array(rig, features[:, :1], 44100)
    assert np.max(np.abs(out[:, 0] - _reference(rnn, lin, features, True))) <= TOLERANCE


def _break(doc: dict, case: str) -> None:
    data, state = doc["model_data"], doc["state_dict"]
    if case == "data_object":
        doc["model_data"] = "LSTM-40"
    elif case == "state_object":
        doc["state_dict"] = [1, 2]
    elif case == "model":
        data["model"] = "ConvNet"
    elif case == "unit":
        data["unit_type"] = "RNN"
    elif case == "missing":
        del state["rec.bias_hh_l0"]
    elif case == "extra":
        state["rec.weight_ih_l0_reverse"] = state["rec.weight_ih_l0"]
    elif case == "shape":
        state["rec.weight_ih_l0"] = np.zeros((160, 3)).tolist()
    elif case == "count":
        state["lin.weight"] = [state["lin.weight"][0][:39]]
    elif case == "ragged":
        state["lin.weight"] = [[0.1, 0.2], [0.3]]
    elif case == "nan":
        state["rec.weight_hh_l0"][5][7] = float("nan")
    elif case == "inf":
        state["lin.bias"] = [float("-inf")]
    elif case == "hidden":
        data["hidden_size"] = 4096
    elif case == "layers":
        data["num_layers"] = 9
    elif case == "inputs":
        data["input_size"] = 4
    elif case == "outputs":
        data["output_size"] = 2
    elif case == "size_type":
        data["hidden_size"] = "forty"
    elif case == "skip":
        data["skip"] = 2
    elif case == "rate":
        data["samplerate"] = 12


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("data_object", "'model_data' must be an object"),
        ("state_object", "'state_dict' must be an object"),
        ("model", "model 'ConvNet' is not supported"),
        ("unit", "unit_type 'RNN' is not supported"),
        ("missing", r"state_dict lacks \['rec.bias_hh_l0'\]"),
        ("extra", r"unexpected state_dict entries \['rec.weight_ih_l0_reverse'\]"),
        ("shape", r"'rec.weight_ih_l0' has shape \(160, 3\), expected \(160, 2\)"),
        ("count", r"'lin.weight' has shape \(1, 39\), expected \(1, 40\)"),
        ("ragged", "'lin.weight' is not a rectangular array"),
        ("nan", "'rec.weight_hh_l0' contains NaN or Inf"),
        ("inf", "'lin.bias' contains NaN or Inf"),
        ("hidden", "'hidden_size' = 4096 outside 1..1024"),
        ("layers", "'num_layers' = 9 outside 1..8"),
        ("inputs", "'input_size' = 4 outside 1..3"),
        ("outputs", "'output_size' = 2 outside 1..1"),
        ("size_type", "'hidden_size' must be an integer"),
        ("skip", "'skip' must be 0, 1"),
        ("rate", "samplerate 12 outside"),
    ],
)
def test_malformed_files_are_refused(tmp_path, case: str, message: str) -> None:
    doc, _, _ = _proteus()
    _break(doc, case)
    path = _write(tmp_path, doc)
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)
