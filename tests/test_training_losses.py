"""Training losses: ESR, pre-emphasis, multi-resolution STFT."""

from __future__ import annotations

import math

import pytest
import torch

from neuralrig.models.training.losses import EffectLoss, esr, mrstft, pre_emphasis


def _tone(freq: float = 440.0, n: int = 8192, rate: int = 48_000) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float32) / rate
    return 0.5 * torch.sin(2 * math.pi * freq * t)


def test_esr_is_zero_for_a_perfect_model_and_one_for_silence() -> None:
    target = _tone()
    assert esr(target, target).item() == 0.0
    assert esr(torch.zeros_like(target), target).item() == pytest.approx(1.0, rel=1e-6)
    # An error at -20 dB of the signal gives ESR 0.01, NAM's "great" bound.
    assert esr(target * 1.1, target).item() == pytest.approx(0.01, rel=1e-4)


def test_pre_emphasis_is_the_first_difference_filter() -> None:
    x = torch.tensor([[1.0, 2.0, 4.0, 8.0]])
    assert pre_emphasis(x, 0.85)[0].tolist() == pytest.approx([1.0, 1.15, 2.3, 4.6])
    # It favours highs: a 5 kHz error weighs more than the same error at 100 Hz.
    low, high, target = _tone(100.0), _tone(5000.0), _tone(1000.0)
    weighted = [esr(pre_emphasis(target + 0.05 * e), pre_emphasis(target)) for e in (low, high)]
    assert weighted[1] > 5 * weighted[0]


def test_mrstft_sees_spectral_error_and_not_its_absence() -> None:
    target = _tone()
    assert mrstft(target, target).item() == pytest.approx(0.0, abs=1e-5)
    near, far = mrstft(_tone(450.0), target), mrstft(_tone(3000.0), target)
    assert 0 < near.item() < far.item()


def test_effect_loss_trains_a_gain_towards_the_target() -> None:
    target = torch.tanh(3 * _tone())[None]
    x = _tone()[None]
    gain = torch.nn.Parameter(torch.tensor(0.2))
    loss_fn = EffectLoss(skip=256)
    optimiser = torch.optim.Adam([gain], lr=0.05)
    first = None
    for _ in range(60):
        optimiser.zero_grad()
        loss = loss_fn(torch.tanh(gain * 10 * x), target)
        loss.backward()
        optimiser.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.05 * first
    assert gain.item() == pytest.approx(0.3, abs=0.02)


def test_balanced_loss_weighs_a_quiet_dark_example_as_much_as_a_loud_bright_one() -> None:
    bright, dark = _tone(3000.0), 0.1 * _tone(100.0)
    target = torch.stack([bright, dark])
    # The same 10% relative error on each example.
    pred_dark_wrong = torch.stack([bright, 1.1 * dark])
    pred_bright_wrong = torch.stack([1.1 * bright, dark])
    pre, balanced = EffectLoss(mrstft_weight=0.0), EffectLoss(mrstft_weight=0.0, balanced=True)
    # Each example's recording energy, plain and pre-emphasised (here: its own).
    energy = torch.stack([torch.stack([torch.mean(x**2), torch.mean(pre_emphasis(x) ** 2)])
                          for x in (bright, dark)])
    # Batch-wide pre-emphasised ESR all but ignores the dark example's error ...
    assert pre(pred_dark_wrong, target) < 0.01 * pre(pred_bright_wrong, target)
    # ... the balanced loss sees each example's relative error alike.
    assert balanced(pred_dark_wrong, target, energy).item() == pytest.approx(
        balanced(pred_bright_wrong, target, energy).item(), rel=1e-3)
    assert balanced(target, target, energy).item() == pytest.approx(0.0, abs=1e-9)
    # A silent stretch of a loud recording is measured against the recording, not itself.
    silent = torch.stack([bright, torch.zeros_like(dark)])
    near_silent = torch.stack([bright, torch.full_like(dark, 1e-4)])
    assert balanced(near_silent, silent, energy).item() < 1e-4
    with pytest.raises(ValueError, match="recording energy"):
        balanced(target, target)


def test_plain_loss_is_each_examples_plain_esr_against_its_recording() -> None:
    bright, dark = _tone(3000.0), 0.1 * _tone(100.0)
    target = torch.stack([bright, dark])
    energy = torch.stack([torch.stack([torch.mean(x**2), torch.mean(pre_emphasis(x) ** 2)])
                          for x in (bright, dark)])
    plain = EffectLoss(mrstft_weight=0.0, balanced=True, emphasis=False)
    # 10% too loud on the bright example, 20% on the dark one: ESR 0.01 and 0.04.
    pred = torch.stack([1.1 * bright, 1.2 * dark])
    assert plain(pred, target, energy).item() == pytest.approx((0.01 + 0.04) / 2, rel=1e-3)
    # The balanced loss adds the pre-emphasised term, which the plain one leaves out.
    both = EffectLoss(mrstft_weight=0.0, balanced=True)
    assert both(pred, target, energy).item() == pytest.approx(2 * (0.01 + 0.04) / 2, rel=1e-3)
    with pytest.raises(ValueError, match="per example"):
        EffectLoss(emphasis=False)
