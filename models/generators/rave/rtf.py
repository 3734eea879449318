"""Realtime factor of a TorchScript model's ``forward`` at fixed blocks, on N threads.

    python -m neuralrig.models.generators.rave.rtf models/data/rave-synth.ts \
        [--block 2048] [--seconds 60] [--threads 1]

Feeds ``seconds`` of the synthesised validation corpus through ``forward`` in
blocks of ``block`` samples (after a warm-up of 20 blocks), under
``torch.inference_mode`` as nn~ runs models, timing each call. The realtime factor
is audio time over compute time: ``total`` from the summed call times, ``median``
from the median call. On a shared machine other processes' load lowers both; the
median less.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def measure(ts_path: str | Path, block: int = 2048, seconds: float = 60.0, threads: int = 1,
            audio: np.ndarray | None = None) -> dict[str, Any]:
    from .corpus import VALIDATION_SEED, synthesise
    from .export import load_torchscript

    model = load_torchscript(ts_path)
    rate = int(model.get_sample_rate())
    if audio is None:
        audio = synthesise(seconds, VALIDATION_SEED)
    blocks = max(1, int(seconds * rate) // block)
    audio = np.resize(audio.astype(np.float32), blocks * block)
    x = torch.from_numpy(audio).reshape(blocks, 1, 1, block)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    times = []
    try:
        with torch.inference_mode():
            for i in range(20):
                model(x[i % blocks])
            model.reset_state()
            for i in range(blocks):
                started = time.perf_counter()
                model(x[i])
                times.append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)
    block_seconds = block / rate
    return {"block": block, "threads": threads, "blocks": blocks,
            "audio_seconds": round(blocks * block_seconds, 3),
            "compute_seconds": round(sum(times), 4),
            "realtime_factor_total": round(blocks * block_seconds / sum(times), 1),
            "realtime_factor_median": round(block_seconds / statistics.median(times), 1),
            "median_block_ms": round(statistics.median(times) * 1e3, 3),
            "max_block_ms": round(max(times) * 1e3, 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--block", type=int, default=2048)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.model, args.block, args.seconds, args.threads), indent=2))


if __name__ == "__main__":
    main()
