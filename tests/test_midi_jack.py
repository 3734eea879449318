"""The MIDI frontend on real JACK MIDI ports (python-rtmidi's JACK API, dummy JACK server).

Most tests run twice: ``rtmidi``, the frontend's own python-rtmidi ports with the rig on
the offline engine (as under ALSA, or JACK MIDI beside a non-JACK audio backend), and
``engine``, the live JACK engine carrying MIDI on its own client (what ``neuralrig
serve`` does under JACK). Devices and sinks are python-rtmidi JACK clients either way.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import offline_controller, write_rig
from neuralrig.server.audio.jack_client import JackMonitor
from neuralrig.server.audio.live import JackBackend
from neuralrig.server.config import load_config
from neuralrig.server.control.controller import RigController
from neuralrig.server.control.midi import MidiFrontend
from neuralrig.server.control_config import CCMapping, MidiSettings

rtmidi = pytest.importorskip("rtmidi")
pytestmark = pytest.mark.jack

JACK = rtmidi.API_UNIX_JACK
PORT = "nrtest"
RIG = """
[[slot]]
id = "synth"
type = "synth"
attack = 1.0
release = 20.0
[[slot]]
id = "delay"
type = "delay"
[[slot]]
id = "level"
type = "gain"
gain = -20.0
"""


def wait_for(condition: Callable[[], Any], timeout: float = 5.0,
             repeat: Callable[[], None] | None = None) -> Any:
    """Poll ``condition``; ``repeat`` (an idempotent send) is redone every 0.1 s meanwhile,
    so a message sent while a fresh JACK connection is not yet live is not a failure."""
    deadline = time.monotonic() + timeout
    next_repeat = time.monotonic()
    while True:
        if repeat is not None and time.monotonic() >= next_repeat:
            repeat()
            next_repeat = time.monotonic() + 0.1
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.01)


def live_controller(folder: Path) -> RigController:
    """The rig on a live JACK engine whose client carries the MIDI ports."""
    from dataclasses import replace

    from neuralrig.server.engine.engine import Engine

    config = load_config(write_rig(folder, RIG))
    backend = JackBackend(client_name="nrlive", autoconnect=False, midi=True)
    engine = Engine(backend, replace(config, preset_dir=folder / "presets"))
    engine.start()
    return RigController(engine)


class Rig:
    def __init__(self, folder: Path, live: bool = False, **settings: Any) -> None:
        self.live = live
        self.controller = live_controller(folder) if live else offline_controller(folder, RIG)
        self.engine = self.controller.engine
        self.controller.map_cc(CCMapping(cc=7, slot="level", param="gain", minimum=-40.0,
                                         maximum=0.0, curve="linear"))
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.controller.add_listener(lambda a, args, o: self.events.append((a, args)))
        base = dict(api="jack", port_name=PORT, connect=("nrdev*",), feedback=("nrsink*",),
                    expression=False)
        self.midi = MidiFrontend(self.controller, MidiSettings(**{**base, **settings}),
                                 rescan_interval=0.1)

    def gain(self) -> float:
        return self.controller.value("level", "gain")

    def block(self) -> np.ndarray:
        zeros = np.zeros((self.engine.config.block, 1), np.float32)
        return self.engine.backend.process_block(zeros).copy()

    def close(self) -> None:
        self.midi.stop()
        self.engine.stop()


GRAPH: list[JackMonitor] = []


@pytest.fixture(scope="module", autouse=True)
def graph(jack_server) -> Iterator[None]:
    """Watches the JACK graph so test ports close only once it has settled."""
    with JackMonitor("nrtest-graph") as monitor:
        GRAPH.append(monitor)
        yield
        GRAPH.clear()


def settle() -> None:
    """Closing an rtmidi JACK port mid graph change can crash libjack: see JackMonitor."""
    GRAPH[0].wait_until_settled()


class Device:
    """A MIDI controller on JACK: a virtual output port the frontend should find."""

    def __init__(self, client: str) -> None:
        self.out = rtmidi.MidiOut(JACK, client)
        self.out.open_virtual_port("out")
        self.name = f"{client}:out"

    def send(self, *data: int) -> None:
        self.out.send_message(list(data))

    def close(self) -> None:
        settle()
        self.out.close_port()
        self.out.delete()


class Sink:
    """A MIDI input that records what arrives (an LED ring, a motor fader)."""

    def __init__(self, client: str, source: str | None = None) -> None:
        self.received: list[list[int]] = []
        self._lock = threading.Lock()
        self.port = rtmidi.MidiIn(JACK, client)
        self.port.set_callback(self._on)
        if source is None:
            self.port.open_virtual_port("in")
        else:
            names = self.port.get_ports()
            matches = [i for i, n in enumerate(names) if re.fullmatch(source, n)]
            assert matches, f"no source port {source} in {names}"
            self.port.open_port(matches[0], "in")

    def _on(self, event: Any, data: Any) -> None:
        with self._lock:
            self.received.append(list(event[0]))

    def messages(self) -> list[list[int]]:
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        settle()
        self.port.cancel_callback()
        self.port.close_port()
        self.port.delete()


@pytest.fixture(params=["rtmidi", "engine"])
def make(request, jack_server, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def build(**settings: Any) -> Rig:
        folder = tmp_path / f"rig{len(rigs)}"
        folder.mkdir()
        rigs.append(Rig(folder, live=request.param == "engine", **settings))
        return rigs[-1]

    yield build
    for rig in rigs:
        rig.close()


@pytest.fixture
def devices() -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for port in opened:
        port.close()


def test_auto_picks_jack_when_a_server_runs(make) -> None:
    rig = make(api="auto")
    assert rig.midi.start() is True
    assert rig.midi.api == "jack"


def test_a_device_present_at_start_is_connected(make, devices) -> None:
    device = Device("nrdev-a")
    devices.append(device)
    other = Device("elsewhere")  # not matched by the connect patterns
    devices.append(other)
    rig = make()
    assert rig.midi.start()
    assert rig.midi.inputs() == [device.name]  # connected before start() returned
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                    repeat=lambda: device.send(0xB0, 7, 0))
    other.send(0xB0, 7, 127)
    assert wait_for(lambda: rig.gain() == pytest.approx(0.0),
                    repeat=lambda: device.send(0xB0, 7, 127))


def test_a_device_plugged_in_later_is_connected_and_reconnected(make, devices) -> None:
    rig = make()
    assert rig.midi.start()
    assert rig.midi.inputs() == []
    device = Device("nrdev-late")
    assert wait_for(lambda: rig.midi.inputs() == [device.name])
    assert wait_for(lambda: rig.gain() == pytest.approx(0.0),
                    repeat=lambda: device.send(0xB0, 7, 127))
    device.close()  # unplugged
    assert wait_for(lambda: rig.midi.inputs() == [])
    device = Device("nrdev-late")  # plugged in again
    devices.append(device)
    assert wait_for(lambda: rig.midi.inputs() == [device.name])
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                    repeat=lambda: device.send(0xB0, 7, 0))


def test_the_virtual_input_port_takes_messages_and_ignores_bad_midi(make, caplog) -> None:
    rig = make(connect=())
    assert rig.midi.start()
    sender = rtmidi.MidiOut(JACK, "nrsender")
    try:
        ports = sender.get_ports()
        ours = [i for i, n in enumerate(ports) if n == rig.midi.port_names[0]]
        assert ours, ports
        sender.open_port(ours[0])
        assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                        repeat=lambda: sender.send_message([0xB0, 7, 0]))  # the link is live
        bad = [[0xF0, 0x01, 0x02], [0x45, 0x10], [0xF0, 0x7E, 0x7F, 0xF7], [0xF7], [0xFE]]
        if not rig.live:
            # pyo reads three bytes of every event: a truncated CC would take a third
            # byte from whatever follows it in JACK's buffer (see engine.midi_io).
            bad.append([0xB0, 7])
        with caplog.at_level(logging.DEBUG, logger="neuralrig.midi"):
            for message in bad:
                sender.send_message(message)
            sender.send_message([0xB0, 7, 127])
            assert wait_for(lambda: rig.gain() == pytest.approx(0.0))
        assert rig.midi.running
        if not rig.live:
            assert "ignored MIDI bytes F0 01 02" in caplog.text  # RtMidi joined the sysex
    finally:
        settle()
        sender.close_port()
        sender.delete()


def test_feedback_reaches_matched_outputs_and_the_virtual_output(make, devices) -> None:
    sink = Sink("nrsink-leds")
    devices.append(sink)
    rig = make()
    assert rig.midi.start()
    assert rig.midi.outputs() == ["nrsink-leds:in"]
    # a newly connected output is sent the rig as it is (level -20 dB in -40..0 dB)
    assert wait_for(lambda: [0xB0, 7, 64] in sink.messages())
    listener = Sink("nrlisten", source=re.escape(rig.midi.port_names[1]))  # on our out port
    devices.append(listener)
    assert wait_for(lambda: listener.messages(), repeat=rig.midi.mapper.send_all)  # live
    drain_output(rig, sink)
    sink.received.clear()
    listener.received.clear()
    rig.controller.set_param("level", "gain", -10.0, origin=("127.0.0.1", 9000))  # from OSC
    expected = [0xB0, 7, round(30 / 40 * 127)]
    assert wait_for(lambda: expected in sink.messages())
    assert wait_for(lambda: expected in listener.messages())
    assert sink.messages() == [expected]


def drain_output(rig: Rig, sink: Sink) -> None:
    """Wait until everything sent so far has reached ``sink`` (a marker CC goes out last:
    the engine's MIDI output is written by the audio thread, after the send returns)."""
    import mido

    marker = [0xBF, 119, 0x55]
    rig.midi.mapper.send(mido.Message.from_bytes(marker))
    assert wait_for(lambda: marker in sink.messages())


def test_a_cc_is_not_echoed_to_the_controller_that_sent_it(make, devices) -> None:
    device = Device("nrdev-fader")
    devices.append(device)
    sink = Sink("nrsink-fader")
    devices.append(sink)
    rig = make()
    assert rig.midi.start()
    assert wait_for(lambda: [0xB0, 7, 64] in sink.messages())  # the state on connection
    drain_output(rig, sink)
    sink.received.clear()
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0 + 40.0 * 20 / 127),
                    repeat=lambda: device.send(0xB0, 7, 20))
    # A change from elsewhere is echoed; had the fader's own move been echoed, it would
    # have arrived first (one MIDI thread, one port, in order).
    rig.controller.set_param("level", "gain", -40.0, origin="osc")
    assert wait_for(lambda: sink.messages())
    assert sink.messages() == [[0xB0, 7, 0]]


