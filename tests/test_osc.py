"""The OSC frontend over real UDP on loopback, driving a rig on pyo's offline backend."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from conftest import CONTROL_RIG as RIG
from conftest import offline_controller
from neuralrig.server.audio.offline import OfflineBackend
from neuralrig.server.control.osc import OscFrontend
from neuralrig.server.control_config import OscSettings


class Rig:
    def __init__(self, folder: Path, timeout: float = 30.0, reply_port: int = 0) -> None:
        self.presets = folder / "presets"
        self.controller = offline_controller(folder, RIG)
        self.engine = self.controller.engine
        self.osc = OscFrontend(self.controller, OscSettings(
            port=0, host="127.0.0.1", subscription_timeout=timeout, reply_port=reply_port))
        self.osc.start()

    def block(self, value: float = 0.0) -> np.ndarray:
        block = np.full((self.engine.config.block, 1), value, np.float32)
        return self.engine.backend.process_block(block).copy()

    def close(self) -> None:
        self.osc.stop()
        self.engine.stop()


class Client:
    """A UDP OSC client with its own port, as TouchOSC or Pure Data would be."""

    def __init__(self, server_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(2.0)
        self.port = self.sock.getsockname()[1]
        self.server = ("127.0.0.1", server_port)

    def send(self, address: str, *args: Any, types: str | None = None) -> None:
        self.sock.sendto(message(address, args, types), self.server)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def receive(self, timeout: float = 2.0) -> OscMessage:
        self.sock.settimeout(timeout)
        data, _ = self.sock.recvfrom(65536)
        return OscMessage(data)

    def until(self, address: str, timeout: float = 15.0) -> OscMessage:
        """The next message at ``address`` (others are skipped).

        The timeout only bounds a failing test: a model swap's reply waits for the
        model to load, which takes seconds on a loaded two-core machine.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {address} reply")
            msg = self.receive(left)
            if msg.address == address:
                return msg

    def ask(self, address: str, *args: Any, reply: str | None = None) -> list[Any]:
        self.send(address, *args)
        return list(self.until(reply or address.removesuffix("/get")).params)

    def drain(self, seconds: float = 0.3) -> list[OscMessage]:
        """Everything that arrives within ``seconds``."""
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.receive(left))
            except TimeoutError:
                break
        return out

    def close(self) -> None:
        self.sock.close()


def message(address: str, args: tuple[Any, ...], types: str | None = None) -> bytes:
    builder = OscMessageBuilder(address=address)
    for i, arg in enumerate(args):
        builder.add_arg(arg, types[i] if types else None)
    return builder.build().dgram


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    rig.close()


@pytest.fixture
def client(rig: Rig) -> Iterator[Client]:
    client = Client(rig.osc.port)
    yield client
    client.close()


def test_set_and_get_a_parameter_in_its_unit_clamped_to_its_range(rig: Rig, client: Client
                                                                  ) -> None:
    client.send("/rig/delay/time", 500.0)
    assert client.ask("/rig/delay/time/get") == [pytest.approx(500.0)]
    spec = rig.controller.spec("delay", "time")
    client.send("/rig/delay/time", 1e9)  # out of range: applied clamped, and said so
    assert client.until("/error").params == [
        "/rig/delay/time", f"1e+09 is outside {spec.minimum:g}..{spec.maximum:g} ms: clamped "
        f"to {spec.maximum:g}"]
    assert client.ask("/rig/delay/time/get") == [pytest.approx(spec.maximum)]
    client.send("/rig/delay/time", -5.0)
    assert "clamped to 1" in client.until("/error").params[1]
    assert client.ask("/rig/delay/time/get") == [pytest.approx(spec.minimum)]
    client.send("/rig/level/gain", -3)  # an int is a number too
    assert client.ask("/rig/level/gain/get") == [pytest.approx(-3.0)]
    rig.block()
    assert rig.engine.slot("level").values["gain"] == pytest.approx(-3.0)


