"""A chunked generator as a StreamingModel, so it can run at its own sample rate.

``ResampledModel`` feeds its inner model blocks whose length varies by a sample
from call to call. ``GatheredGenerator`` collects them into chunks of ``chunk``
samples (a multiple of the model's ratio), calls ``infer`` on each full chunk and
plays the results ``chunk`` samples later, so every call returns as many samples
as it was given and the latency is exact. It runs on the generator's worker
thread (inside the chunk the engine hands over), never on the audio thread.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..base import StreamingModel

Infer = Callable[[np.ndarray, np.ndarray], None]  # (chunk in, chunk out), both (chunk,)


class GatheredGenerator(StreamingModel):
    name = "generator"
    architecture = "generator"

    def __init__(self, infer: Infer, chunk: int, sample_rate: int, model_latency: int = 0,
                 on_reset: Callable[[], None] | None = None) -> None:
        self._infer = infer
        self._on_reset = on_reset
        self.chunk = chunk
        self.sample_rate = float(sample_rate)
        self.latency_samples = chunk + model_latency
        self.metadata = {}

    def allocate(self, channels: int, max_block: int) -> None:
        if channels != 1:
            raise ValueError("a gathered generator is mono")
        self._in = np.zeros(self.chunk + max_block, np.float32)
        self._out = np.zeros(2 * self.chunk + max_block, np.float32)
        self._result = np.zeros(self.chunk, np.float32)
        self._no_controls = np.zeros((0, max_block), np.float32)

    def clear_state(self) -> None:
        self._in.fill(0.0)
        self._out.fill(0.0)
        self._in_fill = 0
        self._out_fill = self.chunk  # a chunk of silence plays while the first one gathers

    def reset(self) -> None:
        self.clear_state()
        if self._on_reset is not None:
            self._on_reset()

    def warm_up(self) -> None:  # nothing to compile; running the model here would skew it
        self.clear_state()

    def process_block(self, x: np.ndarray, out: np.ndarray) -> None:
        self.run(x, self._no_controls, out)

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        n = x.shape[1]
        chunk = self.chunk
        self._in[self._in_fill:self._in_fill + n] = x[0]
        self._in_fill += n
        if self._in_fill >= chunk:
            self._infer(self._in[:chunk], self._result)
            self._out[self._out_fill:self._out_fill + chunk] = self._result
            self._out_fill += chunk
            rest = self._in_fill - chunk
            self._in[:rest] = self._in[chunk:self._in_fill]
            self._in_fill = rest
        out[0] = self._out[:n]
        left = self._out_fill - n
        self._out[:left] = self._out[n:self._out_fill]
        self._out_fill = left

    def describe(self) -> str:
        return f"generator in chunks of {self.chunk}"
