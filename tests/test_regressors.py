"""The mapper's regressors: accuracy on a smooth 2-D -> 8 task, exactness, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from neuralrig.mappings.regressors import (
    REGRESSORS,
    Regressor,
    RegressorError,
    choose,
    make,
)


def task(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An XY pad in raw pixels (x 0..1000, y 0..600) to 8 smooth nonlinear outputs."""
    u = np.random.default_rng(seed).uniform(-1, 1, (n, 2))
    a, b = u[:, 0], u[:, 1]
    y = np.stack([np.sin(2 * a), np.cos(3 * b), a * b, np.tanh(a + b), a**2,
                  np.sin(3 * a * b), b, np.exp(-a * a - b * b)], axis=1)
    return np.stack([500 + 500 * a, 300 + 300 * b], axis=1), y


def relative_rmse(regressor: Regressor) -> np.ndarray:
    x, y = task(2000, seed=99)
    return np.sqrt(np.mean((regressor.predict(x) - y) ** 2, axis=0)) / np.ptp(y, axis=0)


def test_the_spline_maps_200_examples_within_2_percent_of_every_output_range() -> None:
    assert relative_rmse(make("spline").fit(*task(200, seed=1))).max() < 0.02


def test_the_mlp_learns_the_task_from_raw_pixel_inputs() -> None:
    mlp = make("mlp", seed=0).fit(*task(200, seed=1))
    error = relative_rmse(mlp)
    assert error.mean() < 0.02 and error.max() < 0.05
    assert mlp.validation_rmse is not None  # early stopping watched a held-out split


def test_interpolating_regressors_pass_through_their_examples() -> None:
    x, y = task(30, seed=2)
    for kind in ("nearest", "spline"):
        np.testing.assert_allclose(make(kind).fit(x, y).predict(x), y, atol=1e-4)


def test_the_linear_baseline_is_exact_on_a_linear_mapping() -> None:
    x = np.random.default_rng(3).uniform(0, 127, (50, 3))
    y = x @ np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.25]]) + np.array([1.0, -3.0])
    np.testing.assert_allclose(make("linear").fit(x, y).predict(x[:5]), y[:5], rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(REGRESSORS))
def test_a_saved_regressor_predicts_exactly_the_same(kind: str) -> None:
    x, y = task(60, seed=4)
    original = make(kind).fit(x, y)
    settings, arrays = original.state()
    restored = Regressor.from_state(settings, arrays)
    probe = task(100, seed=5)[0]
    np.testing.assert_array_equal(restored.predict(probe), original.predict(probe))


def test_one_gesture_gives_one_output_vector() -> None:
    spline = make("spline").fit(*task(40, seed=6))
    assert spline.predict(np.array([500.0, 300.0])).shape == (8,)


def test_bad_examples_are_refused_with_the_reason() -> None:
    with pytest.raises(RegressorError, match="no examples"):
        make("spline").fit(np.zeros((0, 2)), np.zeros((0, 3)))
    with pytest.raises(RegressorError, match="NaN"):
        make("mlp").fit(np.array([[0.0, np.nan]]), np.zeros((1, 1)))
    with pytest.raises(RegressorError, match=r"must be"):
        make("linear").fit(np.zeros((3, 2)), np.zeros((4, 1)))
    with pytest.raises(RegressorError, match="unknown regressor kind"):
        Regressor.from_state({"kind": "magic"}, {})


def test_repeated_gestures_do_not_break_the_spline() -> None:
    x = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([[0.0], [0.2], [1.0], [1.0], [2.0]])
    out = make("spline").fit(x, y).predict(np.array([0.5, 0.5]))
    assert np.isfinite(out).all()


def test_the_automatic_choice_follows_the_example_count() -> None:
    assert choose(3, 2) == "nearest"
    assert choose(200, 2) == "spline"
    assert choose(5000, 2) == "mlp"


def test_mlp_layers_are_configurable() -> None:
    from neuralrig.mappings.regressors import valid_kind

    mlp = make("mlp:16x8x4", epochs=50).fit(*task(60, seed=7))
    assert [w.shape for w, _ in mlp.layers] == [(2, 16), (16, 8), (8, 4), (4, 8)]
    assert valid_kind("mlp:64x64") == "mlp:64x64"
    for bad in ("mlp:", "mlp:0", "mlp:1x2x3x4x5", "tree"):
        with pytest.raises(RegressorError):
            valid_kind(bad)


@pytest.mark.parametrize("kind", sorted(REGRESSORS))
def test_one_gesture_at_a_time_predicts_what_a_batch_does(kind: str) -> None:
    # The live path folds the scaler into the arrays; it must not change a single output.
    x, y = task(60, seed=7)
    regressor = make(kind).fit(x, y)
    probes = np.vstack([task(50, seed=8)[0], x[:5]])  # between examples, and on them
    batch = regressor.predict(probes)
    one_by_one = np.stack([regressor.predict(p) for p in probes])
    np.testing.assert_allclose(one_by_one, batch, rtol=1e-9, atol=1e-9)
    restored = Regressor.from_state(*regressor.state())
    np.testing.assert_allclose(restored.predict(probes[0]), batch[0], rtol=1e-9, atol=1e-9)


def test_nearest_on_a_repeated_gesture_gives_the_mean_of_its_examples() -> None:
    x = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    y = np.array([[1.0], [3.0], [5.0], [7.0], [9.0], [11.0]])
    nearest = make("nearest").fit(x, y)
    np.testing.assert_allclose(nearest.predict(np.array([0.0, 0.0])), [2.0])
    np.testing.assert_allclose(nearest.predict(x[:2]), [[2.0], [2.0]])
