"""Streaming polyphase resampling kernels (rational ratio up/down) and the filter design.

A resampler by ``up/down`` conceptually zero-stuffs its input by ``up``,
low-pass filters at the rate ``up * fs_in`` with a windowed-sinc prototype
``h`` (length ``taps * up``) and keeps every ``down``-th sample. Only the
products that touch real input samples are computed: output ``n`` sits at
position ``pos = n * down + offset`` (in units of the high rate); its newest
input is ``pos // up`` and its filter phase ``pos % up``, which selects the
``taps`` coefficients ``h[phase + k * up]`` applied to the ``taps`` newest
inputs. The design (numpy) happens once; the kernels never allocate.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


def kaiser_taps(attenuation_db: float, transition: float) -> int:
    """Prototype length for a Kaiser-window design: ``transition`` is in cycles per sample."""
    return math.ceil((attenuation_db - 7.95) / (2.285 * 2.0 * math.pi * transition)) + 1


def kaiser_beta(attenuation_db: float) -> float:
    if attenuation_db > 50.0:
        return 0.1102 * (attenuation_db - 8.7)
    if attenuation_db >= 21.0:
        return 0.5842 * (attenuation_db - 21.0) ** 0.4 + 0.07886 * (attenuation_db - 21.0)
    return 0.0


def design_polyphase(up: int, taps: int, cutoff: float, attenuation_db: float) -> np.ndarray:
    """Polyphase bank (up, taps), float32, of a Kaiser-windowed sinc low-pass.

    ``cutoff`` is the -6 dB frequency in cycles per sample of the high rate
    (``up * fs_in``). Row ``p`` holds ``h[p + k * up]`` in reverse order, so
    that output = dot(row, the ``taps`` newest inputs, oldest first); the
    bank's DC gain per phase is ``up`` times the prototype's (which is 1).
    """
    length = taps * up
    n = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    h = 2.0 * cutoff * np.sinc(2.0 * cutoff * n) * np.kaiser(length, kaiser_beta(attenuation_db))
    h *= up / h.sum()
    bank = h.reshape(taps, up).T[:, ::-1]
    return np.ascontiguousarray(bank, dtype=np.float32)


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def resample_block(src, frames, hist, bank, up, down, state, dst, dst_offset):
    """Resample ``src[:, :frames]`` into ``dst[:, dst_offset:]``; returns the output count.

    hist: (C, taps - 1 + max_frames) float32, its first ``taps - 1`` samples the
    previous inputs (the newest last); state[0]: the next output's position in
    high-rate units, relative to hist[:, 0]. Every output whose inputs have all
    arrived is produced, so the count varies from block to block.
    """
    channels = src.shape[0]
    _phases, taps = bank.shape
    keep = taps - 1
    avail = keep + frames
    start_pos = state[0]
    count = 0
    for ch in range(channels):
        row = hist[ch]
        incoming = src[ch]
        fresh = row[keep:avail]
        for t in range(frames):
            fresh[t] = incoming[t]
        pos = start_pos
        count = 0
        target = dst[ch]
        while True:
            newest = pos // up
            if newest >= avail:
                break
            coeffs = bank[pos - newest * up]
            base = newest - keep
            seg = row[base:base + taps]
            acc = np.float32(0.0)
            for j in range(taps):
                acc += coeffs[j] * seg[j]
            target[dst_offset + count] = acc
            count += 1
            pos += down
        # The newest taps - 1 inputs become the history (forward copy: dest < src).
        for j in range(keep):
            row[j] = row[frames + j]
    state[0] = start_pos + count * down - frames * up
    return count


@nb.njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def fifo_pop(fifo, fill, out, frames):
    """Move the oldest ``frames`` of ``fifo[:, :fill]`` to ``out``; returns the new fill.

    Missing samples (which a correctly primed FIFO never has) come out as zeros.
    """
    channels = out.shape[0]
    have = min(fill, frames)
    for ch in range(channels):
        row = fifo[ch]
        target = out[ch]
        for t in range(have):
            target[t] = row[t]
        for t in range(have, frames):
            target[t] = 0.0
        for t in range(fill - have):
            row[t] = row[have + t]
    return fill - have
