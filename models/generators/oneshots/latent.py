"""Fits on the training latents: PCA(2) with its [-1, 1] scaling, and linear feature estimators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LatentFits:
    pca_axes: np.ndarray        # (2, latent), orthonormal rows
    pca_mean: np.ndarray        # (latent,)
    pca_range: np.ndarray       # (2, 2): per axis (min, max) of the training projections
    explained: np.ndarray       # (2,) fraction of the latent variance per axis
    feature_A: np.ndarray       # (F, latent): estimator rows
    feature_c: np.ndarray       # (F,) intercepts
    feature_range: np.ndarray   # (F, 2): min, max of the true features


def fit_pca(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(axes (2, latent), mean, range (2, 2), explained variance ratio (2,))."""
    mean = points.mean(axis=0)
    centred = points - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = np.zeros((2, points.shape[1]))
    k = min(2, vt.shape[0])
    axes[:k] = vt[:k]
    for i in range(k):  # a deterministic sign: the largest component positive
        if axes[i, np.argmax(np.abs(axes[i]))] < 0:
            axes[i] = -axes[i]
    var = s ** 2
    explained = np.zeros(2)
    explained[:k] = var[:k] / max(float(var.sum()), 1e-30)
    proj = centred @ axes.T
    lo, hi = proj.min(axis=0), proj.max(axis=0)
    hi = np.where(hi - lo < 1e-9, lo + 1e-9, hi)
    return axes, mean, np.stack([lo, hi], axis=1), explained


def fit_linear(points: np.ndarray, targets: np.ndarray,
               ridge: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Least squares ``targets ≈ points @ A.T + c`` with a tiny ridge: (A (F, latent), c (F,))."""
    mean_z, mean_y = points.mean(axis=0), targets.mean(axis=0)
    zc, yc = points - mean_z, targets - mean_y
    gram = zc.T @ zc
    gram += ridge * max(float(np.trace(gram)) / gram.shape[0], 1e-12) * np.eye(gram.shape[0])
    A = np.linalg.solve(gram, zc.T @ yc).T
    return A, mean_y - A @ mean_z


def r_squared(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column."""
    resid = ((truth - estimate) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - resid / np.maximum(total, 1e-30)


def fit_latent(points: np.ndarray, features: np.ndarray) -> LatentFits:
    axes, mean, prange, explained = fit_pca(points)
    A, c = fit_linear(points, features)
    frange = np.stack([features.min(axis=0), features.max(axis=0)], axis=1)
    return LatentFits(axes, mean, prange, explained, A, c, frange)


def to_unit(proj: np.ndarray, prange: np.ndarray) -> np.ndarray:
    """PCA projections -> [-1, 1] over the training range (per axis)."""
    lo, hi = prange[:, 0], prange[:, 1]
    return 2.0 * (proj - lo) / (hi - lo) - 1.0


def from_unit(coords: np.ndarray, prange: np.ndarray) -> np.ndarray:
    lo, hi = prange[:, 0], prange[:, 1]
    return lo + (np.asarray(coords) + 1.0) * 0.5 * (hi - lo)
