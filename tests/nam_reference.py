"""Build .nam files with the neural-amp-modeler package, the reference implementation.

Helpers for the NAM tests and the NAM benchmark; the package is a test
dependency, never imported by neuralrig itself.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from nam.models._from_nam import _init_lstm, _init_wavenet, init_from_nam

RATE = 48_000.0
DILATIONS = [2**i for i in range(10)]
LITE_FIRST = [2**i for i in range(7)]
LITE_SECOND = [128, 256, 512, *DILATIONS]


def _array(inp: int, channels: int, head: int, head_bias: bool, dilations: list[int],
           activation: Any = "Tanh") -> dict[str, Any]:
    return {"input_size": inp, "condition_size": 1, "channels": channels,
            "head": {"out_channels": head, "kernel_size": 1, "bias": head_bias},
            "kernel_sizes": [3] * len(dilations), "dilations": dilations,
            "activation": activation}


PRESETS = {
    "standard": [(1, 16, 8, False, DILATIONS), (16, 8, 1, True, DILATIONS)],
    "lite": [(1, 12, 6, False, LITE_FIRST), (12, 6, 1, True, LITE_SECOND)],
    "nano": [(1, 4, 2, False, LITE_FIRST), (4, 2, 1, True, LITE_SECOND)],
}


def wavenet_nam(preset: str = "standard", seed: int = 0, activation: Any = "Tanh",
                with_metadata: bool = False) -> dict[str, Any]:
    """A .nam document (schema 0.7) for a NAM preset with seeded random weights."""
    torch.manual_seed(seed)
    layers = [_array(*spec, activation=activation) for spec in PRESETS[preset]]
    model = _init_wavenet({"layers": layers, "head": None, "head_scale": 0.02}, RATE)
    return _export(model, with_metadata)


def lstm_nam(hidden: int = 24, layers: int = 1, seed: int = 0,
             with_metadata: bool = False) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = _init_lstm({"input_size": 1, "hidden_size": hidden, "num_layers": layers}, RATE)
    return _export(model, with_metadata)


def _export(model: Any, with_metadata: bool) -> dict[str, Any]:
    model.eval()
    if with_metadata:  # the package's own export: loudness and gain computed
        return model._get_export_dict()
    return {"version": "0.7.0", "architecture": model._get_export_architecture(),
            "config": model._export_config(), "weights": model._export_weights().tolist(),
            "sample_rate": RATE, "metadata": {}}


def to_old_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The same WaveNet in the 0.5.x config schema (v0.12-era trainer files)."""
    old = copy.deepcopy(document)
    old["version"] = "0.5.4"
    layers = []
    for arr in document["config"]["layers"]:
        modes = set(arr["gating_mode"])
        primary = {a["type"] for a in arr["activation"]}
        assert len(modes) == 1 and len(primary) == 1
        layers.append({
            "input_size": arr["input_size"], "condition_size": arr["condition_size"],
            "head_size": arr["head"]["out_channels"], "channels": arr["channels"],
            "kernel_size": arr["kernel_sizes"][0], "dilations": arr["dilations"],
            "activation": primary.pop(), "gated": modes.pop() == "gated",
            "head_bias": arr["head"]["bias"],
        })
    old["config"] = {"layers": layers, "head": None, "head_scale": document["config"]["head_scale"]}
    return old


def reference_output(document: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The package's forward pass on the whole signal, from silence (pad_start)."""
    model = init_from_nam(copy.deepcopy(document))
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x.astype(np.float32)), pad_start=True).numpy()


def reference_signal(seconds: float = 10.0, seed: int = 3) -> np.ndarray:
    """Guitar-like notes plus noise bursts: both quiet and loud passages."""
    from neuralrig.server.bench import guitar_like

    x = guitar_like(seconds, int(RATE), 1, seed=seed)[:, 0].astype(np.float64)
    rng = np.random.default_rng(seed)
    x[: x.size // 10] += 0.3 * rng.standard_normal(x.size // 10)
    return np.clip(x, -1.0, 1.0).astype(np.float32)
