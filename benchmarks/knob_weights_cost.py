"""What weights that follow the knobs cost per block, side by side in one run.

A WaveNet with ``knob_weights`` runs each block as a plain WaveNet whose weights are its
sets blended at the block's control values; the blend runs when a knob moved. This
times, on one thread, the same guitar-like signal in blocks through:

- a plain WaveNet holding one blend of the sets (what a block computes);
- the knob-weighted model;

each with the knobs still and with a knob moving every block (for the knob-weighted
model a blend per block: the worst case, a continuous sweep), and reports real-time
factors and their ratios to the plain one with the knobs still.

    python benchmarks/knob_weights_cost.py [MODEL] [--block 128] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from neuralrig.models.formats import load_model
from neuralrig.models.runtime.knob_blend import coefficients
from neuralrig.models.wavenet import WaveNetModel, knob_points
from neuralrig.server.bench import guitar_like

DEFAULT = Path(__file__).resolve().parents[1] / "models/data/overdrive-wavenet-nano.safetensors"


def _timed(model, audio: np.ndarray, block: int, turn: bool, repeats: int) -> float:
    """Best-of-``repeats`` real-time factor."""
    rate = 48000
    name = model.controls[0].name
    model.prepare(1, block)
    x, out = audio[None, :], np.zeros((1, audio.size), np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for n, i in enumerate(range(0, audio.size, block)):
            if turn:  # a sweep: a new value every block
                model.set_control(name, (n % 200) / 200.0)
            model.process(x[:, i:i + block], out[:, i:i + block])
        best = min(best, time.perf_counter() - start)
    return audio.size / rate / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    knob = load_model(args.model)
    architecture, config, tensors = knob.export_native()
    points = knob_points(config)
    if architecture != "wavenet" or not points:
        print(f"{args.model}: not a WaveNet with knob weights", file=sys.stderr)
        return 2
    mix = coefficients(np.full(len(points), 0.5, np.float32), points)
    plain = WaveNetModel({k: v for k, v in config.items() if k != "knob_weights"},
                         {k: np.tensordot(mix, v, axes=1).astype(np.float32)
                          for k, v in tensors.items()}, controls=knob.controls)
    audio = guitar_like(args.seconds, 48000, 1)[:, 0].astype(np.float32)
    audio = audio[: audio.size - audio.size % args.block]
    rows = [("plain (one set), knobs still", _timed(plain, audio, args.block, False,
                                                     args.repeats)),
            ("plain (one set), knob turning", _timed(plain, audio, args.block, True,
                                                      args.repeats)),
            ("knob weights, knobs still", _timed(knob, audio, args.block, False, args.repeats)),
            ("knob weights, knob turning every block", _timed(knob, audio, args.block, True,
                                                               args.repeats))]
    print(f"{knob.describe()}\nblock {args.block}, {args.seconds:g} s, one thread, best of "
          f"{args.repeats}\n")
    print("| run | real-time factor | vs plain |\n|---|---|---|")
    for name, rtf in rows:
        print(f"| {name} | {rtf:.1f} | {rtf / rows[0][1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
