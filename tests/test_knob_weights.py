"""WaveNets whose weights follow the knobs (config ``knob_weights``): blend, stream, train."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stream_util import stream

from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.models.nets.knob_wavenet import (
    KnobWaveNetNet,
    resample_knob_weights,
    torch_coefficients,
)
from neuralrig.models.nets.wavenet import WaveNetNet
from neuralrig.models.runtime.knob_blend import coefficients, lattice_values
from neuralrig.models.training.recipes import wavenet_config
from neuralrig.models.wavenet import WaveNetModel
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

KNOBS = (ParamSpec("drive", 0, 1, 0.5), ParamSpec("tone", 0, 1, 0.5))


def _knob_net(points: list[int], seed: int = 0) -> KnobWaveNetNet:
    """A gated nano whose weight sets differ (as trained ones would), at ``points``."""
    torch.manual_seed(seed)
    net = KnobWaveNetNet(wavenet_config("nano", 2, gated=True, knob_weights=points), 2)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0).add_(0.2 * torch.randn_like(p))
    return net


def _stream(model: WaveNetModel, x: np.ndarray, drive: float, tone: float,
            block: int = 128) -> np.ndarray:
    return stream(model, x[None], block, {"drive": drive, "tone": tone})[0]


def _one_set(config: dict, tensors: dict, mix: np.ndarray) -> WaveNetModel:
    """The plain WaveNet whose weights are the sets mixed by ``mix``."""
    plain = {k: np.tensordot(mix, v, axes=1).astype(np.float32) for k, v in tensors.items()}
    return WaveNetModel({k: v for k, v in config.items() if k != "knob_weights"}, plain,
                        controls=KNOBS)


def _signal(n: int = 6000, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("values, expected", [
    ((0.0, 0.0), {0: 1.0}),
    ((1.0, 1.0), {5: 1.0}),
    ((0.5, 1.0), {3: 1.0}),  # a lattice point: its own set alone
    ((0.75, 1.0), {3: 0.5, 5: 0.5}),  # drive halfway between its points 0.5 and 1
    ((0.25, 0.0), {0: 0.5, 2: 0.5}),
    ((0.75, 0.25), {2: 0.375, 3: 0.125, 4: 0.375, 5: 0.125}),
    ((-2.0, 7.0), {1: 1.0}),  # clamped to 0..1
])
def test_coefficients_blend_the_lattice_points_either_side(values, expected) -> None:
    # lattice 3 (drive: 0, 0.5, 1) x 2 (tone: 0, 1), row-major: row = 2 * drive + tone
    coeffs = coefficients(np.array(values, np.float32), (3, 2))
    want = np.zeros(6, np.float32)
    for row, share in expected.items():
        want[row] = share
    np.testing.assert_allclose(coeffs, want, atol=1e-6)
    torch_side = torch_coefficients(torch.tensor([values], dtype=torch.float32), (3, 2))
    np.testing.assert_allclose(torch_side[0].numpy(), want, atol=1e-6)


@pytest.mark.parametrize("tone, shares", [
    (0.0, {0: 1.0}), (0.125, {1: 1.0}), (0.25, {1: 2 / 3, 2: 1 / 3}),
    (0.5, {2: 1.0}), (0.75, {2: 0.5, 3: 0.5}), (1.0, {3: 1.0}),
])
def test_a_lattice_of_positions_blends_the_points_either_side(tone, shares) -> None:
    lattice = (2, (0.0, 0.125, 0.5, 1.0))  # drive 0, 1 x tone at these positions
    want = np.zeros(8, np.float32)
    for row, share in shares.items():
        want[4 + row] = share  # drive 1: rows 4..7
    np.testing.assert_allclose(coefficients(np.array([1.0, tone], np.float32), lattice),
                               want, atol=1e-6)
    torch_side = torch_coefficients(torch.tensor([[1.0, tone]]), lattice)
    np.testing.assert_allclose(torch_side[0].numpy(), want, atol=1e-6)


def test_lattice_values_are_row_major_over_the_controls() -> None:
    np.testing.assert_allclose(lattice_values((3, 2)), [[0, 0], [0, 1], [0.5, 0], [0.5, 1],
                                                        [1, 0], [1, 1]])


@pytest.mark.parametrize("drive, tone", [(0.0, 0.0), (0.5, 1.0), (1.0, 0.0),  # lattice points
                                         (0.3, 0.8), (0.875, 0.25)])  # between them
def test_the_stream_plays_the_sets_blended_at_the_knobs_as_torch_does(drive, tone) -> None:
    net = _knob_net([3, 2])
    config, tensors = net.export()
    model = net.to_model(KNOBS)
    x = _signal()
    y = _stream(model, x, drive, tone)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)[None], torch.tensor([[drive, tone]]))[0, 0].numpy()
    settled = net.receptive_field  # torch pads with zeros, the stream prewarms
    assert np.abs(ref[settled:]).max() > 1e-3
    np.testing.assert_allclose(y[settled:], ref[settled:], atol=2e-4 * np.abs(ref).max())
    # ... which is a plain WaveNet with the blended weights: one set's cost per block.
    mix = coefficients(np.array([drive, tone], np.float32), (3, 2))
    plain = _stream(_one_set(config, tensors, mix), x, drive, tone)
    np.testing.assert_allclose(y, plain, atol=1e-5 * np.abs(plain).max())
    assert model.weights_per_setting == _one_set(config, tensors, mix).weight_count


def test_turning_a_knob_moves_the_weights_at_the_next_block() -> None:
    net = _knob_net([3, 2], seed=1)
    config, tensors = net.export()
    model = net.to_model(KNOBS)
    x = _signal(12000, seed=2)
    block = 128
    model.prepare(1, block)
    model.set_control("drive", 0.0)
    model.set_control("tone", 0.0)
    model.reset()
    y = np.zeros((1, x.size), np.float32)
    turn = 40 * block
    for i in range(0, x.size, block):
        if i == turn:
            model.set_control("drive", 1.0)
        model.process(x[None, i:i + block], y[:, i:i + block])
    low = _stream(_one_set(config, tensors, coefficients(np.zeros(2, np.float32), (3, 2))),
                  x, 0.0, 0.0)
    np.testing.assert_allclose(y[0, :turn], low[:turn], atol=1e-5 * np.abs(low).max())
    # After the turn the network plays drive 1's weights (the history is the old one's, so
    # only the weights are compared): they differ from drive 0's in every layer.
    assert np.abs(y[0, turn:] - low[turn:]).max() > 1e-3
    high = coefficients(np.array([1.0, 0.0], np.float32), (3, 2))
    np.testing.assert_allclose(model._knobs.live,
                               np.tensordot(high, model._knobs.anchors, axes=1), atol=1e-6)


def test_a_plain_wavenet_starts_every_lattice_point_with_its_output() -> None:
    torch.manual_seed(3)
    plain = WaveNetNet(wavenet_config("nano", 2, gated=True), 2)
    knob = KnobWaveNetNet(wavenet_config("nano", 2, gated=True, knob_weights=[3, 3]), 2)
    knob.load_exported(plain.export()[1])
    x = torch.from_numpy(_signal(5000))[None].repeat(3, 1)
    controls = torch.tensor([[0.0, 0.0], [0.3, 0.9], [1.0, 0.6]])
    with torch.no_grad():
        np.testing.assert_allclose(knob(x, controls).numpy(), plain(x, controls).numpy(),
                                   atol=1e-6)


def test_resampling_a_lattice_keeps_what_it_plays() -> None:
    net = _knob_net([3, 2], seed=4)
    config, tensors = net.export()
    finer = resample_knob_weights(tensors, (3, 2), (5, 3))
    assert finer["a0.l0.conv.weight"].shape[0] == 15
    fine = WaveNetModel({**config, "knob_weights": [5, 3]}, finer, controls=KNOBS)
    x = _signal(7000, seed=5)
    for drive, tone in [(0.25, 0.5), (0.6, 0.1), (1.0, 1.0)]:
        np.testing.assert_allclose(_stream(fine, x, drive, tone),
                                   _stream(net.to_model(KNOBS), x, drive, tone), atol=1e-5)
    # Points packed where the device changes fastest: a refinement too, so just as exact.
    packed = resample_knob_weights(tensors, (3, 2), ((0, 0.125, 0.5, 1), 2))
    dense = WaveNetModel({**config, "knob_weights": [[0, 0.125, 0.5, 1], 2]}, packed,
                         controls=KNOBS)
    assert "blended from 0/0.125/0.5/1x2 knob points" in dense.describe()
    np.testing.assert_allclose(_stream(dense, x, 0.3, 0.4),
                               _stream(net.to_model(KNOBS), x, 0.3, 0.4), atol=1e-5)
    with pytest.raises(ModelError, match="2 controls cannot become one over 1"):
        resample_knob_weights(tensors, (3, 2), (3,))


def test_a_knob_weighted_wavenet_saves_and_loads(tmp_path) -> None:
    net = _knob_net([2, 3], seed=6)
    model = net.to_model(KNOBS)
    model.sample_rate = 48000
    save_model(tmp_path / "kw.safetensors", model)
    loaded = load_model(tmp_path / "kw.safetensors")
    assert "blended from 2x3 knob points" in loaded.describe()
    x = _signal(6000, seed=7)
    np.testing.assert_array_equal(_stream(loaded, x, 0.4, 0.7), _stream(model, x, 0.4, 0.7))


@pytest.mark.parametrize("points, needle", [
    ([3], "one lattice per control \\(2\\)"),
    ([3, 0], "control 1: 0 points is outside 1..17"),
    ([3, "3"], "control 1: '3' is neither a count nor a list of positions"),
    ([[0, 0.5], 3], "control 0: \\[0, 0.5\\] does not rise from 0 to 1"),
    ([3, [0, 0.6, 0.5, 1]], "does not rise from 0 to 1"),
    ([3, [0, "a", 1]], "is not a list of 2..17 numbers"),
    ([17, 17], "289 weight sets, more than 256"),
])
def test_a_bad_lattice_is_refused_with_the_problem_named(points, needle) -> None:
    config = wavenet_config("nano", 2, gated=True)
    tensors = WaveNetNet(config, 2).export()[1]
    with pytest.raises(ModelError, match=needle):
        WaveNetModel({**config, "knob_weights": points}, tensors, controls=KNOBS)


def test_weight_sets_that_do_not_match_the_lattice_are_refused() -> None:
    net = _knob_net([3, 2])
    config, tensors = net.export()
    with pytest.raises(ModelError,
                       match=r"a0.rechannel.weight. has shape \(6, 4, 1\), expected \(9"):
        WaveNetModel({**config, "knob_weights": [3, 3]}, tensors, controls=KNOBS)


def test_turning_knobs_blends_in_place_without_allocating_weights() -> None:
    import tracemalloc

    model = _knob_net([3, 3], seed=8).to_model(KNOBS)
    block = 128
    model.prepare(1, block)
    x = _signal(block * 40, seed=9)[None]
    out = np.zeros_like(x)
    live = model._knobs.live
    model.process(x[:, :block], out[:, :block])
    tracemalloc.start()
    try:
        for n, i in enumerate(range(0, x.shape[1], block)):
            model.set_control("drive", n / 40)
            model.process(x[:, i:i + block], out[:, i:i + block])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert model._knobs.live is live  # the same buffer, blended into
    # One set of live weights is 1,657 floats (6.6 kB): any copy of them would show here.
    assert peak < 4096


@pytest.mark.parametrize("lattice", [(3, 3), (3, (0.0, 0.125, 0.5, 1.0)), ((0.0, 0.3, 1.0),)])
def test_a_lattice_written_as_the_cli_takes_it_reads_back_the_same(lattice) -> None:
    from neuralrig.models.runtime.knob_blend import lattice_text
    from neuralrig.server.cli import _knob_points

    assert _knob_points(lattice_text(lattice)) == lattice


def test_make_models_stages_give_train_a_lattice_it_reads() -> None:
    from neuralrig.models.make_shipped_models import MODELS
    from neuralrig.models.runtime.knob_blend import lattice_text
    from neuralrig.server.cli import _knob_points

    lattices = [stage.knob_weights for _, _, _, stages in MODELS for stage in stages
                if stage.knob_weights]
    assert lattices  # the shipped nano's last stages
    for lattice in lattices:
        assert _knob_points(lattice_text(lattice)) == tuple(lattice)
