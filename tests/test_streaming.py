"""Recurrent and WaveNet models: blocks of any size equal the whole signal; state, knobs."""

from __future__ import annotations

import numpy as np
import pytest

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.recurrent import RecurrentModel, recurrent_tensor_shapes
from neuralrig.models.wavenet import WaveNetModel, wavenet_tensor_shapes
from neuralrig.server.engine.params import ParamSpec

BLOCKS = (1, 7, 64, 128, 4096)
KNOBS = (ParamSpec("gain", 0.0, 10.0, 5.0), ParamSpec("tone", 0.0, 1.0, 0.5))


def _random(shapes, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    return {k: (scale * rng.standard_normal(s)).astype(np.float32) for k, s in shapes.items()}


def recurrent(cell: str, controls=KNOBS, skip=True, layers=2, hidden=12) -> RecurrentModel:
    shapes = recurrent_tensor_shapes(cell, hidden, layers, 1 + len(controls))
    return RecurrentModel(cell, hidden, layers, _random(shapes, 1), skip=skip,
                          controls=controls)


def wavenet(controls=KNOBS, gated=True) -> WaveNetModel:
    arrays = [
        {"input_size": 1, "condition_size": 1 + len(controls), "channels": 6, "head_size": 3,
         "kernel_sizes": [3, 2, 3], "dilations": [1, 4, 16], "activation": "Tanh",
         "gated": gated, "head_bias": False},
        {"input_size": 6, "condition_size": 1 + len(controls), "channels": 3, "head_size": 1,
         "kernel_sizes": [3, 3], "dilations": [2, 64], "activation": "Tanh",
         "gated": gated, "head_bias": True},
    ]
    config = {"layers": arrays, "head_scale": 0.5}
    return WaveNetModel(config, _random(wavenet_tensor_shapes(config), 2), controls=controls)


MODELS = {
    "lstm": lambda: recurrent("lstm"),
    "gru": lambda: recurrent("gru"),
    "lstm-plain": lambda: recurrent("lstm", controls=(), skip=False, layers=1),
    "wavenet-gated": lambda: wavenet(),
    "wavenet": lambda: wavenet(controls=(), gated=False),
}


def _signal(n: int = 9000, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(5)
    t = np.arange(n) / 48_000
    x = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.2 * rng.standard_normal(n)
    return np.repeat(x[None], channels, 0).astype(np.float32) * np.array(
        [[1.0], [0.5]][:channels], np.float32)


def _run(model, x: np.ndarray, block: int) -> np.ndarray:
    model.prepare(x.shape[0], block)
    for spec in model.controls:
        model.set_control(spec.name, spec.maximum * 0.7)
    model.reset()  # start with the knobs already there (no ramp), as a loaded preset does
    out = np.zeros_like(x)
    for start in range(0, x.shape[1], block):
        model.process(x[:, start : start + block], out[:, start : start + block])
    return out


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels", [1, 2])
def test_blocks_of_any_size_equal_the_whole_signal(name: str, channels: int) -> None:
    x = _signal(channels=channels)
    whole = _run(MODELS[name](), x, x.shape[1])
    assert np.sqrt(np.mean(whole**2)) > 1e-3
    for block in BLOCKS:
        np.testing.assert_allclose(_run(MODELS[name](), x, block), whole, atol=1e-5,
                                   err_msg=f"{name}, blocks of {block}")
    if channels == 2:  # channels keep separate state
        mono = _run(MODELS[name](), x[1:], 128)
        np.testing.assert_allclose(mono[0], whole[1], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_reset_returns_to_the_initial_state(name: str) -> None:
    model = MODELS[name]()
    x = _signal(2000)
    first = _run(model, x, 128)
    model.reset()
    again = np.zeros_like(x)
    for start in range(0, x.shape[1], 128):
        model.process(x[:, start : start + 128], again[:, start : start + 128])
    np.testing.assert_allclose(again, first, atol=1e-6)


def test_wavenet_prewarm_covers_the_receptive_field() -> None:
    model = wavenet()
    assert model.receptive_field == 1 + (2 + 4 + 32) + (4 + 128)
    assert model.prewarm_samples == model.receptive_field - 1


@pytest.mark.parametrize("name", ["lstm", "gru", "wavenet-gated"])
def test_a_knob_jump_is_ramped_across_the_block(name: str) -> None:
    """Jumping a knob from minimum to maximum moves the output gradually, not in a step."""
    model = MODELS[name]()
    model.prepare(1, 256)
    x = np.full((1, 256), 0.3, np.float32)
    out = np.zeros_like(x)
    model.set_control("gain", 0.0)
    for _ in range(40):  # settle on a constant input
        model.process(x, out)
    settled = out[0, -1]
    model.set_control("gain", 10.0)
    model.process(x, out)
    steps = np.abs(np.diff(np.concatenate([[settled], out[0]])))
    total = abs(out[0, -1] - settled)
    assert total > 1e-3, "the knob does nothing"
    assert steps.max() < 0.1 * total, "the knob change arrived as a step"


@pytest.mark.parametrize("name", ["lstm", "gru", "wavenet-gated"])
def test_native_round_trip_keeps_output_controls_and_gains(tmp_path, name: str) -> None:
    model = MODELS[name]()
    model.sample_rate = 48_000
    model.input_gain, model.output_gain = 0.5, 2.0
    path = tmp_path / f"{name}.safetensors"
    save_model(path, model, provenance={"test": name}, training={"esr": 0.01})
    loaded = load_model(path)
    assert [c.name for c in loaded.controls] == [c.name for c in model.controls]
    assert loaded.metadata["training"] == {"esr": 0.01}
    x = _signal(3000)
    np.testing.assert_allclose(_run(loaded, x, 128), _run(model, x, 128), atol=1e-6)