def test_notes_over_jack_play_the_synth(make, devices) -> None:
    device = Device("nrdev-keys")
    devices.append(device)
    rig = make()
    assert rig.midi.start()
    if rig.live:  # the audio thread plays it (the sound is checked on the offline engine)
        assert wait_for(lambda: ("/rig/synth/note", (60, 100)) in rig.events,
                        repeat=lambda: device.send(0x90, 60, 100))
        synth = rig.engine.chain.slots["synth"].processor
        assert wait_for(lambda: 60 in synth._notes)
        device.send(0x80, 60, 0)
        assert wait_for(lambda: 60 not in synth._notes)
        return
    for _ in range(4):
        assert np.max(np.abs(rig.block())) == 0.0
    assert wait_for(lambda: ("/rig/synth/note", (60, 100)) in rig.events,
                    repeat=lambda: device.send(0x90, 60, 100))
    out = np.concatenate([rig.block() for _ in range(16)])
    assert np.sqrt(np.mean(out[-1024:] ** 2)) > 0.001  # the level slot is at -20 dB


def test_program_change_over_jack_loads_a_preset(make, devices) -> None:
    device = Device("nrdev-pedalboard")
    devices.append(device)
    rig = make()
    rig.controller.set_param("level", "gain", -7.0)
    rig.controller.save_preset("one")
    rig.controller.set_param("level", "gain", 0.0)
    rig.controller.preset = None
    assert rig.midi.start()
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                    repeat=lambda: device.send(0xB0, 7, 0))  # the link is live
    device.send(0xC0, 5)  # no such preset: logged, the MIDI thread carries on
    device.send(0xC0, 0)
    assert wait_for(lambda: rig.controller.preset == "one")
    assert rig.gain() == pytest.approx(-7.0)
    assert wait_for(lambda: rig.gain() == pytest.approx(0.0),
                    repeat=lambda: device.send(0xB0, 7, 127))


