"""Model speed, side by side: neuralrig's kernels against the reference implementation.

Both run the same guitar-like signal in blocks of N samples on one thread. For
a ``.nam`` file the reference is the neural-amp-modeler package's own PyTorch
model (when installed), driven as a naive host drives it: each WaveNet block
re-feeds the receptive field's worth of history; LSTM blocks carry the
recurrent state. Figures are real-time factors measured in the same run, so
the ratio holds on a noisy machine even when absolutes drift.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .bench import guitar_like


def _time_blocks(step, audio: np.ndarray, block: int, repeats: int) -> float:
    """Best-of-``repeats`` seconds to push ``audio`` through ``step`` block by block."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, audio.size - block + 1, block):
            step(i)
        best = min(best, time.perf_counter() - start)
    return best


def bench_model(path: str | Path, block: int, seconds: float, reference: bool = True,
                repeats: int = 3) -> dict[str, Any]:
    from neuralrig.models.formats import load_model

    model = load_model(path)
    rate = int(model.sample_rate or 48_000)
    audio = guitar_like(seconds, rate, 1)[:, 0].copy()
    audio = audio[: audio.size - audio.size % block]
    model.prepare(1, block)
    x = audio[None, :]
    out = np.zeros_like(x)

    def ours(i: int) -> None:
        model.process(x[:, i : i + block], out[:, i : i + block])

    elapsed = _time_blocks(ours, audio, block, repeats)
    result: dict[str, Any] = {
        "model": str(path),
        "description": model.describe(),
        "sample_rate": rate,
        "block": block,
        "seconds": audio.size / rate,
        "neuralrig_rtf": round(audio.size / rate / elapsed, 2),
    }
    if reference and _is_nam(path):
        ref = _nam_reference(path, audio, block, 1)  # slow: one pass is enough
        if ref is not None:
            result.update(ref)
            result["speedup"] = round(result["neuralrig_rtf"] / ref["reference_rtf"], 2)
        else:
            result["reference"] = ("skipped: the neural-amp-modeler package is not installed "
                                   "(pip install neural-amp-modeler)")
    return result


def _is_nam(path: str | Path) -> bool:
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and "architecture" in document and "weights" in document


def _nam_reference(path: str | Path, audio: np.ndarray, block: int,
                   repeats: int) -> dict[str, Any] | None:
    try:
        import torch
        from nam.models._from_nam import init_from_nam
    except ImportError:
        return None
    torch.set_num_threads(1)
    document = json.loads(Path(path).read_text())
    net = init_from_nam(document)
    net.eval()
    rate = int(document.get("sample_rate") or 48_000)
    x = torch.from_numpy(audio)
    with torch.inference_mode():
        if document["architecture"] == "LSTM":
            state = [None]
            core, head = net._core, net._head

            def step(i: int) -> None:
                if state[0] is None:
                    state[0] = net._initial_state(None)
                    state[0] = (state[0][0][:, None].contiguous(),
                                state[0][1][:, None].contiguous())
                features, state[0] = core(x[None, i : i + block, None], state[0])
                head(features)

            how = "torch LSTM modules, state carried between blocks"
        else:
            history = net.receptive_field - 1
            padded = torch.cat([torch.zeros(history), x])

            def step(i: int) -> None:
                net(padded[None, i : i + history + block], pad_start=False)

            how = f"whole model per block, re-feeding {history} samples of history"
        elapsed = _time_blocks(step, audio, block, repeats)
    return {"reference": f"neural-amp-modeler package ({how})",
            "reference_rtf": round(audio.size / rate / elapsed, 2)}
