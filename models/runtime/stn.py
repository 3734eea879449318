"""State Trajectory Network (Parker et al., DAFx-19): a per-sample MLP with a residual state.

s[n] = s[n-1] + MLP([x[n], s[n-1], controls[n]]); the output is s[n][0] or a
linear readout of s[n]. The recurrence is per sample, so the loops run over
the (tiny) layer widths with weights stored input-major, like the LSTM kernel.
"""

from __future__ import annotations

import numba as nb

from .activations import activate


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def stn_block(x, ctrl, out, mlp_w, mlp_b, widths, act, slope, readout_w, readout_b,
              linear_readout, state, scratch):
    """x, out: (channels, N); ctrl: (K, N); mlp_w: (L, Wmax, Wmax) as [layer, in, out];
    mlp_b: (L, Wmax); widths: (L + 1,) with widths[0] = 1 + S + K and widths[L] = S;
    readout_w: (S,); state: (channels, S); scratch: (2, Wmax)."""
    n_ch, frames = x.shape
    n_ctrl = ctrl.shape[0]
    layers = mlp_w.shape[0]
    size = state.shape[1]
    for ch in range(n_ch):
        s = state[ch]
        for t in range(frames):
            inp = scratch[0]
            inp[0] = x[ch, t]
            for j in range(size):
                inp[1 + j] = s[j]
            for k in range(n_ctrl):
                inp[1 + size + k] = ctrl[k, t]
            for layer in range(layers):
                src = scratch[layer % 2]
                dst = scratch[(layer + 1) % 2]
                n_out = widths[layer + 1]
                for j in range(n_out):
                    dst[j] = mlp_b[layer, j]
                for i in range(widths[layer]):
                    v = src[i]
                    for j in range(n_out):
                        dst[j] += mlp_w[layer, i, j] * v
                if layer < layers - 1:
                    for j in range(n_out):
                        dst[j] = activate(act, dst[j], slope)
            delta = scratch[layers % 2]
            for j in range(size):
                s[j] += delta[j]
            if linear_readout:
                y = readout_b
                for j in range(size):
                    y += readout_w[j] * s[j]
                out[ch, t] = y
            else:
                out[ch, t] = s[0]
