"""Causal FiLM TCN: torch module, numba kernel, streaming, native format, knobs, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from stream_util import clipper_batch, clipper_error, knob_jump, settled_run, signal, stream

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.nets.tcn import TCN
from neuralrig.models.tcn import TCNModel
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

GAIN = ParamSpec("gain", 1.0, 10.0, 4.0)
TONE = ParamSpec("tone", 0.0, 1.0, 0.5)
CONTROLS = (GAIN, TONE)


def _net(seed: int = 7, norm: str = "batch", output: str = "tanh",
         kernels: tuple[int, ...] = (3, 1, 6, 7)) -> TCN:
    """A small TCN with non-trivial BatchNorm statistics and FiLM, in eval mode."""
    torch.manual_seed(seed)
    net = TCN(2, channels=6, kernel_size=list(kernels), dilations=[1, 2, 4, 8],
              film_hidden=[8, 12], norm=norm, output_activation=output)
    with torch.no_grad():
        net.film.layers[-1].weight.mul_(10.0)  # make the controls matter
        net.train()
        for _ in range(4):
            net(0.5 * torch.randn(4, 1, 300), torch.rand(4, 2))
    return net.eval()


@pytest.fixture(scope="module")
def model() -> TCNModel:
    return _net().to_model(CONTROLS)


def test_receptive_field_and_prewarm(model: TCNModel) -> None:
    assert model.receptive_field == 1 + 2 * 1 + 0 * 2 + 5 * 4 + 6 * 8
    assert model.prewarm_samples == model.receptive_field - 1
    assert "receptive field 71" in model.describe()


@pytest.mark.parametrize("block", [1, 7, 64, 128, 4096])
def test_streaming_equals_whole_signal(model: TCNModel, block: int) -> None:
    x = signal(2 * block + 1000 if block > 1000 else 3000)
    settings = {"gain": 7.0, "tone": 0.2}
    whole = stream(model, x, x.shape[1], settings)
    parts = stream(model, x, block, settings)
    np.testing.assert_allclose(parts, whole, atol=1e-5, rtol=0)
    assert np.std(whole) > 0.01
    assert np.max(np.abs(whole - stream(model, x, x.shape[1]))) > 1e-3  # settings matter


def test_control_ramp_is_followed_per_sample(model: TCNModel) -> None:
    """With moving controls, blocks equal one run over the same per-sample control values."""
    x = signal(3000)
    changes = {640: {"gain": 9.0}, 1280: {"tone": 0.9}, 1408: {"gain": 1.5}}
    record: list[np.ndarray] = []
    parts = stream(model, x, 128, {"gain": 4.0, "tone": 0.5}, changes, record)
    ctrl = np.concatenate(record, axis=1)
    assert ctrl.shape == (2, 3000) and np.ptp(ctrl[0]) > 0.5
    np.testing.assert_allclose(parts, settled_run(model, x, ctrl), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("norm", "output", "kernels"), [
    ("batch", "tanh", (3, 1, 6, 7)),
    ("none", "none", (2, 4, 8, 13)),
    ("batch", "none", (5, 9, 1, 3)),
])
def test_kernel_matches_torch_eval_forward(norm: str, output: str, kernels: tuple) -> None:
    net = _net(3, norm, output, kernels)
    model = net.to_model(CONTROLS)
    x = signal(4000, channels=1, seed=5)
    ramp = np.stack([np.linspace(0.0, 1.0, 4000), np.linspace(0.8, 0.1, 4000)]).astype(np.float32)
    model.prepare(1, 4000)
    for ctrl in (ramp, np.full_like(ramp, 0.35)):
        model.clear_state()
        out = np.zeros_like(x)
        model.run(x, ctrl, out)
        with torch.no_grad():
            ref = net(torch.from_numpy(x)[None], torch.from_numpy(ctrl)[None])[0].numpy()
        np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
        assert np.std(ref) > 0.01


def test_prewarmed_stream_matches_torch_with_leading_silence(model: TCNModel) -> None:
    net = _net()
    x = signal(1000, channels=1, seed=9)
    out = stream(model, x, 128, {"gain": 3.0, "tone": 0.7})
    pad = model.prewarm_samples
    xs = torch.from_numpy(np.concatenate([np.zeros((1, pad), np.float32), x], axis=1))[None]
    ctrl = torch.tensor([[GAIN.to_norm(3.0), TONE.to_norm(0.7)]])
    with torch.no_grad():
        ref = net(xs, ctrl)[0, :, pad:].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)


def test_native_round_trip(tmp_path, model: TCNModel) -> None:
    path = tmp_path / "tcn.safetensors"
    model.sample_rate = 48000
    save_model(path, model, provenance={"made_by": "test"})
    loaded = load_model(path)
    assert isinstance(loaded, TCNModel)
    assert loaded.controls == model.controls
    assert loaded.sample_rate == 48000
    assert loaded.metadata["provenance"] == {"made_by": "test"}
    x = signal(2000)
    np.testing.assert_array_equal(stream(loaded, x, 128, {"gain": 8.0}),
                                  stream(model, x, 128, {"gain": 8.0}))


def test_no_controls_model_round_trips(tmp_path) -> None:
    torch.manual_seed(1)
    net = TCN(0, channels=4, dilations=[1, 2], film_hidden=[], norm="none").eval()
    model = net.to_model()
    path = tmp_path / "plain.safetensors"
    save_model(path, model)
    x = signal(500, channels=1)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)[None])[0].numpy()
    loaded = load_model(path)
    loaded.prepare(1, 500)
    loaded.clear_state()
    out = np.zeros_like(x)
    loaded.run(x, np.zeros((0, 500), np.float32), out)
    np.testing.assert_allclose(out, ref, atol=1e-5)


# -- training and the knob -------------------------------------------------------------


@pytest.fixture(scope="module")
def clipper():
    """A TCN trained briefly on tanh(gain·x), gain its control: (untrained, trained) models."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    try:
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        net = TCN(1, channels=8, dilations=[1, 2, 4, 8], film_hidden=[16, 16], norm="none")
        untrained = net.eval().to_model([GAIN])
        net.train()
        opt = torch.optim.Adam(net.parameters(), 5e-3)
        rf = net.receptive_field
        losses = []
        for _ in range(120):
            x, c, y = clipper_batch(16, rf - 1 + 64, gen, GAIN)
            loss = torch.mean((net(x, c)[..., rf - 1 :] - y[..., rf - 1 :]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    return untrained, net.eval().to_model([GAIN]), losses


def test_short_training_learns_the_soft_clipper(clipper) -> None:
    untrained, trained, losses = clipper
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:3])
    t = np.arange(4800) / 48000
    x = (0.8 * np.sin(2 * np.pi * 110 * t))[None].astype(np.float32)
    for gain in (1.5, 5.0, 9.0):
        before, after = clipper_error(untrained, x, gain), clipper_error(trained, x, gain)
        assert after < 0.1 * before, (gain, before, after)
        assert after < 0.1 * np.mean(np.tanh(gain * x) ** 2), (gain, after)


