"""Windowed-sinc resampling in numpy (for impulse responses recorded at another rate)."""

from __future__ import annotations

import numpy as np

ZERO_CROSSINGS = 32  # sinc lobes either side of each output sample
KAISER_BETA = 9.0  # window shape: about 90 dB stop-band rejection
CHUNK = 1024  # output samples computed per step (bounds memory)


def resample(signal: np.ndarray, source_rate: float, target_rate: float,
             length: int | None = None) -> np.ndarray:
    """Resample a 1-D signal band-limited from ``source_rate`` to ``target_rate``.

    The result represents the same continuous signal: a tone keeps its
    frequency and amplitude. ``length`` bounds how many output samples are
    made (default: the whole signal). An impulse response resampled this way
    keeps its frequency response; scale by ``source_rate / target_rate`` to
    keep its gain as well.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError("resample expects a 1-D signal")
    if source_rate <= 0 or target_rate <= 0:
        raise ValueError("sample rates must be positive")
    full = int(np.ceil(len(signal) * target_rate / source_rate))
    length = full if length is None else min(int(length), full)
    if source_rate == target_rate:
        return signal[:length].copy()
    step = source_rate / target_rate  # input samples per output sample
    cutoff = min(1.0, 1.0 / step)  # relative to the source Nyquist; lower when shrinking
    half = int(np.ceil(ZERO_CROSSINGS / cutoff))
    taps = np.arange(-half + 1, half + 1)
    out = np.empty(length)
    for start in range(0, length, CHUNK):
        positions = np.arange(start, min(start + CHUNK, length)) * step
        base = np.floor(positions).astype(np.int64)
        index = base[:, None] + taps[None, :]
        distance = positions[:, None] - index
        window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (distance / half) ** 2, 0.0, 1.0)))
        kernel = cutoff * np.sinc(cutoff * distance) * window / np.i0(KAISER_BETA)
        valid = (index >= 0) & (index < len(signal))
        samples = signal[np.clip(index, 0, len(signal) - 1)] * valid
        out[start:start + len(positions)] = np.sum(samples * kernel, axis=1)
    return out