def test_footswitch_over_jack(make, devices) -> None:
    from neuralrig.server.control_config import SwitchMapping

    device = Device("nrdev-switch")
    devices.append(device)
    rig = make()
    rig.controller.midi.switches.append(SwitchMapping(cc=80, slot="delay"))
    assert rig.midi.start()
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                    repeat=lambda: device.send(0xB0, 7, 0))  # the link is live
    device.send(0xB0, 80, 127)
    device.send(0xB0, 80, 0)
    assert wait_for(lambda: rig.controller.slot("delay").bypass is True)


def test_fourteen_bit_relative_curves_and_a_momentary_switch_over_jack(make, devices
                                                                       ) -> None:
    """The stateful mappings (the MIDI thread's, on either path) from a real device."""
    import math

    from neuralrig.server.control_config import SwitchMapping

    device = Device("nrdev-surface")
    devices.append(device)
    rig = make()
    c = rig.controller
    # delay.time, log curve 10..1000 ms, as a 14-bit pair CC 1 (MSB) / CC 33 (LSB)
    c.map_cc(CCMapping(cc=1, lsb=33, slot="delay", param="time", minimum=10.0,
                       maximum=1000.0, curve="log"))
    # delay.feedback, exp curve 0..0.9, from an endless encoder (relative steps)
    c.map_cc(CCMapping(cc=20, slot="delay", param="feedback", minimum=0.0, maximum=0.9,
                       curve="exp", mode="relative"))
    c.midi.switches.append(SwitchMapping(cc=64, slot="delay", mode="momentary"))
    feedback_at = lambda x: 0.9 * math.expm1(4.0 * x) / math.expm1(4.0)  # noqa: E731
    c.set_param("delay", "feedback", feedback_at(0.5))
    c.set_bypass("delay", True)
    assert rig.midi.start()
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                    repeat=lambda: device.send(0xB0, 7, 0))  # the link is live

    # 14-bit: MSB then LSB at once (one JACK cycle, most likely); the LSB refines.
    device.send(0xB0, 1, 0x51)
    device.send(0xB0, 33, 0x2A)
    fine = (0x51 << 7) | 0x2A
    expected = 10.0 * 100.0 ** (fine / 16383)
    assert wait_for(lambda: c.value("delay", "time") == pytest.approx(expected, rel=1e-9))
    assert abs(expected - 10.0 * 100.0 ** ((0x51 << 7) / 16383)) > 1.0  # not the MSB alone
    # A later MSB alone moves coarsely, keeping the pair's last LSB.
    device.send(0xB0, 1, 0x10)
    expected = 10.0 * 100.0 ** (((0x10 << 7) | 0x2A) / 16383)
    assert wait_for(lambda: c.value("delay", "time") == pytest.approx(expected, rel=1e-9))

    # Relative: +3, +3, -1 (127), and 64 (no move): 5 steps of 1/127 along the curve.
    for value in (3, 3, 127, 64):
        device.send(0xB0, 20, value)
    device.send(0xB0, 7, 127)  # handled after them (one MIDI thread, in order)
    assert wait_for(lambda: rig.gain() == pytest.approx(0.0))
    assert c.value("delay", "feedback") == pytest.approx(feedback_at(0.5 + 5 / 127), rel=1e-9)

    # Momentary: the delay is on while the switch is held, bypassed again on release.
    def audio_slot() -> Any:  # the slot as the audio thread has it
        if not rig.live:
            rig.block()  # the offline engine applies changes at its next block
        return rig.engine.slot("delay")

    device.send(0xB0, 64, 127)
    assert wait_for(lambda: c.slot("delay").bypass is False)
    assert wait_for(lambda: audio_slot().bypass is False)
    device.send(0xB0, 64, 0)
    assert wait_for(lambda: c.slot("delay").bypass is True)
    assert wait_for(lambda: audio_slot().bypass is True)
    values = audio_slot().values
    assert values["time"] == pytest.approx(expected, rel=1e-6)
    assert values["feedback"] == pytest.approx(feedback_at(0.5 + 5 / 127), rel=1e-6)


