"""The seed's small Transformer encoder for static nonlinearities, in PyTorch (training only).

Linear encoder (1 + controls -> d_model), fixed sine-cosine positional encoding,
N post-norm encoder layers (``nn.TransformerEncoderLayer``, batch_first, ReLU
feed-forward, no dropout), linear decoder (d_model -> 1). The sequence is a
sliding window of the last W input samples (oldest first, zeros before the
signal starts); the decoder reads the last position, so the output at time t
is a causal function of x[t-W+1 .. t]. ``state_dict`` keys (minus the
positional table, which is rebuilt from the config) are the native tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neuralrig.models.transformer import sinusoidal_encoding


class TransformerNet(nn.Module):
    def __init__(self, window: int = 16, d_model: int = 8, nhead: int = 2, num_layers: int = 2,
                 dim_feedforward: int = 32, inputs: int = 1, layer_norm_eps: float = 1e-5):
        super().__init__()
        self.window, self.d_model, self.nhead = window, d_model, nhead
        self.num_layers, self.dim_feedforward = num_layers, dim_feedforward
        self.inputs, self.layer_norm_eps = inputs, layer_norm_eps
        self.encoder = nn.Linear(inputs, d_model)
        self.register_buffer("pe", torch.from_numpy(sinusoidal_encoding(window, d_model)),
                             persistent=False)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
                                       activation="relu", layer_norm_eps=layer_norm_eps,
                                       batch_first=True, norm_first=False)
            for _ in range(num_layers))
        self.decoder = nn.Linear(d_model, 1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """windows: (B, W, inputs), oldest sample first -> (B, 1), the newest sample's output."""
        h = self.encoder(windows) + self.pe
        for layer in self.layers:
            h = layer(h)
        return self.decoder(h[:, -1])

    def config(self) -> dict:
        return {"window": self.window, "d_model": self.d_model, "nhead": self.nhead,
                "num_layers": self.num_layers, "dim_feedforward": self.dim_feedforward,
                "activation": "ReLU", "layer_norm_eps": self.layer_norm_eps}

    def native_tensors(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().astype(np.float32)
                for k, v in self.state_dict().items()}

    def to_streaming(self, controls=()):
        from neuralrig.models.transformer import TransformerModel

        return TransformerModel(self.config(), self.native_tensors(), controls=controls)


def sliding_windows(signal: np.ndarray, window: int) -> np.ndarray:
    """(N, F) per-sample inputs -> (N, W, F) windows, zero history before the start."""
    signal = np.asarray(signal, np.float32)
    if signal.ndim == 1:
        signal = signal[:, None]
    padded = np.concatenate([np.zeros((window - 1, signal.shape[1]), np.float32), signal])
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (N, F, W)
    return np.ascontiguousarray(view.transpose(0, 2, 1))
