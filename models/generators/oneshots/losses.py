"""Training losses: multi-resolution STFT + α·MSE on attack-weighted signals, + β·feature MSE.

The attack envelope e(t) = 1 + K·exp(−t/τ) (K = 5, τ = 0.1 s) multiplies both the
reconstruction and the original before the STFT and MSE terms, so an error in the
first ~100 ms costs up to (1 + K)² times as much in the MSE term as the same error
in the tail, and the attack's spectral frames carry more of the STFT terms' energy.

Per resolution the STFT term is spectral convergence (linear magnitude,
‖|Y|−|X|‖/‖|X|‖) plus the mean absolute log-magnitude difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

RESOLUTIONS: tuple[tuple[int, int], ...] = ((32, 16), (128, 64), (512, 256), (2048, 1024))


@dataclass(frozen=True)
class LossConfig:
    alpha: float = 100.0     # weight of the MSE term
    beta: float = 20.0       # weight of the feature-head MSE
    attack_k: float = 5.0    # e(t) = 1 + K·exp(−t/τ)
    attack_tau: float = 0.1  # seconds
    resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS

    def to_json(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "attack_k": self.attack_k,
                "attack_tau": self.attack_tau, "resolutions": [list(r) for r in self.resolutions]}


def attack_envelope(length: int, sample_rate: int, k: float = 5.0,
                    tau: float = 0.1) -> torch.Tensor:
    """e(t) = 1 + k·exp(−t/τ) at each sample: (length,) float32."""
    t = torch.arange(length, dtype=torch.float64) / sample_rate
    return (1.0 + k * torch.exp(-t / tau)).float()


def _magnitude(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft, hop_length=hop, window=window, return_complex=True)
    return spec.abs()


def mrstft(pred: torch.Tensor, target: torch.Tensor,
           resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS) -> torch.Tensor:
    """Per-example multi-resolution STFT loss of (B, T) signals: (B,)."""
    total = pred.new_zeros(pred.shape[0])
    for n_fft, hop in resolutions:
        p, t = _magnitude(pred, n_fft, hop), _magnitude(target, n_fft, hop)
        convergence = (p - t).flatten(1).norm(dim=1) / (t.flatten(1).norm(dim=1) + 1e-7)
        log_mag = (torch.log(p + 1e-5) - torch.log(t + 1e-5)).abs().flatten(1).mean(dim=1)
        total = total + convergence + log_mag
    return total / len(resolutions)


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, cfg: LossConfig,
                        weight: torch.Tensor | None) -> torch.Tensor:
    """Per-example MRSTFT + α·MSE of (B, T) signals, both multiplied by ``weight`` (T,)
    first when given (the attack envelope): (B,)."""
    if weight is not None:
        pred, target = pred * weight, target * weight
    mse = (pred - target).pow(2).mean(dim=1)
    return mrstft(pred, target, cfg.resolutions) + cfg.alpha * mse


def total_loss(pred: torch.Tensor, target: torch.Tensor, head: torch.Tensor,
               features: torch.Tensor, cfg: LossConfig,
               weight: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, reconstruction part, feature part), batch means; ``features`` standardised."""
    recon = reconstruction_loss(pred, target, cfg, weight).mean()
    feature = (head - features).pow(2).mean()
    return recon + cfg.beta * feature, recon, feature
