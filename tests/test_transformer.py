"""Sliding-window Transformer: numba kernel against torch, streaming, native files, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.nets.transformer import TransformerNet, sliding_windows
from neuralrig.models.transformer import TransformerModel
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

KNOB = ParamSpec("drive", 0.0, 1.0, 0.5)
SMALL = {"window": 8, "d_model": 8, "nhead": 2, "num_layers": 2, "dim_feedforward": 16}


def _net(inputs: int = 1, seed: int = 0, **sizes) -> TransformerNet:
    torch.manual_seed(seed)
    net = TransformerNet(**{**SMALL, **sizes}, inputs=inputs).eval()
    with torch.no_grad():  # untrained but not trivial: move norms and biases off 1 and 0
        for name, p in net.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
    return net


def _signal(n: int = 1500, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.8 * np.sin(np.linspace(0, 30, n)) + 0.2 * rng.standard_normal(n)).astype(
        np.float32)


def _in_blocks(model, x: np.ndarray, block: int) -> np.ndarray:
    model.prepare(x.shape[0], min(block, 4096))
    out = np.zeros_like(x)
    for s in range(0, x.shape[1], block):
        model.process(x[:, s:s + block], out[:, s:s + block])
    return out


@pytest.mark.parametrize("sizes", [{}, {"window": 5, "d_model": 6, "nhead": 3,
                                        "num_layers": 1, "dim_feedforward": 7},
                                   {"window": 16, "d_model": 4, "nhead": 1, "num_layers": 3}])
def test_kernel_matches_torch(sizes) -> None:
    net = _net(**sizes)
    x = _signal()
    with torch.no_grad():
        ref = net(torch.from_numpy(sliding_windows(x, net.window)))[:, 0].numpy()
    out = _in_blocks(net.to_streaming(), x[None], 128)
    assert np.max(np.abs(out[0] - ref)) <= 1e-4


def test_torch_layers_are_post_norm_relu_encoder_layers() -> None:
    layer = _net().layers[0]
    assert not layer.norm_first and layer.self_attn.batch_first
    assert layer.activation is torch.nn.functional.relu or isinstance(
        layer.activation, torch.nn.ReLU)


def test_kernel_matches_torch_with_a_control() -> None:
    net = _net(inputs=2)
    model = net.to_streaming(controls=(KNOB,))
    model.prepare(1, 2048)
    x = _signal(1200)
    knob = np.linspace(0.0, 1.0, 1200, dtype=np.float32)
    out = np.zeros((1, 1200), np.float32)
    model.run(x[None], knob[None], out)
    windows = sliding_windows(np.stack([x, knob], axis=1), net.window)
    with torch.no_grad():
        ref = net(torch.from_numpy(windows))[:, 0].numpy()
    assert np.max(np.abs(out[0] - ref)) <= 1e-4


def test_output_depends_only_on_the_last_window() -> None:
    model = _net().to_streaming()
    x = _signal(600)
    y = x.copy()
    y[:300] = 0.0  # differ only more than `window` samples back
    a, b = _in_blocks(model, x[None], 64), _in_blocks(model, y[None], 64)
    np.testing.assert_allclose(a[0, 300 + 8 - 1:], b[0, 300 + 8 - 1:], atol=1e-6)
    assert np.max(np.abs(a[0, :300] - b[0, :300])) > 1e-3


@pytest.mark.parametrize("block", [1, 7, 64, 128, 4096])
def test_blocks_equal_whole(block: int) -> None:
    model = _net().to_streaming()
    x = np.stack([_signal(1500, 1), _signal(1500, 2)])
    whole = _in_blocks(model, x, 1500)
    np.testing.assert_allclose(_in_blocks(model, x, block), whole, atol=1e-5)


def test_native_round_trip(tmp_path) -> None:
    model = _net(inputs=2).to_streaming(controls=(KNOB,))
    path = tmp_path / "transformer.safetensors"
    save_model(path, model)
    loaded = load_model(path)
    assert isinstance(loaded, TransformerModel) and loaded.config == model.config
    x = _signal(1000)[None]
    np.testing.assert_array_equal(_in_blocks(loaded, x, 128), _in_blocks(model, x, 128))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nhead": 3}, "not divisible by nhead"),
        ({"window": 0}, "'window' must be an integer"),
        ({"d_model": "8"}, "'d_model' must be an integer"),
        ({"activation": "GELU"}, "only ReLU"),
        ({"layer_norm_eps": -1}, "layer_norm_eps"),
        ({"num_layers": 3}, "missing"),
        ("shape", "has shape"),
    ],
)
def test_malformed_configs_are_refused(tmp_path, change, message) -> None:
    net = _net()
    config = net.config()
    tensors = net.native_tensors()
    if change == "shape":
        tensors["layers.1.linear1.weight"] = np.zeros((16, 9), np.float32)
    else:
        config.update(change)
    with pytest.raises(ModelError, match=message):
        TransformerModel(config, tensors)
    path = tmp_path / "bad.safetensors"
    meta = {"format": 1, "architecture": "transformer", "config": config}
    save_file(tensors, str(path), metadata={"neuralrig": json.dumps(meta)})
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)
