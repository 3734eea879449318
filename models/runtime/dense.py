"""Per-sample dense (MLP) kernel with region routing: the MLP and LACTOSE models.

One kernel serves both: a plain MLP is a conditional MLP with one region and
no thresholds, so the two are timed on exactly the same code. Per sample the
input vector is [audio, control 1, control 2, ...]; its element ``route`` is
the routing signal, whose region is the count of thresholds strictly below it
(``searchsorted(thresholds, v, side="left")``): region 0 is ``v <= t[0]``,
region r is ``t[r-1] < v <= t[r]``. That region's small MLP then runs.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .activations import activate

# Up to this many thresholds a linear count (branch-free, vectorises) beats a binary search.
LINEAR_SCAN_MAX = 16


@nb.njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def region_of(thresholds, v):
    """Number of ``thresholds`` (ascending) strictly below ``v``."""
    n = thresholds.shape[0]
    if n <= LINEAR_SCAN_MAX:
        r = 0
        for k in range(n):
            if v > thresholds[k]:
                r += 1
        return r
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if thresholds[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def conditional_mlp_block(x, ctrl, out, route, thresholds, w, b, sizes, act, slope, h0, h1):
    """x, out: (C, N); ctrl: (K, N); route: index into [audio, controls...] of the routing
    signal; thresholds: (T,) ascending, T = R - 1; w: (R, L, M, M) input-major
    (w[r, l, i, j] joins input i to unit j of layer l); b: (R, L, M); sizes: (L + 1,) layer
    widths (sizes[0] = 1 + K, sizes[L] = 1); act, slope: hidden activation;
    h0, h1: (M,) scratch. The last layer is linear."""
    channels, frames = x.shape
    n_ctrl = ctrl.shape[0]
    layers = sizes.shape[0] - 1
    for ch in range(channels):
        xrow = x[ch]
        orow = out[ch]
        for t in range(frames):
            h0[0] = xrow[t]
            for k in range(n_ctrl):
                h0[1 + k] = ctrl[k, t]
            r = region_of(thresholds, h0[route])
            for layer in range(layers):
                n_in = sizes[layer]
                n_out = sizes[layer + 1]
                wl = w[r, layer]
                bl = b[r, layer]
                for j in range(n_out):
                    h1[j] = bl[j]
                for i in range(n_in):
                    a = h0[i]
                    wi = wl[i]
                    for j in range(n_out):
                        h1[j] += wi[j] * a
                if layer < layers - 1:
                    for j in range(n_out):
                        h0[j] = activate(act, h1[j], slope)
            orow[t] = h1[0]


def pack_dense(weights: list[np.ndarray], biases: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Stack per-region layers for the kernel.

    ``weights[l]`` is (R, out, in) in PyTorch's layout, ``biases[l]`` (R, out). Returns
    (w (R, L, M, M) input-major, b (R, L, M), sizes (L + 1,) int64, M).
    """
    regions = weights[0].shape[0]
    sizes = [weights[0].shape[2]] + [wl.shape[1] for wl in weights]
    width = max(sizes)
    w = np.zeros((regions, len(weights), width, width), np.float32)
    b = np.zeros((regions, len(weights), width), np.float32)
    for layer, (wl, bl) in enumerate(zip(weights, biases, strict=True)):
        n_out, n_in = wl.shape[1], wl.shape[2]
        w[:, layer, :n_in, :n_out] = np.transpose(wl, (0, 2, 1))
        b[:, layer, :n_out] = bl
    return w, b, np.asarray(sizes, np.int64), width
