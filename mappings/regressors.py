"""Regressors that map a gesture vector to output values: linear, nearest-neighbour, MLP.

All are numpy only: prediction is a few small matrix products (microseconds, no
torch in the daemon), and training an MLP on a thousand examples takes a second
or two on one core, in the training process. Inputs are standardised and
outputs scaled to 0..1 by the ``Scaler`` fitted on the examples, so raw pixel
coordinates or MIDI values need no care (the ADC24 app fed raw pixels to its MLP).

One gesture at a time (the live path) takes ``_predict_one``: the scaler is folded
into each regressor's arrays once (``_compile``, after fitting or loading), so a
gesture costs a handful of numpy calls of few kinds (subtract, multiply, matmul).
That is what matters on the control thread: woken from idle, with cold caches, a
numpy call costs ten times what it does in a hot loop, more for one not yet run.

Every regressor turns into a dict of float64 arrays plus a JSON-able dict of
settings (``state``), and back (``from_state``): mapping files store them in
safetensors, never pickle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from neuralrig.server.errors import NeuralrigError

Arrays = dict[str, np.ndarray]


class RegressorError(NeuralrigError, ValueError):
    """Examples a regressor cannot learn from (too few, wrong shapes, not finite)."""


def check_examples(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise RegressorError(f"examples must be (n, inputs) and (n, outputs), got {x.shape} "
                             f"and {y.shape}")
    if len(x) == 0:
        raise RegressorError("no examples: record some first")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise RegressorError("examples contain NaN or infinite values")
    return x, y


@dataclass
class Scaler:
    """Inputs to zero mean and unit spread; outputs to 0..1 over the examples' range."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_min: np.ndarray
    y_span: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> Scaler:
        x_scale = x.std(axis=0)
        y_min, y_span = y.min(axis=0), np.ptp(y, axis=0)
        return cls(x.mean(axis=0), np.where(x_scale > 1e-12, x_scale, 1.0),
                   y_min, np.where(y_span > 1e-12, y_span, 1.0))

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_mean) / self.x_scale

    def outputs(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_min) / self.y_span

    def restore(self, y01: np.ndarray) -> np.ndarray:
        return y01 * self.y_span + self.y_min

    def arrays(self) -> Arrays:
        return {"x_mean": self.x_mean, "x_scale": self.x_scale, "y_min": self.y_min,
                "y_span": self.y_span}


class Regressor:
    kind: ClassVar[str]
    scaler: Scaler
    # Called now and then with the share of training done (MLP epochs); None: silent.
    progress: Callable[[float], None] | None = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> Regressor:
        x, y = check_examples(x, y)
        self.scaler = Scaler.fit(x, y)
        self._fit(self.scaler.inputs(x), self.scaler.outputs(y))
        self._compile()
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(inputs,) -> (outputs,), or (n, inputs) -> (n, outputs)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            return self._predict_one(x)
        return self.scaler.restore(self._predict(self.scaler.inputs(x)))

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, x: np.ndarray) -> np.ndarray:
        """Scaled inputs (n, inputs) -> outputs scaled to 0..1."""
        raise NotImplementedError

    def _compile(self) -> None:
        """Fold the scaler into the arrays ``_predict_one`` uses."""
        s = self.scaler
        self._in_scale = 1.0 / s.x_scale  # scaled input = x * _in_scale - _in_shift
        self._in_shift = s.x_mean / s.x_scale

    def _predict_one(self, x: np.ndarray) -> np.ndarray:
        """One raw gesture (inputs,) -> raw outputs (outputs,)."""
        return self.scaler.restore(self._predict(self.scaler.inputs(x[None, :])))[0]

    # -- persistence ----------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], Arrays]:
        settings, arrays = self._state()
        arrays = {**{f"scaler.{k}": v for k, v in self.scaler.arrays().items()}, **arrays}
        return {"kind": self.kind, **settings}, arrays

    def _state(self) -> tuple[dict[str, Any], Arrays]:
        raise NotImplementedError

    @staticmethod
    def from_state(settings: dict[str, Any], arrays: Arrays) -> Regressor:
        kind = settings.get("kind")
        cls = REGRESSORS.get(str(kind))
        if cls is None:
            raise RegressorError(f"unknown regressor kind {kind!r} (known: {sorted(REGRESSORS)})")
        try:
            scaler = Scaler(*(np.asarray(arrays[f"scaler.{k}"], np.float64)
                              for k in ("x_mean", "x_scale", "y_min", "y_span")))
            regressor = cls._from_state(settings, arrays)
        except KeyError as exc:
            raise RegressorError(f"{kind} regressor: missing array {exc}") from None
        regressor.scaler = scaler
        regressor._compile()
        return regressor

    @classmethod
    def _from_state(cls, settings: dict[str, Any], arrays: Arrays) -> Regressor:
        raise NotImplementedError


