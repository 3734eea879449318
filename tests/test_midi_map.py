"""MIDI -> rig mapping (server/control/midi_map.py) on a real RigController and offline engine."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import mido
import numpy as np
import pytest

from conftest import offline_controller
from neuralrig.server.control.midi_map import MidiMapper
from neuralrig.server.control_config import CCMapping

SLOTS = """
[[slot]]
id = "drive"
type = "neural"
model = "overdrive-lstm.safetensors"
[[slot]]
id = "synth"
type = "synth"
attack = 1.0
release = 20.0
[[slot]]
id = "delay"
type = "delay"
[[slot]]
id = "eq"
type = "eq"
[[slot]]
id = "level"
type = "gain"
"""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, folder: Path, midi: str = "", slots: str = SLOTS) -> None:
        self.controller = offline_controller(folder, midi + "\n" + slots)
        self.engine = self.controller.engine
        self.sent: list[mido.Message] = []
        self.clock = Clock()
        self.mapper = MidiMapper(self.controller, self.engine.config.control.midi,
                                 send=self.sent.append, clock=self.clock)

    def cc(self, cc: int, value: int, channel: int = 1) -> None:
        self.mapper.handle(mido.Message("control_change", channel=channel - 1, control=cc,
                                        value=value))

    def value(self, slot: str, param: str) -> float:
        return self.controller.value(slot, param)

    def block(self) -> np.ndarray:
        zeros = np.zeros((self.engine.config.block, 1), np.float32)
        return self.engine.backend.process_block(zeros).copy()

    def close(self) -> None:
        self.mapper.close()
        self.engine.stop()


@pytest.fixture
def make(tmp_path: Path) -> Iterator:
    rigs: list[Rig] = []

    def build(midi: str = "", slots: str = SLOTS) -> Rig:
        folder = tmp_path / f"rig{len(rigs)}"
        folder.mkdir()
        rigs.append(Rig(folder, midi, slots))
        return rigs[-1]

    yield build
    for rig in rigs:
        rig.close()


# -- control changes -------------------------------------------------------------------


def test_absolute_cc_over_min_max_linear(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 7
slot = "level"
param = "gain"
min = -40.0
max = 0.0
curve = "linear"
""")
    for value, expected in ((0, -40.0), (127, 0.0), (64, -40.0 + 40.0 * 64 / 127)):
        rig.cc(7, value)
        assert rig.value("level", "gain") == pytest.approx(expected)
    rig.block()
    assert rig.engine.slot("level").values["gain"] == pytest.approx(-40.0 + 40.0 * 64 / 127)
    rig.cc(8, 0)  # an unmapped controller changes nothing
    assert rig.value("level", "gain") == pytest.approx(-40.0 + 40.0 * 64 / 127)


