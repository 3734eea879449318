"""State Trajectory Network: torch module, numba kernel, streaming, native format, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from stream_util import clipper_batch, clipper_error, knob_jump, settled_run, signal, stream

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.nets.stn import STN
from neuralrig.models.stn import STNModel, stn_tensor_shapes
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

GAIN = ParamSpec("gain", 1.0, 10.0, 4.0)
TONE = ParamSpec("tone", 0.0, 1.0, 0.5)
CONTROLS = (GAIN, TONE)


def _stable(readout: str = "linear", seed: int = 0) -> STNModel:
    """Random weights with negative state feedback, so long signals stay bounded.

    One hidden layer of 8 units; unit j drives state j % S and sees -1.5·s[j % S].
    """
    rng = np.random.default_rng(seed)
    state, hidden, n_ctrl = 2, 8, len(CONTROLS)
    w1 = rng.uniform(-1.0, 1.0, (hidden, 1 + state + n_ctrl))
    w2 = rng.uniform(-0.01, 0.01, (state, hidden))
    for j in range(hidden):
        w1[j, 1 : 1 + state] = rng.uniform(-0.1, 0.1, state)
        w1[j, 1 + j % state] = -1.5
        w2[j % state, j] += 0.25
    tensors = {"mlp.l0.weight": w1, "mlp.l0.bias": rng.uniform(-0.2, 0.2, hidden),
               "mlp.l1.weight": w2, "mlp.l1.bias": rng.uniform(-0.01, 0.01, state)}
    if readout == "linear":
        tensors["readout.weight"] = rng.uniform(-1.0, 1.0, (1, state))
        tensors["readout.bias"] = rng.uniform(-0.1, 0.1, 1)
    config = {"state_size": state, "hidden": [hidden], "activation": "Tanh", "readout": readout}
    return STNModel(config, {k: v.astype(np.float32) for k, v in tensors.items()},
                    controls=CONTROLS)


@pytest.fixture(scope="module", params=["linear", "state"])
def model(request) -> STNModel:
    return _stable(request.param)


def test_no_prewarm_and_description(model: STNModel) -> None:
    assert model.prewarm_samples == 0
    assert "STN state 2, hidden 8" in model.describe()


@pytest.mark.parametrize("block", [1, 7, 64, 128, 4096])
def test_streaming_equals_whole_signal(model: STNModel, block: int) -> None:
    x = signal(2 * block + 1000 if block > 1000 else 3000)
    settings = {"gain": 7.0, "tone": 0.2}
    whole = stream(model, x, x.shape[1], settings)
    parts = stream(model, x, block, settings)
    np.testing.assert_allclose(parts, whole, atol=1e-5, rtol=0)
    assert np.std(whole) > 0.005 and np.max(np.abs(whole)) < 10
    assert np.max(np.abs(whole - stream(model, x, x.shape[1]))) > 1e-3  # settings matter


def test_control_ramp_is_followed_per_sample(model: STNModel) -> None:
    """Moving controls: blocks equal one run over the same per-sample control values."""
    x = signal(3000)
    changes = {640: {"gain": 9.0}, 1280: {"tone": 0.9}, 1408: {"gain": 1.5}}
    record: list[np.ndarray] = []
    parts = stream(model, x, 128, {"gain": 4.0, "tone": 0.5}, changes, record)
    ctrl = np.concatenate(record, axis=1)
    assert ctrl.shape == (2, 3000) and np.ptp(ctrl[0]) > 0.5
    np.testing.assert_allclose(parts, settled_run(model, x, ctrl), atol=1e-5, rtol=0)


@pytest.mark.parametrize("readout", ["linear", "state"])
def test_kernel_matches_torch_forward(readout: str) -> None:
    torch.manual_seed(4)
    net = STN(2, state_size=3, hidden=[8, 6], readout=readout).eval()
    model = net.to_model(CONTROLS)
    x = signal(2000, channels=1, seed=3)
    ramp = np.stack([np.linspace(0.0, 1.0, 2000), np.linspace(0.7, 0.2, 2000)]).astype(np.float32)
    model.prepare(1, 2000)
    for ctrl in (ramp, np.full_like(ramp, 0.6)):
        model.clear_state()
        out = np.zeros_like(x)
        model.run(x, ctrl, out)
        with torch.no_grad():
            ref, state = net(torch.from_numpy(x)[None], torch.from_numpy(ctrl)[None])
        np.testing.assert_allclose(out, ref[0].numpy(), atol=1e-4, rtol=0)
        np.testing.assert_allclose(model._state[0], state[0].numpy(), atol=1e-4, rtol=0)
        assert np.std(out) > 1e-3


def test_native_round_trip(tmp_path, model: STNModel) -> None:
    path = tmp_path / "stn.safetensors"
    model.sample_rate = 44100
    save_model(path, model, training={"steps": 3})
    loaded = load_model(path)
    assert isinstance(loaded, STNModel)
    assert loaded.controls == model.controls and loaded.sample_rate == 44100
    assert loaded.config == model.config
    assert loaded.metadata["training"] == {"steps": 3}
    x = signal(2000)
    np.testing.assert_array_equal(stream(loaded, x, 128, {"tone": 0.1}),
                                  stream(model, x, 128, {"tone": 0.1}))


def test_no_controls_model() -> None:
    torch.manual_seed(2)
    net = STN(0, state_size=1, hidden=[4]).eval()
    model = net.to_model()
    x = signal(300, channels=1)
    model.prepare(1, 300)
    model.clear_state()
    out = np.zeros_like(x)
    model.run(x, np.zeros((0, 300), np.float32), out)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)[None])[0][0].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)


# -- training and the knob -------------------------------------------------------------


def _one_thread(train):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    try:
        return train()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def clipper():
    """An STN (state = output) trained teacher-forced on tanh(gain·x): the true state
    trajectory is the target itself, so every step is one batched MLP evaluation."""
    def train():
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        net = STN(1, state_size=1, hidden=[8, 8])
        untrained = net.to_model([GAIN])
        opt = torch.optim.Adam(net.parameters(), 2e-2)
        for _ in range(300):
            x, c, y = clipper_batch(64, 32, gen, GAIN)
            prev = torch.cat([torch.zeros(64, 1, 1), y[:, :, :-1]], dim=2)
            inputs = torch.cat([x, prev, c[:, :, None].expand(-1, -1, 32)], dim=1)
            delta = net.delta(inputs.transpose(1, 2)).transpose(1, 2)
            loss = torch.mean((delta - (y - prev)) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return untrained, net.to_model([GAIN])
    return _one_thread(train)


def test_teacher_forced_training_learns_the_soft_clipper(clipper) -> None:
    untrained, trained = clipper
    t = np.arange(4800) / 48000
    x = (0.8 * np.sin(2 * np.pi * 110 * t))[None].astype(np.float32)
    for gain in (1.5, 5.0, 9.0):
        before, after = clipper_error(untrained, x, gain), clipper_error(trained, x, gain)
        assert after < 0.1 * before, (gain, before, after)
        assert after < 0.1 * np.mean(np.tanh(gain * x) ** 2), (gain, after)


def test_backprop_through_time_reduces_the_loss() -> None:
    def train():
        torch.manual_seed(1)
        gen = torch.Generator().manual_seed(1)
        net = STN(1, state_size=2, hidden=[8, 8], readout="linear")
        opt = torch.optim.Adam(net.parameters(), 2e-2)
        losses = []
        for _ in range(120):
            x, c, y = clipper_batch(32, 16, gen, GAIN)
            loss = torch.mean((net(x, c)[0] - y) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses
    losses = _one_thread(train)
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:3])


def test_knob_jump_is_ramped(clipper) -> None:
    """A gain jump reaches the output spread over a block, never as a step."""
    _, model = clipper
    t = np.arange(4800) / 48000
    x = (0.1 * np.sin(2 * np.pi * 10 * t))[None].astype(np.float32)
    steps, steady, change = knob_jump(model, x, "gain", 1.0, 9.0, jump=9 * 128)
    assert change > 20 * steady  # an unramped jump would be one huge step
    assert steps <= steady + 2.0 * change / 128


# -- refusals ----------------------------------------------------------------------------


def _config() -> dict:
    return {"state_size": 2, "hidden": [6], "activation": "Tanh", "readout": "linear"}


def _tensors(config: dict, n_controls: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {k: rng.uniform(-0.3, 0.3, s).astype(np.float32)
            for k, s in stn_tensor_shapes(config, n_controls).items()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state_size": 0}, "'state_size' must be an integer 1..64"),
        ({"state_size": 2.0}, "'state_size' must be an integer"),
        ({"hidden": []}, "'hidden' must be a list of 1..4"),
        ({"hidden": [6, 0]}, "'hidden' entry 0 outside"),
        ({"hidden": "6"}, "'hidden' must be a list"),
        ({"activation": "Gelu"}, "unsupported activation 'Gelu'"),
        ({"readout": "mean"}, "'readout' must be one of state, linear"),
        ({"negative_slope": float("nan")}, "'negative_slope' must be a finite number"),
    ],
)
def test_malformed_configs_are_refused(change: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        STNModel({**_config(), **change}, _tensors(_config()), controls=[GAIN])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no-readout", "missing \\['readout.bias', 'readout.weight'\\]"),
        ("extra", "unexpected \\['mlp.l9.bias'\\]"),
        ("controls", "'mlp.l0.weight' has shape \\(6, 4\\), expected \\(6, 5\\)"),
        ("inf", "'mlp.l1.bias' contains NaN or Inf"),
    ],
)
def test_malformed_tensors_are_refused(case: str, message: str) -> None:
    tensors = _tensors(_config())
    controls = [GAIN]
    if case == "no-readout":
        del tensors["readout.weight"], tensors["readout.bias"]
    elif case == "extra":
        tensors["mlp.l9.bias"] = np.zeros(2, np.float32)
    elif case == "controls":
        controls = [GAIN, TONE]
    elif case == "inf":
        tensors["mlp.l1.bias"][0] = np.inf
    with pytest.raises(ModelError, match=message):
        STNModel(_config(), tensors, controls=controls)


def test_malformed_file_is_refused_naming_it(tmp_path) -> None:
    path = tmp_path / "bad.safetensors"
    meta = {"format": 1, "architecture": "stn", "config": {**_config(), "readout": "state"},
            "controls": [{"name": "gain", "min": 1, "max": 10, "default": 4}]}
    save_file(_tensors(_config()), str(path), metadata={"neuralrig": json.dumps(meta)})
    with pytest.raises(ModelError, match=r"unexpected \['readout.bias'") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_torch_module_refuses_bad_inputs() -> None:
    net = STN(1, state_size=2, hidden=[4])
    with pytest.raises(ModelError, match="state has shape"):
        net(torch.zeros(2, 1, 5), torch.zeros(2, 1), torch.zeros(2, 3))
    with pytest.raises(ModelError, match="controls have shape"):
        net(torch.zeros(2, 1, 5), torch.zeros(3, 1))
    with pytest.raises(ModelError, match="1 controls, 0 declared"):
        net.to_model()
    with pytest.raises(ModelError, match="'readout' must be one of"):
        STN(1, readout="mlp")
