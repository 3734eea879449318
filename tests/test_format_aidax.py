"""AIDA-X / RTNeural keras JSON models against a PyTorch reference, and refusals."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from stream_util import stream_cycled

from neuralrig.models.formats import load_model
from neuralrig.models.formats.aidax import reproduction_error
from neuralrig.server.errors import ModelError
from neuralrig.server.render import model_rig, render_array

TOLERANCE = 1e-4
FRAMES = 1500


def _torch_net(cell: str, inputs: int, hidden: int, layers: int = 1, seed: int = 0):
    torch.manual_seed(seed)
    kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    rnn = kind(inputs, hidden, num_layers=layers, batch_first=True).double()
    lin = torch.nn.Linear(hidden, 1).double()
    with torch.no_grad():
        for p in (*rnn.parameters(), *lin.parameters()):
            p.uniform_(-0.5, 0.5)
    return rnn, lin


def _reference(rnn, lin, features: np.ndarray, skip: bool) -> np.ndarray:
    """features: (frames, inputs); the network output (frames,), with the skip if set."""
    with torch.no_grad():
        x = torch.from_numpy(features.astype(np.float64))[None]
        y = lin(rnn(x)[0])[0, :, 0].numpy()
    return y + features[:, 0] if skip else y


def _keras_layers(rnn, lin, cell: str, hidden: int) -> list[dict]:
    """The torch weights in RTNeural's keras layout (kernels input-major, Keras gate order)."""
    if cell == "gru":  # PyTorch r, z, n -> Keras z, r, h
        h = np.arange(hidden)
        order = np.concatenate([h + hidden, h, h + 2 * hidden])
    else:  # PyTorch i, f, g, o is Keras i, f, c, o
        order = np.arange(4 * hidden)
    layers = []
    for k in range(rnn.num_layers):
        w_ih = getattr(rnn, f"weight_ih_l{k}").detach().numpy()[order]
        w_hh = getattr(rnn, f"weight_hh_l{k}").detach().numpy()[order]
        b_ih = getattr(rnn, f"bias_ih_l{k}").detach().numpy()[order]
        b_hh = getattr(rnn, f"bias_hh_l{k}").detach().numpy()[order]
        bias = (b_ih + b_hh).tolist() if cell == "lstm" else [b_ih.tolist(), b_hh.tolist()]
        layers.append({"type": cell, "activation": "", "shape": [None, None, hidden],
                       "weights": [w_ih.T.tolist(), w_hh.T.tolist(), bias]})
    layers.append({"type": "dense", "activation": "", "shape": [None, None, 1],
                   "weights": [lin.weight.detach().numpy().T.tolist(),
                               lin.bias.detach().numpy().tolist()]})
    return layers


