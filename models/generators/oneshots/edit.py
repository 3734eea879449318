"""The constrained latent edit: reach linear feature targets with the smallest move of z.

With linear feature estimators ``f(z) = A z + c`` (one row of ``A`` per constrained
feature), the edit

    z' = z + Aᵀ (A Aᵀ)⁻¹ (b' − c − A z)

is the minimum-norm change of ``z`` for which ``A z' + c = b'`` exactly: the change
lies in the row space of ``A``, so every direction the constrained estimators cannot
see is left alone. Numpy only.
"""

from __future__ import annotations

import numpy as np


def constrained_edit(z: np.ndarray, A: np.ndarray, c: np.ndarray,
                     targets: np.ndarray) -> np.ndarray:
    """Move ``z`` (latent,) so that ``A @ z' + c == targets`` with the least ``|z' - z|``.

    ``A`` is (k, latent), ``c`` and ``targets`` are (k,). With k = 0 (nothing
    constrained) ``z`` comes back unchanged (a copy). Rank-deficient ``A`` (two
    constraints along the same direction) uses the pseudo-inverse: the least-squares
    compromise, still with the smallest move.
    """
    z = np.asarray(z, dtype=np.float64)
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1)
    if z.ndim != 1:
        raise ValueError(f"z must be one latent vector, got shape {z.shape}")
    if A.size == 0 or targets.size == 0:
        return z.copy()
    if A.shape[1] != z.size or A.shape[0] != c.size or c.size != targets.size:
        raise ValueError(f"shapes disagree: A {A.shape}, c {c.shape}, targets "
                         f"{targets.shape}, z {z.shape}")
    residual = targets - c - A @ z
    gram = A @ A.T
    if np.linalg.cond(gram) < 1e10:
        weights = np.linalg.solve(gram, residual)
    else:
        weights = np.linalg.pinv(gram, rcond=1e-10) @ residual
    return z + A.T @ weights
