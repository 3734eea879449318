"""Run a model at its native sample rate inside an engine running at another rate.

``ResampledModel`` wraps a StreamingModel: each engine block is resampled to
the model's rate (a polyphase windowed-sinc filter, ``runtime/resample.py``),
run through the model, resampled back and written to a FIFO from which
exactly one engine block leaves per call.

Both filters low-pass at the lower of the two Nyquist frequencies (stopband
from that Nyquist on, passband flat to ``passband`` of it), so the model never
sees images of the engine-rate signal and the engine never hears the model's
content above the lower Nyquist as aliases. The delay through both filters
(and the inner model's own latency) is made a whole number of engine samples
by placing the second resampler's output grid, which also makes every engine
output sample computable by the end of the block its input arrived in: the
FIFO needs no priming and ``latency_samples`` is exact, not rounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .base import StreamingModel
from .runtime.resample import design_polyphase, fifo_pop, kaiser_taps, resample_block

# A larger reduced ratio (e.g. 44100:44101) would need a huge coefficient bank.
MAX_RATIO_TERM = 4096


class ResampledModel(StreamingModel):
    """``inner`` (at ``inner.sample_rate``) run at ``engine_rate``."""

    def __init__(self, inner: StreamingModel, engine_rate: float, *,
                 attenuation_db: float = 100.0, passband: float = 0.91) -> None:
        if inner.sample_rate is None:
            raise ModelError("a model without a native sample rate needs no resampling")
        model_rate = int(float(inner.sample_rate) + 0.5)
        engine = int(float(engine_rate) + 0.5)
        if model_rate <= 0 or engine <= 0:
            raise ModelError(f"bad sample rates {model_rate} / {engine} Hz")
        g = math.gcd(model_rate, engine)
        up, down = model_rate // g, engine // g  # engine -> model is up/down
        if max(up, down) > MAX_RATIO_TERM:
            raise ModelError(f"cannot resample between {engine} Hz and {model_rate} Hz: the "
                             f"ratio {up}/{down} is too fine (terms up to {MAX_RATIO_TERM})")
        if not 0.5 <= passband < 1.0 or attenuation_db < 40.0:
            raise ModelError("passband must be in 0.5..1 and attenuation_db at least 40")
        self.inner = inner
        self.engine_rate = engine
        self.model_rate = model_rate
        self.up, self.down = up, down
        self.name = inner.name
        self.architecture = inner.architecture
        self.sample_rate = float(engine)
        self.metadata = dict(getattr(inner, "metadata", {}) or {})

        # Both filters run at the common high rate up * engine = down * model.
        high = up * engine
        nyquist = 0.5 * min(engine, model_rate)
        transition = (1.0 - passband) * nyquist / high
        cutoff = 0.5 * (1.0 + passband) * nyquist / high
        length = kaiser_taps(attenuation_db, transition)
        taps_in = -(-length // up)
        taps_out = -(-length // down)
        if (taps_in * up + taps_out * down) % 2:  # keep the summed group delay whole
            if up % 2:
                taps_in += 1
            else:
                taps_out += 1
        self.passband_hz = passband * nyquist
        self.stopband_hz = nyquist
        self.attenuation_db = attenuation_db
        self._bank_in = design_polyphase(up, taps_in, cutoff, attenuation_db)
        self._bank_out = design_polyphase(down, taps_out, cutoff, attenuation_db)
        # Group delays (high-rate units): (taps*up - 1)/2 and (taps*down - 1)/2, plus the
        # inner model's latency; the second resampler's grid offset makes the total whole.
        filters = (taps_in * up + taps_out * down) // 2 - 1
        total = filters + int(inner.latency_samples) * down
        self._out_offset = total % up
        self.latency_samples = total // up
        self.filter_delay_ms = 1000.0 * filters / high
        inner_latency = round(inner.latency_samples * engine / model_rate)
        self.added_latency = self.latency_samples - inner_latency

    # -- controls mirror the inner model's ------------------------------------------
    @property
    def controls(self) -> tuple[ParamSpec, ...]:  # type: ignore[override]
        return self.inner.controls

    def set_control(self, name: str, value: float) -> None:
        self.inner.set_control(name, value)

    # -- lifecycle -------------------------------------------------------------------
    def model_block(self, engine_block: int) -> int:
        """The most model-rate samples one engine block of ``engine_block`` can yield."""
        return -(-engine_block * self.up // self.down)

    def allocate(self, channels: int, max_block: int) -> None:
        up, down = self.up, self.down
        mid = self.model_block(max_block)
        self.max_model_block = mid
        self.inner.prepare(channels, mid)
        taps_in = self._bank_in.shape[1]
        taps_out = self._bank_out.shape[1]
        self._hist_in = np.zeros((channels, taps_in - 1 + max_block), np.float32)
        self._hist_out = np.zeros((channels, taps_out - 1 + mid), np.float32)
        self._mid = np.zeros((channels, mid), np.float32)
        self._back = np.zeros((channels, mid), np.float32)
        # Outputs ready ahead of need stay at most ceil(down/up) + 2; one call adds at
        # most ceil(mid * down / up).
        spare = -(-down // up) + 8
        self._fifo = np.zeros((channels, max_block + -(-mid * down // up) + spare), np.float32)
        self._state_in = np.zeros(1, np.int64)
        self._state_out = np.zeros(1, np.int64)
        self._fill = 0
        self.underruns = 0
        self._clear_own()

    def _clear_own(self) -> None:
        self._hist_in.fill(0.0)
        self._hist_out.fill(0.0)
        self._fifo.fill(0.0)
        self._state_in[0] = (self._bank_in.shape[1] - 1) * self.up
        self._state_out[0] = self._out_offset + (self._bank_out.shape[1] - 1) * self.down
        self._fill = 0

    def clear_state(self) -> None:
        self._clear_own()
        self.inner.clear_state()

    def reset(self) -> None:
        self._clear_own()
        self.inner.reset()

    def prewarm(self, samples: int) -> None:
        self.inner.prewarm(math.ceil(samples * self.up / self.down))

    # -- audio thread ----------------------------------------------------------------
    def process_block(self, x: np.ndarray, out: np.ndarray) -> None:
        # The inner model ramps its own controls.
        self._run(x, x.shape[1], out)

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        self._run(x, x.shape[1], out)

    def _run(self, x: np.ndarray, frames: int, out: np.ndarray) -> None:
        if frames > self.max_block:  # the kernels do not bounds-check their buffers
            raise ValueError(f"block of {frames} frames; prepared for {self.max_block}")
        up, down = self.up, self.down
        count = resample_block(x, frames, self._hist_in, self._bank_in, up, down,
                               self._state_in, self._mid, 0)
        if count:
            self.inner.process(self._mid[:, :count], self._back[:, :count])
            self._fill += resample_block(self._back, count, self._hist_out, self._bank_out,
                                         down, up, self._state_out, self._fifo, self._fill)
        if self._fill < frames:  # never, by construction; counted for the tests
            self.underruns += 1
        self._fill = fifo_pop(self._fifo, self._fill, out, frames)

    def describe(self) -> str:
        return (f"{self.inner.describe()}, resampled from {self.engine_rate} Hz "
                f"({self.latency_samples} samples latency)")

    def info(self) -> dict[str, Any]:
        return {"model_rate": self.model_rate, "engine_rate": self.engine_rate,
                "ratio": f"{self.up}/{self.down}", "taps": (self._bank_in.shape[1],
                                                            self._bank_out.shape[1]),
                "latency_samples": self.latency_samples}