def test_out_of_range_values_are_clamped_answered_and_logged(rig: Rig, client: Client,
                                                             caplog) -> None:
    errors_before = rig.osc.errors
    cases = [("/rig/delay/time/norm", 7.0, "7 is outside 0..1: clamped to 1"),
             ("/rig/delay/mix", -0.5, "-0.5 is outside 0..1: clamped to 0"),
             ("/rig/output_gain", 99.0, "99 is outside -60..24 dB: clamped to 24")]
    with caplog.at_level(logging.WARNING, logger="neuralrig"):
        for address, value, reason in cases:
            client.send(address, value)
            assert client.until("/error").params == [address, reason]
    for address, _, reason in cases:
        assert f"{address}: {reason}" in caplog.text
    assert client.ask("/rig/delay/mix/get") == [0.0]
    assert client.ask("/rig/output_gain/get") == [24.0]
    client.send("/rig/delay/time/norm", 1.0)  # the edges themselves are in range
    client.send("/rig/delay/mix", 0.0)
    assert client.ask("/rig/delay/mix/get") == [0.0]
    assert rig.osc.errors == len(cases) + errors_before


def test_norm_maps_zero_to_one_over_the_parameters_curve(rig: Rig, client: Client) -> None:
    spec = rig.controller.spec("delay", "time")
    client.send("/rig/delay/time/norm", 0.5)
    assert client.ask("/rig/delay/time/get")[0] == pytest.approx(spec.from_norm(0.5), rel=1e-6)
    client.send("/rig/delay/time/norm", 1.0)
    assert client.ask("/rig/delay/time/get")[0] == pytest.approx(spec.maximum, rel=1e-6)
    client.send("/rig/delay/time/norm", 0.0)
    assert client.ask("/rig/delay/time/get")[0] == pytest.approx(spec.minimum, rel=1e-6)


def test_bypass_mix_and_whole_slot_get(rig: Rig, client: Client) -> None:
    client.send("/rig/delay/bypass", 1)
    client.send("/rig/delay/mix", 0.25)
    assert client.ask("/rig/delay/bypass/get") == [1]
    assert client.ask("/rig/delay/mix/get") == [pytest.approx(0.25)]
    client.send("/rig/delay/bypass", False, types="F")
    assert client.ask("/rig/delay/bypass/get") == [0]
    client.send("/rig/delay/get")
    replies = {m.address: list(m.params) for m in client.drain()}
    for name in rig.controller.slot("delay").specs:
        assert f"/rig/delay/{name}" in replies
    assert replies["/rig/delay/bypass"] == [0]
    assert replies["/rig/delay/mix"] == [pytest.approx(0.25)]
    rig.block()
    slot = rig.engine.slot("delay")
    assert (slot.bypass, slot.mix) == (False, pytest.approx(0.25))


def test_model_swap_and_its_errors(rig: Rig, client: Client) -> None:
    client.send("/rig/drive/model", "tiny-lstm")
    assert client.ask("/rig/drive/model/get") == ["tiny-lstm"]
    rig.block()
    assert rig.engine.slot("drive").processor.option_values["model"] == "tiny-lstm"
    for bad in ("../etc/passwd", "/etc/passwd", "sub/model.nam", ".hidden"):
        client.send("/rig/drive/model", bad)
        error = client.until("/error").params
        assert error[0] == "/rig/drive/model" and "not allowed" in error[1]
    client.send("/rig/drive/model", "no-such-model.nam")
    error = client.until("/error").params
    assert "not found" in error[1]
    client.send("/rig/delay/model", "identity")
    assert "no parameter 'model'" in client.until("/error").params[1]
    assert client.ask("/rig/drive/model/get") == ["tiny-lstm"]  # the rig kept its model