def test_knob_jump_is_ramped(clipper) -> None:
    """A gain jump reaches the output spread over a block, never as a step."""
    _, model, _ = clipper
    t = np.arange(4800) / 48000
    x = (0.1 * np.sin(2 * np.pi * 10 * t))[None].astype(np.float32)
    # The jump lands near a peak of the 10 Hz sine, where gain matters most.
    steps, steady, change = knob_jump(model, x, "gain", 1.0, 9.0, jump=9 * 128)
    assert change > 20 * steady  # an unramped jump would be one huge step
    assert steps <= steady + 2.0 * change / 128


# -- refusals ----------------------------------------------------------------------------


def _config() -> dict:
    return {"channels": 4, "kernel_sizes": [3, 3], "dilations": [1, 2], "film_hidden": [8],
            "film_activation": "ReLU", "output_activation": "tanh"}


def _tensors(config: dict, n_controls: int = 1) -> dict[str, np.ndarray]:
    from neuralrig.models.tcn import tcn_tensor_shapes

    rng = np.random.default_rng(0)
    return {k: rng.uniform(-0.3, 0.3, s).astype(np.float32)
            for k, s in tcn_tensor_shapes(config, n_controls).items()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": 0}, "'channels' must be an integer 1..256"),
        ({"channels": "4"}, "'channels' must be an integer"),
        ({"channels": True}, "'channels' must be an integer"),
        ({"dilations": []}, "'dilations' must be a list of 1..64"),
        ({"dilations": [1, 0]}, "'dilations' entry 0 outside"),
        ({"kernel_sizes": [3]}, "must match 'dilations'"),
        ({"kernel_sizes": [3, 100]}, "'kernel_sizes' entry 100 outside"),
        ({"film_hidden": [8, 8, 8, 8, 8]}, "'film_hidden' must be a list of 0..4"),
        ({"film_activation": "Swish9"}, "unsupported film_activation"),
        ({"output_activation": "sigmoid"}, "'output_activation' must be one of"),
        ({"channels": 64, "kernel_sizes": [64, 64], "dilations": [65536, 65536]},
         "conv history"),
    ],
)
def test_malformed_configs_are_refused(change: dict, message: str) -> None:
    tensors = _tensors(_config())
    config = {**_config(), **change}
    with pytest.raises(ModelError, match=message):
        TCNModel(config, tensors, controls=[GAIN])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "missing \\['out.bias'\\]"),
        ("extra", "unexpected \\['b9.conv.weight'\\]"),
        ("shape", "'b1.conv.weight' has shape"),
        ("nan", "'film.l0.weight' contains NaN"),
        ("controls", "'film.l0.weight' has shape"),
    ],
)
def test_malformed_tensors_are_refused(case: str, message: str) -> None:
    tensors = _tensors(_config())
    controls = [GAIN]
    if case == "missing":
        del tensors["out.bias"]
    elif case == "extra":
        tensors["b9.conv.weight"] = np.zeros((4, 4, 3), np.float32)
    elif case == "shape":
        tensors["b1.conv.weight"] = np.zeros((4, 4, 2), np.float32)
    elif case == "nan":
        tensors["film.l0.weight"][0, 0] = np.nan
    elif case == "controls":
        controls = [GAIN, TONE]
    with pytest.raises(ModelError, match=message):
        TCNModel(_config(), tensors, controls=controls)