class LinearRegressor(Regressor):
    """Least squares with a little ridge: the baseline, and exact for linear mappings."""

    kind = "linear"

    def __init__(self, ridge: float = 1e-6) -> None:
        self.ridge = ridge

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        a = np.hstack([x, np.ones((len(x), 1))])
        gram = a.T @ a + self.ridge * np.eye(a.shape[1])
        self.weights = np.linalg.solve(gram, a.T @ y)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights[:-1] + self.weights[-1]

    def _compile(self) -> None:
        super()._compile()
        s, w, b = self.scaler, self.weights[:-1], self.weights[-1]
        self._w = self._in_scale[:, None] * w * s.y_span
        self._b = (b - self._in_shift @ w) * s.y_span + s.y_min

    def _predict_one(self, x: np.ndarray) -> np.ndarray:
        return x @ self._w + self._b

    def _state(self) -> tuple[dict[str, Any], Arrays]:
        return {"ridge": self.ridge}, {"weights": self.weights}

    @classmethod
    def _from_state(cls, settings: dict[str, Any], arrays: Arrays) -> Regressor:
        out = cls(float(settings.get("ridge", 1e-6)))
        out.weights = np.asarray(arrays["weights"], np.float64)
        return out


class NearestRegressor(Regressor):
    """Inverse-distance weighting of the k nearest examples: right on every example,
    smooth between them; the choice for a handful of examples."""

    kind = "nearest"

    def __init__(self, k: int = 4, power: float = 2.0) -> None:
        self.k, self.power = k, power

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        self.points, self.values = x.copy(), y.copy()

    def _predict(self, x: np.ndarray) -> np.ndarray:
        d2 = ((x[:, None, :] - self.points[None, :, :]) ** 2).sum(axis=2)
        k = min(self.k, len(self.points))
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.take_along_axis(d2, nearest, axis=1)
        weights = 1.0 / np.maximum(dist, 1e-12) ** (self.power / 2.0)
        exact = dist < 1e-12
        weights = np.where(exact.any(axis=1, keepdims=True), exact.astype(np.float64), weights)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("nk,nko->no", weights, self.values[nearest])

    def _compile(self) -> None:
        super()._compile()
        s = self.scaler
        self._points = self.points + self._in_shift  # so that a distance is points - x*scale
        self._values = s.restore(self.values)  # weights sum to 1: restoring commutes
        self._ones = np.ones(self.points.shape[1])
        self._repeats = len(np.unique(self.points, axis=0)) < len(self.points)

    def _predict_one(self, x: np.ndarray) -> np.ndarray:
        diff = self._points - x * self._in_scale
        d2 = (diff * diff) @ self._ones
        values = self._values
        closest = int(d2.argmin())
        if d2[closest] < 1e-12:  # on an example (a CC value often is): its value
            if not self._repeats:
                return values[closest].copy()
            return values[d2 < 1e-12][:self.k].mean(axis=0)  # the mean of repeats
        if len(d2) > self.k:
            nearest = np.argpartition(d2, self.k - 1)[:self.k]
            d2, values = d2[nearest], values[nearest]
        weights = d2 ** (-self.power / 2.0)
        return (weights @ values) / weights.sum()

    def _state(self) -> tuple[dict[str, Any], Arrays]:
        return {"k": self.k, "power": self.power}, {"points": self.points,
                                                     "values": self.values}

    @classmethod
    def _from_state(cls, settings: dict[str, Any], arrays: Arrays) -> Regressor:
        out = cls(int(settings.get("k", 4)), float(settings.get("power", 2.0)))
        out.points = np.asarray(arrays["points"], np.float64)
        out.values = np.asarray(arrays["values"], np.float64)
        return out


