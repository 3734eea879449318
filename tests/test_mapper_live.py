"""The whole mapping loop against the live daemon under JACK, and across a restart.

One mapping takes a simulated XY pad (OSC) and a MIDI CC (a JACK MIDI port) and
drives a neural effect's knobs and a generator's latent coordinates together:
record, train (in the daemon's training process), run, stop the daemon, start it
again, run again: the same gesture gives the same parameters.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from generator_fixtures import Interleave, script
from test_daemon_jack import Daemon

from conftest import close_midi_port, write_rig

pytestmark = pytest.mark.jack

OUTPUTS = ("amp/drive", "amp/tone", "gen/z1", "gen/z2")


def wanted(x: float, y: float, cc: float) -> list[float]:
    return [x, 1.0 - y * cc, 2.0 * np.sin(3.0 * x) * y, cc - 0.5]


def rig(folder: Path, midi: str = "") -> Path:
    script(Interleave(8), folder / "exact.ts")
    return write_rig(folder, f'[paths]\nmodels = ["{folder}"]\n'
                     f'mappings = "{folder / "mappings"}"\npresets = "{folder / "presets"}"\n'
                     '[midi]\nconnect = ["nrmap-*"]\n' + midi +
                     '[[slot]]\nid = "amp"\ntype = "neural"\n'
                     'model = "overdrive-lstm.safetensors"\n'
                     '[[slot]]\nid = "gen"\ntype = "rave"\nmodel = "exact.ts"\n'
                     'mode = "generate"\nbuffer = 256\n')


def values(client) -> list[float]:
    return [client.ask(f"/rig/{target}/get")[0] for target in OUTPUTS]


def send_cc(pedal, client, value: int) -> None:
    """Send the CC until the daemon has taken it (its first message may predate the
    connection), shown by the mapping's input, which /map/.../get cannot show: so send
    it a few times, spaced, then let one OSC round trip pass."""
    for _ in range(3):
        pedal.send_message([0xB0, 20, value])
        time.sleep(0.02)
    client.ask("/map/list")


def test_record_train_run_restart_run_with_osc_and_midi(jack_server, tmp_path: Path) -> None:
    import rtmidi
    from test_osc import Client


    config = rig(tmp_path)
    pedal = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "nrmap-pedal")
    pedal.open_virtual_port("out")
    daemon = Daemon("--config", str(config), "--audio", "jack")
    client = Client(daemon.osc_port)
    probe = [(0.35, 0.6, 0.4), (0.8, 0.2, 0.9)]
    try:
        daemon.wait_for("MIDI: connected from 'nrmap-pedal:out'")
        client.ask("/map/pad/inputs", "/xy", "midi/cc/1/20", reply="/map/pad")
        client.ask("/map/pad/outputs", *OUTPUTS, reply="/map/pad")
        for cc in (0.0, 0.5, 1.0):
            send_cc(pedal, client, round(cc * 127))
            for x in np.linspace(0, 1, 5):
                for y in np.linspace(0, 1, 5):
                    client.send("/xy", float(x), float(y))
                    for target, value in zip(OUTPUTS, wanted(x, y, round(cc * 127) / 127),
                                             strict=True):
                        client.send(f"/rig/{target}", float(value))
                    client.ask("/map/pad/example", reply="/map/pad/examples")
        info = client.ask("/map/pad/get")
        assert info[info.index("examples") + 1] == 75
        client.send("/map/pad/train")
        error = client.until("/map/pad/trained", timeout=120).params[0]
        assert 0.0 <= error < 0.1
        client.ask("/map/pad/run", 1, reply="/map/pad")
        before = []
        for x, y, cc in probe:
            send_cc(pedal, client, round(cc * 127))
            client.send("/xy", x, y)
            before.append(values(client))
            np.testing.assert_allclose(before[-1], wanted(x, y, round(cc * 127) / 127),
                                       atol=0.1)
    finally:
        client.close()
        code = daemon.stop()
    assert code == 0, "\n".join(daemon.lines)

    daemon = Daemon("--config", str(config), "--audio", "jack")
    client = Client(daemon.osc_port)
    try:
        daemon.wait_for("mapping 'pad' loaded: 75 examples, spline")
        daemon.wait_for("MIDI: connected from 'nrmap-pedal:out'")
        info = client.ask("/map/pad/get")
        assert info[info.index("state") + 1] == "running"
        for (x, y, cc), then in zip(probe, before, strict=True):
            send_cc(pedal, client, round(cc * 127))
            client.send("/xy", x, y)
            assert values(client) == pytest.approx(then, abs=1e-6)
    finally:
        client.close()
        code = daemon.stop()
        close_midi_port(pedal, "nrmap-graph")
    assert code == 0, "\n".join(daemon.lines)
    assert not any("Traceback" in line for line in daemon.lines), "\n".join(daemon.lines)


TOUCH = ("amp/drive", "gen/z1", "gen/z2")
FOOTSWITCHES = """
[[midi.switch]]
cc = 80
mapping = "touch"
action = "record"
mode = "momentary"
[[midi.switch]]
cc = 81
mapping = "touch"
action = "train"
[[midi.switch]]
cc = 82
mapping = "touch"
action = "run"
"""


def touch_targets(bend: float, pressure: float, note: float, velocity: float) -> list[float]:
    """What the player wants from a bend, channel pressure and the last note played."""
    return [bend, 2.0 * pressure - 1.0, note + velocity - 1.0]


def test_bend_aftertouch_and_notes_record_and_run_live(jack_server, tmp_path: Path) -> None:
    """Recording mode with MIDI gestures from a JACK MIDI port: each bend, pressure
    change or note (sent 30 ms apart, over the 20 ms recording interval) pairs with
    the outputs set just before it; trained, the mapping then plays them. The loop is
    run from footswitches on the same port: record held down, train, run toggled."""
    import rtmidi
    from test_osc import Client


    config = rig(tmp_path, FOOTSWITCHES)
    keys = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "nrmap-keys")
    keys.open_virtual_port("out")
    daemon = Daemon("--config", str(config), "--audio", "jack")
    client = Client(daemon.osc_port)
    state = {"bend": 0.5, "pressure": 0.0, "note": 60 / 127, "velocity": 100 / 127}
    sent = 0

    recording = False

    def examples() -> int:
        info = client.ask("/map/touch/get")
        return int(info[info.index("examples") + 1])

    def play(kind: str, value: int, velocity: int = 100) -> None:
        nonlocal sent
        if kind == "bend":
            keys.send_message([0xE0, value & 0x7F, value >> 7])
            state["bend"] = value / 16383
        elif kind == "pressure":
            keys.send_message([0xD0, value])
            state["pressure"] = value / 127
        else:
            keys.send_message([0x90, value, velocity])
            state["note"], state["velocity"] = value / 127, velocity / 127
        sent += 1
        if recording:
            # Each gesture is one example once the daemon has seen it; waiting for that,
            # not for a fixed time, keeps a loaded machine from merging two gestures
            # into one recording interval.
            deadline = time.monotonic() + 10.0
            while examples() < sent and time.monotonic() < deadline:
                time.sleep(0.005)
        time.sleep(0.03)  # over the 20 ms recording interval

    def expect(kind: str, value: int, velocity: int = 100) -> list[float]:
        """Set the outputs to what this gesture should give, before making it."""
        after = dict(state)
        if kind == "bend":
            after["bend"] = value / 16383
        elif kind == "pressure":
            after["pressure"] = value / 127
        else:
            after["note"], after["velocity"] = value / 127, velocity / 127
        want = touch_targets(**after)
        for target, v in zip(TOUCH, want, strict=True):
            client.send(f"/rig/{target}", float(v))
        client.ask("/map/list")  # the outputs are set before the gesture is sent
        return want

    try:
        daemon.wait_for("MIDI: connected from 'nrmap-keys:out'")
        client.ask("/map/touch/inputs", "midi/bend/1", "midi/aftertouch/1", "midi/note/omni",
                   reply="/map/touch")
        client.ask("/map/touch/outputs", *TOUCH, reply="/map/touch")
        # The first example needs every input heard once: set them outside recording.
        play("bend", 8192)
        play("pressure", 0)
        play("note", 60)
        keys.send_message([0xB0, 80, 127])  # hold the record switch down
        state_of = lambda: (info := client.ask("/map/touch/get"))[info.index("state") + 1]  # noqa: E731
        deadline = time.monotonic() + 10.0
        while state_of() != "recording" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert state_of() == "recording"
        sent, recording = 0, True
        for note, velocity in ((48, 60), (60, 100), (72, 127)):
            expect("note", note, velocity)
            play("note", note, velocity)
            for bend in (0, 8192, 16383):
                expect("bend", bend)
                play("bend", bend)
                for pressure in (0, 64, 127):
                    expect("pressure", pressure)
                    play("pressure", pressure)
        keys.send_message([0xB0, 80, 0])  # release: recording stops
        recording = False
        deadline = time.monotonic() + 10.0
        while state_of() == "recording" and time.monotonic() < deadline:
            time.sleep(0.01)
        info = client.ask("/map/touch/get")
        assert info[info.index("examples") + 1] == sent
        keys.send_message([0xB0, 81, 127])  # train
        keys.send_message([0xB0, 81, 0])
        deadline = time.monotonic() + 120.0
        while state_of() != "trained" and time.monotonic() < deadline:
            time.sleep(0.05)
        info = client.ask("/map/touch/get")
        assert info[info.index("state") + 1] == "trained", info
        assert 0.0 <= info[info.index("validation_error") + 1] < 0.05
        keys.send_message([0xB0, 82, 127])  # run (latching: stays on when released)
        keys.send_message([0xB0, 82, 0])
        deadline = time.monotonic() + 10.0
        while state_of() != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert state_of() == "running"
        for kind, value in (("note", 66), ("bend", 4000), ("pressure", 90)):
            want = touch_targets(**{**state, **({"bend": value / 16383} if kind == "bend"
                                               else {"pressure": value / 127}
                                               if kind == "pressure"
                                               else {"note": value / 127,
                                                     "velocity": 100 / 127})})
            play(kind, value)
            deadline = time.monotonic() + 10.0
            got = [client.ask(f"/rig/{t}/get")[0] for t in TOUCH]
            while not np.allclose(got, want, atol=0.05) and time.monotonic() < deadline:
                time.sleep(0.02)
                got = [client.ask(f"/rig/{t}/get")[0] for t in TOUCH]
            np.testing.assert_allclose(got, want, atol=0.05)
    finally:
        client.close()
        code = daemon.stop()
        close_midi_port(keys, "nrmap-graph")
    assert code == 0, "\n".join(daemon.lines)
    assert not any("Traceback" in line for line in daemon.lines), "\n".join(daemon.lines)