def test_malformed_file_is_refused_naming_it(tmp_path) -> None:
    path = tmp_path / "bad.safetensors"
    meta = {"format": 1, "architecture": "tcn", "config": {**_config(), "dilations": [1]},
            "controls": [{"name": "gain", "min": 1, "max": 10, "default": 4}]}
    save_file(_tensors(_config()), str(path), metadata={"neuralrig": json.dumps(meta)})
    with pytest.raises(ModelError, match="must match 'dilations'") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_torch_module_refuses_bad_inputs() -> None:
    net = TCN(1, channels=4, dilations=[1, 2], film_hidden=[8])
    with pytest.raises(ModelError, match="controls have shape"):
        net(torch.zeros(2, 1, 50), torch.zeros(2, 3))
    with pytest.raises(ModelError, match="takes 1 controls, none given"):
        net(torch.zeros(2, 1, 50))
    with pytest.raises(ModelError, match="audio has shape"):
        net(torch.zeros(2, 2, 50), torch.zeros(2, 1))
    with pytest.raises(ModelError, match="1 controls, 2 declared"):
        net.to_model(CONTROLS)
    with pytest.raises(ModelError, match="norm must be"):
        TCN(1, norm="layer")
    with pytest.raises(ModelError, match="'output_activation' must be one of"):
        TCN(1, output_activation="relu")