class SplineRegressor(Regressor):
    """Polyharmonic spline interpolation (r³ kernel plus a linear part): passes through
    every example and bends as little as possible between them. Very accurate on smooth
    mappings of up to a few thousand examples; ``smoothing`` relaxes it for noisy ones."""

    kind = "spline"

    def __init__(self, smoothing: float = 1e-6) -> None:
        self.smoothing = smoothing

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        n, d = x.shape
        kernel = self._kernel(x, x) + self.smoothing * np.eye(n)
        poly = np.hstack([x, np.ones((n, 1))])
        system = np.block([[kernel, poly], [poly.T, np.zeros((d + 1, d + 1))]])
        rhs = np.vstack([y, np.zeros((d + 1, y.shape[1]))])
        try:
            solution = np.linalg.solve(system, rhs)
        except np.linalg.LinAlgError:  # repeated gestures: take the least-squares answer
            solution = np.linalg.lstsq(system, rhs, rcond=None)[0]
        self.centers, self.weights, self.poly = x.copy(), solution[:n], solution[n:]

    @staticmethod
    def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
        return r * r * r

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return (self._kernel(x, self.centers) @ self.weights + x @ self.poly[:-1]
                + self.poly[-1])

    def _compile(self) -> None:
        super()._compile()
        s, linear = self.scaler, self.poly[:-1]
        self._centers = self.centers + self._in_shift
        self._kernel_weights = self.weights * s.y_span
        self._linear = self._in_scale[:, None] * linear * s.y_span
        self._offset = (self.poly[-1] - self._in_shift @ linear) * s.y_span + s.y_min
        self._ones = np.ones(self.centers.shape[1])

    def _predict_one(self, x: np.ndarray) -> np.ndarray:
        diff = self._centers - x * self._in_scale
        r2 = (diff * diff) @ self._ones
        return (r2 * np.sqrt(r2)) @ self._kernel_weights + x @ self._linear + self._offset

    def _state(self) -> tuple[dict[str, Any], Arrays]:
        return {"smoothing": self.smoothing}, {"centers": self.centers,
                                               "weights": self.weights, "poly": self.poly}

    @classmethod
    def _from_state(cls, settings: dict[str, Any], arrays: Arrays) -> Regressor:
        out = cls(float(settings.get("smoothing", 1e-6)))
        out.centers = np.asarray(arrays["centers"], np.float64)
        out.weights = np.asarray(arrays["weights"], np.float64)
        out.poly = np.asarray(arrays["poly"], np.float64)
        return out


