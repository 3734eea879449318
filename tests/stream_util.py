"""Streaming-model test helpers: block streaming, one-run references."""

from __future__ import annotations

import numpy as np


def signal(frames: int, channels: int = 2, seed: int = 0, level: float = 0.4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((channels, frames))).astype(np.float32)


def stream(model, x: np.ndarray, block: int, settings: dict[str, float] | None = None,
           changes: dict[int, dict[str, float]] | None = None,
           record: list | None = None) -> np.ndarray:
    """Process ``x`` in blocks from a reset with ``settings``; ``changes`` sets controls
    before the block starting at that sample; ``record`` collects what run() was given."""
    model.prepare(x.shape[0], block)
    for name, value in (settings or {}).items():
        model.set_control(name, value)
    model.reset()
    out = np.zeros_like(x)
    run = model.run
    if record is not None:
        def spy(xb, ctrl, outb):
            record.append(ctrl.copy())
            run(xb, ctrl, outb)
        model.run = spy
    try:
        for start in range(0, x.shape[1], block):
            for name, value in (changes or {}).get(start, {}).items():
                model.set_control(name, value)
            stop = min(start + block, x.shape[1])
            model.process(x[:, start:stop], out[:, start:stop])
    finally:
        model.__dict__.pop("run", None)
    return out


def settled_run(model, x: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
    """One run() over all of ``x`` (per-sample controls ``ctrl``) after the same silent
    pre-warm, at the first control values, that reset() does."""
    pad = model.prewarm_samples
    xs = np.concatenate([np.zeros((x.shape[0], pad), np.float32), x], axis=1)
    cs = np.concatenate([np.repeat(ctrl[:, :1], pad, axis=1), ctrl], axis=1)
    model.prepare(x.shape[0], xs.shape[1])
    model.clear_state()
    out = np.zeros_like(xs)
    model.run(xs, cs, out)
    return out[:, pad:]


def knob_jump(model, x: np.ndarray, name: str, low_value: float, high_value: float,
              jump: int, block: int = 128) -> tuple[float, float, float]:
    """(largest step around a ``low -> high`` jump at sample ``jump``, largest step with the
    control held at either value, largest output change the jump causes in its block)."""
    low = stream(model, x, block, {name: low_value})
    high = stream(model, x, block, {name: high_value})
    jumped = stream(model, x, block, {name: low_value}, {jump: {name: high_value}})
    np.testing.assert_allclose(jumped[:, :jump], low[:, :jump], atol=1e-6)
    steady = max(np.max(np.abs(np.diff(low))), np.max(np.abs(np.diff(high))))
    change = np.max(np.abs(high - low)[:, jump : jump + block])
    steps = np.max(np.abs(np.diff(jumped[:, jump - block : jump + 3 * block])))
    return float(steps), float(steady), float(change)


def stream_cycled(model, features: np.ndarray, sizes=(128,), knob_values=()) -> np.ndarray:
    """Audio (column 0 of ``features``) through ``process`` in blocks of ``sizes`` (cycled),
    from a reset with the knobs at ``knob_values``; mono output."""
    model.prepare(1, 128)
    for spec, value in zip(model.controls, knob_values, strict=True):
        model.set_control(spec.name, value)
    model.reset()
    audio = np.ascontiguousarray(features[:, 0][None])
    out = np.zeros_like(audio)
    start, k = 0, 0
    while start < audio.shape[1]:
        n = min(sizes[k % len(sizes)], audio.shape[1] - start)
        model.process(audio[:, start:start + n], out[:, start:start + n])
        start, k = start + n, k + 1
    return out[0]


def clipper_batch(n: int, frames: int, gen, gain_spec):
    """A batch for learning tanh(gain * x) with ``gain_spec`` (linear) as the knob."""
    import torch

    amp = 0.05 + 0.95 * torch.rand(n, 1, 1, generator=gen)
    x = amp * torch.randn(n, 1, frames, generator=gen).clamp(-3, 3) / 2
    c = torch.rand(n, 1, generator=gen)
    gain = gain_spec.minimum + (gain_spec.maximum - gain_spec.minimum) * c
    return x, c, torch.tanh(gain[:, :, None] * x)


def clipper_error(model, x: np.ndarray, gain: float) -> float:
    """Mean squared error of ``model`` streamed at ``gain`` against tanh(gain * x)."""
    y = stream(model, x, 128, {"gain": gain})
    return float(np.mean((y - np.tanh(gain * x)) ** 2))
