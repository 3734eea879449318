"""Synthesise the shipped guitar-cabinet impulse response (a 4x12 closed back, idealised).

Nothing is measured or downloaded: the magnitude response is drawn from the
features a 4x12 cabinet with 12" guitar speakers shows, then made minimum
phase (the energy arrives at once, like a close microphone), cut to 2048
samples with a fade, and written as a 48 kHz mono float WAV:

- a high-pass near 70 Hz (the closed box and the speaker's resonance),
- a resonant bump around 110 Hz,
- a mild scoop around 500 Hz,
- a presence peak around 2.5 kHz with some cone break-up ripple from 1.5 to 5 kHz,
- a steep roll-off above 5 kHz (12" cones radiate little above it).

Deterministic (fixed seed, no time stamps in the file); numpy and the standard
library only.

    python -m neuralrig.models.make_cabinet_ir OUT.wav
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np

SAMPLE_RATE = 48000
LENGTH = 2048
FADE = 256
FFT_SIZE = 1 << 15
SEED = 412


def _peak(f: np.ndarray, centre: float, q: float, gain_db: float) -> np.ndarray:
    """dB of a bell curve on a log-frequency axis (width from q)."""
    octaves = np.log2(np.maximum(f, 1e-3) / centre)
    width = 1.0 / (q * 2.0)  # approximate half-width in octaves
    return gain_db * np.exp(-0.5 * (octaves / width) ** 2)


def magnitude_db(f: np.ndarray) -> np.ndarray:
    """The target response in dB at frequencies ``f`` (Hz)."""
    f = np.maximum(f, 1e-3)
    db = np.zeros_like(f)
    # High-pass: 4th-order Butterworth at 70 Hz.
    db += 10.0 * np.log10((f / 70.0) ** 8 / (1.0 + (f / 70.0) ** 8))
    db += _peak(f, 110.0, 1.8, 6.0)  # low resonance
    db += _peak(f, 500.0, 0.9, -3.0)  # low-mid scoop
    db += _peak(f, 2500.0, 1.3, 7.0)  # presence
    db += _peak(f, 4000.0, 2.5, 3.0)  # upper break-up peak
    # Low-pass: 8th-order Butterworth at 5.5 kHz (48 dB per octave).
    db += -10.0 * np.log10(1.0 + (f / 5500.0) ** 16)
    # Cone break-up: a few dB of smooth ripple between 1.5 and 5 kHz.
    rng = np.random.default_rng(SEED)
    centres = np.exp(rng.uniform(np.log(1500.0), np.log(5000.0), 12))
    gains = rng.uniform(-2.5, 2.5, 12)
    for centre, gain in zip(centres, gains, strict=True):
        db += _peak(f, centre, 6.0, gain)
    return db


def minimum_phase(magnitude: np.ndarray) -> np.ndarray:
    """Impulse response of the minimum-phase filter with this rfft magnitude (cepstrum method)."""
    n = 2 * (len(magnitude) - 1)
    log_mag = np.log(np.maximum(magnitude, 1e-9))
    cepstrum = np.fft.irfft(log_mag, n)
    fold = np.zeros(n)
    fold[0] = cepstrum[0]
    fold[1 : n // 2] = 2.0 * cepstrum[1 : n // 2]
    fold[n // 2] = cepstrum[n // 2]
    return np.fft.irfft(np.exp(np.fft.rfft(fold)), n)


def make_cabinet_ir() -> np.ndarray:
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    response = minimum_phase(10.0 ** (magnitude_db(freqs) / 20.0))[:LENGTH]
    response[-FADE:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(FADE) + 1) / FADE)
    return (0.5 * response / np.max(np.abs(response))).astype(np.float32)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A mono 32-bit float WAV, byte for byte the same on every run (no time stamps)."""
    data = np.asarray(samples, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHHH", 3, 1, sample_rate, 4 * sample_rate, 4, 32, 0)
    fact = struct.pack("<I", len(samples))
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt
              + b"fact" + struct.pack("<I", len(fact)) + fact
              + b"data" + struct.pack("<I", len(data)) + data)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m neuralrig.models.make_cabinet_ir OUT.wav", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.write_bytes(wav_bytes(make_cabinet_ir(), SAMPLE_RATE))
    print(f"wrote {out} ({LENGTH} samples, {SAMPLE_RATE} Hz)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