def test_default_range_and_param_curve_follow_the_parameter(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 20
slot = "eq"
param = "mid_freq"
[[midi.cc]]
cc = 21
slot = "delay"
param = "time"
min = 100.0
max = 1000.0
""")
    spec = rig.controller.spec("eq", "mid_freq")
    assert spec.curve == "log"
    for value in (0, 1, 40, 100, 127):
        rig.cc(20, value)
        assert rig.value("eq", "mid_freq") == pytest.approx(spec.from_norm(value / 127))
    # min/max with the parameter's own (log) curve: log between 100 and 1000 ms
    for value in (0, 64, 127):
        rig.cc(21, value)
        assert rig.value("delay", "time") == pytest.approx(100.0 * 10.0 ** (value / 127))


def test_log_and_exp_curves(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 22
slot = "delay"
param = "time"
min = 10.0
max = 1000.0
curve = "log"
[[midi.cc]]
cc = 23
slot = "level"
param = "gain"
min = -60.0
max = 0.0
curve = "exp"
[[midi.cc]]
cc = 24
slot = "eq"
param = "low_gain"
min = -10.0
max = 10.0
curve = "log"
""")
    rig.cc(22, 0)
    assert rig.value("delay", "time") == pytest.approx(10.0)
    rig.cc(22, 127)
    assert rig.value("delay", "time") == pytest.approx(1000.0)
    rig.cc(22, 127 // 2)
    assert rig.value("delay", "time") == pytest.approx(10.0 * 100.0 ** (63 / 127))
    # exp: exact ends, monotonic, slow at the bottom and fast near the top
    values = []
    for value in range(128):
        rig.cc(23, value)
        values.append(rig.value("level", "gain"))
    assert values[0] == pytest.approx(-60.0) and values[-1] == pytest.approx(0.0)
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[64] < -60.0 + 60.0 * 64 / 127 - 15.0  # well below the linear midpoint
    assert values[127] - values[120] > values[7] - values[0]
    # a log curve over a range through zero cannot be logarithmic: it falls back to linear
    rig.cc(24, 127 // 2)
    assert rig.value("eq", "low_gain") == pytest.approx(-10.0 + 20.0 * 63 / 127)


def test_relative_mode_steps_a_127th_of_the_range(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 30
slot = "level"
param = "gain"
min = -40.0
max = 0.0
curve = "linear"
mode = "relative"
""")
    step = 40.0 / 127
    rig.controller.set_param("level", "gain", -20.0)
    rig.cc(30, 1)
    assert rig.value("level", "gain") == pytest.approx(-20.0 + step)
    rig.cc(30, 5)
    assert rig.value("level", "gain") == pytest.approx(-20.0 + 6 * step)
    rig.cc(30, 127)  # -1
    assert rig.value("level", "gain") == pytest.approx(-20.0 + 5 * step)
    rig.cc(30, 65)  # -63
    assert rig.value("level", "gain") == pytest.approx(-20.0 - 58 * step)
    rig.cc(30, 0)
    rig.cc(30, 64)
    assert rig.value("level", "gain") == pytest.approx(-20.0 - 58 * step)
    for _ in range(3):
        rig.cc(30, 63)
    assert rig.value("level", "gain") == pytest.approx(0.0)  # clamped at the mapping's max
    for _ in range(5):
        rig.cc(30, 65)
    assert rig.value("level", "gain") == pytest.approx(-40.0)


def test_relative_steps_along_a_log_parameter(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 31
slot = "delay"
param = "time"
mode = "relative"
""")
    spec = rig.controller.spec("delay", "time")
    start = rig.value("delay", "time")
    rig.cc(31, 10)
    assert rig.value("delay", "time") == pytest.approx(
        spec.from_norm(spec.to_norm(start) + 10 / 127))


def test_fourteen_bit_pairs(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 1
lsb = 33
slot = "level"
param = "gain"
curve = "linear"
""")
    spec = rig.controller.spec("level", "gain")

    def at(fine: int) -> float:
        return spec.minimum + fine / 16383 * (spec.maximum - spec.minimum)

    before = rig.value("level", "gain")
    rig.cc(33, 100)  # an LSB before any MSB is only stored
    assert rig.value("level", "gain") == pytest.approx(before)
    rig.cc(1, 64)  # the MSB applies at once, with the last LSB
    assert rig.value("level", "gain") == pytest.approx(at(64 * 128 + 100))
    rig.cc(33, 127)  # the LSB refines it
    assert rig.value("level", "gain") == pytest.approx(at(64 * 128 + 127))
    rig.cc(1, 127)
    rig.cc(33, 127)
    assert rig.value("level", "gain") == pytest.approx(spec.maximum)
    rig.cc(1, 0)
    rig.cc(33, 0)
    assert rig.value("level", "gain") == pytest.approx(spec.minimum)
    # a finer resolution than 7 bits: one LSB step moves by 1/16383 of the range
    rig.cc(33, 1)
    assert rig.value("level", "gain") == pytest.approx(at(1))
    assert at(1) - at(0) < (spec.maximum - spec.minimum) / 127 / 100


def test_channels_config_one_to_sixteen_mido_zero_to_fifteen(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 7
channel = 2
slot = "level"
param = "gain"
curve = "linear"
[[midi.cc]]
cc = 7
channel = 16
slot = "delay"
param = "feedback"
""")
    rig.cc(7, 0, channel=1)
    assert rig.value("level", "gain") == pytest.approx(0.0)
    rig.cc(7, 0, channel=2)
    assert rig.value("level", "gain") == pytest.approx(-60.0)
    rig.cc(7, 127, channel=16)
    assert rig.value("delay", "feedback") == pytest.approx(0.95)


# -- expression pedal ------------------------------------------------------------------


def test_expression_pedal_out_of_the_box(make, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="neuralrig.midi"):
        rig = make()
    assert "CC 11 -> level.gain" in caplog.text and "CC 4 -> drive.drive" in caplog.text
    rig.cc(11, 0, channel=5)  # any channel
    assert rig.value("level", "gain") == pytest.approx(-60.0)
    rig.cc(11, 127)
    assert rig.value("level", "gain") == pytest.approx(0.0)  # toe down: unity, not +24 dB
    rig.cc(4, 127)
    assert rig.value("drive", "drive") == pytest.approx(1.0)
    rig.cc(4, 0)
    assert rig.value("drive", "drive") == pytest.approx(0.0)
    assert rig.controller.midi.cc == []  # defaults are not saved in presets
    assert "midi" not in rig.controller.state()


def test_expression_pedal_yields_to_the_config_and_can_be_off(make) -> None:
    rig = make("""
[[midi.cc]]
cc = 11
slot = "delay"
param = "feedback"
""")
    rig.cc(11, 127)
    assert rig.value("delay", "feedback") == pytest.approx(0.95)
    assert rig.value("level", "gain") == pytest.approx(0.0)  # untouched
    rig.cc(4, 127)
    assert rig.value("drive", "drive") == pytest.approx(1.0)  # CC 4 keeps its default

    off = make("[midi]\nexpression = false\n")
    off.cc(11, 0)
    off.cc(4, 0)
    assert off.value("level", "gain") == pytest.approx(0.0)
    assert off.value("drive", "drive") == pytest.approx(0.5)


def test_expression_pedal_without_a_level_slot_uses_the_last_gain(make) -> None:
    slots = """
[[slot]]
id = "pre"
type = "gain"
[[slot]]
id = "od"
type = "overdrive"
[[slot]]
id = "post"
type = "gain"
"""
    rig = make("", slots)
    rig.cc(11, 0)
    assert rig.value("post", "gain") == pytest.approx(-60.0)
    assert rig.value("pre", "gain") == pytest.approx(0.0)
    assert [m.cc for m in rig.mapper.defaults] == [11]  # no neural slot: no CC 4


# -- learn, forget ---------------------------------------------------------------------


def test_learn_maps_the_next_cc_and_forget_removes_it(make) -> None:
    rig = make("[midi]\nexpression = false\n")
    rig.controller.learn("delay", "feedback")
    rig.cc(20, 127, channel=3)
    assert rig.controller.learn_target is None
    assert rig.controller.midi.cc == [CCMapping(cc=20, slot="delay", param="feedback",
                                                channel=3)]
    assert rig.value("delay", "feedback") == pytest.approx(0.95)  # the learning move applies
    rig.cc(20, 0, channel=3)
    assert rig.value("delay", "feedback") == pytest.approx(0.0)
    rig.cc(20, 127, channel=4)  # learnt on channel 3 only
    assert rig.value("delay", "feedback") == pytest.approx(0.0)
    assert rig.controller.state()["midi"]["cc"][0]["cc"] == 20  # presets carry it
    assert rig.controller.forget_cc("delay", "feedback") == 1
    rig.cc(20, 127, channel=3)
    assert rig.value("delay", "feedback") == pytest.approx(0.0)


def test_learning_cc_11_replaces_the_expression_default(make) -> None:
    rig = make()
    rig.controller.learn("delay", "balance")
    rig.cc(11, 127)
    rig.cc(11, 0)
    assert rig.value("delay", "balance") == pytest.approx(0.0)
    assert rig.value("level", "gain") == pytest.approx(0.0)  # the pedal no longer moves it
    assert [m.cc for m in rig.mapper.defaults] == [4]


# -- program change --------------------------------------------------------------------


def test_program_change_loads_the_preset_by_sorted_index(make, caplog) -> None:
    rig = make("""
[midi]
program_channel = 2
""")
    rig.controller.set_param("level", "gain", -12.0)
    rig.controller.save_preset("a quiet")
    rig.controller.set_param("level", "gain", 6.0)
    rig.controller.save_preset("b loud")
    rig.controller.set_param("level", "gain", 0.0)
    rig.mapper.handle(mido.Message("program_change", channel=1, program=0))
    assert rig.controller.preset == "a quiet"
    assert rig.value("level", "gain") == pytest.approx(-12.0)
    rig.mapper.handle(mido.Message("program_change", channel=0, program=1))  # other channel
    assert rig.controller.preset == "a quiet"
    rig.mapper.handle(mido.Message("program_change", channel=1, program=1))
    assert rig.controller.preset == "b loud"
    assert rig.value("level", "gain") == pytest.approx(6.0)
    with caplog.at_level(logging.WARNING, logger="neuralrig.midi"):
        rig.mapper.handle(mido.Message("program_change", channel=1, program=9))  # never raises
    assert "no preset number 9" in caplog.text
    assert rig.controller.preset == "b loud"
    for _ in range(3):
        rig.block()
    assert rig.engine.slot("level").values["gain"] == pytest.approx(6.0)


def test_program_change_omni_and_none(make) -> None:
    omni = make()
    omni.controller.save_preset("only")
    omni.mapper.handle(mido.Message("program_change", channel=9, program=0))
    assert omni.controller.preset == "only"
    ignored = make('[midi]\nprogram_channel = "none"\n')
    ignored.controller.save_preset("only")
    ignored.controller.preset = None
    ignored.mapper.handle(mido.Message("program_change", channel=0, program=0))
    assert ignored.controller.preset is None


def test_preset_load_replaces_the_mappings_the_mapper_reads(make) -> None:
    rig = make("[midi]\nexpression = false\n")
    rig.controller.map_cc(CCMapping(cc=40, slot="delay", param="balance"))
    rig.controller.save_preset("with cc40")
    rig.controller.forget_cc("delay", "balance")
    rig.controller.map_cc(CCMapping(cc=41, slot="delay", param="balance"))
    rig.controller.save_preset("with cc41")
    rig.mapper.handle(mido.Message("program_change", program=0))
    rig.cc(41, 127)
    assert rig.value("delay", "balance") == pytest.approx(0.3)
    rig.cc(40, 127)
    assert rig.value("delay", "balance") == pytest.approx(1.0)


# -- notes -----------------------------------------------------------------------------


SYNTH_SLOTS = """
[[slot]]
id = "synth"
type = "synth"
attack = 1.0
release = 20.0
[[slot]]
id = "level"
type = "gain"
"""


def test_notes_reach_the_synth_and_sound(make) -> None:
    rig = make('[midi]\nnote_channel = 3\nexpression = false\n', SYNTH_SLOTS)
    assert rig.controller.slot("synth").accepts_notes
    assert not rig.controller.slot("level").accepts_notes
    silent = np.concatenate([rig.block() for _ in range(4)])
    assert np.max(np.abs(silent)) == 0.0
    rig.mapper.handle(mido.Message("note_on", channel=0, note=60, velocity=100))  # channel 1
    assert np.max(np.abs(np.concatenate([rig.block() for _ in range(8)]))) == 0.0
    rig.mapper.handle(mido.Message("note_on", channel=2, note=57, velocity=100))
    out = np.concatenate([rig.block() for _ in range(16)])[:, 0]
    assert np.sqrt(np.mean(out[-1024:] ** 2)) > 0.01
    # the pitch is the note's: A3 = 220 Hz (period 218 samples at 48 kHz), by autocorrelation
    tail = out[-1024:] - np.mean(out[-1024:])
    corr = np.correlate(tail, tail, "full")[len(tail):]
    period = 150 + int(np.argmax(corr[150:300]))
    assert abs(rig.engine.config.sample_rate / (period + 1) - 220.0) < 5.0
    rig.mapper.handle(mido.Message("note_off", channel=2, note=57, velocity=0))
    for _ in range(40):  # release 20 ms
        rig.block()
    assert np.max(np.abs(rig.block())) < 1e-4


def test_note_on_with_velocity_zero_is_a_note_off(make) -> None:
    rig = make("[midi]\nexpression = false\n", SYNTH_SLOTS)
    rig.mapper.handle(mido.Message("note_on", note=64, velocity=90))
    for _ in range(8):
        rig.block()
    assert np.max(np.abs(rig.block())) > 0.01
    rig.mapper.handle(mido.Message("note_on", note=64, velocity=0))
    for _ in range(40):
        rig.block()
    assert np.max(np.abs(rig.block())) < 1e-4


# -- footswitches ----------------------------------------------------------------------

SWITCHES = """
[midi]
expression = false
[[midi.switch]]
cc = 80
slot = "delay"
[[midi.switch]]
cc = 81
slot = "eq"
mode = "momentary"
[[midi.switch]]
cc = 82
slot = "delay"
action = "tap"
"""


def test_latching_switch_toggles_on_each_press(make) -> None:
    rig = make(SWITCHES)
    assert rig.controller.slot("delay").bypass is False
    rig.cc(80, 127)
    assert rig.controller.slot("delay").bypass is True
    rig.cc(80, 0)  # release: nothing
    assert rig.controller.slot("delay").bypass is True
    rig.cc(80, 64)
    assert rig.controller.slot("delay").bypass is False
    rig.cc(80, 127)  # a switch that only sends presses toggles each time too
    rig.cc(80, 127)
    assert rig.controller.slot("delay").bypass is False
    rig.block()
    assert rig.engine.slot("delay").bypass is False


def test_momentary_switch_is_active_while_held(make) -> None:
    rig = make(SWITCHES)
    rig.cc(81, 127)
    assert rig.controller.slot("eq").bypass is False
    rig.cc(81, 0)
    assert rig.controller.slot("eq").bypass is True
    rig.cc(81, 100)
    assert rig.controller.slot("eq").bypass is False
    rig.cc(81, 63)
    assert rig.controller.slot("eq").bypass is True


def test_tap_tempo_sets_the_delay_time_in_ms(make) -> None:
    rig = make(SWITCHES)
    assert rig.controller.spec("delay", "time").unit == "ms"
    start = rig.value("delay", "time")

    def tap(at: float) -> None:
        rig.clock.now = at
        rig.cc(82, 127)
        rig.clock.now = at + 0.05
        rig.cc(82, 0)  # releases are not taps

    tap(0.0)
    assert rig.value("delay", "time") == pytest.approx(start)  # one tap: no interval yet
    tap(0.5)
    assert rig.value("delay", "time") == pytest.approx(500.0)
    tap(0.9)
    assert rig.value("delay", "time") == pytest.approx(450.0)
    tap(1.5)
    tap(2.2)  # intervals 0.5, 0.4, 0.6, 0.7: the last three average 0.5666
    assert rig.value("delay", "time") == pytest.approx(1000.0 * (0.4 + 0.6 + 0.7) / 3)
    tap(5.0)  # more than 2 s later: a new tempo starts
    assert rig.value("delay", "time") == pytest.approx(1000.0 * (0.4 + 0.6 + 0.7) / 3)
    tap(5.3)
    assert rig.value("delay", "time") == pytest.approx(300.0)


# -- feedback --------------------------------------------------------------------------


def test_feedback_echoes_changes_from_other_origins(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 7
channel = 3
slot = "level"
param = "gain"
min = -40.0
max = 0.0
curve = "linear"
[[midi.cc]]
cc = 2
lsb = 34
slot = "delay"
param = "feedback"
curve = "linear"
[[midi.cc]]
cc = 20
slot = "eq"
param = "mid_freq"
[[midi.switch]]
cc = 80
slot = "delay"
""")
    rig.controller.set_param("level", "gain", -10.0, origin=("127.0.0.1", 9999))
    assert [(m.channel, m.control, m.value) for m in rig.sent] == [(2, 7, round(30 / 40 * 127))]
    rig.sent.clear()
    rig.cc(7, 20, channel=3)  # the mapping that caused it is not echoed
    assert rig.sent == []
    rig.controller.set_param("delay", "feedback", 0.95 * 5000 / 16383)
    assert [(m.control, m.value) for m in rig.sent] == [(2, 5000 >> 7), (34, 5000 & 0x7F)]
    rig.sent.clear()
    spec = rig.controller.spec("eq", "mid_freq")
    rig.controller.set_param("eq", "mid_freq", spec.from_norm(90 / 127))
    assert [(m.control, m.value) for m in rig.sent] == [(20, 90)]
    rig.sent.clear()
    rig.controller.set_param("eq", "mid_freq", spec.from_norm(90 / 127) * 1.0001)
    assert rig.sent == []  # the same CC value is not sent twice
    rig.controller.set_bypass("delay", True)  # a latching switch's LED follows
    assert [(m.control, m.value) for m in rig.sent] == [(80, 0)]
    rig.sent.clear()
    rig.cc(80, 127)  # pressed: not echoed to itself
    assert rig.controller.slot("delay").bypass is False
    assert rig.sent == []


def test_feedback_after_a_preset_load_sends_every_mapping(make) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 7
slot = "level"
param = "gain"
min = -40.0
max = 0.0
curve = "linear"
""")
    rig.controller.set_param("level", "gain", -40.0)
    rig.controller.save_preset("p")
    rig.controller.set_param("level", "gain", 0.0)
    rig.sent.clear()
    rig.controller.load_preset("p")
    assert [(m.control, m.value) for m in rig.sent] == [(7, 0)]


# -- robustness ------------------------------------------------------------------------


def test_bad_midi_is_ignored(make, caplog: pytest.LogCaptureFixture) -> None:
    rig = make("""
[midi]
expression = false
[[midi.cc]]
cc = 7
slot = "level"
param = "gain"
curve = "linear"
""")
    rig.controller.midi.cc.append(CCMapping(cc=9, slot="ghost", param="gain"))  # stale
    with caplog.at_level(logging.DEBUG, logger="neuralrig.midi"):
        for data in ([0xF0, 1, 2, 3], [0x45, 0x10], [], [0xB0, 7], [0xF7], [0xB0, 200, 1],
                     [0xFF], [0xF0, 0x7E, 0x7F, 0xF7], [0x90, 60, 300], "garbage", [1.5]):
            rig.mapper.handle_bytes(data)
        rig.cc(9, 127)  # a mapping to a slot that does not exist: logged, not raised
    assert "ignored MIDI" in caplog.text
    assert "no slot 'ghost'" in caplog.text
    rig.mapper.handle_bytes([0xB0, 7, 127])
    assert rig.value("level", "gain") == pytest.approx(24.0)


def test_inverse_curves_round_trip(make) -> None:
    from neuralrig.server.control.midi_map import Curve

    rig = make("[midi]\nexpression = false\n")
    time_spec = rig.controller.spec("delay", "time")
    for mapping in (CCMapping(cc=1, slot="delay", param="time"),
                    CCMapping(cc=1, slot="delay", param="time", curve="linear"),
                    CCMapping(cc=1, slot="delay", param="time", curve="exp", minimum=2000.0,
                              maximum=1.0),
                    CCMapping(cc=1, slot="delay", param="time", curve="log", minimum=10.0,
                              maximum=100.0)):
        curve = Curve(mapping, time_spec)
        for x in (0.0, 0.1, 0.5, 0.9, 1.0):
            assert curve.position(curve.value(x)) == pytest.approx(x, abs=1e-9), mapping
    assert math.isclose(Curve(CCMapping(cc=1, slot="d", param="t", curve="exp", minimum=2000.0,
                                        maximum=1.0), time_spec).value(1.0), 1.0)


# -- the audio thread's share (engine.midi_io) -------------------------------------------

ROUTED = """
[midi]
expression = true
[[midi.cc]]
cc = 7
slot = "level"
param = "gain"
min = -40.0
max = 0.0
curve = "linear"
channel = 2
[[midi.cc]]
cc = 20
slot = "delay"
param = "feedback"
mode = "relative"
[[midi.cc]]
cc = 1
lsb = 33
slot = "eq"
param = "low"
"""


def test_routes_hold_what_the_mapper_would_set_for_absolute_seven_bit_ccs(make) -> None:
    rig = make(ROUTED)
    routes = rig.mapper.routes()
    (route,) = routes[(1, 7)]  # channel 2 only
    assert (0, 7) not in routes
    for value in (0, 1, 64, 126, 127):
        rig.cc(7, value, channel=2)
        assert route.values[value] == rig.value("level", "gain")
    # Relative and 14-bit mappings keep state between messages: the MIDI thread's job.
    assert not any(cc in (20, 1, 33) for _, cc in routes)
    # The expression pedal's defaults (CC 11 -> level.gain, CC 4 -> drive) are omni.
    assert all((channel, 11) in routes and (channel, 4) in routes for channel in range(16))


def test_routes_are_published_again_when_the_mappings_change(make) -> None:
    rig = make(ROUTED)
    published: list[dict] = []
    mapper = MidiMapper(rig.controller, rig.engine.config.control.midi,
                        publish_routes=published.append)
    try:
        assert (1, 7) in published[-1]
        rig.controller.map_cc(CCMapping(cc=30, slot="delay", param="time", channel=1))
        assert (0, 30) in published[-1]
        rig.controller.forget_cc("delay", "time")
        assert (0, 30) not in published[-1]
    finally:
        mapper.close()


def test_the_audio_thread_applies_a_routed_cc_and_queues_every_event(make) -> None:
    from neuralrig.server.engine.midi_io import EngineMidi

    rig = make(ROUTED)
    engine = rig.engine
    midi = EngineMidi(engine, engine.backend.server)
    try:
        midi.routes = rig.mapper.routes()
        midi._on_event(0xB1, 7, 0)  # what pyo's RawMidi calls on the audio thread
        assert engine.chain.slots["level"].values["gain"] == pytest.approx(-40.0)
        event = midi.inbox.popleft()
        assert event.data == (0xB1, 7, 0) and event.chain is engine.chain
        assert [r.param for r in event.applied] == ["gain"]
        midi._on_event(0xB0, 20, 1)  # relative: queued, not applied
        midi._on_event(0xC0, 3, 99)  # program change: two bytes
        midi._on_event(0xF8, 0, 0)  # clock: nothing to act on
        assert [e.data for e in midi.inbox] == [(0xB0, 20, 1), (0xC0, 3)]
        assert all(not e.applied for e in midi.inbox)
    finally:
        midi.release()


def test_a_cc_the_audio_thread_applied_is_not_applied_again(make) -> None:
    """The MIDI thread lags the audio thread: re-applying an older value it already
    applied would move the parameter back for a block."""
    rig = make(ROUTED)
    engine = rig.engine
    routes = rig.mapper.routes()[(1, 7)]
    level = engine.chain.slots["level"]
    level.apply_param("gain", routes[0].values[127])  # the newer CC, applied in its block
    older = mido.Message("control_change", channel=1, control=7, value=0)
    rig.mapper.handle(older, routes, engine.chain)  # the MIDI thread catches up
    rig.block()
    assert level.values["gain"] == pytest.approx(0.0)  # not moved back to -40 dB
    assert rig.value("level", "gain") == pytest.approx(-40.0)  # the state follows in order
    rig.mapper.handle(older, routes, object())  # applied to a chain since replaced
    rig.block()
    assert level.values["gain"] == pytest.approx(-40.0)


MAPPING_SWITCHES = """
[midi]
expression = false
[[midi.switch]]
cc = 83
mapping = "pad"
action = "example"
[[midi.switch]]
cc = 84
mapping = "pad"
action = "record"
[[midi.switch]]
cc = 85
mapping = "nope"
action = "run"
"""


def test_footswitches_take_examples_and_toggle_recording(make, caplog) -> None:
    rig = make(MAPPING_SWITCHES)
    mapper = rig.controller.mapper
    mapper.declare("pad", inputs=["midi/cc/1/1"], outputs=["delay/feedback"])
    rig.cc(1, 64)  # the gesture
    rig.cc(83, 127)  # one example on the press ...
    rig.cc(83, 0)  # ... none on the release
    assert mapper.get("pad").data.count == 1
    rig.cc(84, 127)  # latching: recording until the next press
    rig.cc(84, 0)
    assert mapper.get("pad").recording
    rig.cc(84, 127)
    assert not mapper.get("pad").recording
    with caplog.at_level(logging.WARNING, logger="neuralrig"):
        rig.cc(85, 127)  # a switch for a mapping nobody declared: said, and nothing breaks
    assert "no mapping 'nope'" in caplog.text


def test_cc_and_learn_drive_a_generators_latent_coordinates(make, tmp_path: Path) -> None:
    """A generator's latent coordinates are parameters like any other: a configured CC
    moves z1, MIDI learn puts z2 on another, and the decoded audio follows (the scripted
    model writes latent d to sample d of every 8-sample frame)."""
    from generator_fixtures import Interleave, script

    script(Interleave(8), tmp_path / "exact.ts")
    rig = make('[midi]\nexpression = false\n[[midi.cc]]\ncc = 20\nslot = "gen"\n'
               'param = "z1"\n',
               f'[paths]\nmodels = ["{tmp_path}"]\n[[slot]]\nid = "gen"\ntype = "rave"\n'
               'model = "exact.ts"\nmode = "generate"\nbuffer = 256\n')
    rig.cc(20, 127)
    assert rig.value("gen", "z1") == pytest.approx(4.0)
    rig.controller.learn("gen", "z2")
    rig.cc(21, 0)
    assert rig.value("gen", "z2") == pytest.approx(-4.0)
    rig.cc(20, 0)
    rig.cc(20, 96)  # 96/127 of the way from -4 to 4
    z1 = -4.0 + 8.0 * 96 / 127
    assert rig.value("gen", "z1") == pytest.approx(z1)
    out = np.concatenate([rig.block()[:, 0] for _ in range(40)])
    frames = out[-1024:].reshape(-1, 8)  # well after the latency and the chunk's ramp
    np.testing.assert_allclose(frames[:, 0], z1, atol=1e-5)
    np.testing.assert_allclose(frames[:, 1], -4.0, atol=1e-5)
