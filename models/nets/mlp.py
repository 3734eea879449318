"""A small per-sample MLP in PyTorch, named like the native ``mlp`` format (training only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

# Native activation names (models/runtime/activations.py) and their torch modules.
ACTIVATIONS = {
    "ReLU": nn.ReLU,
    "Tanh": nn.Tanh,
    "Sigmoid": nn.Sigmoid,
    "Identity": nn.Identity,
    "Hardtanh": nn.Hardtanh,
    "Softsign": nn.Softsign,
    "SiLU": nn.SiLU,
}


class MLPNet(nn.Module):
    """inputs -> hidden_sizes (activation) -> 1, linear output.

    ``state_dict`` keys are ``layers.{k}.weight`` / ``layers.{k}.bias``: the native tensors.
    """

    def __init__(self, hidden_sizes: Sequence[int] = (8, 8), inputs: int = 1,
                 activation: str = "ReLU") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unsupported activation {activation!r}")
        widths = [inputs, *hidden_sizes, 1]
        self.hidden_sizes = list(hidden_sizes)
        self.inputs = inputs
        self.activation = activation
        self.layers = nn.ModuleList(nn.Linear(widths[k], widths[k + 1])
                                    for k in range(len(widths) - 1))
        self.act = ACTIVATIONS[activation]()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        """inp: (B, inputs) -> (B, 1)."""
        h = inp
        for k, layer in enumerate(self.layers):
            h = layer(h)
            if k < len(self.layers) - 1:
                h = self.act(h)
        return h

    def native_tensors(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {prefix + k: v.detach().cpu().numpy().astype(np.float32)
                for k, v in self.state_dict().items() if k.startswith("layers.")}

    def to_streaming(self, controls=()):
        """The trained net as a neuralrig MLPModel."""
        from neuralrig.models.mlp import MLPModel

        config = {"hidden_sizes": self.hidden_sizes, "activation": self.activation}
        return MLPModel(config, self.native_tensors(), controls=controls)