def test_status_reports_engine_timing_load_xruns_and_latency(rig: Rig, client: Client
                                                             ) -> None:
    rig.block()
    params = client.ask("/status")
    status = dict(zip(params[::2], params[1::2], strict=True))
    for key in ("state", "backend", "sample_rate", "block", "latency_samples", "latency_ms",
                "block_us_mean", "block_us_p99", "dsp_load", "cpu_percent", "xruns", "blocks"):
        assert key in status, key
    assert status["state"] == "running" and status["block"] == 128
    assert status["xruns"] == -1  # the offline backend reports none (JACK's count: live tests)
    assert status["late_starts"] == -1 and status["start_late_us_max"] == -1  # no cycle clock
    assert status["blocks"] >= 1


def test_presets_save_list_and_load_by_name_and_number(rig: Rig, client: Client) -> None:
    client.send("/rig/delay/time", 420.0)
    client.send("/rig/delay/bypass", 1)
    client.send("/rig/drive/model", "tiny-lstm")
    assert client.ask("/preset/save", "b lead", reply="/preset/saved") == ["b lead"]
    client.send("/rig/delay/time", 100.0)
    client.send("/rig/delay/bypass", 0)
    client.send("/rig/drive/model", "identity")
    assert client.ask("/preset/save", "a clean", reply="/preset/saved") == ["a clean"]
    assert client.ask("/preset/list") == ["a clean", "b lead"]
    assert sorted(p.name for p in rig.presets.iterdir()) == ["a clean.toml", "b lead.toml"]

    assert client.ask("/preset/load", "b lead", reply="/preset/loaded") == ["b lead"]
    assert client.ask("/rig/delay/time/get") == [pytest.approx(420.0)]
    assert client.ask("/rig/delay/bypass/get") == [1]
    assert client.ask("/rig/drive/model/get") == ["tiny-lstm"]
    rig.block()
    assert rig.engine.slot("delay").values["time"] == pytest.approx(420.0)
    assert client.ask("/preset/load", 0, reply="/preset/loaded") == ["a clean"]
    assert client.ask("/rig/delay/time/get") == [pytest.approx(100.0)]


def test_preset_names_never_leave_the_preset_folder(rig: Rig, client: Client, tmp_path: Path
                                                    ) -> None:
    for bad in ("../escape", "a/b", "/tmp/x", ".hidden", "a\\b", ""):
        client.send("/preset/save", bad)
        assert "not allowed" in client.until("/error").params[1], bad
        client.send("/preset/load", bad)
        assert "not allowed" in client.until("/error").params[1], bad
    client.send("/preset/load", "missing")
    assert "no preset 'missing'" in client.until("/error").params[1]
    client.send("/preset/load", 7)
    assert "no preset number 7" in client.until("/error").params[1]
    assert not (tmp_path / "escape.toml").exists()
    # A symlink in the preset folder that points outside it is refused too.
    rig.presets.mkdir(exist_ok=True)
    outside = tmp_path / "outside.toml"
    outside.write_text("[[slot]]\nid = 'x'\ntype = 'gain'\n")
    (rig.presets / "sneaky.toml").symlink_to(outside)
    client.send("/preset/load", "sneaky")
    assert "outside" in client.until("/error").params[1]


def test_a_broken_preset_file_is_refused_and_the_rig_keeps_running(rig: Rig, client: Client
                                                                   ) -> None:
    rig.presets.mkdir(exist_ok=True)
    (rig.presets / "broken.toml").write_text("[[slot]]\nid = 'x'\ntype = 'no-such-type'\n")
    client.send("/preset/load", "broken")
    assert "no-such-type" in client.until("/error").params[1]
    assert rig.controller.slot_ids() == ["drive", "delay", "level"]
    assert client.ask("/rig/level/gain/get") == [pytest.approx(0.0)]


