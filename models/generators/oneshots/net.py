"""The 1-D convolutional autoencoder: strided convolutions and dense layers to a small latent.

Encoder: per stage a strided convolution (kernel 2·stride, downsampling by
``stride``) and a residual kernel-5 convolution, then two dense layers to the
latent ``z``. Decoder: the mirror image, with transposed convolutions, and a
kernel-7 convolution to one channel through tanh. The input is zero-padded to a
multiple of stride**stages and the output cropped back to ``length``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    length: int                                  # samples per one-shot
    latent: int = 16
    channels: tuple[int, ...] = (16, 32, 48, 64)  # per stage, outermost first
    stride: int = 4
    hidden: int = 256
    features: int = 4                            # outputs of the linear feature head

    @property
    def padded(self) -> int:
        unit = self.stride ** len(self.channels)
        return -(-self.length // unit) * unit

    @property
    def bottom(self) -> int:
        return self.padded // self.stride ** len(self.channels)

    def to_json(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_json(cls, data: dict) -> NetConfig:
        return cls(int(data["length"]), int(data["latent"]),
                   tuple(int(c) for c in data["channels"]), int(data["stride"]),
                   int(data["hidden"]), int(data["features"]))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + nn.functional.leaky_relu(self.conv(x), 0.2)


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class Encoder(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for c in cfg.channels:
            layers += [nn.Conv1d(cin, c, 2 * cfg.stride, cfg.stride, cfg.stride // 2), _act(),
                       _Residual(c)]
            cin = c
        self.convs = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(cin * cfg.bottom, cfg.hidden), _act(),
                                   nn.Linear(cfg.hidden, cfg.latent))
        self.padded = cfg.padded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, length) -> (B, latent)."""
        x = nn.functional.pad(x, (0, self.padded - x.shape[-1]))
        return self.dense(self.convs(x.unsqueeze(1)))


class Decoder(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        top = cfg.channels[-1]
        self.dense = nn.Sequential(nn.Linear(cfg.latent, cfg.hidden), _act(),
                                   nn.Linear(cfg.hidden, top * cfg.bottom), _act())
        layers: list[nn.Module] = []
        outs = [*reversed(cfg.channels[:-1]), cfg.channels[0]]
        cin = top
        for c in outs:
            layers += [nn.ConvTranspose1d(cin, c, 2 * cfg.stride, cfg.stride, cfg.stride // 2),
                       _act(), _Residual(c)]
            cin = c
        layers.append(nn.Conv1d(cin, 1, 7, padding=3))
        self.convs = nn.Sequential(*layers)
        self.shape = (top, cfg.bottom)
        self.length = cfg.length

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> (B, length)."""
        x = self.dense(z).view(z.shape[0], *self.shape)
        return torch.tanh(self.convs(x)[:, 0, :self.length])


class OneShotAutoencoder(nn.Module):
    """Encoder, decoder and the linear feature head (z -> standardised features)."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.head = nn.Linear(cfg.latent, cfg.features)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, z, feature-head output)."""
        z = self.encoder(x)
        return self.decoder(z), z, self.head(z)