@dataclass
class MLPSettings:
    hidden: tuple[int, ...] = (32, 32)
    epochs: int = 3000  # at most; early stopping usually ends sooner
    learning_rate: float = 0.01
    batch: int = 64
    validation: float = 0.2  # share of examples held out for early stopping
    patience: int = 200  # epochs without a better validation error
    weight_decay: float = 1e-5
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class MLPRegressor(Regressor):
    """tanh hidden layers, linear output; Adam; early stopping on a validation split,
    keeping the weights with the best validation error."""

    kind = "mlp"

    def __init__(self, settings: MLPSettings | None = None) -> None:
        self.settings = settings or MLPSettings()
        self.validation_rmse: float | None = None
        self.epochs_run = 0

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        s = self.settings
        rng = np.random.default_rng(s.seed)
        n = len(x)
        order = rng.permutation(n)
        n_val = round(s.validation * n) if n >= 10 else 0
        val, train = order[:n_val], order[n_val:]
        sizes = [x.shape[1], *s.hidden, y.shape[1]]
        self.layers = [(rng.normal(0, np.sqrt(1.0 / a), (a, b)), np.zeros(b))
                       for a, b in itertools.pairwise(sizes)]
        params = [p for layer in self.layers for p in layer]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        best, best_params, since, step = np.inf, [p.copy() for p in params], 0, 0
        for epoch in range(s.epochs):
            batches = np.array_split(rng.permutation(train), max(1, len(train) // s.batch))
            for idx in batches:
                grads = self._gradients(x[idx], y[idx])
                step += 1
                for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                    g = g + s.weight_decay * p
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    p -= s.learning_rate * (m[i] / (1 - 0.9**step)) / (
                        np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
            if self.progress is not None and epoch % 50 == 49:
                self.progress(min(0.99, (epoch + 1) / s.epochs))
            check = val if n_val else train
            error = float(np.sqrt(np.mean((self._predict(x[check]) - y[check]) ** 2)))
            self.epochs_run = epoch + 1
            if error < best - 1e-7:
                best, best_params, since = error, [p.copy() for p in params], 0
            else:
                since += 1
                if since >= s.patience:
                    break
        for p, b in zip(params, best_params, strict=True):
            p[...] = b
        self.validation_rmse = best if n_val else None

    def _forward(self, x: np.ndarray) -> list[np.ndarray]:
        acts = [x]
        for i, (w, b) in enumerate(self.layers):
            z = acts[-1] @ w + b
            acts.append(np.tanh(z) if i < len(self.layers) - 1 else z)
        return acts

    def _gradients(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        acts = self._forward(x)
        delta = 2.0 * (acts[-1] - y) / y.size
        grads: list[np.ndarray] = []
        for i in range(len(self.layers) - 1, -1, -1):
            w, _ = self.layers[i]
            grads[:0] = [acts[i].T @ delta, delta.sum(axis=0)]
            if i:
                delta = (delta @ w.T) * (1.0 - acts[i] ** 2)
        return grads

    def _predict(self, x: np.ndarray) -> np.ndarray:
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.tanh(x)
        return x

    def _compile(self) -> None:
        super()._compile()
        s = self.scaler
        layers = [(w.copy(), b.copy()) for w, b in self.layers]
        w, b = layers[0]
        layers[0] = (self._in_scale[:, None] * w, b - self._in_shift @ w)
        w, b = layers[-1]
        layers[-1] = (w * s.y_span, b * s.y_span + s.y_min)
        self._hidden, self._output = layers[:-1], layers[-1]

    def _predict_one(self, x: np.ndarray) -> np.ndarray:
        for w, b in self._hidden:
            x = np.tanh(x @ w + b)
        w, b = self._output
        return x @ w + b

    def _state(self) -> tuple[dict[str, Any], Arrays]:
        s = self.settings
        arrays: Arrays = {}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"layer{i}.w"], arrays[f"layer{i}.b"] = w, b
        return {"hidden": list(s.hidden), "layers": len(self.layers),
                "validation_rmse": self.validation_rmse, "epochs_run": self.epochs_run}, arrays

    @classmethod
    def _from_state(cls, settings: dict[str, Any], arrays: Arrays) -> Regressor:
        out = cls(MLPSettings(hidden=tuple(int(h) for h in settings.get("hidden", ()))))
        out.layers = [(np.asarray(arrays[f"layer{i}.w"], np.float64),
                       np.asarray(arrays[f"layer{i}.b"], np.float64))
                      for i in range(int(settings["layers"]))]
        out.validation_rmse = settings.get("validation_rmse")
        out.epochs_run = int(settings.get("epochs_run", 0))
        return out


REGRESSORS: dict[str, type[Regressor]] = {
    cls.kind: cls for cls in (LinearRegressor, NearestRegressor, SplineRegressor,
                              MLPRegressor)}
MAX_SPLINE_EXAMPLES = 1000  # its solve grows as n³, its prediction as n (83 us at 1,000)


def parse_layers(text: str) -> tuple[int, ...]:
    """``64x32`` -> (64, 32): one to four hidden layers of 1 to 512 units."""
    try:
        layers = tuple(int(part) for part in text.split("x"))
    except ValueError:
        layers = ()
    if not 1 <= len(layers) <= 4 or not all(1 <= n <= 512 for n in layers):
        raise RegressorError(f"MLP layers {text!r}: one to four sizes of 1-512 joined by x, "
                             "e.g. mlp:64x64")
    return layers


def valid_kind(kind: str) -> str:
    """``kind`` if a mapping can use it (auto, a regressor, or mlp:LAYERS); else an error."""
    if kind == "auto" or kind in REGRESSORS:
        return kind
    if kind.startswith("mlp:"):
        parse_layers(kind[4:])
        return kind
    raise RegressorError(f"regressor {kind!r}: auto, {', '.join(sorted(REGRESSORS))} or "
                         "mlp:LAYERS (e.g. mlp:64x64)")


def choose(n_examples: int, n_inputs: int) -> str:
    """The regressor an example set suits: fewer examples than a plane needs blend the
    nearest; up to a thousand, the spline; beyond, an MLP."""
    if n_examples <= n_inputs + 1:
        return "nearest"
    return "spline" if n_examples <= MAX_SPLINE_EXAMPLES else "mlp"


def make(kind: str, **settings: Any) -> Regressor:
    """A regressor by kind; ``mlp:64x64`` is an MLP with those hidden layers."""
    if kind == "mlp" or kind.startswith("mlp:"):
        if kind.startswith("mlp:"):
            settings["hidden"] = parse_layers(kind[4:])
        return MLPRegressor(MLPSettings(**settings))
    if kind not in REGRESSORS:
        raise RegressorError(f"unknown regressor {kind!r} (auto, {', '.join(REGRESSORS)})")
    return REGRESSORS[kind](**settings)
