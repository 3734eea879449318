"""Generator speed on one core: the RAVE-style model's realtime factor, one-shot decode time.

    python benchmarks/generators.py [--rave FILE.ts] [--oneshots FILE.safetensors]
                                    [--seconds 20] [--block 2048] [--shots 200]

Realtime factor = seconds of audio / seconds of compute, through the same
TorchScript loader the slot uses, on one torch thread, for ``forward`` (the
reconstruct mode) and for encode + decode (the style and generate modes' path).
The one-shot figures are per decode (the slot adds a resample to the engine rate,
timed separately). Targets (issue 6): realtime factor >= 10 at 2048-sample
blocks; a one-shot in under 20 ms.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from neuralrig.models.generators.oneshots.model import OneShotModel
from neuralrig.models.generators.torchscript import load_generator
from neuralrig.server.config import builtin_data_dir


def rave_rtf(path: Path, seconds: float, block: int) -> dict[str, float]:
    gen = load_generator(path)
    rate = gen.sample_rate
    block = gen.ratio * max(1, block // gen.ratio)
    chunks = max(1, int(seconds * rate / block))
    x = torch.from_numpy(np.random.default_rng(0).uniform(-0.5, 0.5, (chunks, block))
                         .astype(np.float32))
    out: dict[str, float] = {"sample_rate": rate, "block": block, "ratio": gen.ratio}
    paths = {"forward": lambda c: gen.call("forward", c),
             "encode_decode": lambda c: gen.call("decode", gen.call("encode", c))}
    for name, run in paths.items():
        if name == "forward" and not gen.has("forward"):
            continue
        gen.reset()
        with torch.inference_mode():
            for i in range(min(4, chunks)):  # warm up
                run(x[i].view(1, 1, -1))
            per = []
            for i in range(chunks):
                start = time.perf_counter()
                run(x[i].view(1, 1, -1))
                per.append(time.perf_counter() - start)
        per_block = np.array(per)
        out[f"{name}_rtf"] = round(block / rate / float(per_block.mean()), 1)
        out[f"{name}_worst_block_ms"] = round(1000 * float(per_block.max()), 2)
        out[f"{name}_budget_ms"] = round(1000 * block / rate, 2)
    return out


def oneshot_times(path: Path, shots: int) -> dict[str, float]:
    from scipy.signal import resample_poly

    model = OneShotModel.load(path)
    rng = np.random.default_rng(1)
    points = model.points[rng.integers(0, len(model.points), shots)]
    for z in points[:5]:
        model.generate(z)
    decode, resample = [], []
    g = np.gcd(48000, model.sample_rate)
    for z in points:
        start = time.perf_counter()
        audio = model.generate(z)
        mid = time.perf_counter()
        resample_poly(audio, 48000 // g, model.sample_rate // g)
        decode.append(mid - start)
        resample.append(time.perf_counter() - mid)
    d, r = 1000 * np.array(decode), 1000 * np.array(resample)
    return {"shots": shots, "length_s": round(model.length / model.sample_rate, 3),
            "decode_ms_median": round(float(np.median(d)), 2),
            "decode_ms_p99": round(float(np.percentile(d, 99)), 2),
            "resample_to_48k_ms_median": round(float(np.median(r)), 2)}


def main() -> None:
    data = builtin_data_dir()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rave", type=Path, default=data / "rave-synth.ts")
    parser.add_argument("--oneshots", type=Path, default=data / "oneshots.safetensors")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--block", type=int, default=2048)
    parser.add_argument("--shots", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = {"torch_threads": torch.get_num_threads(),
              "rave": rave_rtf(args.rave, args.seconds, args.block),
              "oneshots": oneshot_times(args.oneshots, args.shots)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
