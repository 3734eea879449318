"""OneShotModel: a trained one-shot autoencoder's decoder with its latent map.

Latent points of the training samples, PCA(2) axes scaled to [-1, 1] over the
training range, linear feature estimators ``f(z) = A z + c`` and the constrained
edit; ``generate(z)`` decodes one one-shot (torch, inference mode, no global
thread setting touched; safe to call from a worker thread: nothing is mutated).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralrig.server.errors import ModelError

from . import latent, modelfile
from .edit import constrained_edit as _edit
from .net import Decoder, NetConfig


class OneShotModel:
    """Load with ``OneShotModel.load(path)``."""

    def __init__(self, meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
                 path: str = "") -> None:
        def fail(problem: str) -> ModelError:
            return ModelError(f"{path or 'one-shot model'}: {problem}")

        try:
            cfg = NetConfig.from_json(meta["net"])
            self.sample_rate = int(meta["sample_rate"])
            self.length = int(meta["length"])
            self.names = [str(n) for n in meta["names"]]
            self.packs = [str(p) for p in meta["packs"]]
            self.pack_of = np.array([int(i) for i in meta["pack_of"]], dtype=np.int64)
            self.feature_names = tuple(str(n) for n in meta["feature_names"])
            self.feature_units = tuple(str(u) for u in meta.get("feature_units", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise fail(f"bad metadata ({type(exc).__name__}: {exc})") from None
        if not 8000 <= self.sample_rate <= 384_000 or self.length != cfg.length \
                or not 0 < self.length <= 10 * self.sample_rate:
            raise fail(f"bad sample_rate {self.sample_rate} or length {self.length}")
        self.latent_size = cfg.latent
        self.config = cfg
        self.meta = dict(meta)
        g = {k: np.asarray(tensors[f"latent.{k}"], dtype=np.float64)
             for k in modelfile.LATENT_TENSORS}
        n, d, f = len(self.names), cfg.latent, len(self.feature_names)
        shapes = {"points": (n, d), "features": (n, f), "feature_A": (f, d), "feature_c": (f,),
                  "feature_range": (f, 2), "pca_axes": (2, d), "pca_mean": (d,),
                  "pca_range": (2, 2)}
        for key, shape in shapes.items():
            if g[key].shape != shape:
                raise fail(f"tensor latent.{key} has shape {g[key].shape}, expected {shape}")
        if self.pack_of.shape != (n,) or n == 0 or (self.pack_of < 0).any() \
                or (self.pack_of >= len(self.packs)).any():
            raise fail("pack_of does not match names and packs")
        self.points, self.true_features = g["points"], g["features"]
        self.feature_A, self.feature_c = g["feature_A"], g["feature_c"]
        self.feature_range = g["feature_range"]
        self.pca_axes, self.pca_mean, self.pca_range = g["pca_axes"], g["pca_mean"], g["pca_range"]
        with torch.random.fork_rng(devices=[]):  # init weights without touching torch's RNG
            self.decoder = Decoder(cfg)
        state = {k[len("decoder."):]: torch.from_numpy(np.ascontiguousarray(v, np.float32))
                 for k, v in tensors.items() if k.startswith("decoder.")}
        try:
            self.decoder.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise fail(f"decoder weights do not fit the declared network ({first})") from None
        self.decoder.eval()
        self.decoder.requires_grad_(False)

    @classmethod
    def load(cls, path: str | Path) -> OneShotModel:
        """Read and validate a model written by ``neuralrig train-samples``."""
        meta, tensors = modelfile.read(path)
        return cls(meta, tensors, str(path))

    # -- latent geometry -------------------------------------------------------------------
    def _z(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (self.latent_size,):
            raise ValueError(f"z must have shape ({self.latent_size},), got {z.shape}")
        return z

    def features(self, z: np.ndarray) -> np.ndarray:
        """Linear feature estimates at ``z``: (F,) in feature units."""
        return self.feature_A @ self._z(z) + self.feature_c

    def pca_coords(self, z: np.ndarray) -> np.ndarray:
        """(2,) PCA coordinates, -1..1 over the training points' range."""
        return latent.to_unit(self.pca_axes @ (self._z(z) - self.pca_mean), self.pca_range)

    def from_pca(self, coords: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Move ``base`` (default: the mean point) along the two axes until its PCA
        coordinates are ``coords``; the rest of ``base`` is kept."""
        z = self.pca_mean.copy() if base is None else self._z(base).copy()
        coords = np.asarray(coords, dtype=np.float64).reshape(2)
        delta = latent.from_unit(coords, self.pca_range) - self.pca_axes @ (z - self.pca_mean)
        return z + self.pca_axes.T @ delta

    def constrained_edit(self, z: np.ndarray, targets: Mapping[str, float]) -> np.ndarray:
        """Smallest move of ``z`` that makes the named features' estimates equal the targets."""
        z = self._z(z)
        unknown = [k for k in targets if k not in self.feature_names]
        if unknown:
            raise KeyError(f"unknown feature(s) {unknown}; known: {list(self.feature_names)}")
        rows = [self.feature_names.index(k) for k in targets]
        if not rows:
            return z.copy()
        return _edit(z, self.feature_A[rows], self.feature_c[rows],
                     np.array([float(targets[k]) for k in targets]))

    def morph(self, i: int, j: int, amount: float) -> np.ndarray:
        """(1 − amount)·points[i] + amount·points[j]."""
        return (1.0 - amount) * self.points[i] + amount * self.points[j]

    def index(self, name: str) -> int:
        """The point index of a training sample name ("kicks/kick_012")."""
        return self.names.index(name)

    # -- audio -----------------------------------------------------------------------------
    def generate(self, z: np.ndarray) -> np.ndarray:
        """Decode one one-shot: float32 mono (length,)."""
        out = np.empty(self.length, dtype=np.float32)
        self.generate_into(z, out)
        return out

    def generate_into(self, z: np.ndarray, out: np.ndarray) -> None:
        """Decode into a preallocated float32 buffer of shape (length,)."""
        if out.shape != (self.length,) or out.dtype != np.float32:
            raise ValueError(f"out must be float32 ({self.length},), got {out.dtype} {out.shape}")
        zt = torch.from_numpy(self._z(z).astype(np.float32)).unsqueeze(0)
        with torch.inference_mode():
            y = self.decoder(zt)
        out[:] = y[0].numpy()

    def describe(self) -> str:
        return (f"one-shot autoencoder: {len(self.names)} samples in {len(self.packs)} packs "
                f"({', '.join(self.packs)}), latent {self.latent_size}, "
                f"{self.length} samples at {self.sample_rate} Hz")
