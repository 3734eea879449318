"""One WaveNet layer array (NAM "A1") over one block, with dilated-conv history.

Every layer keeps the history of its own input in ``hist[layer]``: a long
buffer with a shared write position, rewound (the last ``reach`` samples moved
to the front) only when a block would run past its end. Because a tap of a
dilated convolution is just the history shifted by a fixed offset, each tap
is one matrix product straight out of the buffer (row stride = buffer length,
no copying): ``z += W_k @ hist[:, p - d*(K-1-k) : p - d*(K-1-k) + N]``. The
products go to BLAS (``blas.gemm_rows``); the element-wise work (bias, mixer,
activation, residual) stays in vectorised numba loops.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .activations import activate, fast_sigmoid
from .blas import gemm_rows

_F32 = 4  # bytes


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def wavenet_array_block(
    x_in, cond, head_prev, rechannel_w, conv_wk, conv_b, mix_w, out_w, out_b,
    dilations, kernel_sizes, act, slope, gated, hist, pos, reach,
    head_w, head_b, z, a, head_acc, resid_out, head_out, sgemm, ints, floats,
):
    """Run one layer array over ``x_in`` (Cin, N).

    conv_wk: (L, Kmax, Z, C) per-tap weights, Z = 2C when gated; mix_w:
    (L, Z, Ccond); out_w: (L, C, C); hist: (L, C, B) input histories; pos: (1,)
    int64 write position; head_prev: (C, N), or (0, N) for the first array;
    z, a, head_acc: scratch rows with stride >= N; sgemm: blas.sgemm_address();
    ints, floats: blas.gemm_args().
    Writes the residual output (C, N) and the head output (H, N).
    """
    n_in, frames = x_in.shape
    layers, _, zc, channels = conv_wk.shape
    n_cond = cond.shape[0]
    buf_len = hist.shape[2]
    p = pos[0]
    if p + frames > buf_len:
        for layer in range(layers):
            for c in range(channels):
                row = hist[layer, c]
                for t in range(reach):
                    row[t] = row[p - reach + t]
        p = reach
    layer_bytes = channels * buf_len * _F32
    hist_ptr = hist.ctypes.data
    z_ld = z.strides[0] // _F32
    a_ld = a.strides[0] // _F32
    zero = np.float32(0.0)
    # Rechannel the array input into layer 0's history.
    cur = hist[0, :, p : p + frames]
    for c in range(channels):
        row = cur[c]
        for t in range(frames):
            row[t] = zero
        for i in range(n_in):
            w = rechannel_w[c, i]
            src = x_in[i]
            for t in range(frames):
                row[t] += w * src[t]
    # Head accumulator: seeded with the previous array's head output.
    for c in range(channels):
        acc = head_acc[c]
        if head_prev.shape[0] == channels:
            src = head_prev[c]
            for t in range(frames):
                acc[t] = src[t]
        else:
            for t in range(frames):
                acc[t] = zero
    for layer in range(layers):
        d = dilations[layer]
        k_size = kernel_sizes[layer]
        # z = bias + mixer(cond) + sum over taps of W_k @ shifted history.
        for o in range(zc):
            zrow = z[o]
            b = conv_b[layer, o]
            for t in range(frames):
                zrow[t] = b
            for j in range(n_cond):
                w = mix_w[layer, o, j]
                crow = cond[j]
                for t in range(frames):
                    zrow[t] += w * crow[t]
        for k in range(k_size):
            start = p - d * (k_size - 1 - k)
            gemm_rows(sgemm, ints, floats, zc, frames, channels, conv_wk[layer, k].ctypes.data,
                      channels, hist_ptr + layer * layer_bytes + start * _F32, buf_len,
                      1.0, z.ctypes.data, z_ld)
        for c in range(channels):
            arow = a[c]
            zrow = z[c]
            if gated:
                grow = z[channels + c]
                for t in range(frames):
                    arow[t] = activate(act, zrow[t], slope) * fast_sigmoid(grow[t])
            else:
                for t in range(frames):
                    arow[t] = activate(act, zrow[t], slope)
            acc = head_acc[c]
            for t in range(frames):
                acc[t] += arow[t]
        # Residual: next = current + bias + W_1x1 @ a.
        cur = hist[layer, :, p : p + frames]
        nxt = resid_out if layer == layers - 1 else hist[layer + 1, :, p : p + frames]
        for o in range(channels):
            dst = nxt[o]
            src = cur[o]
            b = out_b[layer, o]
            for t in range(frames):
                dst[t] = src[t] + b
        gemm_rows(sgemm, ints, floats, channels, frames, channels, out_w[layer].ctypes.data,
                  channels, a.ctypes.data, a_ld, 1.0, nxt.ctypes.data, nxt.strides[0] // _F32)
    n_head = head_w.shape[0]
    for o in range(n_head):
        dst = head_out[o]
        b = head_b[o]
        for t in range(frames):
            dst[t] = b
    gemm_rows(sgemm, ints, floats, n_head, frames, channels, head_w.ctypes.data, channels,
              head_acc.ctypes.data, head_acc.strides[0] // _F32, 1.0, head_out.ctypes.data,
              head_out.strides[0] // _F32)
    pos[0] = p + frames
