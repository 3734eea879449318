"""Weights that follow the knobs: one weight set per point of a lattice over the controls.

Each control's lattice is a count P (P points evenly spread over its normalised range,
0 to 1) or a list of positions from 0 to 1 (e.g. ``[0, 0.125, 0.5, 1]``: points packed
where the device changes fastest). A model keeps one weight set per lattice point, the
one for point (i_0, i_1, ...) at row ``(i_0 * P_1 + i_1) * P_2 + ...`` (row-major).
Between points the weights are blended multilinearly: each control contributes the two
points either side of its value, weighted by how near it is, so at most ``2 ** controls``
sets mix, and a lattice point plays its own set exactly.

``knob_coefficients`` is the blend's weights per set; ``blend_weights`` writes the blend
into preallocated live weights, in place, only when the controls moved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np

LatticeSpec = Sequence[int | Sequence[float]]


@nb.njit(cache=True, nogil=True)
def knob_coefficients(values, counts, positions, coeffs):
    """Each weight set's share at normalised control ``values``, clamped to 0..1.

    ``counts``: points per control; ``positions``: every control's point positions, one
    control after another (``lattice_arrays``)."""
    coeffs[:] = 1.0
    stride = coeffs.size
    first = 0
    for k in range(counts.size):
        count = counts[k]
        stride //= count
        if count > 1:
            u = min(max(values[k], 0.0), 1.0)
            low = 0
            while low < count - 2 and u > positions[first + low + 1]:
                low += 1
            span = positions[first + low + 1] - positions[first + low]
            frac = min(max((u - positions[first + low]) / span, 0.0), 1.0)
            for row in range(coeffs.size):
                i = (row // stride) % count
                if i == low:
                    coeffs[row] *= 1.0 - frac
                elif i == low + 1:
                    coeffs[row] *= frac
                else:
                    coeffs[row] = 0.0
        first += count


@nb.njit(cache=True, nogil=True)
def blend_weights(values, last, counts, positions, coeffs, anchors, live):
    """``live`` = the ``anchors`` rows (sets, N) blended at ``values``, when they differ
    from ``last`` (the values the live weights hold, updated here). Returns True when the
    live weights changed."""
    same = True
    for k in range(values.size):
        if values[k] != last[k]:
            same = False
    if same:
        return False
    knob_coefficients(values, counts, positions, coeffs)
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


def lattice_axes(spec: LatticeSpec) -> list[np.ndarray]:
    """Each control's point positions (0..1) from its count or its list."""
    axes = []
    for entry in spec:
        if isinstance(entry, (int, np.integer)):
            axes.append(np.linspace(0.0, 1.0, int(entry)) if entry > 1 else np.zeros(1))
        else:
            axes.append(np.asarray(entry, np.float64))
    return axes


def lattice_size(spec: LatticeSpec) -> int:
    return int(np.prod([axis.size for axis in lattice_axes(spec)]))


def lattice_arrays(spec: LatticeSpec) -> tuple[np.ndarray, np.ndarray]:
    """(counts, positions) as ``knob_coefficients`` takes them."""
    axes = lattice_axes(spec)
    return (np.asarray([a.size for a in axes], np.int64),
            np.concatenate(axes).astype(np.float32))


def lattice_json(spec: LatticeSpec) -> list:
    """The lattice as a model's config keeps it: counts as ints, positions as float lists."""
    return [int(e) if isinstance(e, (int, np.integer)) else [float(v) for v in e]
            for e in spec]


def lattice_text(spec: LatticeSpec) -> str:
    """The lattice as ``--knob-weights`` writes it: ``3,0/0.125/0.5/1``."""
    return ",".join(str(e) if isinstance(e, (int, np.integer))
                    else "/".join(f"{float(v):g}" for v in e) for e in spec)


def lattice_values(spec: LatticeSpec) -> np.ndarray:
    """(sets, controls): the normalised control values of each lattice point, row-major."""
    grid = np.meshgrid(*lattice_axes(spec), indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1).astype(np.float32)


def coefficients(values: np.ndarray, spec: LatticeSpec) -> np.ndarray:
    """``knob_coefficients`` for one setting, as a new array (off the audio path)."""
    counts, positions = lattice_arrays(spec)
    coeffs = np.zeros(int(np.prod(counts)), np.float32)
    knob_coefficients(np.asarray(values, np.float32), counts, positions, coeffs)
    return coeffs
