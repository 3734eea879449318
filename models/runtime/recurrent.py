"""Per-sample LSTM and GRU kernels with a linear head.

Weights are stored input-major so each step is a handful of AXPY loops over
the gate vector, which vectorise; gate order follows PyTorch (LSTM i, f, g, o;
GRU r, z, n). Layer 0 reads [audio, control 1, control 2, ...] per sample.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .activations import fast_sigmoid, fast_tanh


@nb.njit(inline="always", fastmath=True, error_model="numpy", cache=True, nogil=True)
def _accumulate_rows(acc, w, layer, v, ch, rows, width):
    """acc[:width] += h[ch, layer, :rows] @ w[layer, :rows, :width], four rows per pass.

    Sharing each load and store of ``acc`` between four rows of ``w`` roughly
    halves the memory traffic of the recurrent product, which dominates. No
    row views: each costs two atomic reference-count updates per sample.
    """
    blocks = rows // 4
    for b in range(blocks):
        i = 4 * b
        v0, v1 = v[ch, layer, i], v[ch, layer, i + 1]
        v2, v3 = v[ch, layer, i + 2], v[ch, layer, i + 3]
        for j in range(width):
            acc[j] += (w[layer, i, j] * v0 + w[layer, i + 1, j] * v1
                       + w[layer, i + 2, j] * v2 + w[layer, i + 3, j] * v3)
    for i in range(4 * blocks, rows):
        vi = v[ch, layer, i]
        for j in range(width):
            acc[j] += w[layer, i, j] * vi


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def lstm_block(x, ctrl, out, wx, wh, bias, head_w, head_b, skip, h, c, gates, inp):
    """x, out: (C, N); ctrl: (K, N); wx: (L, I, 4H); wh: (L, H, 4H); bias: (L, 4H);
    head_w: (H,); h, c: (C, L, H) state; gates: (4H,), inp: (I,) scratch."""
    channels, frames = x.shape
    layers, _, g4 = wx.shape
    hidden = g4 // 4
    n_ctrl = ctrl.shape[0]
    for ch in range(channels):
        for t in range(frames):
            inp[0] = x[ch, t]
            for k in range(n_ctrl):
                inp[1 + k] = ctrl[k, t]
            n_in = 1 + n_ctrl
            for layer in range(layers):
                for j in range(g4):
                    gates[j] = bias[layer, j]
                for i in range(n_in):
                    v = inp[i]
                    for j in range(g4):
                        gates[j] += wx[layer, i, j] * v
                _accumulate_rows(gates, wh, layer, h, ch, hidden, g4)
                for j in range(hidden):
                    ig = fast_sigmoid(gates[j])
                    fg = fast_sigmoid(gates[hidden + j])
                    gg = fast_tanh(gates[2 * hidden + j])
                    og = fast_sigmoid(gates[3 * hidden + j])
                    cj = fg * c[ch, layer, j] + ig * gg
                    c[ch, layer, j] = cj
                    hj = og * fast_tanh(cj)
                    h[ch, layer, j] = hj
                    inp[j] = hj
                n_in = hidden
            y = head_b
            for j in range(hidden):
                y += head_w[j] * h[ch, layers - 1, j]
            if skip:
                y += x[ch, t]
            out[ch, t] = y


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def gru_block(x, ctrl, out, wx, wh, bx, bh, head_w, head_b, skip, h, gx, gh, inp):
    """As lstm_block with 3H gates (r, z, n) and separate input/hidden biases."""
    channels, frames = x.shape
    layers, _, g3 = wx.shape
    hidden = g3 // 3
    n_ctrl = ctrl.shape[0]
    for ch in range(channels):
        for t in range(frames):
            inp[0] = x[ch, t]
            for k in range(n_ctrl):
                inp[1 + k] = ctrl[k, t]
            n_in = 1 + n_ctrl
            for layer in range(layers):
                for j in range(g3):
                    gx[j] = bx[layer, j]
                    gh[j] = bh[layer, j]
                for i in range(n_in):
                    v = inp[i]
                    for j in range(g3):
                        gx[j] += wx[layer, i, j] * v
                _accumulate_rows(gh, wh, layer, h, ch, hidden, g3)
                for j in range(hidden):
                    r = fast_sigmoid(gx[j] + gh[j])
                    z = fast_sigmoid(gx[hidden + j] + gh[hidden + j])
                    n = fast_tanh(gx[2 * hidden + j] + r * gh[2 * hidden + j])
                    hj = (np.float32(1.0) - z) * n + z * h[ch, layer, j]
                    h[ch, layer, j] = hj
                    inp[j] = hj
                n_in = hidden
            y = head_b
            for j in range(hidden):
                y += head_w[j] * h[ch, layers - 1, j]
            if skip:
                y += x[ch, t]
            out[ch, t] = y
