"""Audio features of a one-shot, in units a linear estimator on the latent can fit.

* ``pitch``: the dominant frequency (the strongest peak of the whole sound's
  spectrum, 25 Hz–8 kHz), in semitones relative to A4 (440 Hz).
* ``attack``: log10 of the seconds the amplitude envelope takes from 10 % to 90 %
  of its peak.
* ``release``: log10 of the seconds from the envelope's peak until it last lies
  above −20 dB of that peak; extrapolated from the decay slope when the sound ends
  above −20 dB.
* ``brightness``: the spectral centroid (magnitude-weighted), in semitones
  relative to A4.

The envelope is the magnitude of the analytic signal smoothed over 1 ms.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

FEATURE_NAMES: tuple[str, ...] = ("pitch", "attack", "release", "brightness")
FEATURE_UNITS: tuple[str, ...] = ("st re A4", "log10 s", "log10 s", "st re A4")
_N_FFT = 16384
_MIN_SECONDS, _MAX_SECONDS = 5e-4, 10.0


def _semitones(hz: float) -> float:
    return float(12.0 * np.log2(max(hz, 1.0) / 440.0))


def envelope(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Amplitude envelope: |analytic signal|, moving average over 1 ms."""
    width = max(1, round(0.001 * sample_rate))
    mag = np.abs(signal.hilbert(x.astype(np.float64)))
    return np.convolve(mag, np.ones(width) / width, mode="same")


def _spectrum(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    n = max(_N_FFT, 1 << int(np.ceil(np.log2(x.size))))
    mag = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    return np.fft.rfftfreq(n, 1.0 / sample_rate), mag


def dominant_pitch(x: np.ndarray, sample_rate: int) -> float:
    freqs, mag = _spectrum(x, sample_rate)
    band = np.flatnonzero((freqs >= 25.0) & (freqs <= min(8000.0, sample_rate / 2)))
    k = int(band[np.argmax(mag[band])])
    if 0 < k < mag.size - 1:  # parabolic interpolation on log magnitude
        a, b, c = np.log(mag[k - 1:k + 2] + 1e-12)
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
        return _semitones(freqs[k] + offset * (freqs[1] - freqs[0]))
    return _semitones(freqs[k])


def brightness(x: np.ndarray, sample_rate: int) -> float:
    freqs, mag = _spectrum(x, sample_rate)
    band = freqs >= 20.0
    return _semitones(float(np.sum(freqs[band] * mag[band]) / (np.sum(mag[band]) + 1e-12)))


def attack_release(x: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(attack, release) in log10 seconds."""
    env = envelope(x, sample_rate)
    peak_at = int(np.argmax(env))
    peak = env[peak_at]
    if peak <= 0:
        return float(np.log10(_MIN_SECONDS)), float(np.log10(_MIN_SECONDS))
    start = int(np.argmax(env >= 0.1 * peak))
    top = int(np.argmax(env >= 0.9 * peak))
    attack = max((top - start) / sample_rate, _MIN_SECONDS)
    tail = env[peak_at:] / peak
    above = np.flatnonzero(tail >= 0.1)  # -20 dB
    last = int(above[-1])
    if last < tail.size - 1:
        release = last / sample_rate
    else:  # still above -20 dB at the end: extrapolate the fitted dB slope
        db = 20 * np.log10(np.maximum(tail, 1e-6))
        t = np.arange(tail.size) / sample_rate
        slope = np.polyfit(t, db, 1)[0] if tail.size > 8 else 0.0
        release = 20.0 / -slope if slope < 0 else _MAX_SECONDS
    release = float(np.clip(release, _MIN_SECONDS, _MAX_SECONDS))
    return float(np.log10(attack)), float(np.log10(release))


def extract(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """The features of one mono one-shot, in FEATURE_NAMES order: (4,) float64."""
    x = np.asarray(x, dtype=np.float64)
    attack, release = attack_release(x, sample_rate)
    return np.array([dominant_pitch(x, sample_rate), attack, release,
                     brightness(x, sample_rate)])


def extract_all(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Features of each row of ``audio`` (N, length): (N, 4)."""
    return np.stack([extract(row, sample_rate) for row in audio]) if len(audio) else \
        np.zeros((0, len(FEATURE_NAMES)))
