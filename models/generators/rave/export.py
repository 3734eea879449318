"""Export a ``RaveVAE`` as TorchScript in nn~'s contract, and save/load its weights.

The scripted module (``ScriptedRave``) has, as nn~ and RAVE v2 exports do:

* methods ``encode`` (audio (B, 1, N) -> latents (B, 8, N / 2048)), ``decode``
  (latents (B, 8, T) -> audio (B, 1, 2048 T)) and ``forward`` (audio -> its
  reconstruction, the same length), each with a buffer ``<method>_params`` =
  ``[in_channels, in_ratio, out_channels, out_ratio]`` (int64);
* ``get_methods()``, ``get_attributes()`` (none), ``get_sample_rate()``, and the
  buffer ``sampling_rate`` for older loaders;
* buffers ``latent_mean``, ``latent_pca`` and ``fidelity`` (cumulative fraction of
  latent variance explained by the first k+1 exported dimensions);
* beyond nn~: ``get_latency()`` (0 samples: see ``model.py``; the output block is the
  reconstruction of the same input block) and ``reset_state()`` (zero every cache
  and restart the noise counter).

Exported latents are the principal components of the posterior mean: ``encode``
returns ``latent_pca @ (mean - latent_mean)`` (dimension 0 varies most over the
training corpus) and ``decode`` inverts that. ``encode`` is deterministic (the
posterior mean, no sampling) and so is ``decode`` (see ``model.py`` on noise).

State: ``encode``, ``decode`` and ``forward`` share the caches (one module, one
stream): use one loaded instance per stream and method. Every cache is reset when the
batch size changes. Audio lengths for ``encode`` and ``forward`` must be multiples
of 2048 samples; ``decode`` takes any number of frames.

Each method runs its networks one latent frame (2048 samples) at a time, whatever
the call's length: convolutions round differently at different lengths, and the
decoder's oscillator integrates its frequency, so with whole-call processing a
stream cut into other blocks would drift apart in phase (1e-2 after a second in
float32). Frame by frame, any split into blocks of whole frames gives the same
samples, bit for bit.
"""

from __future__ import annotations

import contextlib
import copy
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from neuralrig.server.atomic import write_atomic

from .model import LATENCY, Config, RaveVAE

FORMAT = "neuralrig-rave-vae/1"


class ScriptedRave(nn.Module):
    """The streaming model behind the TorchScript file (see the module docstring)."""

    def __init__(self, model: RaveVAE) -> None:
        super().__init__()
        cfg = model.cfg
        model = copy.deepcopy(model).cpu().float().eval()
        model.set_streaming(True)
        model.reset()
        self.encoder = model.encoder
        self.decoder = model.decoder
        self.ratio = cfg.ratio
        self.latent = cfg.latent
        self.sample_rate = cfg.sample_rate
        self.latency = LATENCY
        self.batch = -1
        self.register_buffer("latent_mean", model.latent_mean.clone())
        self.register_buffer("latent_pca", model.latent_pca.clone())
        self.register_buffer("fidelity", model.fidelity.clone())
        self.register_buffer("sampling_rate", torch.tensor(cfg.sample_rate))
        self.register_buffer("encode_params", torch.tensor([1, 1, cfg.latent, cfg.ratio]))
        self.register_buffer("decode_params", torch.tensor([cfg.latent, cfg.ratio, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))

    def _check(self, x: torch.Tensor, channels: int, multiple: int) -> None:
        if x.dim() != 3 or x.shape[1] != channels:
            raise ValueError(f"expected a (batch, {channels}, length) tensor")
        if x.shape[2] % multiple != 0:
            raise ValueError(f"length must be a multiple of {multiple}")
        if x.shape[0] != self.batch:
            self.reset_state()
            self.batch = x.shape[0]

    @torch.jit.export
    def reset_state(self) -> None:
        self.encoder.reset()
        self.decoder.reset()

    def _encode_frames(self, x: torch.Tensor, rotate: bool) -> torch.Tensor:
        """Posterior means (PCA coordinates if ``rotate``), one latent frame (2048
        samples) per encoder call."""
        frames: list[torch.Tensor] = []
        for start in range(0, x.shape[2], self.ratio):
            mean = self.encoder(x[:, :, start:start + self.ratio])[0]
            if rotate:
                mean = torch.matmul(self.latent_pca, mean - self.latent_mean[:, None])
            frames.append(mean)
        return torch.cat(frames, dim=2)

    def _decode_frames(self, z: torch.Tensor, rotate: bool) -> torch.Tensor:
        """Audio from latents (PCA coordinates if ``rotate``), one frame per call."""
        blocks: list[torch.Tensor] = []
        for frame in range(z.shape[2]):
            latent = z[:, :, frame:frame + 1]
            if rotate:
                latent = torch.matmul(self.latent_pca.t(), latent) + self.latent_mean[:, None]
            blocks.append(self.decoder(latent))
        return torch.cat(blocks, dim=2)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x, 1, self.ratio)
        return self._encode_frames(x, True)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self._check(z, self.latent, 1)
        return self._decode_frames(z, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x, 1, self.ratio)
        return self._decode_frames(self._encode_frames(x, False), False)

    @torch.jit.export
    def get_methods(self) -> list[str]:
        return ["encode", "decode", "forward"]

    @torch.jit.export
    def get_attributes(self) -> list[str]:
        return []

    @torch.jit.export
    def get_sample_rate(self) -> int:
        return self.sample_rate

    @torch.jit.export
    def get_latency(self) -> int:
        return self.latency


@contextlib.contextmanager
def _jit_deprecation_hushed(name: str) -> Iterator[None]:
    """Hide torch 2.13's DeprecationWarning for ``torch.jit.<name>``, and nothing else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=rf"`torch\.jit\.{name}` is deprecated",
                                category=DeprecationWarning)
        yield


def script(model: RaveVAE) -> torch.jit.ScriptModule:
    """``ScriptedRave(model)``, compiled."""
    with _jit_deprecation_hushed("script"):
        return torch.jit.script(ScriptedRave(model))


def export_torchscript(model: RaveVAE, path: str | Path) -> Path:
    """Write the TorchScript file for ``model`` atomically; returns the path."""
    path = Path(path)
    scripted = script(model)

    def write(tmp: str) -> None:
        with _jit_deprecation_hushed("save"):
            torch.jit.save(scripted, tmp)

    write_atomic(path, write)
    return path


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    """``torch.jit.load`` on the CPU, in eval mode."""
    with _jit_deprecation_hushed("load"):
        return torch.jit.load(str(path), map_location="cpu").eval()


def save_weights(model: RaveVAE, path: str | Path, extra: dict | None = None) -> Path:
    """Weights and latent statistics as safetensors; the config (JSON) in its metadata."""
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": json.dumps(model.cfg.to_dict())}
    if extra:
        metadata.update({k: json.dumps(v) for k, v in extra.items()})
    write_atomic(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    return path


def load_weights(path: str | Path) -> RaveVAE:
    """The model saved by ``save_weights``."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file")
    model = RaveVAE(Config.from_dict(json.loads(metadata["config"])))
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval()