def test_a_program_change_on_another_channel_is_ignored_over_jack(make, devices) -> None:
    """program_channel = 2: a program change on channel 1 loads nothing; on 2 it does."""
    device = Device("nrdev-programs")
    devices.append(device)
    rig = make(program_channel=2)
    rig.controller.set_param("level", "gain", -7.0)
    rig.controller.save_preset("a")  # program 0
    rig.controller.set_param("level", "gain", -13.0)
    rig.controller.save_preset("b")  # program 1
    rig.controller.preset = None
    assert rig.midi.start()
    assert wait_for(lambda: rig.gain() == pytest.approx(-40.0),
                    repeat=lambda: device.send(0xB0, 7, 0))  # the link is live
    device.send(0xC0, 1)  # channel 1: not the program channel
    device.send(0xB0, 7, 127)  # handled after it (one MIDI thread, in order)
    assert wait_for(lambda: rig.gain() == pytest.approx(0.0))
    assert rig.controller.preset is None  # and the gain is still the CC's, not preset b's
    device.send(0xC1, 1)  # channel 2
    assert wait_for(lambda: rig.controller.preset == "b")
    assert rig.gain() == pytest.approx(-13.0)


def test_no_jack_server_means_no_midi_and_no_crash(make, monkeypatch, caplog) -> None:
    rig = make()
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "nr-midi-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with caplog.at_level(logging.WARNING, logger="neuralrig.midi"):
        assert rig.midi.start() is False
    assert "MIDI is off" in caplog.text
    assert not rig.midi.running
    rig.midi.stop()  # harmless


