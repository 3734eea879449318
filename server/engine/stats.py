"""Per-block processing-time statistics, recorded allocation-free from the audio thread."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass

import numpy as np

WINDOW = 1 << 15  # blocks kept for percentiles (~87 s at 48 kHz / 128)


@dataclass(frozen=True)
class StatsSnapshot:
    blocks: int
    block_us_mean: float
    block_us_p99: float
    block_us_max: float
    overruns: int  # blocks that took longer than their own duration
    dsp_load: float  # mean block time / block duration
    peak_rss_mb: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class BlockStats:
    """A ring of block durations in nanoseconds.

    ``start``/``stop`` run on the audio thread and only store integers into a
    preallocated array; the summary is computed by readers on other threads.
    """

    def __init__(self, block_seconds: float) -> None:
        self._ns = np.zeros(WINDOW, dtype=np.int64)
        self._count = 0
        self._overruns = 0
        self._t0 = 0
        self._budget_ns = int(block_seconds * 1e9)
        self._clock = time.perf_counter_ns

    def start(self) -> None:
        self._t0 = self._clock()

    def stop(self) -> None:
        if not self._t0:
            return
        elapsed = self._clock() - self._t0
        self._ns[self._count & (WINDOW - 1)] = elapsed
        self._count += 1
        if elapsed > self._budget_ns:
            self._overruns += 1
        self._t0 = 0

    @property
    def in_block(self) -> bool:
        """True between a block's ``start`` and ``stop``."""
        return self._t0 != 0

    def reset(self) -> None:
        self._count = 0
        self._overruns = 0

    def snapshot(self) -> StatsSnapshot:
        count = self._count
        n = min(count, WINDOW)
        data = self._ns[:n].astype(np.float64) / 1e3 if n else np.zeros(1)
        mean = float(data.mean())
        return StatsSnapshot(
            blocks=count,
            block_us_mean=mean,
            block_us_p99=float(np.percentile(data, 99)),
            block_us_max=float(data.max()),
            overruns=self._overruns,
            dsp_load=mean * 1e3 / self._budget_ns if self._budget_ns else 0.0,
            peak_rss_mb=peak_rss_mb(),
        )


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
