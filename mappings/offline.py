"""`neuralrig map train` and `neuralrig map eval`: a saved mapping, without the daemon."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from . import examples
from .regressors import RegressorError, choose, make
from .training import relative_errors, train


def train_file(path: str | Path, kind: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Train the file's regressor on its examples and save it back into the file."""
    data = examples.load(path)
    outcome = train(data.x, data.y, kind or data.regressor_kind, seed)
    data.regressor = outcome.regressor
    data.validation_error = outcome.validation_error
    if kind:
        data.regressor_kind = kind
    examples.save(path, data)
    return {"mapping": data.name, "examples": data.count, "regressor": outcome.kind,
            "validation_error": outcome.validation_error, "per_output": outcome.per_output,
            "seconds": round(outcome.seconds, 3)}


def evaluate_file(path: str | Path, folds: int = 5) -> dict[str, Any]:
    """K-fold cross-validation of the file's regressor kind, and one prediction's time."""
    data = examples.load(path)
    x, y = data.x, data.y
    if data.count < 2 * folds:
        raise RegressorError(f"{path}: {data.count} examples; {folds}-fold cross-validation "
                             f"needs at least {2 * folds}")
    kind = data.regressor_kind
    kind = choose(len(x), x.shape[1]) if kind == "auto" else kind
    spans = np.ptp(y, axis=0)
    order = np.random.default_rng(0).permutation(len(x))
    errors = []
    for fold in np.array_split(order, folds):
        kept = np.setdiff1d(order, fold)
        errors.append(relative_errors(make(kind).fit(x[kept], y[kept]), x[fold], y[fold], spans))
    per_output = np.mean(errors, axis=0)
    regressor = data.regressor or make(kind).fit(x, y)
    gesture = x[0]
    regressor.predict(gesture)
    start = time.perf_counter()
    for _ in range(1000):
        regressor.predict(gesture)
    return {"mapping": data.name, "examples": data.count, "regressor": kind, "folds": folds,
            "cv_error_worst": round(float(per_output.max()), 6),
            "cv_error_mean": round(float(per_output.mean()), 6),
            "per_output": dict(zip(data.outputs, (round(float(e), 6) for e in per_output),
                                   strict=True)),
            "predict_us": round((time.perf_counter() - start) * 1000.0, 2)}
