"""How much of a shipped overdrive model's error is linear: a tone the model misses.

    python benchmarks/error_anatomy.py [--model overdrive-wavenet-nano] [--seconds 4]

At each knob setting it renders seconds of the capture signal's validation section
through the reference circuit (as a pedal sounds: causal, level -6 dB) and through the
model, and prints the model's ESR, then the ESR left once the model's output is passed
through the best linear filter for that setting (64 taps, 8 of them ahead, fitted by
least squares to the circuit's output). What the filter removes is error a fixed
equaliser after the model would fix: spectral shape, such as a tone stage the model
plays too bright or too dark. What stays is error in the nonlinearity or in how it moves
with the knobs. The settings are the held-out grid (never trained on) and the four
corners of the knob range.

A second table says where in the spectrum the error lies: each band's share of the ESR
(its error energy over the whole target's energy; the shares sum to the ESR), and, in
brackets, the ESR within the band (its error over its own target energy).
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np

from neuralrig.models.capture import capture_signal
from neuralrig.models.make_shipped_models import against_circuit
from neuralrig.server.config import builtin_data_dir

RATE = 48000
TAPS = range(-8, 56)  # filter taps: 8 samples ahead of the model's output, 55 behind
CORNERS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
BANDS_HZ = (0, 60, 300, 1200, 4800, RATE // 2 + 1)


def esr_with_and_without_filter(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    edge = max(abs(k) for k in TAPS)
    shifted = np.stack([np.roll(pred, k) for k in TAPS], 1)[edge:-edge]
    t = target[edge:-edge]
    h, *_ = np.linalg.lstsq(shifted, t, rcond=None)
    energy = float(np.sum(t * t))
    return (float(np.sum((shifted[:, TAPS.index(0)] - t) ** 2)) / energy,
            float(np.sum((shifted @ h - t) ** 2)) / energy)


def error_by_band(pred: np.ndarray, target: np.ndarray
                  ) -> list[tuple[float, float]]:
    """Per band of BANDS_HZ: (error energy / all target energy, ESR within the band)."""
    freqs = np.fft.rfftfreq(target.size, 1.0 / RATE)
    err = np.abs(np.fft.rfft(pred - target)) ** 2
    tgt = np.abs(np.fft.rfft(target)) ** 2
    total = float(tgt.sum())
    out = []
    for lo, hi in itertools.pairwise(BANDS_HZ):
        band = (freqs >= lo) & (freqs < hi)
        out.append((float(err[band].sum()) / total,
                    float(err[band].sum()) / max(float(tgt[band].sum()), 1e-20)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="overdrive-wavenet-nano",
                        help="a shipped model's name (models/data/NAME.safetensors)")
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    x, layout = capture_signal(RATE)
    lo = layout.validation[0]
    dry = x[lo - RATE:lo + int(args.seconds * RATE)]
    report = json.loads((builtin_data_dir() / f"{args.model}.report.json").read_text())
    held = [(g["controls"]["drive"], g["controls"]["tone"]) for g in report["grid"]
            if not g["seen"]]
    print(f"{args.model}: ESR over {args.seconds:g} s of the validation section\n")
    print("| drive | tone | held out | ESR | after the best linear filter | linear share |")
    print("|---|---|---|---|---|---|")
    path = builtin_data_dir() / f"{args.model}.safetensors"
    bands = []
    for drive, tone in held + list(CORNERS):
        pred, target = against_circuit(path, dry, drive, tone)
        plain, filtered = esr_with_and_without_filter(pred, target)
        bands.append((drive, tone, error_by_band(pred, target)))
        print(f"| {drive:g} | {tone:g} | {'yes' if (drive, tone) in held else 'no'} | "
              f"{plain:.4f} | {filtered:.4f} | {1 - filtered / plain:.0%} |")
    names = [f"{lo}-{hi if hi <= RATE // 2 else RATE // 2} Hz"
             for lo, hi in itertools.pairwise(BANDS_HZ)]
    print("\nWhere the error lies: each band's share of the ESR (the ESR within the band)\n")
    print("| drive | tone | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for drive, tone, row in bands:
        print(f"| {drive:g} | {tone:g} | "
              + " | ".join(f"{share:.4f} ({inside:.3f})" for share, inside in row) + " |")


if __name__ == "__main__":
    main()
