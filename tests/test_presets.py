"""Presets and the RigController: whole-rig state, atomic files, swaps without a dropout."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import write_rig
from neuralrig.server.audio.offline import OfflineBackend
from neuralrig.server.audiofile import write_audio
from neuralrig.server.config import load_config, parse_config
from neuralrig.server.control.controller import ControlError, RigController
from neuralrig.server.control.presets import PresetError
from neuralrig.server.control_config import CCMapping
from neuralrig.server.engine.engine import Engine

RIG = """
[paths]
impulses = ["irs"]
[[slot]]
id = "drive"
type = "neural"
model = "identity"
[[slot]]
id = "cab"
type = "cabinet"
[[slot]]
id = "level"
type = "gain"
gain = -6.0
[[midi.cc]]
cc = 11
slot = "level"
param = "gain"
"""
BLOCK = 128


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[RigController]:
    irs = tmp_path / "irs"
    irs.mkdir()
    ir = np.zeros(256, np.float32)
    ir[0], ir[40] = 0.5, 0.25
    write_audio(irs / "short.wav", ir[:, None], 48000)
    config = replace(load_config(write_rig(tmp_path, RIG)), preset_dir=tmp_path / "presets")
    engine = Engine(OfflineBackend(), config)
    engine.start()
    yield RigController(engine)
    engine.stop()


def run(controller: RigController, signal: np.ndarray) -> np.ndarray:
    backend = controller.engine.backend
    signal = np.pad(signal, (0, -len(signal) % BLOCK))
    out = [backend.process_block(signal[i:i + BLOCK, None])[:, 0].copy()
           for i in range(0, len(signal), BLOCK)]
    return np.concatenate(out)


def sine(seconds: float) -> np.ndarray:
    """375 Hz: one period per 128-sample block, so every block has the same RMS."""
    t = np.arange(int(seconds * 48000)) / 48000
    return (0.3 * np.sin(2 * np.pi * 375 * t)).astype(np.float32)


def test_a_preset_holds_the_whole_rig_and_is_itself_a_rig_config(controller: RigController
                                                                  ) -> None:
    controller.set_param("level", "gain", -12.5)
    controller.set_bypass("cab", True)
    controller.set_mix("drive", 0.75)
    controller.set_gain("output_gain", -3.0)
    controller.map_cc(CCMapping(cc=20, slot="cab", param="level", channel=3,
                                minimum=-6.0, maximum=6.0, mode="relative"))
    path = controller.presets.path("live set")
    controller.save_preset("live set")
    config = parse_config(path.read_text(), base_dir=path.parent)  # serve --config works
    slots = {s.id: s for s in config.slots}
    assert slots["level"].settings["gain"] == -12.5
    assert slots["cab"].bypass and slots["drive"].mix == 0.75
    assert slots["drive"].settings["model"] == "identity"
    assert config.output_gain == -3.0
    ccs = {m.cc: m for m in config.control.midi.cc}
    assert ccs[20] == CCMapping(cc=20, slot="cab", param="level", channel=3,
                                minimum=-6.0, maximum=6.0, mode="relative")
    assert 11 in ccs
    assert [p.name for p in path.parent.iterdir()] == ["live set.toml"]  # no temp files left


def test_a_failed_save_leaves_the_old_preset_whole(controller: RigController,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails as the new preset is being made durable (fsync): the save is
    refused with the reason, the preset on disk is the old one, and no temporary file
    is left. (A plain write over the old file would have truncated it first.)"""
    import os

    controller.set_param("level", "gain", -12.5)
    controller.save_preset("live")
    path = controller.presets.path("live")
    before = path.read_bytes()

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    controller.set_param("level", "gain", 3.0)
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(PresetError, match=r"preset 'live': cannot save: .*No space left"):
        controller.save_preset("live")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["live.toml"]
    controller.load_preset("live")
    assert controller.value("level", "gain") == -12.5


def test_loading_restores_values_bypasses_models_and_mappings(controller: RigController
                                                              ) -> None:
    controller.set_param("level", "gain", -20.0)
    controller.set_model("drive", "tiny-lstm")
    controller.save_preset("a")
    controller.set_param("level", "gain", 0.0)
    controller.set_model("drive", "identity")
    controller.forget_cc("level", "gain")
    assert controller.midi.cc == []
    controller.load_preset("a")
    assert controller.value("level", "gain") == -20.0
    assert controller.slot("drive").option("model") == "tiny-lstm"
    assert [m.cc for m in controller.midi.cc] == [11]
    run(controller, np.zeros(BLOCK, np.float32))
    assert controller.engine.slot("level").values["gain"] == -20.0
    assert controller.preset == "a"


