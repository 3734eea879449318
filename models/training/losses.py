"""Training losses for effect models, in torch.

* ``esr``: error-to-signal ratio, mean((y - t)^2) / mean(t^2); NAM grades a
  held-out ESR below 0.01 "great" and below 0.035 "not bad".
* ``pre_emphasis``: y[n] - c * y[n-1] (c = 0.85), which weights the upper
  spectrum the ear hears distortion in; the ESR is taken after it.
* ``mrstft``: a multi-resolution STFT loss, the sum over resolutions of
  spectral convergence plus the mean absolute log-magnitude difference, at
  FFT sizes 1024/2048/512 with hops 120/240/50 and Hann windows 600/1200/240.

``EffectLoss`` combines them as pre-emphasised ESR + 2e-4 * MRSTFT, and
ignores the first ``skip`` samples of each window (the model's warm-up).

With ``balanced``, each example's squared error is divided by the energy of
the recording it came from (plain and pre-emphasised), averaged, and the
plain term is added (``emphasis=False`` keeps the plain term alone: the figure
the held-out grid reports, without the weight pre-emphasis gives the upper
spectrum). A batch-wide ESR divides by the batch's energy, so
quiet or dark examples (a tone knob at 0) weigh little, and pre-emphasis
turns their low-frequency errors down further: the model then meets the
held-out ESR, which is plain and per recording, only at bright settings. The
balanced loss optimises that figure directly. (Dividing by each example's
own energy instead would blow up on the capture signal's silent stretches.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
_EPS = 1e-8


def pre_emphasis(x: torch.Tensor, coef: float = 0.85) -> torch.Tensor:
    """y[n] = x[n] - coef * x[n-1] along the last axis (the first sample kept as is)."""
    return torch.cat([x[..., :1], x[..., 1:] - coef * x[..., :-1]], dim=-1)


def esr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Error-to-signal ratio over all samples."""
    return torch.mean((pred - target) ** 2) / (torch.mean(target**2) + _EPS)


def esr_per_example(pred: torch.Tensor, target: torch.Tensor, energy: torch.Tensor
                    ) -> torch.Tensor:
    """Mean over the batch of each example's squared error over its own ``energy``
    (the mean energy of the recording it came from)."""
    err = torch.mean((pred - target) ** 2, dim=-1)
    return torch.mean(err / (energy + _EPS))


def _magnitude(x: torch.Tensor, n_fft: int, hop: int, win: int) -> torch.Tensor:
    window = torch.hann_window(win, device=x.device, dtype=x.dtype)
    spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop_length=hop, win_length=win,
                      window=window, center=True, return_complex=True)
    return spec.abs().clamp_min(_EPS)


def mrstft(pred: torch.Tensor, target: torch.Tensor,
           resolutions: Sequence[tuple[int, int, int]] = RESOLUTIONS) -> torch.Tensor:
    """Multi-resolution STFT loss: spectral convergence + log-magnitude L1, summed."""
    total = pred.new_zeros(())
    frames = pred.shape[-1]
    # Short examples (an STN's) skip the resolutions whose FFT does not fit them.
    fitting = [r for r in resolutions if r[0] < frames] or [min(resolutions)]
    for n_fft, hop, win in fitting:
        p, t = _magnitude(pred, n_fft, hop, win), _magnitude(target, n_fft, hop, win)
        convergence = torch.linalg.norm(t - p) / (torch.linalg.norm(t) + _EPS)
        log_mag = torch.mean(torch.abs(torch.log(t) - torch.log(p)))
        total = total + convergence + log_mag
    return total / len(fitting)


class EffectLoss(torch.nn.Module):
    """Pre-emphasised ESR plus a weighted MRSTFT term, after ``skip`` warm-up samples."""

    def __init__(self, mrstft_weight: float = 2e-4, coef: float = 0.85, skip: int = 0,
                 balanced: bool = False, emphasis: bool = True) -> None:
        super().__init__()
        self.mrstft_weight, self.coef, self.skip = mrstft_weight, coef, skip
        self.balanced, self.emphasis = balanced, emphasis
        if not (balanced or emphasis):
            raise ValueError("a batch-wide loss is pre-emphasised; plain ESR is per example")

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                energy: torch.Tensor | None = None) -> torch.Tensor:
        """``energy`` (batch, 2): plain and pre-emphasised energy of each example's
        recording; the balanced loss needs it."""
        pred, target = pred[..., self.skip:], target[..., self.skip:]
        if self.balanced:
            if energy is None:
                raise ValueError("the balanced loss needs each example's recording energy")
            loss = esr_per_example(pred, target, energy[:, 0])
            if self.emphasis:
                loss = loss + esr_per_example(pre_emphasis(pred, self.coef),
                                              pre_emphasis(target, self.coef), energy[:, 1])
        else:
            loss = esr(pre_emphasis(pred, self.coef), pre_emphasis(target, self.coef))
        if self.mrstft_weight:
            loss = loss + self.mrstft_weight * mrstft(pred, target)
        return loss