@pytest.mark.parametrize("address, args, types, reason", [
    ("/no/such/address", (), None, "unknown address"),
    ("/rig/nope/gain", (1.0,), None, "no slot 'nope'"),
    ("/rig/level/nope", (1.0,), None, "no parameter 'nope'"),
    ("/rig/level/gain", ("loud",), None, "takes a number"),
    ("/rig/level/gain", (1.0, 2.0), None, "takes one number"),
    ("/rig/level/gain", (), None, "takes one number"),
    ("/rig/level/gain", (float("nan"),), "f", "finite"),
    ("/rig/level/gain", (float("inf"),), "d", "finite"),
    ("/rig/level/gain/norm", (float("-inf"),), "f", "finite"),
    ("/rig/level/bypass", ("yes",), None, "takes 0 or 1"),
    ("/rig/level/mix", (float("nan"),), "f", "finite"),
    ("/status", (1,), None, "takes no arguments"),
    ("/subscribe", (70000,), None, "port number"),
    ("/midi/learn", ("level",), None, "takes 2 strings"),
    ("/preset/load", (1.5,), None, "name (s) or a number (i)"),
])
def test_bad_messages_get_an_error_reply_naming_address_and_reason(
        rig: Rig, client: Client, address: str, args: tuple, types: str | None, reason: str,
        caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="neuralrig"):
        client.send(address, *args, types=types)
        error = client.until("/error").params
    assert error[0] == address
    assert reason in error[1]
    assert f"OSC from 127.0.0.1:{client.port}: {address}: " in caplog.text  # and a log line
    assert client.ask("/rig/level/gain/get") == [pytest.approx(0.0)]  # still answering


def test_malformed_and_oversized_packets_are_refused(rig: Rig, client: Client,
                                                     caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="neuralrig"):
        for junk in (b"", b"\x00\x01\x02", b"/rig/level/gain\x00,f\x00\x00\x01",
                     b"#bundle\x00" + b"\x00" * 7, b"x" * 20000):
            client.send_raw(junk)
            error = client.until("/error").params
            assert error[0] == "/" and ("malformed" in error[1] or "over" in error[1]), error
    assert caplog.text.count(f"OSC from 127.0.0.1:{client.port}: /: ") == 5
    assert rig.osc.errors == 5
    assert client.ask("/rig/level/gain/get") == [pytest.approx(0.0)]


def test_subscribers_hear_each_others_changes_and_expire_when_silent(tmp_path: Path) -> None:
    rig = Rig(tmp_path, timeout=2.0)
    tablet, patch = Client(rig.osc.port), Client(rig.osc.port)
    try:
        tablet.send("/subscribe")
        patch.send("/subscribe", patch.port)
        assert tablet.until("/subscribed").params == [2]
        patch.until("/subscribed")
        tablet.drain(), patch.drain()
        tablet.send("/rig/level/gain", -6.0)
        assert patch.until("/rig/level/gain").params == [pytest.approx(-6.0)]
        # Meters stream to subscribers.
        assert len(patch.until("/meter/output").params) == 2
        # The tablet does not get its own change echoed.
        assert "/rig/level/gain" not in {m.address for m in tablet.drain()}
        # A change from elsewhere (MIDI, another frontend) reaches both.
        rig.controller.set_param("level", "gain", -9.0)
        assert tablet.until("/rig/level/gain").params == [pytest.approx(-9.0)]
        assert patch.until("/rig/level/gain").params == [pytest.approx(-9.0)]
        # A preset load sends every subscriber the whole rig again.
        rig.controller.set_param("delay", "time", 123.0)
        rig.controller.save_preset("x")
        rig.controller.set_param("delay", "time", 456.0)
        tablet.drain(), patch.drain()
        tablet.send("/preset/load", "x")
        assert patch.until("/rig/slots").params == ["drive", "delay", "level"]
        assert patch.until("/rig/delay/time").params == [pytest.approx(123.0)]
        time.sleep(2.2)  # both silent for longer than the timeout
        tablet.drain(), patch.drain()  # what was sent before they expired
        rig.controller.set_param("level", "gain", -12.0)
        heard = {m.address for m in tablet.drain() + patch.drain()}
        assert "/rig/level/gain" not in heard
    finally:
        tablet.close()
        patch.close()
        rig.close()


