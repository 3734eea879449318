"""Per-sample MLP: kernel against torch, streaming, native files, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.mlp import MLPModel
from neuralrig.models.nets.mlp import MLPNet
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

KNOB = ParamSpec("gain", 0.0, 1.0, 0.25)


def _in_blocks(model, x: np.ndarray, block: int) -> np.ndarray:
    model.prepare(x.shape[0], min(block, 4096))
    out = np.zeros_like(x)
    for s in range(0, x.shape[1], block):
        model.process(x[:, s:s + block], out[:, s:s + block])
    return out


def _signal(n: int = 4000, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.5, 1.5, n).astype(np.float32)


@pytest.mark.parametrize(("hidden", "activation"), [((8, 8), "ReLU"), ((4, 4), "ReLU"),
                                                    ((16,), "Tanh"), ((5, 3, 6), "SiLU")])
def test_kernel_matches_torch(hidden, activation) -> None:
    torch.manual_seed(0)
    net = MLPNet(hidden, activation=activation).eval()
    x = _signal()
    with torch.no_grad():
        ref = net(torch.from_numpy(x[:, None]))[:, 0].numpy()
    out = _in_blocks(net.to_streaming(), x[None], 128)
    assert np.max(np.abs(out[0] - ref)) <= 1e-4


def test_control_is_an_input() -> None:
    torch.manual_seed(0)
    net = MLPNet((8, 8), inputs=2).eval()
    model = net.to_streaming(controls=(KNOB,))
    model.prepare(1, 4096)
    x = _signal(2000)
    knob = np.linspace(0, 1, 2000, dtype=np.float32)
    out = np.zeros((1, 2000), np.float32)
    model.run(x[None], knob[None], out)
    with torch.no_grad():
        ref = net(torch.from_numpy(np.stack([x, knob], 1)))[:, 0].numpy()
    assert np.max(np.abs(out[0] - ref)) <= 1e-4


@pytest.mark.parametrize("block", [1, 7, 64, 128, 4096])
def test_blocks_equal_whole(block: int) -> None:
    torch.manual_seed(0)
    model = MLPNet((8, 8)).to_streaming()
    x = np.stack([_signal(5000, 1), _signal(5000, 2)])
    np.testing.assert_allclose(_in_blocks(model, x, block), _in_blocks(model, x, 5000),
                               atol=1e-5)


def test_native_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = MLPNet((8, 8)).to_streaming()
    path = tmp_path / "mlp.safetensors"
    save_model(path, model)
    loaded = load_model(path)
    assert isinstance(loaded, MLPModel) and loaded.config == model.config
    x = _signal()[None]
    np.testing.assert_array_equal(_in_blocks(loaded, x, 128), _in_blocks(model, x, 128))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"hidden_sizes": []}, "hidden_sizes"),
        ({"hidden_sizes": [8, True]}, "hidden_sizes"),
        ({"hidden_sizes": [8, 8], "activation": "Mish"}, "unsupported activation"),
        ({"hidden_sizes": [8, 4]}, "has shape"),
        ({"hidden_sizes": [8]}, "unexpected"),
    ],
)
def test_malformed_configs_are_refused(config, message) -> None:
    torch.manual_seed(0)
    tensors = MLPNet((8, 8)).native_tensors()
    with pytest.raises(ModelError, match=message):
        MLPModel(config, tensors)
