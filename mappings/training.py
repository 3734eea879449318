"""Train a mapping's regressor on its examples and measure how well it generalises.

A share of the examples is held out to measure the error the musician will hear
between examples (RMSE as a share of each output's range; the worst output is
reported); then the regressor is fitted again on every example, so nothing
recorded is wasted. Pure numpy: the daemon runs this in a separate process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .regressors import Regressor, RegressorError, check_examples, choose, make

HOLDOUT = 0.2
MIN_FOR_HOLDOUT = 10  # fewer examples: every one is needed, no validation error


@dataclass(frozen=True)
class TrainOutcome:
    regressor: Regressor
    kind: str
    validation_error: float | None  # worst output's held-out RMSE / its range
    per_output: list[float]
    seconds: float


def relative_errors(regressor: Regressor, x: np.ndarray, y: np.ndarray,
                    spans: np.ndarray) -> np.ndarray:
    rmse = np.sqrt(np.mean((regressor.predict(x) - y) ** 2, axis=0))
    return rmse / np.where(spans > 1e-12, spans, 1.0)


def train(x: np.ndarray, y: np.ndarray, kind: str = "auto", seed: int = 0,
          progress: Callable[[float], None] | None = None) -> TrainOutcome:
    """Fit ``kind`` (or the automatic choice) to the examples; see the module docstring."""
    start = time.perf_counter()
    x, y = check_examples(x, y)
    chosen = choose(len(x), x.shape[1]) if kind == "auto" else kind
    settings = {"seed": seed} if chosen.startswith("mlp") else {}
    spans = np.ptp(y, axis=0)
    per_output: list[float] = []
    error = None
    if len(x) >= MIN_FOR_HOLDOUT:
        order = np.random.default_rng(seed).permutation(len(x))
        cut = max(1, round(HOLDOUT * len(x)))
        held, kept = order[:cut], order[cut:]
        probe_kind = chosen
        if chosen == "nearest" or (chosen == "spline" and len(kept) <= x.shape[1] + 1):
            probe_kind = "nearest"
        probe = make(probe_kind, **settings).fit(x[kept], y[kept])
        errors = relative_errors(probe, x[held], y[held], spans)
        per_output = [round(float(e), 6) for e in errors]
        error = float(errors.max())
    try:
        regressor = make(chosen, **settings)
        regressor.progress = progress
        regressor.fit(x, y)
    except np.linalg.LinAlgError as exc:
        raise RegressorError(f"{chosen} regressor failed on these examples ({exc})") from None
    if progress is not None:
        progress(1.0)
    return TrainOutcome(regressor, chosen, error, per_output, time.perf_counter() - start)
