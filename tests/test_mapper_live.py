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

from conftest import write_rig

pytestmark = pytest.mark.jack

OUTPUTS = ("amp/drive", "amp/tone", "gen/z1", "gen/z2")


def wanted(x: float, y: float, cc: float) -> list[float]:
    return [x, 1.0 - y * cc, 2.0 * np.sin(3.0 * x) * y, cc - 0.5]


def rig(folder: Path) -> Path:
    script(Interleave(8), folder / "exact.ts")
    return write_rig(folder, f'[paths]\nmodels = ["{folder}"]\n'
                     f'mappings = "{folder / "mappings"}"\npresets = "{folder / "presets"}"\n'
                     '[midi]\nconnect = ["nrmap-*"]\n'
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

    from neuralrig.server.audio.jack_client import JackMonitor

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
        with JackMonitor("nrmap-graph") as graph:
            graph.wait_until_settled()
            pedal.close_port()
        pedal.delete()
    assert code == 0, "\n".join(daemon.lines)
    assert not any("Traceback" in line for line in daemon.lines), "\n".join(daemon.lines)
