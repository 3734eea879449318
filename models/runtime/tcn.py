"""Causal TCN with FiLM conditioning (micro-TCN style) over one block.

Two kernels: ``tcn_film`` runs the FiLM MLP on the control block (once for all
audio channels), ``tcn_block`` runs the dilated-conv blocks of every channel.
Each TCN block keeps the history of its own input in ``hist[ch, block]`` (a
long buffer with a shared write position, rewound only when a block would run
past its end), exactly like the WaveNet kernel. Inner loops run over time so
every weight is broadcast against contiguous samples and vectorises.
"""

from __future__ import annotations

import numba as nb

from .activations import IDENTITY, activate, fast_tanh


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def tcn_film(ctrl, mlp_w, mlp_b, widths, act, slope, key, valid, film, scratch):
    """FiLM parameters for the block; returns how many columns of ``film`` are valid.

    ctrl: (K, N) normalised controls; mlp_w: (L, Wmax, Wmax) as [layer, out, in];
    mlp_b: (L, Wmax); widths: (L + 1,) layer widths (widths[0] = K, widths[L] =
    2·C·blocks); film: (2·C·blocks, Nmax) output; scratch: (2, Wmax, Nmax).
    A block whose controls do not move yields one column (applied to every
    sample); when those controls equal ``key`` (and ``valid[0]``), column 0 is
    already right and nothing is computed. A moving block yields one column per
    sample: the MLP is evaluated per sample, so a ramp is followed exactly.
    """
    n_ctrl, frames = ctrl.shape
    if frames == 0:
        return 1
    constant = True
    for k in range(n_ctrl):
        row = ctrl[k]
        v = row[0]
        for t in range(1, frames):
            if row[t] != v:
                constant = False
                break
    if constant:
        same = valid[0] == 1
        for k in range(n_ctrl):
            if ctrl[k, 0] != key[k]:
                same = False
        if same:
            return 1
        cols = 1
    else:
        cols = frames
    for k in range(n_ctrl):
        src = ctrl[k]
        dst = scratch[0, k]
        for t in range(cols):
            dst[t] = src[t]
    layers = mlp_w.shape[0]
    for layer in range(layers):
        n_in = widths[layer]
        n_out = widths[layer + 1]
        src = scratch[layer % 2]
        dst = film if layer == layers - 1 else scratch[(layer + 1) % 2]
        for o in range(n_out):
            row = dst[o]
            b = mlp_b[layer, o]
            for t in range(cols):
                row[t] = b
            for i in range(n_in):
                w = mlp_w[layer, o, i]
                s = src[i]
                for t in range(cols):
                    row[t] += w * s[t]
            if layer < layers - 1 and act != IDENTITY:
                for t in range(cols):
                    row[t] = activate(act, row[t], slope)
    if constant:
        for k in range(n_ctrl):
            key[k] = ctrl[k, 0]
        valid[0] = 1
    else:
        valid[0] = 0
    return cols


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def tcn_block(
    x, out, film, cols, conv_w, conv_b, prelu_w, res_w, n_in, dilations, kernel_sizes,
    hist, pos, reach, out_w, out_b, out_tanh, last,
):
    """Run the TCN over ``x`` (channels, N) into ``out``.

    conv_w: (B, C, C, Kmax) with block b reading n_in[b] input channels (1 for
    block 0, C after); conv_b, prelu_w: (B, C); res_w: (B, C, C) the 1x1
    residual convs; film: (2·C·B, cols) with block b's γ in rows 2Cb..2Cb+C-1
    and β in the next C rows; hist: (channels, B, C, L) block-input histories;
    pos: (channels,) write positions; out_w: (C,); last: (C, Nmax) scratch.
    Per block: z = conv(u); z = γ·z + β; z = PReLU(z); u' = z + res(u).
    Output: out_w·u_B + out_b, then tanh when ``out_tanh``.
    """
    n_ch, frames = x.shape
    blocks, channels, _, _ = conv_w.shape
    buf_len = hist.shape[3]
    for ch in range(n_ch):
        h = hist[ch]
        p = pos[ch]
        if p + frames > buf_len:
            for b in range(blocks):
                for c in range(n_in[b]):
                    row = h[b, c]
                    for t in range(reach):
                        row[t] = row[p - reach + t]
            p = reach
        row = h[0, 0, p : p + frames]
        src = x[ch]
        for t in range(frames):
            row[t] = src[t]
        for b in range(blocks):
            d = dilations[b]
            k_size = kernel_sizes[b]
            cin = n_in[b]
            for o in range(channels):
                dst = h[b + 1, o, p : p + frames] if b < blocks - 1 else last[o, :frames]
                bias = conv_b[b, o]
                for t in range(frames):
                    dst[t] = bias
                for i in range(cin):
                    hrow = h[b, i]
                    wrow = conv_w[b, o, i]
                    # Taps four at a time: one load/store of dst per four multiply-adds.
                    k = 0
                    while k + 4 <= k_size:
                        w0, w1, w2, w3 = wrow[k], wrow[k + 1], wrow[k + 2], wrow[k + 3]
                        base = p - d * (k_size - 1 - k)
                        s0 = hrow[base : base + frames]
                        s1 = hrow[base + d : base + d + frames]
                        s2 = hrow[base + 2 * d : base + 2 * d + frames]
                        s3 = hrow[base + 3 * d : base + 3 * d + frames]
                        for t in range(frames):
                            dst[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
                        k += 4
                    if k_size - k == 3:
                        w0, w1, w2 = wrow[k], wrow[k + 1], wrow[k + 2]
                        base = p - d * (k_size - 1 - k)
                        s0 = hrow[base : base + frames]
                        s1 = hrow[base + d : base + d + frames]
                        s2 = hrow[base + 2 * d : base + 2 * d + frames]
                        for t in range(frames):
                            dst[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t]
                    elif k_size - k == 2:
                        w0, w1 = wrow[k], wrow[k + 1]
                        base = p - d * (k_size - 1 - k)
                        s0 = hrow[base : base + frames]
                        s1 = hrow[base + d : base + d + frames]
                        for t in range(frames):
                            dst[t] += w0 * s0[t] + w1 * s1[t]
                    elif k_size - k == 1:
                        w0 = wrow[k]
                        s0 = hrow[p : p + frames]
                        for t in range(frames):
                            dst[t] += w0 * s0[t]
                a = prelu_w[b, o]
                gi = 2 * channels * b + o
                if cols == 1:
                    g = film[gi, 0]
                    be = film[gi + channels, 0]
                    for t in range(frames):
                        v = g * dst[t] + be
                        dst[t] = v if v > 0 else a * v
                else:
                    grow = film[gi, :frames]
                    brow = film[gi + channels, :frames]
                    for t in range(frames):
                        v = grow[t] * dst[t] + brow[t]
                        dst[t] = v if v > 0 else a * v
                for i in range(cin):
                    w = res_w[b, o, i]
                    seg = h[b, i, p : p + frames]
                    for t in range(frames):
                        dst[t] += w * seg[t]
        y = out[ch]
        ob = out_b[0]
        for t in range(frames):
            y[t] = ob
        for c in range(channels):
            w = out_w[c]
            src = last[c]
            for t in range(frames):
                y[t] += w * src[t]
        if out_tanh:
            for t in range(frames):
                y[t] = fast_tanh(y[t])
        pos[ch] = p + frames
