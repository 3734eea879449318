"""Run a model that wants large chunks inside an engine that moves small blocks.

The audio thread copies each engine block into the chunk being gathered; when
a chunk is full it is handed to a worker thread (a chunk number on a deque and
one byte down a pipe: nothing locks) and gathering goes on into the next slot.
The worker runs the model into the chunk's output slot. Playback reads the
outputs ``latency = chunk + budget`` samples behind the input, so the worker
has ``budget`` samples of time per chunk, less the one block at which the
audio thread decides whether a fade-out is needed:

* a chunk that is not ready when its first block should play is *late*: it is
  counted, and silence plays instead, faded out over the block before (the
  last block of the chunk that was playing) so the gap never clicks; a late
  result that arrives mid-chunk fades in over one block;
* a worker that falls more than a chunk behind skips straight to the newest
  chunk (counted as dropped) instead of queueing up latency.

Offline (``realtime=False``) the model runs inline when a chunk fills, with the
same latency, so ``neuralrig render`` gives the output the live rig would give
with a fast enough machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

log = logging.getLogger("neuralrig.generator")

SLOTS = 4  # chunks in flight: one gathering, one computing, one playing, one spare
Infer = Callable[[np.ndarray, int, np.ndarray], None]  # (chunk in, chunk number, chunk out)


class ChunkStreamer:
    """Gather ``block``-sized pieces into ``chunk``-sized model calls; see the module doc."""

    def __init__(self, block: int, chunk: int, budget: int, infer: Infer, *,
                 realtime: bool, on_submit: Callable[[int], None] | None = None,
                 name: str = "generator") -> None:
        if chunk % block:
            raise ValueError(f"chunk {chunk} is not a multiple of the block {block}")
        if budget % block or not 2 * block <= budget <= chunk:
            raise ValueError(f"budget {budget} must be a multiple of the block {block} "
                             f"between {2 * block} and the chunk {chunk}")
        self.block, self.chunk, self.budget = block, chunk, budget
        self.latency = chunk + budget
        self.realtime = realtime
        self._infer = infer
        self._on_submit = on_submit
        self._inputs = np.zeros((SLOTS, chunk), np.float32)
        self._outputs = np.zeros((SLOTS, chunk), np.float32)
        per = chunk // block
        self._in_views = [[self._inputs[s, i * block:(i + 1) * block] for i in range(per)]
                          for s in range(SLOTS)]
        self._out_views = [[self._outputs[s, i * block:(i + 1) * block] for i in range(per)]
                           for s in range(SLOTS)]
        self._fade_in = (np.arange(1, block + 1, dtype=np.float32) / block)
        self._fade_out = self._fade_in[::-1].copy()
        self._submitted = [-1] * SLOTS  # chunk number each slot holds (audio thread writes)
        self._done = [-1] * SLOTS  # chunk number whose output each slot holds (worker writes)
        self._queue: deque[int] = deque(maxlen=SLOTS)  # bounded: the oldest falls out
        self._t = 0  # input samples seen
        self._gain = 1.0  # output gain at the end of the last block (0 after a gap)
        self.late = 0  # chunks not ready when due
        self.dropped = 0  # chunks the worker skipped to catch up
        self.chunks = 0  # chunks computed
        # Worker-private copies: the audio thread may reuse a slot while a late
        # inference still runs; the worker never reads or writes a slot in place.
        self._work_in = np.zeros(chunk, np.float32)
        self._work_out = np.zeros(chunk, np.float32)
        self._stopping = False
        self._thread: threading.Thread | None = None
        if realtime:
            self._rfd, self._wfd = os.pipe()
            os.set_blocking(self._wfd, False)
            self._thread = threading.Thread(target=self._worker, name=f"{name}-infer",
                                            daemon=True)
            self._thread.start()

    # -- audio thread ---------------------------------------------------------------
    def process(self, x: np.ndarray, y: np.ndarray) -> None:
        """One engine block: ``x`` in, ``y`` out (both 1-D, ``block`` long)."""
        block, chunk = self.block, self.chunk
        t = self._t
        gather, offset = divmod(t, chunk)
        slot = gather % SLOTS
        self._in_views[slot][offset // block][:] = x
        if offset + block == chunk:
            self._submit(gather, slot)
        self._play(t - self.latency, y)
        self._t = t + block

    def _submit(self, number: int, slot: int) -> None:
        self._submitted[slot] = number
        if self._on_submit is not None:
            self._on_submit(number)
        if not self.realtime:
            self._run(number)
            return
        self._queue.append(number)
        if self._stopping:
            return
        # A full pipe means the worker has wake-ups waiting anyway.
        with contextlib.suppress(BlockingIOError):
            os.write(self._wfd, b"\x01")

    def _play(self, q: int, y: np.ndarray) -> None:
        if q < 0:
            y.fill(0.0)
            return
        block, chunk = self.block, self.chunk
        number, offset = divmod(q, chunk)
        slot = number % SLOTS
        ready = self._done[slot] == number
        if offset == 0 and not ready:
            self.late += 1
        if not ready:
            y.fill(0.0)
            self._gain = 0.0
            return
        last = offset + block == chunk
        fade_out = last and self._done[(number + 1) % SLOTS] != number + 1
        src = self._out_views[slot][offset // block]
        if self._gain == 0.0 and not fade_out:
            np.multiply(src, self._fade_in, out=y)
            self._gain = 1.0
        elif fade_out:
            if self._gain == 0.0:
                y.fill(0.0)
            else:
                np.multiply(src, self._fade_out, out=y)
            self._gain = 0.0
        else:
            y[:] = src

    def reset(self) -> None:
        """Start over from an empty first chunk (before audio runs, or offline)."""
        self._queue.clear()
        self._submitted[:] = [-1] * SLOTS
        self._done[:] = [-1] * SLOTS
        self._t = 0
        self._gain = 1.0

    # -- worker ---------------------------------------------------------------------
    def _worker(self) -> None:
        sentinel = False
        try:
            while not sentinel:
                sentinel = b"\x00" in os.read(self._rfd, 4096)
                queue = self._queue
                while queue and not self._stopping:
                    number = queue.popleft()
                    if queue:  # a newer chunk is waiting: this one would only be late
                        self.dropped += 1
                        continue
                    try:
                        self._run(number)
                    except Exception:
                        log.exception("generator inference failed; the chunk plays as silence")
        finally:
            os.close(self._rfd)
            if sentinel:  # stop() wrote its last byte: nobody writes to the pipe again
                os.close(self._wfd)

    def _run(self, number: int) -> None:
        slot = number % SLOTS
        if self._submitted[slot] != number:
            return
        self._work_in[:] = self._inputs[slot]
        self._infer(self._work_in, number, self._work_out)
        if self._submitted[slot] == number:
            self._outputs[slot] = self._work_out
            self._done[slot] = number
            self.chunks += 1

    def stop(self) -> None:
        """Ask the worker to end; never waits (the engine calls it on the audio thread)."""
        if self._thread is None or self._stopping:
            return
        self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wfd, b"\x00")

    def join(self, timeout: float = 5.0) -> bool:
        """Wait for the worker to end (off the audio thread); True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