def test_bundle_timetags_apply_at_the_block_they_fall_in(rig: Rig, client: Client) -> None:
    backend = rig.engine.backend
    assert isinstance(backend, OfflineBackend)
    block_seconds = 128 / 48000
    target_block = 40
    when = backend.epoch + (target_block + 0.5) * block_seconds
    builder = OscMessageBuilder("/rig/level/gain")
    builder.add_arg(-20.0, "f")
    bundle = OscBundleBuilder(when)
    bundle.add_content(builder.build())
    mute = OscMessageBuilder("/rig/delay/bypass")
    mute.add_arg(1, "i")
    bundle.add_content(mute.build())
    packets = rig.osc.packets
    client.send_raw(bundle.build().dgram)
    deadline = time.monotonic() + 2
    while rig.osc.packets == packets and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    level = rig.engine.slot("level")
    outputs = []
    while backend.frames_done < target_block * 128:
        outputs.append(rig.block(0.5))
        assert level.values["gain"] == 0.0, f"applied early, before block {len(outputs)}"
    outputs.append(rig.block(0.5))
    assert level.values["gain"] == -20.0
    assert rig.engine.slot("delay").bypass
    # The output starts falling in that very block (the gain ramps from there).
    before, at = outputs[-2], outputs[-1]
    assert before[-1, 0] == pytest.approx(before[0, 0])
    assert at[-1, 0] < at[0, 0] - 1e-3


def test_a_nested_immediate_bundle_applies_at_the_next_block(rig: Rig, client: Client) -> None:
    builder = OscMessageBuilder("/rig/level/gain")
    builder.add_arg(-6.0, "f")
    bundle = OscBundleBuilder(0)  # 0 = immediately
    bundle.add_content(builder.build())
    client.send_raw(bundle.build().dgram)
    assert client.ask("/rig/level/gain/get") == [pytest.approx(-6.0)]
    rig.block()
    assert rig.engine.slot("level").values["gain"] == -6.0



def test_replies_go_to_the_configured_reply_port(tmp_path: Path) -> None:
    """With [osc] reply_port set (clients whose send socket cannot receive, like Pd's
    netsend or Max's udpsend), replies and errors go to the sender's host at that port,
    not to the port the request came from."""
    listener = Client(0)
    rig = Rig(tmp_path, reply_port=listener.port)
    sender = Client(rig.osc.port)
    try:
        sender.send("/rig/delay/time/get")
        assert listener.until("/rig/delay/time").params == [pytest.approx(350.0)]
        sender.send("/rig/nope/gain", 1.0)
        assert listener.until("/error").params[0] == "/rig/nope/gain"
        with pytest.raises(OSError):  # nothing came back to the sending port
            sender.receive(timeout=0.3)
    finally:
        sender.close()
        listener.close()
        rig.close()


def test_a_model_symlink_out_of_the_model_folder_is_refused(tmp_path: Path) -> None:
    """A link in the model folder to a file elsewhere is refused like any outside path:
    the file behind it is never opened, and the rig keeps its model."""
    models, outside = tmp_path / "models", tmp_path / "outside"
    models.mkdir()
    outside.mkdir()
    secret = outside / "secret.nam"
    secret.write_text("{}")
    (models / "link.nam").symlink_to(secret)
    controller = offline_controller(tmp_path, f'[paths]\nmodels = ["{models}"]\n' + RIG)
    osc = OscFrontend(controller, OscSettings(port=0, host="127.0.0.1"))
    osc.start()
    client = Client(osc.port)
    try:
        before = secret.stat().st_atime_ns
        client.send("/rig/drive/model", "link.nam")
        error = client.until("/error").params
        assert error[0] == "/rig/drive/model" and "'link.nam' not found in" in error[1]
        assert client.ask("/rig/drive/model/get") == ["identity"]
        assert secret.stat().st_atime_ns == before
    finally:
        client.close()
        osc.stop()
        controller.engine.stop()