def _signal(frames: int = FRAMES, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 48000.0
    tone = 0.4 * np.sin(2 * np.pi * 110 * t) * np.exp(-3 * t)
    return (tone + 0.1 * rng.standard_normal(frames)).astype(np.float32)


def _aidax(cell: str = "lstm", knobs: int = 0, skip: bool = False, hidden: int = 12,
           layers: int = 1, knob_values=None, **extra) -> tuple[dict, tuple, np.ndarray]:
    """An AIDA-X document with a test vector; returns (document, torch net, features)."""
    rnn, lin = _torch_net(cell, 1 + knobs, hidden, layers)
    audio = _signal()
    values = knob_values if knob_values is not None else (0.3, 0.8)[:knobs]
    features = np.stack([audio, *(np.full(FRAMES, v, np.float32) for v in values)], axis=1)
    doc = {
        "in_shape": [None, None, 1 + knobs],
        "in_skip": int(skip),
        "layers": _keras_layers(rnn, lin, cell, hidden),
        "metadata": {"name": "test amp", "samplerate": 48000, "esr": 0.01},
        "input_batch": features.tolist(),
        "output_batch": _reference(rnn, lin, features, skip).tolist(),
    }
    doc.update(extra)
    return doc, (rnn, lin), features


def _write(tmp_path, doc, name: str = "model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("knobs", [0, 1, 2])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reproduces_torch_in_blocks(tmp_path, cell: str, knobs: int, skip: bool) -> None:
    doc, _, features = _aidax(cell, knobs, skip)
    model = load_model(_write(tmp_path, doc))
    assert model.architecture == cell
    assert [c.name for c in model.controls] == ["param1", "param2"][:knobs]
    assert all((c.minimum, c.maximum, c.default) == (0.0, 1.0, 0.5) for c in model.controls)
    assert model.sample_rate == 48000
    assert model.metadata["format"] == "aidax"
    expected = np.asarray(doc["output_batch"], np.float32)
    np.testing.assert_array_equal(model.metadata["output_batch"], expected)
    knob_values = (0.3, 0.8)[:knobs]
    for sizes in [(128,), (37, 1, 128, 90)]:
        got = stream_cycled(model, features, sizes, knob_values)
        assert np.max(np.abs(got - expected)) <= TOLERANCE, sizes
    assert reproduction_error(model, block=64) <= TOLERANCE


def test_knobs_varying_per_sample_match_the_test_vector(tmp_path) -> None:
    ramp = np.linspace(0.0, 1.0, FRAMES, dtype=np.float32)
    doc, _, _ = _aidax("gru", 2, True, knob_values=(ramp, 1.0 - ramp))
    model = load_model(_write(tmp_path, doc))
    assert reproduction_error(model, block=128) <= TOLERANCE


def test_in_and_out_gain_are_db(tmp_path) -> None:
    doc, (rnn, lin), features = _aidax("lstm", 1, True, in_gain=6.0, out_gain=-3.0)
    model = load_model(_write(tmp_path, doc))
    assert math.isclose(model.input_gain, 10 ** (6 / 20), rel_tol=1e-9)
    assert math.isclose(model.output_gain, 10 ** (-3 / 20), rel_tol=1e-9)
    scaled = features.copy()
    scaled[:, 0] *= 10 ** (6 / 20)
    expected = 10 ** (-3 / 20) * _reference(rnn, lin, scaled, True)
    got = stream_cycled(model, features, (128, 5), (0.3,))
    assert np.max(np.abs(got - expected)) <= TOLERANCE
    # the file's test vector is the network's own, without the two gains
    assert reproduction_error(model) <= TOLERANCE


def test_stacked_lstm_layers(tmp_path) -> None:
    doc, _, features = _aidax("lstm", 0, False, hidden=8, layers=2)
    model = load_model(_write(tmp_path, doc))
    assert (model.layers, model.hidden) == (2, 8)
    got = stream_cycled(model, features, (100,))
    assert np.max(np.abs(got - np.asarray(doc["output_batch"]))) <= TOLERANCE


def test_in_skip_as_bool_and_rate_as_text(tmp_path) -> None:
    doc, _, _ = _aidax("gru", 0, True)
    doc["in_skip"] = True
    doc["metadata"]["samplerate"] = "44100"
    model = load_model(_write(tmp_path, doc))
    assert model.skip is True and model.sample_rate == 44100
    assert reproduction_error(model) <= TOLERANCE


def test_without_a_rate_the_model_runs_at_the_engine_rate(tmp_path) -> None:
    doc, _, _ = _aidax("lstm")
    del doc["metadata"]
    del doc["input_batch"], doc["output_batch"]
    model = load_model(_write(tmp_path, doc))
    assert model.sample_rate is None
    assert "engine" in model.metadata["sample_rate_note"]
    assert reproduction_error(model) is None


def test_knob_names_from_metadata(tmp_path) -> None:
    doc, _, _ = _aidax("lstm", 2)
    doc["metadata"]["params"] = ["Gain", {"name": "Tone", "default": 0.25}]
    model = load_model(_write(tmp_path, doc))
    assert [(c.name, c.default) for c in model.controls] == [("gain", 0.5), ("tone", 0.25)]
    doc["metadata"]["params"] = ["bypass", "x"]  # a reserved name: the defaults stay
    model = load_model(_write(tmp_path, doc))
    assert [c.name for c in model.controls] == ["param1", "param2"]


@pytest.mark.parametrize("name", ["amp.nam", "amp.txt", "amp"])
def test_detected_by_content_not_extension(tmp_path, name: str) -> None:
    doc, _, _ = _aidax("gru", 1)
    model = load_model(_write(tmp_path, doc, name))
    assert model.metadata["format"] == "aidax"
    assert reproduction_error(model) <= TOLERANCE


def test_renders_in_a_rig(tmp_path) -> None:
    doc, _, features = _aidax("lstm", 1, True, hidden=16)
    path = _write(tmp_path, doc, "amp.json")
    rig = model_rig(path)
    slot = rig.slots[0]
    rig = replace(rig, slots=(replace(slot, settings={**slot.settings, "param1": 0.3}),))
    out = render_array(rig, features[:, :1], 48000)
    assert out.shape == (FRAMES, 1)
    expected = np.asarray(doc["output_batch"])
    assert np.max(np.abs(out[:, 0] - expected)) <= TOLERANCE


def _break(doc: dict, case: str) -> None:
    lstm, dense = doc["layers"]
    if case == "in_shape":
        doc["in_shape"] = "mono"
    elif case == "layer_object":
        doc["layers"][0] = [1, 2, 3]
    elif case == "weights_list":
        lstm["weights"] = {"kernel": 1}
    elif case == "ragged":
        lstm["weights"][0] = [[0.1, 0.2], [0.3]]
    elif case == "shape":
        lstm["weights"][1] = np.zeros((12, 40)).tolist()
    elif case == "count":
        lstm["weights"] = lstm["weights"][:2]
    elif case == "nan":
        lstm["weights"][2][3] = float("nan")
    elif case == "inf":
        dense["weights"][0][0][0] = float("inf")
    elif case == "hidden":
        lstm["shape"] = [None, None, 2048]
    elif case == "layers":
        doc["layers"] = [lstm] * 9 + [dense]
    elif case == "inputs":
        doc["in_shape"] = [None, None, 4]
    elif case == "unknown":
        lstm["type"] = "transformer"
    elif case == "conv1d":
        doc["layers"] = [{"type": "conv1d", "shape": [None, None, 8], "weights": []}, dense]
    elif case == "stack":
        doc["layers"] = [lstm, {"type": "prelu", "shape": [None, None, 12], "weights": []},
                         dense]
    elif case == "after_dense":
        doc["layers"] = [lstm, dense, {"type": "activation", "activation": "tanh",
                                        "shape": [None, None, 1]}]
    elif case == "no_dense":
        doc["layers"] = [lstm]
    elif case == "wide_out":
        dense["shape"] = [None, None, 2]
    elif case == "activation":
        dense["activation"] = "tanh"
    elif case == "skip":
        doc["in_skip"] = 5
    elif case == "gain":
        doc["out_gain"] = 500
    elif case == "rate":
        doc["metadata"]["samplerate"] = "fast"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("in_shape", "'in_shape' must be a list"),
        ("layer_object", "layer 0: must be an object"),
        ("weights_list", "'weights' must be a list"),
        ("ragged", r"weights\[0\] is not a rectangular array"),
        ("shape", r"recurrent kernel has shape \(12, 40\), expected \(12, 48\)"),
        ("count", "expected 3 weight arrays, got 2"),
        ("nan", "NaN or Inf"),
        ("inf", r"layer 1 \(dense\) weights\[0\] contains NaN or Inf"),
        ("hidden", "hidden size 2048 outside 1..1024"),
        ("layers", "9 LSTM layers, above the limit of 8"),
        ("inputs", "input width 4 is above 3"),
        ("unknown", "unknown layer type 'transformer'"),
        ("conv1d", "unsupported layer type 'conv1d' with shape"),
        ("stack", "layer 1: unsupported layer type 'prelu'"),
        ("after_dense", "layer 2: unsupported layer type 'activation'"),
        ("no_dense", "no Dense output layer"),
        ("wide_out", "output layer has width 2"),
        ("activation", "activation 'tanh' on the output layer"),
        ("skip", "'in_skip' must be 0, 1"),
        ("gain", "'out_gain' must be a level in dB"),
        ("rate", "samplerate 'fast' outside"),
    ],
)
def test_malformed_files_are_refused(tmp_path, case: str, message: str) -> None:
    doc, _, _ = _aidax("lstm")
    _break(doc, case)
    path = _write(tmp_path, doc)
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_gru_with_a_one_row_bias_is_refused(tmp_path) -> None:
    doc, _, _ = _aidax("gru")
    doc["layers"][0]["weights"][2] = doc["layers"][0]["weights"][2][0]
    with pytest.raises(ModelError, match=r"bias has shape \(36,\), expected \(2, 36\)"):
        load_model(_write(tmp_path, doc))
