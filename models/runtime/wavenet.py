"""One WaveNet layer array (NAM "A1") over one block, with dilated-conv history.

Every layer keeps the history of its own input in ``hist[layer]``: a long
buffer with a shared write position, rewound (the last ``reach`` samples moved
to the front) only when a block would run past its end. Inner loops run over
time, so each weight is broadcast against contiguous samples and vectorises;
four output channels share each pass over an input row, which cuts the
loads and stores per multiply-add (about 20% faster than one at a time).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .activations import activate, fast_sigmoid


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def wavenet_array_block(
    x_in, cond, head_prev, rechannel_w, conv_w, conv_b, mix_w, out_w, out_b,
    dilations, kernel_sizes, act, slope, gated, hist, pos, reach,
    head_w, head_b, z, a, head_acc, resid_out, head_out,
):
    """Run one layer array over ``x_in`` (Cin, N).

    conv_w: (L, Z, C, Kmax) with Z = 2C when gated; mix_w: (L, Z, Ccond);
    out_w: (L, C, C); hist: (L, C, B) input histories; pos: (1,) int64 write
    position; head_prev: (C, N) or (0, N) when this is the first array.
    Writes the residual output (C, N) and the head output (H, N).
    """
    n_in, frames = x_in.shape
    layers, zc, channels, _ = conv_w.shape
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
    # Rechannel the array input into layer 0's history.
    cur = hist[0, :, p : p + frames]
    for c in range(channels):
        row = cur[c]
        for t in range(frames):
            row[t] = np.float32(0.0)
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
                acc[t] = np.float32(0.0)
    for layer in range(layers):
        d = dilations[layer]
        k_size = kernel_sizes[layer]
        cur = hist[layer, :, p : p + frames]
        o = 0
        while o + 4 <= zc:
            z0 = z[o]
            z1 = z[o + 1]
            z2 = z[o + 2]
            z3 = z[o + 3]
            b0 = conv_b[layer, o]
            b1 = conv_b[layer, o + 1]
            b2 = conv_b[layer, o + 2]
            b3 = conv_b[layer, o + 3]
            for t in range(frames):
                z0[t] = b0
                z1[t] = b1
                z2[t] = b2
                z3[t] = b3
            for i in range(channels):
                hrow = hist[layer, i]
                for k in range(k_size):
                    w0 = conv_w[layer, o, i, k]
                    w1 = conv_w[layer, o + 1, i, k]
                    w2 = conv_w[layer, o + 2, i, k]
                    w3 = conv_w[layer, o + 3, i, k]
                    base = p - d * (k_size - 1 - k)
                    seg = hrow[base : base + frames]
                    for t in range(frames):
                        v = seg[t]
                        z0[t] += w0 * v
                        z1[t] += w1 * v
                        z2[t] += w2 * v
                        z3[t] += w3 * v
            o += 4
        done = o
        for o in range(done, zc):
            zrow = z[o]
            b = conv_b[layer, o]
            for t in range(frames):
                zrow[t] = b
            for i in range(channels):
                hrow = hist[layer, i]
                for k in range(k_size):
                    w = conv_w[layer, o, i, k]
                    base = p - d * (k_size - 1 - k)
                    seg = hrow[base : base + frames]
                    for t in range(frames):
                        zrow[t] += w * seg[t]
        for o in range(zc):
            zrow = z[o]
            for j in range(n_cond):
                w = mix_w[layer, o, j]
                crow = cond[j]
                for t in range(frames):
                    zrow[t] += w * crow[t]
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
        nxt = resid_out if layer == layers - 1 else hist[layer + 1, :, p : p + frames]
        o = 0
        while o + 4 <= channels:
            d0 = nxt[o]
            d1 = nxt[o + 1]
            d2 = nxt[o + 2]
            d3 = nxt[o + 3]
            s0 = cur[o]
            s1 = cur[o + 1]
            s2 = cur[o + 2]
            s3 = cur[o + 3]
            b0 = out_b[layer, o]
            b1 = out_b[layer, o + 1]
            b2 = out_b[layer, o + 2]
            b3 = out_b[layer, o + 3]
            for t in range(frames):
                d0[t] = s0[t] + b0
                d1[t] = s1[t] + b1
                d2[t] = s2[t] + b2
                d3[t] = s3[t] + b3
            for c in range(channels):
                w0 = out_w[layer, o, c]
                w1 = out_w[layer, o + 1, c]
                w2 = out_w[layer, o + 2, c]
                w3 = out_w[layer, o + 3, c]
                arow = a[c]
                for t in range(frames):
                    v = arow[t]
                    d0[t] += w0 * v
                    d1[t] += w1 * v
                    d2[t] += w2 * v
                    d3[t] += w3 * v
            o += 4
        done = o
        for o in range(done, channels):
            dst = nxt[o]
            src = cur[o]
            b = out_b[layer, o]
            for t in range(frames):
                dst[t] = src[t] + b
            for c in range(channels):
                w = out_w[layer, o, c]
                arow = a[c]
                for t in range(frames):
                    dst[t] += w * arow[t]
    n_head = head_w.shape[0]
    for o in range(n_head):
        dst = head_out[o]
        b = head_b[o]
        for t in range(frames):
            dst[t] = b
        for c in range(channels):
            w = head_w[o, c]
            acc = head_acc[c]
            for t in range(frames):
                dst[t] += w * acc[t]
    pos[0] = p + frames
