"""The glide that smooths running mappings' outputs (server.control.glide)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from neuralrig.server.control.glide import Glide


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, np.ndarray]] = []
        self.lock = threading.Lock()

    def __call__(self, name: str, values: np.ndarray) -> None:
        with self.lock:
            self.calls.append((name, values.copy()))

    def values(self, name: str) -> list[np.ndarray]:
        with self.lock:
            return [v for n, v in self.calls if n == name]


def wait_until_still(glide: Glide, name: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while glide.gliding(name) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not glide.gliding(name)


def test_glides_monotonically_from_the_start_to_the_target() -> None:
    applied = Recorder()
    glide = Glide(applied)
    try:
        glide.move("m", np.array([1.0, -4.0]), 0.05, lambda: np.array([0.0, 0.0]),
                   np.array([1e-4, 1e-4]))
        first = applied.values("m")[0]
        assert 0.0 < first[0] < 1.0 and -4.0 < first[1] < 0.0  # moved at once, not all the way
        wait_until_still(glide, "m")
        steps = np.array(applied.values("m"))
        assert len(steps) > 2
        np.testing.assert_array_equal(steps[-1], [1.0, -4.0])  # arrives exactly
        assert np.all(np.diff(steps[:, 0]) >= 0) and np.all(np.diff(steps[:, 1]) <= 0)
    finally:
        glide.close()


def test_a_new_target_continues_from_where_the_glide_is() -> None:
    applied = Recorder()
    glide = Glide(applied)
    try:
        glide.move("m", np.array([1.0]), 10.0, lambda: np.array([0.0]), np.array([1e-4]))
        time.sleep(0.05)
        where = applied.values("m")[-1][0]
        glide.move("m", np.array([-1.0]), 10.0, lambda: np.array([5.0]), np.array([1e-4]))
        now = applied.values("m")[-1][0]
        assert now < where  # turned towards -1 from the glide, not restarted from 5
        assert now > where - 0.1
        glide.cancel("m")
        assert not glide.gliding("m")
        count = len(applied.values("m"))
        time.sleep(0.05)
        assert len(applied.values("m")) == count  # a cancelled glide sets nothing more
    finally:
        glide.close()


def test_a_failing_output_stops_only_its_own_glide() -> None:
    applied = Recorder()

    def apply(name: str, values: np.ndarray) -> None:
        if name == "gone" and len(applied.values("gone")) >= 1:
            raise KeyError("slot removed")
        applied(name, values)

    glide = Glide(apply)
    try:
        glide.move("gone", np.array([1.0]), 0.05, lambda: np.array([0.0]), np.array([1e-4]))
        glide.move("kept", np.array([1.0]), 0.05, lambda: np.array([0.0]), np.array([1e-4]))
        wait_until_still(glide, "kept")
        wait_until_still(glide, "gone")
        assert applied.values("kept")[-1][0] == 1.0
        assert applied.values("gone")[-1][0] < 1.0
    finally:
        glide.close()


@pytest.mark.parametrize("seconds", [0.02, 0.2])
def test_the_time_constant_sets_how_far_one_tick_goes(seconds: float) -> None:
    """One step of dt moves 1 - exp(-dt / seconds) of the way (a one-pole low-pass)."""
    from neuralrig.server.control.glide import _Track

    track = _Track(np.zeros(1), np.ones(1), seconds, np.array([1e-9]), last=0.0)
    track.step(0.01)
    assert track.value[0] == pytest.approx(1.0 - np.exp(-0.01 / seconds))
