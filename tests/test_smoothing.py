"""A jump of any parameter from its minimum to its maximum (and back) must not click.

Every classic processor's every parameter, a slot's mix and bypass, and the
engine's input and output gain are moved in one step while a steady 110 Hz
sine plays. A click is a sample-to-sample step far larger than the signal ever
makes when the setting holds still: the largest |y[n] - y[n-1]| in the 50 ms
after the jump must stay within FACTOR times the largest step of the steady
output at either setting (whichever is louder), plus a small epsilon.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from neuralrig.server.audio.offline import OfflineBackend
from neuralrig.server.config import parse_config
from neuralrig.server.dsp.registry import all_processors
from neuralrig.server.engine.engine import Engine

SR = 48000
BLOCK = 128
SEGMENT = 188 * BLOCK  # ~0.5 s; whole blocks, so the input stays continuous across calls
AFTER = int(0.05 * SR)  # window searched for a click
STEADY = int(0.2 * SR)  # steady-state window at each setting
FACTOR = 2.0
EPSILON = 5e-4
FREQ, AMPLITUDE = 110.0, 0.3

# Settings that make a parameter's sweep audible on the test sine (otherwise
# e.g. the mid frequency of an EQ whose mid gain is 0 dB changes nothing).
CONTEXT: dict[tuple[str, str], dict[str, float]] = {
    ("eq", "low_freq"): {"low_gain": 12.0},
    ("eq", "mid_freq"): {"mid_gain": 12.0},
    ("eq", "mid_q"): {"mid_gain": 12.0},
    ("eq", "high_freq"): {"high_gain": 12.0},
    ("gate", "range"): {"threshold": 0.0},  # closed, so the range sets the level
    ("delay", "damping"): {"feedback": 0.9, "time": 5.0},
    ("phaser", "feedback"): {"depth": 0.0},
}


def sine(frames: int) -> np.ndarray:
    t = np.arange(frames) / SR
    return (AMPLITUDE * np.sin(2 * np.pi * FREQ * t)).astype(np.float32)


def max_step(y: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(y))))


def click_check(y: np.ndarray, jump: int) -> tuple[float, float]:
    """(largest step just after the jump, the bound it must stay under)."""
    after = max_step(y[jump - 1 : jump + AFTER])
    steady_before = max_step(y[jump - STEADY : jump])
    steady_after = max_step(y[-STEADY:])
    return after, FACTOR * max(steady_before, steady_after) + EPSILON


def render_jump(rig: str, change: Callable[[Engine], object]) -> np.ndarray:
    """Play the sine through ``rig``; apply ``change`` after SEGMENT frames."""
    config = parse_config(rig).with_engine(sample_rate=SR, channels=1, block=BLOCK)
    x = sine(2 * SEGMENT)[:, None]
    engine = Engine(OfflineBackend(), config)
    engine.start()
    try:
        first = engine.process_offline(x[:SEGMENT], compensate_latency=False)
        change(engine)  # lands at the next block start, i.e. the first sample of `second`
        second = engine.process_offline(x[SEGMENT:], compensate_latency=False)
    finally:
        engine.stop()
    return np.concatenate([first[:, 0], second[:, 0]]).astype(np.float64)


def slot_rig(kind: str, settings: dict[str, object]) -> str:
    lines = ["[[slot]]", 'id = "fx"', f'type = "{kind}"']
    for key, value in settings.items():
        text = str(value).lower() if isinstance(value, bool) else repr(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def assert_no_click(y: np.ndarray, what: str) -> None:
    assert np.all(np.isfinite(y)), f"{what}: output not finite"
    after, bound = click_check(y, SEGMENT)
    assert after <= bound, (
        f"{what}: click, step {after:.5f} after the jump exceeds bound {bound:.5f}"
    )


def param_cases() -> list[tuple[str, str, float, float]]:
    cases = []
    for kind, cls in all_processors().items():
        # Skip the neural slot (its controls come from a model) and kinds other
        # tests register for themselves.
        if kind == "neural" or not cls.__module__.startswith("neuralrig.server.dsp.classic."):
            continue
        for spec in cls.params:
            cases.append((kind, spec.name, spec.minimum, spec.maximum))
            cases.append((kind, spec.name, spec.maximum, spec.minimum))
    return cases


@pytest.mark.parametrize(
    ("kind", "name", "start", "end"),
    param_cases(),
    ids=lambda v: str(v),
)
def test_parameter_jump_does_not_click(kind: str, name: str, start: float, end: float) -> None:
    settings = {**CONTEXT.get((kind, name), {}), name: start}
    y = render_jump(slot_rig(kind, settings), lambda e: e.set_param("fx", name, end))
    assert_no_click(y, f"{kind}.{name} {start:g} -> {end:g}")


def test_every_classic_processor_is_covered() -> None:
    kinds = {kind for kind, *_ in param_cases()}
    assert kinds >= {"gain", "gate", "eq", "tone", "compressor", "overdrive", "chorus",
                     "phaser", "delay", "reverb", "cabinet"}
    for kind, name in CONTEXT:
        spec_names = {p.name for p in all_processors()[kind].params}
        assert name in spec_names, f"stale CONTEXT entry {kind}.{name}"


@pytest.mark.parametrize(("start", "end"), [(0.0, 1.0), (1.0, 0.0)])
def test_mix_jump_does_not_click(start: float, end: float) -> None:
    rig = slot_rig("overdrive", {"drive": 1.0, "level": 0.0}).replace(
        'type = "overdrive"', f'type = "overdrive"\nmix = {start}')
    y = render_jump(rig, lambda e: e.set_param("fx", "mix", end))
    assert_no_click(y, f"mix {start} -> {end}")
    # The jump really happened: the level moved by more than a few dB.
    before, after = np.std(y[SEGMENT - STEADY : SEGMENT]), np.std(y[-STEADY:])
    assert abs(20 * np.log10(after / before)) > 3.0


@pytest.mark.parametrize(("start", "end"), [(False, True), (True, False)])
def test_bypass_toggle_crossfades(start: bool, end: bool) -> None:
    rig = slot_rig("gain", {"gain": 18.0, "bypass": start})
    y = render_jump(rig, lambda e: e.set_param("fx", "bypass", end))
    assert_no_click(y, f"bypass {start} -> {end}")
    before, after = np.std(y[SEGMENT - STEADY : SEGMENT]), np.std(y[-STEADY:])
    assert abs(20 * np.log10(after / before)) == pytest.approx(18.0, abs=0.1)


@pytest.mark.parametrize("which", ["input_gain", "output_gain"])
@pytest.mark.parametrize(("start", "end"), [(-60.0, 24.0), (24.0, -60.0)])
def test_engine_gain_jump_does_not_click(which: str, start: float, end: float) -> None:
    rig = f"[engine]\n{which} = {start}\n\n" + slot_rig("gain", {"gain": 0.0})
    y = render_jump(rig, lambda e: e.set_gain(which, end))
    assert_no_click(y, f"{which} {start} -> {end}")
    before, after = np.std(y[SEGMENT - STEADY : SEGMENT]), np.std(y[-STEADY:])
    assert 20 * np.log10(after / before) == pytest.approx(end - start, abs=0.1)


def test_an_unsmoothed_jump_would_fail_the_check() -> None:
    """The bound is tight enough to catch a real click: the same gain jump, instantaneous."""
    x = sine(2 * SEGMENT).astype(np.float64)
    gain = np.where(np.arange(len(x)) < SEGMENT, 10 ** (-60 / 20), 10 ** (24 / 20))
    after, bound = click_check(x * gain, SEGMENT)
    assert after > bound
    # Even a modest unsmoothed step (0 dB -> +6 dB) is caught...
    gain = np.where(np.arange(len(x)) < SEGMENT, 1.0, 2.0)
    after, bound = click_check(x * gain, SEGMENT)
    # ... when it lands away from a zero crossing, as it does here.
    x_at_jump = abs(x[SEGMENT])
    assert x_at_jump > 0.1
    assert after > bound
    # A 30 ms linear ramp of the same -60 -> +24 dB jump passes.
    ramp = np.clip((np.arange(len(x)) - SEGMENT) / (0.03 * SR), 0.0, 1.0)
    smooth = 10 ** ((-60 + 84 * ramp) / 20)
    after, bound = click_check(x * smooth, SEGMENT)
    assert after <= bound
