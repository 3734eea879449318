"""Models that need no file: an identity (pass-through) and a tiny seeded LSTM for tests."""

from __future__ import annotations

import numpy as np

from .base import StreamingModel
from .recurrent import RecurrentModel, recurrent_tensor_shapes


class Identity(StreamingModel):
    name = "identity"
    architecture = "identity"

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        out[:] = x

    def export_native(self) -> tuple[str, dict, dict]:
        return "identity", {}, {}


def tiny_lstm(seed: int = 1234) -> RecurrentModel:
    """An 8-unit LSTM with fixed random weights: a real recurrent model for tests."""
    rng = np.random.default_rng(seed)
    shapes = recurrent_tensor_shapes("lstm", 8, 1, 1)
    tensors = {k: (rng.uniform(-0.35, 0.35, s)).astype(np.float32) for k, s in shapes.items()}
    model = RecurrentModel("lstm", 8, 1, tensors)
    model.name = "tiny-lstm"
    return model


BUILTIN_MODELS = {"identity": Identity, "tiny-lstm": tiny_lstm}
