"""Remake the shipped knob-conditioned overdrive models from nothing (`make models`).

1. Write neuralrig's capture signal (full length, 48 kHz).
2. Render it through the reference Tube Screamer-style circuit
   (``circuits.overdrive``, level -6 dB so nothing clips) at a grid of knob
   settings: drive 0, 0.25, 0.5, 0.75, 1 x tone 0, 0.5, 1 for training, and
   drive 0.125, 0.375, 0.625, 0.875 x tone 0.25, 0.75 held out (never trained
   on, evaluated only).
3. Write PAIRS.toml and run ``neuralrig train --pairs`` twice: an LSTM
   (standard, 1x24: Raspberry Pi-sized) and a WaveNet nano. Models, reports and
   plots land in the output folder (default: the package's data folder).

    python -m neuralrig.models.make_shipped_models [--work DIR] [--out DIR] [--quick]

``--quick`` trains for a few steps only (to check the pipeline, not to ship).
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np

from neuralrig.server.audiofile import write_audio

from .capture import capture_signal
from .circuits import CIRCUITS

RATE = 48000
LEVEL_DB = -6.0
TRAIN_GRID = list(itertools.product((0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.5, 1.0)))
HELDOUT_GRID = list(itertools.product((0.125, 0.375, 0.625, 0.875), (0.25, 0.75)))
# name, arch, size, epochs, steps per epoch
MODELS = (("overdrive-lstm", "lstm", "standard", 62, 100),
          ("overdrive-wavenet-nano", "wavenet", "nano", 45, 100))


def render_pairs(work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    signal, _ = capture_signal(RATE)
    write_audio(work / "capture.wav", signal[:, None], RATE, "FLOAT")
    circuit = CIRCUITS["overdrive"]
    lines = ["# Rendered by neuralrig.models.make_shipped_models: the overdrive circuit at "
             f"level {LEVEL_DB:g} dB.", 'dry = "capture.wav"',
             '[[control]]\nname = "drive"\ndefault = 0.5',
             '[[control]]\nname = "tone"\ndefault = 0.5']
    grid = [(d, t, False) for d, t in TRAIN_GRID] + [(d, t, True) for d, t in HELDOUT_GRID]
    for n, (drive, tone, holdout) in enumerate(grid, 1):
        name = f"overdrive-drive{drive:g}-tone{tone:g}.wav"
        if not (work / name).exists():
            # As a pedal would sound: causal, with its oversampling filters' own latency.
            wet = circuit.render(signal, RATE, drive=drive, tone=tone, level=LEVEL_DB,
                                 compensate_latency=False)
            write_audio(work / name, wet[:, None].astype(np.float32), RATE, "FLOAT")
        print(f"[{n}/{len(grid)}] {name}{' (held out)' if holdout else ''}", flush=True)
        lines += ["[[pair]]", f'wet = "{name}"', f"drive = {drive}", f"tone = {tone}"]
        if holdout:
            lines.append("holdout = true")
    pairs = work / "pairs.toml"
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("build/shipped-models"),
                        help="folder for the rendered captures (about 800 MB)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--quick", action="store_true", help="a few steps: a pipeline check")
    parser.add_argument("--only", choices=[m[0] for m in MODELS], action="append")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    pairs = render_pairs(args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, arch, size, epochs, steps in MODELS:
        if args.only and name not in args.only:
            continue
        if args.quick:
            epochs, steps = 1, 2
        cmd = [sys.executable, "-m", "neuralrig.server.cli", "train", "--pairs", str(pairs),
               "-o", str(args.out / f"{name}.safetensors"), "--arch", arch, "--size", size,
               "--epochs", str(epochs), "--steps", str(steps), "--threads", str(args.threads)]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
