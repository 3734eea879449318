"""Gesture smoothing for running mappings: outputs glide to their targets.

A jittery sensor (an accelerometer, a camera tracker) or a coarse one (a 7-bit
CC) makes a mapping's predictions jump. With a mapping's ``smooth`` time set,
each prediction becomes a target, and the outputs follow it with a one-pole
low-pass of that time constant: the first step is taken at once, on the thread
that brought the gesture (so the sound starts moving in the next audio block),
and the rest on this module's thread, every ``TICK`` seconds, until they arrive.
The thread sleeps while nothing glides. The engine's own parameter ramps still
apply on top, so the audio never steps either way.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("neuralrig.mapper")

TICK = 0.01  # seconds between steps while something glides (100 Hz, a control rate)
Apply = Callable[[str, np.ndarray], None]


@dataclass
class _Track:
    value: np.ndarray
    target: np.ndarray
    seconds: float
    tolerance: np.ndarray  # arrived when every output is this close
    last: float

    def step(self, now: float) -> bool:
        """Move towards the target for the time since the last step; True on arrival."""
        elapsed = max(now - self.last, 0.0)
        self.last = now
        self.value += (1.0 - math.exp(-elapsed / self.seconds)) * (self.target - self.value)
        if np.all(np.abs(self.target - self.value) <= self.tolerance):
            self.value[:] = self.target
            return True
        return False


class Glide:
    """Glides named output vectors to their targets; ``apply(name, values)`` sets them."""

    def __init__(self, apply: Apply) -> None:
        self._apply = apply
        self._tracks: dict[str, _Track] = {}
        self._lock = threading.Lock()  # control threads only, never the audio thread
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def move(self, name: str, target: np.ndarray, seconds: float,
             start: Callable[[], np.ndarray], tolerance: np.ndarray) -> None:
        """Glide ``name``'s outputs to ``target`` with time constant ``seconds``, from
        where a glide in progress is, else from ``start()`` (the outputs' values now)."""
        now = time.monotonic()
        with self._lock:
            track = self._tracks.get(name)
            if track is None:
                track = _Track(np.array(start(), dtype=np.float64), target.astype(np.float64),
                               seconds, tolerance, now - TICK)
                self._tracks[name] = track
            else:
                track.target, track.seconds, track.tolerance = target, seconds, tolerance
            arrived = track.step(now)
            value = track.value.copy()
            if arrived:
                del self._tracks[name]
        self._apply(name, value)
        if not arrived:
            self._ensure_thread()
            self._wake.set()

    def cancel(self, name: str) -> None:
        """Stop gliding ``name`` where it is (the mapping stopped or changed)."""
        with self._lock:
            self._tracks.pop(name, None)

    def gliding(self, name: str) -> bool:
        with self._lock:
            return name in self._tracks

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="map-glide", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                if not self._tracks:
                    self._wake.clear()
            if not self._wake.is_set():
                self._wake.wait()
                continue
            time.sleep(TICK)
            now = time.monotonic()
            with self._lock:
                steps = []
                for name, track in list(self._tracks.items()):
                    if track.step(now):
                        del self._tracks[name]
                    steps.append((name, track.value.copy()))
            for name, value in steps:
                if self._closed:
                    return
                try:
                    self._apply(name, value)
                except Exception as exc:  # a removed slot: stop this glide, keep the rest
                    self.cancel(name)
                    log.warning("mapping '%s': smoothing stopped: %s", name, exc)
