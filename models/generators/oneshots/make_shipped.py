"""Make the shipped one-shot model: synthesise the pack, train, write models/data/oneshots.*.

    python -m neuralrig.models.generators.oneshots.make_shipped [--out models/data]
        [--work build/oneshot-pack] [--threads 1] [--quick]

The full run (800 files, 200 per pack, 175 epochs) takes roughly 15–25 minutes on one
thread of a shared two-core machine; it lowers its own priority (nice 10). Two torch
threads are slower there whenever anything else runs: each step waits for the
descheduled thread. ``--quick`` (48 files, a few epochs) checks the pipeline in well
under a minute and writes into build/oneshot-quick unless --out is given, so it never
replaces the shipped model by accident.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from .synth import PACKS, write_pack
from .train import TrainSettings, summary, train_samples

FULL = {"per_pack": 200, "epochs": 175}
QUICK = {"per_pack": 12, "epochs": 3}
SEED = 0


def synthesise(work: Path, per_pack: int, seed: int) -> int:
    """Write the pack into ``work``; drop WAVs a larger earlier run left in its pack folders."""
    written = set(write_pack(work, per_pack=per_pack, seed=seed))
    for pack in PACKS:
        for stale in (work / pack).glob("*.wav"):
            if stale not in written:
                stale.unlink()
    return len(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default models/data; build/oneshot-quick with "
                        "--quick)")
    parser.add_argument("--work", type=Path, default=Path("build/oneshot-pack"),
                        help="where the synthesised pack goes")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a shared machine a second thread "
                        "mostly waits for the first)")
    parser.add_argument("--epochs", type=int, default=None, help="override the epoch count")
    parser.add_argument("--quick", action="store_true", help="a tiny run to check the pipeline")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    plan = dict(QUICK if args.quick else FULL)
    if args.epochs:
        plan["epochs"] = args.epochs
    out = args.out or Path("build/oneshot-quick" if args.quick else "models/data")
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.nice(10)
    start = time.perf_counter()
    count = synthesise(args.work, plan["per_pack"], SEED)
    print(f"synthesised {count} one-shots into {args.work}", flush=True)
    settings = TrainSettings(epochs=plan["epochs"], seed=SEED, threads=args.threads,
                             bar=sys.stderr.isatty())
    report, written = train_samples(args.work, out / "oneshots.safetensors", settings)
    print(json.dumps(summary(report)))
    print(f"wrote {', '.join(str(p) for p in written)} "
          f"({time.perf_counter() - start:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
