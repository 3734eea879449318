"""Training: a multi-resolution STFT distance, a weighted KL term and a weighted
pitch error (``RaveVAE.forward``), on random windows of the synthesised corpus.

``distance`` (the training loss's reconstruction term) is, averaged over FFT sizes
2048, 1024, 512, 256 and 128 (hop a quarter, Hann windows, magnitudes divided by
sqrt(FFT size)): the spectral convergence ``||T - P|| / ||T||`` plus the mean
absolute difference of ``log(magnitude + 1e-3)``. The floor (white noise at about
-56 dBFS fills a bin that much) keeps inaudible detail from dominating: with 1e-4,
the model learnt to play quietly everywhere. The KL weight ramps from 0 to ``beta``
over the middle of training, so the decoder learns before the latent is squeezed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from .model import RaveVAE

RESOLUTIONS = (2048, 1024, 512, 256, 128)
LOG_FLOOR = 1e-3


@dataclass(frozen=True)
class TrainOptions:
    steps: int = 4500
    batch: int = 8
    segment: int = 16384  # samples per example (8 latent frames)
    lr: float = 1e-3
    lr_final: float = 5e-5
    warmup: int = 100  # steps of linear learning-rate warm-up
    # Final KL weight (KL summed over latent dimensions, per frame). At 0.02 the latents
    # collapsed to the prior within a few hundred steps.
    beta: float = 1e-3
    beta_start: float = 0.1  # fraction of training where the KL ramp starts ...
    beta_end: float = 0.4  # ... and where it reaches ``beta``
    pitch_weight: float = 0.3  # of the pitch error (octaves; see RaveVAE.forward)
    # Learning rate multiplier of the synthesis controls' layer: Adam moves a parameter by
    # about lr per step, and the log-amplitudes start 5 e-folds too quiet.
    controls_lr_scale: float = 10.0
    gain_db: float = 6.0  # random gain per example, +-
    grad_clip: float = 2.0
    validate_every: int = 150
    seed: int = 0
    # One thread: on a busy two-core machine, two threads ran 3-10 times slower.
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _magnitudes(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop_length=n_fft // 4,
                      window=window, center=True, return_complex=True)
    return spec.abs() / math.sqrt(n_fft)


def distance(pred: torch.Tensor, target: torch.Tensor,
             resolutions: tuple[int, ...] = RESOLUTIONS) -> torch.Tensor:
    total = pred.new_zeros(())
    for n_fft in resolutions:
        p, t = _magnitudes(pred, n_fft), _magnitudes(target, n_fft)
        convergence = torch.linalg.norm(t - p) / (torch.linalg.norm(t) + 1e-7)
        log_mag = torch.mean(torch.abs(torch.log(t + LOG_FLOOR) - torch.log(p + LOG_FLOOR)))
        total = total + convergence + log_mag
    return total / len(resolutions)


def kl_weight(step: int, options: TrainOptions) -> float:
    start, end = options.beta_start * options.steps, options.beta_end * options.steps
    if step <= start:
        return 0.0
    return options.beta * min(1.0, (step - start) / max(1.0, end - start))


def learning_rate(step: int, options: TrainOptions) -> float:
    if step < options.warmup:
        return options.lr * (step + 1) / options.warmup
    progress = (step - options.warmup) / max(1, options.steps - options.warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return options.lr_final + (options.lr - options.lr_final) * cosine


def validation_windows(audio: np.ndarray, segment: int, count: int) -> torch.Tensor:
    """``count`` evenly spaced windows of ``segment`` samples: (count, 1, segment)."""
    starts = np.linspace(0, len(audio) - segment, count).astype(int)
    return torch.from_numpy(np.stack([audio[s:s + segment] for s in starts]))[:, None]


@torch.no_grad()
def evaluate(model: RaveVAE, windows: torch.Tensor) -> float:
    """Mean ``distance`` of the posterior-mean reconstruction over the windows."""
    was_training = model.training
    model.eval()
    model.decoder.synth.offset = 0
    total = 0.0
    for chunk in windows.split(8):
        pred, _, _ = model(chunk, sample=False)
        total += float(distance(pred, chunk)) * len(chunk)
    model.train(was_training)
    return total / len(windows)


def train(model: RaveVAE, corpus: np.ndarray, validation: np.ndarray,
          options: TrainOptions, progress: bool = True) -> dict[str, Any]:
    """Train ``model`` in place. Returns the history (per-step losses and validation)."""
    from tqdm import tqdm

    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    model.set_streaming(False)
    model.train()
    controls = list(model.decoder.synth.level.parameters())
    others = [p for p in model.parameters() if all(p is not c for c in controls)]
    optimiser = torch.optim.Adam([{"params": others, "scale": 1.0},
                                  {"params": controls, "scale": options.controls_lr_scale}],
                                 lr=options.lr)
    val_windows = validation_windows(validation, 2 * options.segment, 16)
    history: dict[str, Any] = {"step": [], "distance": [], "kl": [], "pitch_error": [], "beta": [],
                               "validation_step": [], "validation_distance": []}
    started = time.perf_counter()
    bar = tqdm(total=options.steps, desc="rave", unit="step", disable=not progress,
               dynamic_ncols=True)
    try:
        for step in range(options.steps):
            starts = rng.integers(0, len(corpus) - options.segment, options.batch)
            gains = 10 ** (rng.uniform(-options.gain_db, options.gain_db, options.batch) / 20)
            batch = np.stack([corpus[s:s + options.segment] * g
                              for s, g in zip(starts, gains, strict=True)])
            x = torch.from_numpy(np.clip(batch, -1, 1).astype(np.float32))[:, None]
            model.decoder.synth.offset = int(rng.integers(0, 2**31))
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(step, options) * group["scale"]
            beta = kl_weight(step, options)
            pred, kl, pitch_error = model(x)
            dist = distance(pred, x)
            loss = dist + beta * kl + options.pitch_weight * pitch_error
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
            optimiser.step()
            history["step"].append(step)
            history["distance"].append(dist.item())
            history["kl"].append(kl.item())
            history["pitch_error"].append(pitch_error.item())
            history["beta"].append(beta)
            if (step + 1) % options.validate_every == 0 or step + 1 == options.steps:
                history["validation_step"].append(step + 1)
                history["validation_distance"].append(evaluate(model, val_windows))
                bar.set_postfix(dist=f"{np.mean(history['distance'][-50:]):.3f}",
                                kl=f"{np.mean(history['kl'][-50:]):.1f}",
                                pitch=f"{np.mean(history['pitch_error'][-50:]):.2f}",
                                val=f"{history['validation_distance'][-1]:.3f}")
            bar.update(1)
    finally:
        bar.close()
        torch.set_num_threads(previous_threads)
    model.eval()
    history["seconds"] = time.perf_counter() - started
    return history


@contextmanager
def _as_stream(model: RaveVAE, audio: np.ndarray, chunk: int) -> Iterator[list[torch.Tensor]]:
    """The model in eval and streaming mode from reset, and ``audio`` (rounded down to
    whole blocks) in chunks of ``chunk`` samples; reset and non-streaming afterwards."""
    model.eval()
    model.set_streaming(True)
    model.reset()
    usable = len(audio) - len(audio) % model.cfg.ratio
    x = torch.from_numpy(audio[:usable])[None, None]
    try:
        yield list(x.split(chunk, dim=-1))
    finally:
        model.reset()
        model.set_streaming(False)


@torch.no_grad()
def posterior_means(model: RaveVAE, audio: np.ndarray, chunk: int = 2048 * 256
                    ) -> torch.Tensor:
    """Posterior means over a whole signal (latent, frames), run as one stream."""
    with _as_stream(model, audio, chunk) as parts:
        means = [model.encoder(part)[0][0] for part in parts]
    return torch.cat(means, dim=-1)


@torch.no_grad()
def reconstruct(model: RaveVAE, audio: np.ndarray, chunk: int = 2048 * 64) -> np.ndarray:
    """The streaming model's reconstruction of a whole signal (from reset, posterior
    means; the length rounded down to whole blocks)."""
    with _as_stream(model, audio, chunk) as parts:
        out = [model.decoder(model.encoder(part)[0])[0, 0] for part in parts]
    return torch.cat(out).numpy()
