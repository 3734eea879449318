"""The streaming contract every neural model meets inside a slot.

``process`` is called once per block on the audio thread with preallocated
float32 tensors of shape (channels, frames); each channel keeps its own state
between calls, so processing in blocks equals processing the whole signal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from neuralrig.server.engine.params import ParamSpec


class StreamingModel(ABC):
    name: str = "model"
    # Native sample rate; None runs at whatever rate the engine uses.
    sample_rate: float | None = None
    # Samples the model delays its output by (a look-ahead, a resampler).
    latency_samples: int = 0
    controls: tuple[ParamSpec, ...] = ()

    def prepare(self, channels: int, max_block: int) -> None:
        """Allocate per-channel state for up to ``max_block`` frames per call."""
        self.channels = channels
        self.max_block = max_block
        self.control_values = {c.name: c.default for c in self.controls}
        self.reset()

    def reset(self) -> None:  # noqa: B027 - stateless models need nothing
        """Clear the state (recurrent state, convolution history)."""

    def set_control(self, name: str, value: float) -> None:
        self.control_values[name] = value

    @abstractmethod
    def process(self, x: torch.Tensor, out: torch.Tensor) -> None:
        """Write the model's output for ``x`` into ``out`` (both channels x frames)."""
