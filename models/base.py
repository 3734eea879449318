"""The streaming contract every neural model meets inside a slot.

``process`` is called once per block on the audio thread with preallocated
float32 numpy arrays of shape (channels, frames). Each channel keeps its own
state between calls, so processing in blocks equals processing the whole
signal. Control changes are ramped linearly across the next block, so turning
a knob never steps. Nothing here allocates after ``prepare``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numba as nb
import numpy as np

from neuralrig.server.engine.params import ParamSpec


@nb.njit(cache=True, nogil=True)
def _ramp(row, frames, start, end):
    step = (end - start) / frames
    for t in range(frames):
        row[t] = start + step * (t + 1)


class StreamingModel(ABC):
    name: str = "model"
    architecture: str = "model"
    # Native sample rate; None runs at whatever rate the engine uses.
    sample_rate: float | None = None
    # Samples the model delays its output by (a look-ahead, a resampler).
    latency_samples: int = 0
    # Silence run through the model by reset(), so it starts settled (NAM's pre-warm).
    prewarm_samples: int = 0
    controls: tuple[ParamSpec, ...] = ()
    # Linear gains around the network (a format's input/output level, loudness).
    input_gain: float = 1.0
    output_gain: float = 1.0
    metadata: dict[str, Any]

    def prepare(self, channels: int, max_block: int) -> None:
        """Allocate state and scratch for ``channels`` and up to ``max_block`` frames."""
        self.channels = channels
        self.max_block = max_block
        n = len(self.controls)
        self._ctrl = np.zeros((n, max_block), np.float32)
        self._ctrl_now = np.array([c.to_norm(c.default) for c in self.controls], np.float32)
        self._ctrl_target = self._ctrl_now.copy()
        self._scaled = np.zeros((channels, max_block), np.float32)
        self.allocate(channels, max_block)
        self.warm_up()
        self.reset()

    def warm_up(self) -> None:
        """Compile the kernels now, not on the audio thread's first block.

        numba specialises on array layout: a full block is C-contiguous, a
        shorter one is a strided view, so both are run once here.
        """
        silence = np.zeros((self.channels, self.max_block), np.float32)
        sink = np.zeros_like(silence)
        for frames in {self.max_block, max(1, self.max_block - 1)}:
            self.clear_state()
            self.process(silence[:, :frames], sink[:, :frames])

    def allocate(self, channels: int, max_block: int) -> None:  # noqa: B027
        """Allocate the model's own state and scratch arrays."""

    def reset(self) -> None:
        """Clear the state (recurrent state, convolution history), then pre-warm."""
        self.clear_state()
        self._ctrl_now[:] = self._ctrl_target
        self.prewarm(self.prewarm_samples)

    def clear_state(self) -> None:  # noqa: B027 - stateless models need nothing
        """Return to the model's initial state."""

    def prewarm(self, samples: int) -> None:
        """Run ``samples`` of silence through the model, block by block."""
        if samples <= 0:
            return
        silence = np.zeros((self.channels, self.max_block), np.float32)
        sink = np.zeros_like(silence)
        done = 0
        while done < samples:
            n = min(self.max_block, samples - done)
            self.process(silence[:, :n], sink[:, :n])
            done += n

    def set_control(self, name: str, value: float) -> None:
        """Set a control in its own units; reaches its value over the next block."""
        for index, spec in enumerate(self.controls):
            if spec.name == name:
                self._ctrl_target[index] = spec.to_norm(spec.clamp(value))
                return
        raise KeyError(name)

    def control_block(self, frames: int) -> np.ndarray:
        """Per-sample normalised (0..1) control values for the next ``frames`` samples."""
        for k in range(self._ctrl.shape[0]):
            _ramp(self._ctrl[k], frames, self._ctrl_now[k], self._ctrl_target[k])
            self._ctrl_now[k] = self._ctrl_target[k]
        return self._ctrl[:, :frames]

    def process(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write the model's output for ``x`` into ``out`` (both channels x frames)."""
        frames = x.shape[1]
        if self.input_gain != 1.0:
            scaled = self._scaled[: x.shape[0], :frames]
            np.multiply(x, np.float32(self.input_gain), out=scaled)
            x = scaled
        self.process_block(x, out)
        if self.output_gain != 1.0:
            np.multiply(out, np.float32(self.output_gain), out=out)

    def process_block(self, x: np.ndarray, out: np.ndarray) -> None:
        """Between the gains: ramp the controls and run the network.

        A wrapper whose inner model ramps its own controls overrides this.
        """
        self.run(x, self.control_block(x.shape[1]), out)

    @abstractmethod
    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        """The network itself: ``ctrl`` is (controls, frames) of values in 0..1."""

    def describe(self) -> str:
        rate = f"{self.sample_rate:g} Hz" if self.sample_rate else "any rate"
        return f"{self.architecture} at {rate}"


def as_f32(array: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A C-contiguous float32 copy, optionally reshaped."""
    result = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    return result.reshape(shape) if shape is not None else result
