"""Activation functions as numba scalar code that vectorises inside loops.

``fast_tanh`` is an odd rational fit, (4, 4) in x², least-squares refined to
the minimax error, clamped at |x| = 7: its error against tanh is below 2e-6
everywhere, and unlike a libm call it vectorises (SIMD) inside numba loops.
"""

from __future__ import annotations

import numba as nb
import numpy as np

TANH = 0
RELU = 1
SIGMOID = 2
IDENTITY = 3
LEAKY_RELU = 4
HARDTANH = 5
SOFTSIGN = 6
SILU = 7

# Names accepted in model files, mapped to the codes above.
ACTIVATION_CODES = {
    "Tanh": TANH,
    "ReLU": RELU,
    "Sigmoid": SIGMOID,
    "Identity": IDENTITY,
    "LeakyReLU": LEAKY_RELU,
    "Hardtanh": HARDTANH,
    "Softsign": SOFTSIGN,
    "SiLU": SILU,
}

_P0, _P1, _P2, _P3 = (
    np.float32(0.9999998001103649),
    np.float32(0.13000890718407687),
    np.float32(0.0030335053076163262),
    np.float32(1.2369944657899767e-05),
)
_Q1, _Q2, _Q3, _Q4 = (
    np.float32(0.46334143906026204),
    np.float32(0.024148256749566367),
    np.float32(0.0002505989305117021),
    np.float32(2.772241748446162e-07),
)
_CLAMP = np.float32(7.0)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


@nb.njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def fast_tanh(x: float) -> float:
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x * (_P0 + x2 * (_P1 + x2 * (_P2 + x2 * _P3)))
    q = _ONE + x2 * (_Q1 + x2 * (_Q2 + x2 * (_Q3 + x2 * _Q4)))
    return min(max(p / q, -_ONE), _ONE)


@nb.njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def fast_sigmoid(x: float) -> float:
    return _HALF + _HALF * fast_tanh(_HALF * x)


@nb.njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def activate(code: int, x: float, slope: float) -> float:
    """Apply activation ``code``; ``slope`` is LeakyReLU's negative slope."""
    if code == TANH:
        return fast_tanh(x)
    if code == RELU:
        return max(x, np.float32(0.0))
    if code == SIGMOID:
        return fast_sigmoid(x)
    if code == LEAKY_RELU:
        return x if x > 0 else x * slope
    if code == HARDTANH:
        return min(max(x, -_ONE), _ONE)
    if code == SOFTSIGN:
        return x / (_ONE + abs(x))
    if code == SILU:
        return x * fast_sigmoid(x)
    return x
