"""Weights that follow the knobs: one weight set per point of a lattice over the controls.

A model with ``points = (P_0, P_1, ...)`` keeps ``prod(points)`` weight sets, the one for
lattice point (i_0, i_1, ...) at row ``(i_0 * P_1 + i_1) * P_2 + ...`` (row-major), point
``i_k`` of control k sitting at normalised value ``i_k / (P_k - 1)`` (0 when P_k is 1).
Between points the weights are blended multilinearly: each control contributes the two
points either side of its value, weighted by how near it is, so at most ``2 ** controls``
sets mix, and a lattice point plays its own set exactly.

``knob_coefficients`` is the blend's weights per set; ``blend_weights`` writes the blend
into preallocated live weights, in place, only when the controls moved.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def knob_coefficients(values, points, coeffs):
    """Each weight set's share at normalised control ``values``; clamps them to 0..1."""
    coeffs[:] = 1.0
    stride = coeffs.size
    for k in range(points.size):
        count = points[k]
        stride //= count
        if count == 1:
            continue
        u = min(max(values[k], 0.0), 1.0) * (count - 1)
        low = min(int(u), count - 2)
        frac = u - low
        for row in range(coeffs.size):
            i = (row // stride) % count
            if i == low:
                coeffs[row] *= 1.0 - frac
            elif i == low + 1:
                coeffs[row] *= frac
            else:
                coeffs[row] = 0.0


@nb.njit(cache=True, nogil=True)
def blend_weights(values, last, points, coeffs, anchors, live):
    """``live`` = the ``anchors`` rows (sets, N) blended at ``values``, when they differ
    from ``last`` (the values the live weights hold, updated here). Returns True when the
    live weights changed."""
    same = True
    for k in range(values.size):
        if values[k] != last[k]:
            same = False
    if same:
        return False
    knob_coefficients(values, points, coeffs)
    live[:] = 0.0
    for row in range(coeffs.size):
        c = coeffs[row]
        if c != 0.0:
            src = anchors[row]
            for i in range(live.size):
                live[i] += c * src[i]
    for k in range(values.size):
        last[k] = values[k]
    return True


def lattice_values(points: tuple[int, ...]) -> np.ndarray:
    """(sets, controls): the normalised control values of each lattice point, row-major."""
    axes = [np.linspace(0.0, 1.0, p) if p > 1 else np.zeros(1) for p in points]
    grid = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1).astype(np.float32)


def coefficients(values: np.ndarray, points: tuple[int, ...]) -> np.ndarray:
    """``knob_coefficients`` for one setting, as a new array (off the audio path)."""
    coeffs = np.zeros(int(np.prod(points)), np.float32)
    knob_coefficients(np.asarray(values, np.float32), np.asarray(points, np.int64), coeffs)
    return coeffs
