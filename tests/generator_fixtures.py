"""TorchScript modules in nn~'s contract, small enough to reason about exactly.

``Interleave``: encode folds each run of ``ratio`` samples into one latent frame
of ``ratio`` dimensions (``z[k, t] = x[t * ratio + k]``) and decode unfolds it,
so reconstruction is exact and a latent edit lands on known samples. The
prior returns the temperature on every dimension.

``Delayed``: Interleave whose ``forward`` really is ``latency`` samples late and
says so with ``get_latency()``. ``OldExport``: an export in the oldest form nn~
reads (RAVE v1): no ``get_methods()``, no ``get_sample_rate()``, a
``sampling_rate`` buffer. ``Cached``: a streaming model with a cache and no
``reset_state()``, as RAVE's cached convolutions are.
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


class Delayed(Interleave):
    """Interleave whose ``forward`` plays its input ``latency`` samples late (a cache
    carries the last ``latency`` samples over to the next call) and declares it."""

    def __init__(self, ratio: int = 8, latency: int = 13) -> None:
        super().__init__(ratio)
        self.latency = latency
        self.register_buffer("cache", torch.zeros(1, 1, latency))

    @torch.jit.export
    def get_latency(self) -> int:
        return self.latency

    @torch.jit.export
    def reset_state(self) -> None:
        self.cache = torch.zeros(1, 1, self.latency)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.cache, x], -1)
        self.cache = y[:, :, y.shape[-1] - self.latency:].clone()
        return y[:, :, : x.shape[-1]]


class OldExport(torch.nn.Module):
    """RAVE v1's form: the methods are those with a ``_params`` buffer (no
    ``get_methods()``), the rate is a ``sampling_rate`` buffer (no ``get_sample_rate()``).

    Interleave's folding, but decode is not encode's inverse (``0.5 * unfold(z) +
    0.125``), so an output that skipped the model shows. ``forward`` exists but has no
    ``forward_params`` and returns silence, and ``prior_params`` names no method: the
    methods are encode and decode only, and reconstruct must run them in turn.
    """

    def __init__(self, ratio: int = 8, sample_rate: int = 44100) -> None:
        super().__init__()
        self.ratio = ratio
        self.register_buffer("sampling_rate", torch.tensor(sample_rate))
        self.register_buffer("encode_params", torch.tensor([1, 1, ratio, ratio]))
        self.register_buffer("decode_params", torch.tensor([ratio, ratio, 1, 1]))
        self.register_buffer("prior_params", torch.tensor([1, ratio, ratio, ratio]))

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        b, _, n = x.shape
        return x.reshape(b, n // self.ratio, self.ratio).transpose(1, 2).contiguous()

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        b, _, t = z.shape
        return 0.5 * z.transpose(1, 2).reshape(b, 1, t * self.ratio).contiguous() + 0.125

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class Cached(torch.nn.Module):
    """Streaming as RAVE's cached convolutions stream: a layer with a bias (``h = x +
    0.5``), then a one-sample delay whose padding is the previous call's last ``h``,
    kept in a cache that starts at zero; ``y = delayed(h) - 0.5``. No ``reset_state()``
    (RAVE's exports have none), so whatever ran through it before stays in the cache:
    a fresh model's first output sample is -0.5, after silence 0.0."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        self.register_buffer("cache", torch.zeros(1, 1, 1))

    @torch.jit.export
    def get_methods(self) -> list[str]:
        return ["forward"]

    @torch.jit.export
    def get_sample_rate(self) -> int:
        return 48000

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + 0.5
        y = torch.cat([self.cache, h[:, :, :-1]], -1)
        self.cache = h[:, :, -1:].clone()
        return y - 0.5


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


def load_scripted(path: Path) -> torch.jit.ScriptModule:
    """The file as torch loads it, with no probing, reset or checks (a fresh module)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path))
