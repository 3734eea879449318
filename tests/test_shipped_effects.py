"""The shipped overdrive models model the reference circuit, measured afresh at held-out
knob settings (never trained on), not read from their reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralrig.models.capture import capture_signal
from neuralrig.models.make_shipped_models import against_circuit
from neuralrig.server.config import builtin_data_dir

RATE = 48000
WARMUP = RATE  # the circuit and the model settle in this first second
MEASURED = 4 * RATE


@pytest.fixture(scope="module")
def validation_dry() -> np.ndarray:
    """One second before and four seconds into the capture signal's validation section."""
    x, layout = capture_signal(RATE)
    lo = layout.validation[0]
    return x[lo - WARMUP:lo + MEASURED]


def _esr(name: str, dry: np.ndarray, drive: float, tone: float) -> tuple[float, dict]:
    path = builtin_data_dir() / f"{name}.safetensors"
    report = json.loads(path.with_name(f"{name}.report.json").read_text())
    pred, target = against_circuit(path, dry, drive, tone, settle=WARMUP)
    grid = {(g["controls"]["drive"], g["controls"]["tone"]): g for g in report["grid"]}
    assert not grid[(drive, tone)]["seen"]  # a held-out setting
    return float(np.sum((pred - target) ** 2) / np.sum(target ** 2)), grid[(drive, tone)]


@pytest.mark.parametrize("name", ["overdrive-lstm", "overdrive-wavenet-nano"])
@pytest.mark.parametrize("drive,tone", [(0.375, 0.75), (0.875, 0.25), (0.125, 0.25)])
def test_the_shipped_models_meet_the_esr_bar_at_held_out_settings(validation_dry, name,
                                                                  drive, tone) -> None:
    esr, entry = _esr(name, validation_dry, drive, tone)
    assert esr < 0.01  # NAM's "great"
    assert esr == pytest.approx(entry["esr"], rel=0.5)  # the report tells the truth


def test_the_shipped_wavenet_nano_runs_a_nano_per_block() -> None:
    """Its weights follow the knobs, but each block runs one NAM-nano-sized WaveNet."""
    from neuralrig.models.formats import load_model

    model = load_model(builtin_data_dir() / "overdrive-wavenet-nano.safetensors")
    assert model.weights_per_setting == 1658  # 1,657 weights and the head scale
    assert "4ch x7 gated -> 2ch x13 gated" in model.describe()
