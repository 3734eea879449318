"""LACTOSE: region routing, streaming, torch equivalence, native files, training, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.lactose import LactoseModel
from neuralrig.models.nets.lactose import LactoseNet, quantile_thresholds
from neuralrig.models.nets.static_data import (
    PIECEWISE_BREAKPOINTS,
    fit,
    make_dataset,
    piecewise_linear,
)
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

KNOB = ParamSpec("tone", 0.0, 10.0, 5.0)


def _net(thresholds=PIECEWISE_BREAKPOINTS, inputs=1, route=0, seed=0) -> LactoseNet:
    torch.manual_seed(seed)
    net = LactoseNet(list(thresholds), (4, 4), inputs=inputs, route=route).eval()
    # Non-trivial per-region input rescaling, so the export's folding is exercised.
    rng = np.random.default_rng(seed)
    sample = rng.uniform(-1, 1, (4000, inputs)).astype(np.float32)
    sample[:, 1:] = rng.uniform(0, 1, (4000, inputs - 1))
    net.fit_ranges(torch.from_numpy(sample))
    return net


def _signal(n: int = 5000, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (1.2 * np.sin(np.linspace(0, 40, n)) + 0.1 * rng.standard_normal(n)).astype(
        np.float32)


def _in_blocks(model, x: np.ndarray, block: int, tone: float | None = None) -> np.ndarray:
    model.prepare(x.shape[0], min(block, 4096))
    if tone is not None:
        model.set_control("tone", tone)
        model.reset()
    out = np.zeros_like(x)
    for s in range(0, x.shape[1], block):
        model.process(x[:, s:s + block], out[:, s:s + block])
    return out


def test_kernel_matches_torch_routed_by_input() -> None:
    net = _net()
    x = _signal()
    model = net.to_streaming()
    out = _in_blocks(model, x[None], 128)
    with torch.no_grad():
        ref = net(torch.from_numpy(x[:, None]))[:, 0].numpy()
    assert np.max(np.abs(out[0] - ref)) <= 1e-4
    regions = net.region_of(torch.from_numpy(x[:, None])).numpy()
    assert set(regions.tolist()) == set(range(5))  # every region is exercised


def test_binary_search_routing_matches_torch() -> None:
    thresholds = np.linspace(-1.0, 1.0, 40).tolist()  # past the linear-scan limit
    net = _net(thresholds)
    x = _signal()
    out = _in_blocks(net.to_streaming(), x[None], 64)
    with torch.no_grad():
        ref = net(torch.from_numpy(x[:, None]))[:, 0].numpy()
    assert np.max(np.abs(out[0] - ref)) <= 1e-4


def test_routing_by_a_control_matches_torch() -> None:
    net = _net(thresholds=[0.2, 0.5, 0.8], inputs=2, route=1)
    model = net.to_streaming(controls=(KNOB,))
    assert model.config["route"] == "control" and model.config["route_control"] == "tone"
    model.prepare(1, 4096)
    x = _signal(3000)
    knob = np.linspace(0.0, 1.0, 3000, dtype=np.float32)  # sweeps all four regions
    out = np.zeros((1, 3000), np.float32)
    model.run(x[None], knob[None], out)
    with torch.no_grad():
        ref = net(torch.from_numpy(np.stack([x, knob], axis=1)))[:, 0].numpy()
    assert np.max(np.abs(out[0] - ref)) <= 1e-4
    # The knob picks the sub-model: the same input at two knob settings differs.
    model.set_control("tone", 1.0)
    model.reset()
    low = np.zeros((1, 128), np.float32)
    model.process(np.full((1, 128), 0.3, np.float32), low)
    model.set_control("tone", 9.0)
    model.reset()
    high = np.zeros((1, 128), np.float32)
    model.process(np.full((1, 128), 0.3, np.float32), high)
    assert abs(float(low[0, -1]) - float(high[0, -1])) > 1e-4


@pytest.mark.parametrize("block", [1, 7, 64, 128, 4096])
def test_blocks_equal_whole(block: int) -> None:
    model = _net().to_streaming()
    x = np.stack([_signal(5000, 1), _signal(5000, 2)])
    whole = _in_blocks(model, x, 5000)
    np.testing.assert_allclose(_in_blocks(model, x, block), whole, atol=1e-5)


def test_native_round_trip(tmp_path) -> None:
    model = _net(thresholds=[0.25, 0.75], inputs=2, route=1).to_streaming(controls=(KNOB,))
    path = tmp_path / "lactose.safetensors"
    save_model(path, model, provenance={"made_by": "test"})
    loaded = load_model(path)
    assert isinstance(loaded, LactoseModel) and loaded.config == model.config
    assert loaded.controls == model.controls
    x = _signal(3000)[None]
    np.testing.assert_array_equal(_in_blocks(loaded, x, 128, tone=7.5),
                                  _in_blocks(model, x, 128, tone=7.5))


def test_backprop_reaches_only_the_regions_a_batch_uses() -> None:
    net = _net()
    x = torch.full((16, 1), -0.9)  # all in region 0
    loss = (net(x) - 1.0).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None for p in net.regions[0].parameters())
    for sub in list(net.regions)[1:]:
        assert all(p.grad is None for p in sub.parameters())


def test_training_fits_a_piecewise_linear_function() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x_train, y_train, x_test, y_test = make_dataset(24_000, seed=3)
    net = LactoseNet(quantile_thresholds(x_train, 5), (4, 4))
    net.fit_ranges(torch.from_numpy(x_train))
    history = fit(net, x_train, y_train, epochs=4, batch=256, lr=1e-2, final_lr=1e-3)
    model = net.to_streaming()
    out = _in_blocks(model, x_test[None], 128)[0]
    mse = float(np.mean((out - y_test) ** 2))
    # The target spans about +-0.5; its variance is ~0.1. A good fit is 3+ decades below.
    assert history[-1] < history[0]
    assert mse < 1e-4, mse
    grid = np.linspace(-0.99, 0.99, 199, dtype=np.float32)
    shaped = _in_blocks(model, grid[None], 128)[0]
    assert np.max(np.abs(shaped - piecewise_linear(grid))) < 0.05


def _tensors(regions=3, inputs=1, hidden=(4, 4)):
    net = LactoseNet(np.linspace(-0.5, 0.5, regions - 1).tolist(), hidden, inputs=inputs)
    return {k: v.copy() for k, v in net.native_tensors().items()}


@pytest.mark.parametrize(
    ("config", "change", "message"),
    [
        ({"thresholds": [0.5, -0.5]}, None, "strictly ascending"),
        ({"thresholds": [0.0, 0.0]}, None, "strictly ascending"),
        ({"thresholds": ["a", 0.5]}, None, "not a finite number"),
        ({"thresholds": 0.5}, None, "'thresholds' must be a list"),
        ({"thresholds": [-0.5, 0.5, 0.9]}, None, "missing"),
        ({}, "shape", "has shape"),
        ({}, "extra", "unexpected"),
        ({"hidden_sizes": [4, 0]}, None, "hidden_sizes"),
        ({"activation": "Swish"}, None, "unsupported activation"),
        ({"route": "sideways"}, None, "'route' must be"),
        ({"route": "control"}, None, "needs a model with controls"),
    ],
)
def test_malformed_configs_are_refused(tmp_path, config, change, message) -> None:
    full = {"thresholds": [-0.5, 0.5], "hidden_sizes": [4, 4], "activation": "ReLU",
            "route": "input"}
    full.update(config)
    tensors = _tensors()
    if change == "shape":
        tensors["regions.1.layers.1.weight"] = np.zeros((4, 5), np.float32)
    elif change == "extra":
        tensors["regions.3.layers.0.bias"] = np.zeros(4, np.float32)
    with pytest.raises(ModelError, match=message):
        LactoseModel(full, tensors)
    # The same refusal through a file names the file.
    path = tmp_path / "bad.safetensors"
    meta = {"format": 1, "architecture": "lactose", "config": full}
    save_file(tensors, str(path), metadata={"neuralrig": json.dumps(meta)})
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_unknown_route_control_is_refused() -> None:
    config = {"thresholds": [0.5], "hidden_sizes": [4, 4], "route": "control",
              "route_control": "drive"}
    with pytest.raises(ModelError, match="'route_control' must name one of the controls"):
        LactoseModel(config, _tensors(regions=2, inputs=2), controls=(KNOB,))
