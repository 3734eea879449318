"""Remake the shipped knob-conditioned overdrive models from nothing (`make models`).

1. Write neuralrig's capture signal (full length, 48 kHz).
2. Render it through the reference Tube Screamer-style circuit
   (``circuits.overdrive``, level -6 dB so nothing clips, causal as a pedal is) at
   every setting of the dense grid and the held-out grid.
3. Train each model in stages with ``neuralrig train --pairs``, each starting
   (``--init``) from the one before: the coarse grid (tone 0, 0.5, 1) from scratch,
   the dense grid (tone in eighths), then the dense grid with ``--loss balanced`` (the
   LSTM three times: its error was still falling after each 30 epochs; then twice
   more widened from 24 to 32 units, when 1x24 had stopped improving). The LSTM's last
   stage came after captures of one device began to share one latency (capture.align):
   the stages before it had each recording aligned on its own click onset, a sample or
   two apart across the knobs, and the worst held-out ESR was stuck at 0.014 (drive
   0.375, between settings aligned 30 and 31 samples late); one stage on the shared
   alignment brought every held-out setting below 0.01. The WaveNet's fourth stage is its
   first on the shared alignment too (mean held-out ESR 0.037 to 0.030); after one more,
   its last stage gates its activations (``--gated``, starting with the same output): with
   gates the knobs can scale each channel, not only shift it; in 27 epochs the worst
   held-out ESR fell from 0.048 to 0.035 (1,657 weights, was 949). Two more stages
   ``--focus`` on the settings it played worst (the dark tones): the worst trained ESR fell
   from 0.108 to 0.056, the worst held-out one to 0.025. Its last stage trains on plain
   ESR alone (``--loss plain``, the figure the grid reports) and keeps the weights' moving
   average (``--average 0.99``): worst held-out 0.019, worst trained 0.049. That is as far
   as one set of 1,657 weights for every setting went (benchmarks/conditioning_cost.py:
   fine-tuned on one setting alone the nano plays it 2.5-2.8x better). Its last two
   stages give its weights to the knobs (``--knob-weights``): a weight set per point of a
   lattice over drive and tone, every point starting as the shared nano, blended as the
   knobs move, so each block still runs one nano. A 3x3 lattice (drive and tone 0, 0.5,
   1: every point a recording, more recordings between them) first, then the tone points
   packed at the dark end, where the error was (tone 0, 0.125, 0.5, 1; resampled with
   the same output): see the README for what each did.
   Held-out settings (drive 0.125..0.875 x tone 0.25, 0.75) are never trained on;
   the reports give their ESR.

    python -m neuralrig.models.make_shipped_models [--work DIR] [--out DIR] [--quick]

``--quick`` trains for a few steps only (to check the pipeline, not to ship).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from neuralrig.server.audiofile import write_audio

from .capture import capture_signal
from .circuits import CIRCUITS
from .runtime.knob_blend import lattice_text

RATE = 48000
LEVEL_DB = -6.0
DRIVES = (0.0, 0.25, 0.5, 0.75, 1.0)
# Stage 1 learns the circuit on a coarse grid; stage 2 starts from stage 1's model
# (`train --init`) on a grid dense in tone: trained on tone 0, 0.5 and 1 alone, a model
# does not interpolate the tone stage (held-out ESR 0.2-0.5 at tone 0.75).
COARSE_GRID = list(itertools.product(DRIVES, (0.0, 0.5, 1.0)))
DENSE_GRID = list(itertools.product(DRIVES, (0.0, 0.125, 0.375, 0.5, 0.625, 0.875, 1.0)))
HELDOUT_GRID = list(itertools.product((0.125, 0.375, 0.625, 0.875), (0.25, 0.75)))


class Stage(NamedTuple):
    """One `neuralrig train` run; each stage after the first starts from the one before."""

    grid: str  # "coarse" or "dense": which PAIRS file
    epochs: int
    steps: int  # per epoch
    lr: float = 0.0  # 0: the recipe's
    loss: str = "pre"
    patience: int = 10
    size: str = ""  # "": the model's size; another one widens the model (train --init)
    gated: bool = False  # WaveNet: gate the activations (train --gated; from an ungated init)
    focus: bool = False  # draw examples by each setting's validation ESR (train --focus)
    average: float = 0.0  # keep the weights' moving average, this decay per step (--average)
    knob_weights: tuple = ()  # WaveNet: a weight set per lattice point (--knob-weights)


# Stage 3 (`--loss balanced`) weighs dark tone settings as much as bright ones: with the
# default loss the LSTM's ESR at tone 0 was ten times its ESR at tone 1.
MODELS = (("overdrive-lstm", "lstm", "standard",
           (Stage("coarse", 45, 100), Stage("dense", 14, 100, 0.002),
            Stage("dense", 30, 100, 0.001, "balanced", 8),
            Stage("dense", 30, 100, 0.0007, "balanced", 8),
            Stage("dense", 30, 100, 0.0005, "balanced", 8),
            Stage("dense", 26, 100, 0.001, "balanced", 8, "large"),
            Stage("dense", 24, 100, 0.0003, "balanced", 8, "large"),
            Stage("dense", 30, 100, 0.001, "balanced", 8, "large"))),
          ("overdrive-wavenet-nano", "wavenet", "nano",
           (Stage("coarse", 45, 100), Stage("dense", 12, 100, 0.001),
            Stage("dense", 10, 100, 0.001, "balanced", 8),
            Stage("dense", 19, 100, 0.001, "balanced", 8),
            Stage("dense", 9, 100, 0.001, "balanced", 10),
            Stage("dense", 27, 100, 0.002, "balanced", 10, gated=True),
            Stage("dense", 33, 100, 0.0015, "balanced", 12, gated=True, focus=True),
            Stage("dense", 28, 100, 0.0005, "balanced", 12, gated=True, focus=True),
            Stage("dense", 42, 100, 0.0005, "plain", 15, gated=True, focus=True,
                  average=0.99),
            Stage("dense", 31, 100, 0.001, "plain", 15, gated=True, focus=True,
                  average=0.99, knob_weights=(3, 3)),
            Stage("dense", 60, 100, 0.0005, "plain", 15, gated=True, focus=True,
                  average=0.99, knob_weights=(3, (0.0, 0.125, 0.5, 1.0))))))

def render_pairs(work: Path) -> dict[str, Path]:
    """Render every setting once; write one PAIRS file per stage. Returns {stage: path}."""
    work.mkdir(parents=True, exist_ok=True)
    signal, _ = capture_signal(RATE)
    write_audio(work / "capture.wav", signal[:, None], RATE, "FLOAT")
    circuit = CIRCUITS["overdrive"]
    settings = sorted(set(DENSE_GRID) | set(HELDOUT_GRID))
    for n, (drive, tone) in enumerate(settings, 1):
        name = _wav(drive, tone)
        if not (work / name).exists():
            # As a pedal would sound: causal, with its oversampling filters' own latency.
            wet = circuit.render(signal, RATE, drive=drive, tone=tone, level=LEVEL_DB,
                                 compensate_latency=False)
            write_audio(work / name, wet[:, None].astype(np.float32), RATE, "FLOAT")
        print(f"[{n}/{len(settings)}] {name}", flush=True)
    paths = {}
    for stage, grid in (("coarse", COARSE_GRID), ("dense", DENSE_GRID)):
        lines = ["# Rendered by neuralrig.models.make_shipped_models: the overdrive circuit at "
                 f"level {LEVEL_DB:g} dB.", 'dry = "capture.wav"',
                 '[[control]]\nname = "drive"\ndefault = 0.5',
                 '[[control]]\nname = "tone"\ndefault = 0.5']
        for (drive, tone), holdout in [(g, False) for g in grid] + [(g, True)
                                                                    for g in HELDOUT_GRID]:
            lines += ["[[pair]]", f'wet = "{_wav(drive, tone)}"', f"drive = {drive}",
                      f"tone = {tone}"] + (["holdout = true"] if holdout else [])
        paths[stage] = work / f"pairs-{stage}.toml"
        paths[stage].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def against_circuit(model_path: Path, dry: np.ndarray, drive: float, tone: float,
                    settle: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """A shipped model's output and the circuit's at one setting, aligned as it was trained.

    Both run ``dry`` from silence; the first ``settle`` samples, where they settle, are
    dropped. The circuit sounds as a pedal does (causal, at the renders' level), shifted by
    the capture's shared latency (the model report's) less the causal margin.
    """
    from .capture.align import CAUSAL_MARGIN
    from .formats import load_model

    report = json.loads(model_path.with_name(f"{model_path.stem}.report.json").read_text())
    shift = report["capture"]["aligned_at_latency"] - CAUSAL_MARGIN
    wet = CIRCUITS["overdrive"].render(dry, RATE, drive=drive, tone=tone, level=LEVEL_DB,
                                       compensate_latency=False)
    model = load_model(model_path)
    model.prepare(1, 128)
    model.set_control("drive", drive)
    model.set_control("tone", tone)
    model.reset()
    out = np.zeros((1, dry.size), np.float32)
    for i in range(0, dry.size, 128):
        model.process(dry[None, i:i + 128], out[:, i:i + 128])
    return (out[0, settle:dry.size - shift].astype(np.float64),
            wet[settle + shift:].astype(np.float64))


def _wav(drive: float, tone: float) -> str:
    return f"overdrive-drive{drive:g}-tone{tone:g}.wav"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("build/shipped-models"),
                        help="folder for the rendered captures (about 1.5 GB)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--quick", action="store_true", help="a few steps: a pipeline check")
    parser.add_argument("--only", choices=[m[0] for m in MODELS], action="append")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    pairs = render_pairs(args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, arch, size, stages in MODELS:
        if args.only and name not in args.only:
            continue
        previous: Path | None = None
        for number, stage in enumerate(stages, 1):
            epochs, steps = (1, 2) if args.quick else (stage.epochs, stage.steps)
            last = number == len(stages)
            out = (args.out / f"{name}.safetensors" if last
                   else args.work / f"{name}-stage{number}.safetensors")
            cmd = [sys.executable, "-m", "neuralrig.server.cli", "train", "--pairs",
                   str(pairs[stage.grid]), "-o", str(out), "--arch", arch,
                   "--size", stage.size or size,
                   "--epochs", str(epochs), "--steps", str(steps), "--threads",
                   str(args.threads), "--loss", stage.loss, "--patience", str(stage.patience)]
            cmd += ["--init", str(previous)] if previous else []
            cmd += ["--gated"] if stage.gated else []
            cmd += ["--focus"] if stage.focus else []
            cmd += ["--average", str(stage.average)] if stage.average else []
            cmd += ["--knob-weights", lattice_text(stage.knob_weights)] \
                if stage.knob_weights else []
            cmd += ["--lr", str(stage.lr)] if stage.lr else []
            cmd += [] if last else ["--no-plots"]
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
            previous = out
    return 0


if __name__ == "__main__":
    sys.exit(main())
