"""Sliding-window Transformer encoder kernel: the whole window is re-encoded every sample.

Post-norm encoder layers as ``torch.nn.TransformerEncoderLayer`` (ReLU feed-forward,
no dropout). Positional encodings are tied to window positions, so when the window
slides every position changes and nothing can be cached between samples; only the
last layer is trimmed to the one query the decoder reads.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def _layer_norm(v, w, b, eps, d):
    mean = np.float32(0.0)
    for j in range(d):
        mean += v[j]
    mean /= d
    var = np.float32(0.0)
    for j in range(d):
        e = v[j] - mean
        var += e * e
    var /= d
    inv = np.float32(1.0) / np.sqrt(var + eps)
    for j in range(d):
        v[j] = (v[j] - mean) * inv * w[j] + b[j]


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def transformer_block(x, ctrl, out, hist, enc_w, enc_b, pe, in_w, in_b, out_w, out_b,
                      l1_w, l1_b, l2_w, l2_b, n1_w, n1_b, n2_w, n2_b, dec_w, dec_b, nhead, eps,
                      h, qkv, att, tmp, ff, scores):
    """x, out: (C, N); ctrl: (K, N); hist: (C, W, 1 + K) the window state, oldest row first;
    enc_w: (D, F); pe: (W, D); in_w: (L, 3D, D); out_w: (L, D, D); l1_w: (L, FF, D);
    l2_w: (L, D, FF); norms and biases (L, D) or (L, 3D)/(L, FF); dec_w: (D,).
    Scratch: h (W, D), qkv (W, 3D), att (D,), tmp (D,), ff (FF,), scores (W,)."""
    channels, frames = x.shape
    n_ctrl = ctrl.shape[0]
    window, d = pe.shape
    n_feat = enc_w.shape[1]
    layers = in_w.shape[0]
    n_ff = l1_w.shape[1]
    hd = d // nhead
    scale = np.float32(1.0 / math.sqrt(hd))
    for ch in range(channels):
        state = hist[ch]
        for t in range(frames):
            for p in range(window - 1):
                for f in range(n_feat):
                    state[p, f] = state[p + 1, f]
            state[window - 1, 0] = x[ch, t]
            for k in range(n_ctrl):
                state[window - 1, 1 + k] = ctrl[k, t]
            # Linear encoder + positional encoding.
            for p in range(window):
                hp = h[p]
                sp = state[p]
                pp = pe[p]
                for j in range(d):
                    acc = enc_b[j] + pp[j]
                    wj = enc_w[j]
                    for f in range(n_feat):
                        acc += wj[f] * sp[f]
                    hp[j] = acc
            for layer in range(layers):
                first = window - 1 if layer == layers - 1 else 0
                wi = in_w[layer]
                bi = in_b[layer]
                # Keys and values for every position, queries only where needed.
                for p in range(window):
                    hp = h[p]
                    qp = qkv[p]
                    start = 0 if p >= first else d
                    for j in range(start, 3 * d):
                        acc = bi[j]
                        wj = wi[j]
                        for i in range(d):
                            acc += wj[i] * hp[i]
                        qp[j] = acc
                wo = out_w[layer]
                bo = out_b[layer]
                w1 = l1_w[layer]
                b1 = l1_b[layer]
                w2 = l2_w[layer]
                b2 = l2_b[layer]
                for p in range(first, window):
                    qp = qkv[p]
                    for head in range(nhead):
                        base = head * hd
                        top = np.float32(-3.0e38)
                        for s in range(window):
                            ks = qkv[s]
                            acc = np.float32(0.0)
                            for i in range(hd):
                                acc += qp[base + i] * ks[d + base + i]
                            acc *= scale
                            scores[s] = acc
                            top = max(top, acc)
                        total = np.float32(0.0)
                        for s in range(window):
                            e = np.exp(scores[s] - top)
                            scores[s] = e
                            total += e
                        inv = np.float32(1.0) / total
                        for i in range(hd):
                            att[base + i] = 0.0
                        for s in range(window):
                            a = scores[s] * inv
                            vs = qkv[s]
                            for i in range(hd):
                                att[base + i] += a * vs[2 * d + base + i]
                    # Out projection, residual, norm 1 (into tmp).
                    hp = h[p]
                    for j in range(d):
                        acc = bo[j]
                        wj = wo[j]
                        for i in range(d):
                            acc += wj[i] * att[i]
                        tmp[j] = hp[j] + acc
                    _layer_norm(tmp, n1_w[layer], n1_b[layer], eps, d)
                    # Feed-forward, residual, norm 2 (back into h[p]).
                    for m in range(n_ff):
                        acc = b1[m]
                        wm = w1[m]
                        for i in range(d):
                            acc += wm[i] * tmp[i]
                        ff[m] = max(acc, np.float32(0.0))
                    for j in range(d):
                        acc = b2[j]
                        wj = w2[j]
                        for m in range(n_ff):
                            acc += wj[m] * ff[m]
                        hp[j] = tmp[j] + acc
                    _layer_norm(hp, n2_w[layer], n2_b[layer], eps, d)
            last = h[window - 1]
            y = dec_b
            for j in range(d):
                y += dec_w[j] * last[j]
            out[ch, t] = y
