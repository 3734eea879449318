"""Models that need no file: an identity (pass-through) and a tiny seeded LSTM for tests."""

from __future__ import annotations

import torch

from .base import StreamingModel


class Identity(StreamingModel):
    name = "identity"

    def process(self, x: torch.Tensor, out: torch.Tensor) -> None:
        out.copy_(x)


class LSTMModel(StreamingModel):
    """LSTM followed by a linear head, with an optional input skip (output = x + model)."""

    def __init__(self, hidden_size: int, num_layers: int = 1, skip: bool = False) -> None:
        self.name = f"lstm-{hidden_size}"
        self.lstm = torch.nn.LSTM(1, hidden_size, num_layers, batch_first=True)
        self.head = torch.nn.Linear(hidden_size, 1)
        self.skip = skip
        self.lstm.eval()
        self.head.eval()

    def reset(self) -> None:
        shape = (self.lstm.num_layers, self.channels, self.lstm.hidden_size)
        self.h = torch.zeros(shape)
        self.c = torch.zeros(shape)

    def process(self, x: torch.Tensor, out: torch.Tensor) -> None:
        y, (h, c) = self.lstm(x.unsqueeze(-1), (self.h, self.c))
        self.h.copy_(h)
        self.c.copy_(c)
        result = self.head(y).squeeze(-1)
        if self.skip:
            result.add_(x)
        out.copy_(result)


def tiny_lstm(seed: int = 1234) -> LSTMModel:
    """An 8-unit LSTM with fixed random weights: a real recurrent model for tests."""
    generator = torch.random.fork_rng()
    with generator:
        torch.manual_seed(seed)
        model = LSTMModel(hidden_size=8)
    model.name = "tiny-lstm"
    return model


BUILTIN_MODELS = {"identity": Identity, "tiny-lstm": tiny_lstm}