def test_a_preset_load_crossfades_without_a_dropout(controller: RigController) -> None:
    controller.set_param("level", "gain", -6.0)
    controller.save_preset("same")
    signal = sine(0.6)
    out = run(controller, signal[:9600])
    controller.load_preset("same")
    out = np.concatenate([out, run(controller, signal[9600:])])
    blocks = out[: len(out) // BLOCK * BLOCK].reshape(-1, BLOCK)
    rms = np.sqrt(np.mean(blocks[10:] ** 2, axis=1))  # after the start-up settles
    assert rms.min() > 0.98 * np.median(rms), "the swap dipped"


def test_rig_listeners_hear_structure_changes_and_listeners_hear_values(
        controller: RigController) -> None:
    heard: list[tuple[str, tuple[Any, ...], object]] = []
    swaps: list[int] = []
    controller.add_listener(lambda a, v, o: heard.append((a, v, o)))
    controller.add_rig_listener(lambda: swaps.append(1))
    controller.set_param("level", "gain", 3.0, origin="tablet")
    controller.set_param("cab", "level", 0.5, norm=True, origin="midi")
    controller.set_option("cab", "ir", "short.wav")
    assert heard[0] == ("/rig/level/gain", (3.0,), "tablet")
    assert heard[1][0] == "/rig/cab/level" and heard[1][2] == "midi"
    assert heard[-1] == ("/rig/cab/ir", ("short.wav",), None)
    assert swaps == [1]


def test_swapping_an_impulse_response_keeps_the_slots_knobs(controller: RigController) -> None:
    controller.set_param("cab", "level", -4.0)
    controller.set_option("cab", "ir", "short.wav")
    assert controller.slot("cab").option("ir") == "short.wav"
    assert controller.value("cab", "level") == -4.0
    impulse = np.zeros(4 * BLOCK, np.float32)
    impulse[BLOCK] = 1.0
    run(controller, np.zeros(20 * BLOCK, np.float32))  # crossfade done
    out = run(controller, impulse)
    assert np.flatnonzero(np.abs(out) > 1e-4)[:2].tolist() == [BLOCK, BLOCK + 40]


@pytest.mark.parametrize("name", ["../irs/short.wav", "/etc/passwd", "sub/x.wav", ".x.wav"])
def test_file_options_never_take_paths(controller: RigController, name: str) -> None:
    with pytest.raises(ControlError, match="not allowed"):
        controller.set_option("cab", "ir", name)
    with pytest.raises(ControlError, match="not allowed"):
        controller.set_model("drive", name)


def test_bad_requests_name_the_problem(controller: RigController) -> None:
    with pytest.raises(ControlError, match="no slot 'nope'"):
        controller.set_param("nope", "gain", 1.0)
    with pytest.raises(ControlError, match="no parameter 'nope'"):
        controller.set_param("level", "nope", 1.0)
    with pytest.raises(ControlError, match="finite"):
        controller.set_param("level", "gain", float("nan"))
    with pytest.raises(ControlError, match="no option 'nope'"):
        controller.set_option("cab", "nope", 1)
    with pytest.raises(ControlError, match="must be int"):
        controller.set_option("cab", "max_length", "long")
    with pytest.raises(ControlError, match="not a neural slot"):
        controller.set_model("cab", "identity")
    with pytest.raises(ControlError, match="does not play notes"):
        controller.note("level", 60, 100)
    with pytest.raises(PresetError, match="not allowed"):
        controller.save_preset("../x")
    assert controller.value("level", "gain") == -6.0


def test_a_model_that_fails_to_load_leaves_the_rig_as_it_was(controller: RigController,
                                                            tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not found"):
        controller.set_model("drive", "missing.nam")
    assert controller.slot("drive").option("model") == "identity"
    assert controller.slot_ids() == ["drive", "cab", "level"]
    out = run(controller, sine(0.05))
    assert np.abs(out).max() > 0.01
