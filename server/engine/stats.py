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
    # How long after the audio system's cycle began the block's Python work started:
    # the wait for the CPU and the GIL. -1 where the backend has no cycle clock.
    start_late_us_p99: float = -1.0
    start_late_us_max: float = -1.0
    late_starts: int = -1  # blocks whose Python work started over half a block late

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class BlockStats:
    """A ring of block durations in nanoseconds.

    ``start``/``stop`` run on the audio thread and only store integers into a
    preallocated array; the summary is computed by readers on other threads.
    """

    def __init__(self, block_seconds: float, block_frames: int = 0) -> None:
        self._ns = np.zeros(WINDOW, dtype=np.int64)
        self._count = 0
        self._overruns = 0
        self._t0 = 0
        self._budget_ns = int(block_seconds * 1e9)
        self._clock = time.perf_counter_ns
        self._late = np.zeros(WINDOW, dtype=np.int64)  # frames after the cycle began
        self._late_count = 0
        self._late_starts = 0
        self._late_limit = block_frames // 2
        self._frame_us = block_seconds * 1e6 / block_frames if block_frames else 0.0

    def start(self, frames_late: int | None = None) -> None:
        """A block's Python work begins, ``frames_late`` after its cycle began (if known)."""
        self._t0 = self._clock()
        if frames_late is not None:
            self._late[self._late_count & (WINDOW - 1)] = frames_late
            self._late_count += 1
            if frames_late > self._late_limit:
                self._late_starts += 1

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
        self._late_count = 0
        self._late_starts = 0

    def snapshot(self) -> StatsSnapshot:
        count = self._count
        n = min(count, WINDOW)
        data = self._ns[:n].astype(np.float64) / 1e3 if n else np.zeros(1)
        mean = float(data.mean())
        late: dict[str, float] = {}
        n_late = min(self._late_count, WINDOW)
        if n_late:
            frames = self._late[:n_late]
            late = {"start_late_us_p99": round(float(np.percentile(frames, 99)) * self._frame_us),
                    "start_late_us_max": round(float(frames.max()) * self._frame_us),
                    "late_starts": self._late_starts}
        return StatsSnapshot(
            blocks=count,
            block_us_mean=mean,
            block_us_p99=float(np.percentile(data, 99)),
            block_us_max=float(data.max()),
            overruns=self._overruns,
            dsp_load=mean * 1e3 / self._budget_ns if self._budget_ns else 0.0,
            peak_rss_mb=peak_rss_mb(),
            **late,
        )


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