def test_disabled_midi_opens_nothing(make) -> None:
    rig = make(enabled=False)
    assert rig.midi.start() is False
    assert rig.midi.inputs() == [] and rig.midi.outputs() == []


def test_an_unusable_alsa_sequencer_means_no_midi_and_no_crash(make, caplog) -> None:
    if Path("/dev/snd/seq").exists():
        pytest.skip("this machine has an ALSA sequencer")
    rig = make(api="alsa")
    with caplog.at_level(logging.WARNING, logger="neuralrig.midi"):
        assert rig.midi.start() is False
    assert "MIDI is off: cannot open ALSA MIDI ports" in caplog.text


def test_midi_learn_over_osc_with_a_real_controller_and_a_preset_keeps_it(make, devices
                                                                          ) -> None:
    """The whole loop: OSC /midi/learn, a CC from a JACK MIDI device, the mapping saved."""
    from test_osc import Client

    from neuralrig.server.control.osc import OscFrontend
    from neuralrig.server.control_config import OscSettings

    device = Device("nrdev-learn")
    devices.append(device)
    rig = make()
    assert rig.midi.start()
    osc = OscFrontend(rig.controller, OscSettings(port=0, host="127.0.0.1"))
    osc.start()
    client = Client(osc.port)
    try:
        client.send("/subscribe")
        client.until("/subscribed")
        client.send("/midi/learn", "delay", "feedback")
        assert client.until("/midi/learning").params == ["delay", "feedback"]
        device.send(0xB0, 21, 64)
        mapped = client.until("/midi/mapped").params
        assert mapped == ["delay", "feedback", 21, 1]  # cc 21 on channel 1
        spec = rig.controller.spec("delay", "feedback")
        assert wait_for(lambda: rig.controller.value("delay", "feedback") == pytest.approx(
            spec.from_norm(127 / 127)), repeat=lambda: device.send(0xB0, 21, 127))
        assert client.ask("/preset/save", "learned", reply="/preset/saved") == ["learned"]
        client.send("/midi/forget", "delay", "feedback")
        assert client.until("/midi/forgot").params == ["delay", "feedback"]
        assert not any(m.cc == 21 for m in rig.controller.midi.cc)
        client.send("/preset/load", "learned")
        client.until("/preset/loaded")
        assert any(m.cc == 21 and m.slot == "delay" for m in rig.controller.midi.cc)
    finally:
        client.close()
        osc.stop()


def test_a_burst_beyond_what_pyo_takes_in_one_cycle_loses_events_not_the_rig(
        jack_server, tmp_path: Path) -> None:
    """pyo copies a cycle's MIDI input into a fixed array of 200 events without a bound
    check; past it, its own event counters are overwritten. What that costs, measured
    here, is events of that cycle only: the rig keeps running and takes the next CC."""
    import jack

    rig = Rig(tmp_path, live=True, api="jack", connect=("nrburst*",))
    burst = {"size": 0}
    client = jack.Client("nrburst", no_start_server=True)
    port = client.midi_outports.register("out")

    @client.set_process_callback
    def process(frames: int) -> None:
        port.clear_buffer()
        size, burst["size"] = burst["size"], 0
        for i in range(size):  # one cycle, times spread over it, in order
            port.write_midi_event(i * frames // size, (0xB0, 7, i % 128))

    try:
        client.activate()
        assert rig.midi.start()
        assert wait_for(lambda: rig.midi.inputs() == ["nrburst:out"])
        engine_midi = rig.engine.midi
        for size in (150, 1000, 2500):
            before = engine_midi.received
            burst["size"] = size
            assert wait_for(lambda: burst["size"] == 0)
            time.sleep(0.2)
            assert 0 <= engine_midi.received - before <= size
        rig.controller.set_param("level", "gain", 0.0, origin="osc")
        level = rig.engine.chain.slots["level"]
        assert wait_for(lambda: level.values["gain"] == 0.0)
        blocks = rig.engine.status().stats.blocks
        burst["size"] = 1  # one CC 7 = 0: -40 dB
        assert wait_for(lambda: level.values["gain"] == pytest.approx(-40.0))
        assert wait_for(lambda: rig.gain() == pytest.approx(-40.0))
        assert wait_for(lambda: rig.engine.status().stats.blocks > blocks + 100)
    finally:
        client.deactivate()
        GRAPH[0].wait_until_settled()
        client.close()
        rig.close()
