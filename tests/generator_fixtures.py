"""TorchScript modules in nn~'s contract, small enough to reason about exactly.

``Interleave``: encode folds each run of ``ratio`` samples into one latent frame
of ``ratio`` dimensions (``z[k, t] = x[t * ratio + k]``) and decode unfolds it,
so reconstruction is exact and a latent edit lands on known samples. The
prior returns the temperature on every dimension.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch


class Interleave(torch.nn.Module):
    def __init__(self, ratio: int = 8, sample_rate: int = 48000, declare_rate: bool = True,
                 with_prior: bool = True) -> None:
        super().__init__()
        self.ratio = ratio
        self.rate = sample_rate if declare_rate else -1
        self.register_buffer("encode_params", torch.tensor([1, 1, ratio, ratio]))
        self.register_buffer("decode_params", torch.tensor([ratio, ratio, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        names = ["encode", "decode", "forward"]
        if with_prior:
            self.register_buffer("prior_params", torch.tensor([1, ratio, ratio, ratio]))
            names.append("prior")
        self.names = names

    @torch.jit.export
    def get_methods(self) -> list[str]:
        return self.names

    @torch.jit.export
    def get_sample_rate(self) -> int:
        return self.rate

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        b, _, n = x.shape
        return x.reshape(b, n // self.ratio, self.ratio).transpose(1, 2).contiguous()

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        b, _, t = z.shape
        return z.transpose(1, 2).reshape(b, 1, t * self.ratio).contiguous()

    @torch.jit.export
    def prior(self, temperature: torch.Tensor) -> torch.Tensor:
        b, _, t = temperature.shape
        return temperature[:, :1, :].expand(b, self.ratio, t).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class NoContract(torch.nn.Module):
    """A TorchScript module nn~ could not use: no method declares its ``_params``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0


class WrongShape(Interleave):
    """Claims decode returns ratio x frames samples but returns one sample per frame."""

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :1, :]


def script(module: torch.nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(module).save(str(path))
    return path
