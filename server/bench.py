"""In-process benchmark: synthetic audio through the rig on the offline backend."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .audio.offline import OfflineBackend
from .config import RigConfig
from .engine.engine import Engine
from .engine.stats import peak_rss_mb


def guitar_like(seconds: float, sample_rate: int, channels: int, seed: int = 7) -> np.ndarray:
    """Plucked notes (Karplus-Strong-like decays of harmonic tones) with some noise."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * sample_rate)
    out = np.zeros(frames, dtype=np.float64)
    t = np.arange(int(0.8 * sample_rate)) / sample_rate
    position = 0
    while position < frames:
        f0 = 82.41 * 2 ** (rng.integers(0, 24) / 12)
        note = sum(np.sin(2 * np.pi * f0 * k * t) / k**1.3 for k in range(1, 9))
        note *= np.exp(-t * rng.uniform(2.0, 6.0)) * rng.uniform(0.2, 0.6)
        end = min(frames, position + note.size)
        out[position:end] += note[: end - position]
        position += int(rng.uniform(0.15, 0.5) * sample_rate)
    out += rng.normal(0, 1e-3, frames)
    out /= max(1.0, np.max(np.abs(out)) / 0.9)
    return np.repeat(out[:, None], channels, axis=1).astype(np.float32)


def run_bench(config: RigConfig, block: int | None, seconds: float) -> dict[str, Any]:
    config = config.with_engine(block=block)
    audio = guitar_like(seconds, config.sample_rate, config.channels)
    engine = Engine(OfflineBackend(), config)
    try:
        engine.start()
        backend = engine.backend
        assert isinstance(backend, OfflineBackend)
        warmup = audio[: config.block * 16]
        backend.run(warmup)
        assert engine.stats is not None
        engine.stats.reset()
        start = time.perf_counter()
        backend.run(audio)
        elapsed = time.perf_counter() - start
        snap = engine.stats.snapshot()
        latency = engine.latency_samples
    finally:
        engine.stop()
    return {
        "realtime_factor": round(seconds / elapsed, 2),
        "block": config.block,
        "sample_rate": config.sample_rate,
        "channels": config.channels,
        "seconds": seconds,
        "slots": [slot.type for slot in config.slots],
        "block_us_mean": round(snap.block_us_mean, 2),
        "block_us_p99": round(snap.block_us_p99, 2),
        "block_us_max": round(snap.block_us_max, 2),
        "block_budget_us": round(1e6 * config.block / config.sample_rate, 2),
        "latency_samples": latency,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
