"""OSCQuery over real HTTP and WebSocket on loopback, describing a rig on pyo's offline backend."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pythonosc.osc_message import OscMessage

from conftest import CONTROL_RIG as RIG
from conftest import offline_controller
from neuralrig.server.control import oscquery
from neuralrig.server.control.oscquery import OscQueryServer

OSC_PORT = 9123  # only reported in HOST_INFO; nothing listens on it here


class Rig:
    def __init__(self, folder: Path) -> None:
        self.controller = offline_controller(folder, RIG)
        self.engine = self.controller.engine
        self.server = OscQueryServer(self.controller, 0, OSC_PORT, host="127.0.0.1",
                                     name="test rig")
        self.server.start()
        self.base = f"http://127.0.0.1:{self.server.port}"

    def close(self) -> None:
        self.server.stop()
        self.engine.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.close()


def get(rig: Rig, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(rig.base + path, timeout=5) as reply:
            body = reply.read()
            status = reply.status
            assert status == 204 or reply.headers["Content-Type"] == "application/json"
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    return status, (json.loads(body) if body else None)


def node(tree: dict[str, Any], path: str) -> dict[str, Any]:
    for part in path.strip("/").split("/"):
        tree = tree["CONTENTS"][part]
    return tree


class WsClient:
    """A minimal RFC 6455 client: masked frames out, unmasked frames in."""

    def __init__(self, port: int, path: str = "/") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "server closed during the handshake"
            head += chunk
        lines = head.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines[0]
        headers = {k.lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line)}
        expected = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert headers["sec-websocket-accept"] == expected

    def send_frame(self, opcode: int, payload: bytes, masked: bool = True,
                   fin: bool = True) -> None:
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        mask_bit = 0x80 if masked else 0
        if n < 126:
            header = struct.pack("!BB", first, mask_bit | n)
        else:
            header = struct.pack("!BBH", first, mask_bit | 126, n)
        if masked:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            header += key
        self.sock.sendall(header + payload)

    def command(self, command: str, data: str) -> None:
        self.send_frame(0x1, json.dumps({"COMMAND": command, "DATA": data}).encode())

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def receive(self, timeout: float = 5.0) -> tuple[int, bytes]:
        self.sock.settimeout(timeout)
        b0, b1 = self._exact(2)
        assert not b1 & 0x80, "server frames are never masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._exact(8))[0]
        return b0 & 0x0F, self._exact(n)

    def receive_osc(self, timeout: float = 5.0) -> OscMessage:
        opcode, payload = self.receive(timeout)
        assert opcode == 0x2, (opcode, payload)
        return OscMessage(payload)

    def close(self) -> None:
        self.sock.close()


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# -- the HTTP side -----------------------------------------------------------------------
def test_tree_describes_every_slot_parameter(rig: Rig) -> None:
    status, tree = get(rig, "/")
    assert status == 200
    assert tree["FULL_PATH"] == "/"
    assert set(tree["CONTENTS"]["rig"]["CONTENTS"]) >= {"drive", "delay", "level",
                                                        "input_gain", "output_gain"}
    count = 0
    for slot_id in rig.controller.slot_ids():
        view = rig.controller.slot(slot_id)
        slot_node = node(tree, f"/rig/{slot_id}")
        assert slot_node["FULL_PATH"] == f"/rig/{slot_id}"
        assert "CONTENTS" in slot_node
        for name, spec in view.specs.items():
            n = node(tree, f"/rig/{slot_id}/{name}")
            assert n["FULL_PATH"] == f"/rig/{slot_id}/{name}"
            assert n["TYPE"] == "f"
            assert n["ACCESS"] == 3
            assert n["RANGE"] == [{"MIN": spec.minimum, "MAX": spec.maximum}]
            assert n["VALUE"] == [pytest.approx(view.values[name])]
            assert n["CLIPMODE"] == ["both"]
            assert n["DESCRIPTION"]
            if spec.unit:
                assert n["UNIT"] == [oscquery.osc_unit(spec.unit)]
            else:
                assert "UNIT" not in n
            norm = n["CONTENTS"]["norm"]
            assert norm["RANGE"] == [{"MIN": 0.0, "MAX": 1.0}]
            assert norm["VALUE"] == [pytest.approx(spec.to_norm(view.values[name]))]
            count += 1
        bypass = node(tree, f"/rig/{slot_id}/bypass")
        assert (bypass["TYPE"], bypass["RANGE"], bypass["VALUE"]) == (
            "i", [{"MIN": 0, "MAX": 1}], [0])
    assert count >= 3
    # neuralrig units map to the proposal's names
    assert node(tree, "/rig/delay/time")["UNIT"] == ["time.ms"]
    assert node(tree, "/rig/delay/time")["VALUE"] == [350.0]
    assert node(tree, "/rig/level/gain")["UNIT"] == ["gain.db"]
    assert node(tree, "/rig/input_gain")["UNIT"] == ["gain.db"]
    # a write-only trigger has no VALUE; a string method has no RANGE
    assert node(tree, "/preset/save") == {
        "FULL_PATH": "/preset/save", "ACCESS": 2, "TYPE": "s",
        "DESCRIPTION": node(tree, "/preset/save")["DESCRIPTION"]}
    assert node(tree, "/rig/drive/model")["TYPE"] == "s"
    assert node(tree, "/rig/drive/model")["VALUE"] == ["identity"]


def test_unit_mapping() -> None:
    assert oscquery.osc_unit("dB") == "gain.db"
    assert oscquery.osc_unit("ms") == "time.ms"
    assert oscquery.osc_unit("Hz") == "time.hz"
    assert oscquery.osc_unit("s") == "time.second"
    assert oscquery.osc_unit(":1") == ":1"  # no OSCQuery name: passed through
    assert oscquery.osc_unit("%") == "%"


def test_node_and_attribute_queries(rig: Rig) -> None:
    status, n = get(rig, "/rig/delay/time")
    assert status == 200 and n["FULL_PATH"] == "/rig/delay/time" and n["VALUE"] == [350.0]
    assert get(rig, "/rig/delay/time/")[1]["FULL_PATH"] == "/rig/delay/time"
    assert get(rig, "/rig/delay/time?VALUE") == (200, {"VALUE": [350.0]})
    rig.controller.set_param("delay", "time", 500.0)
    assert get(rig, "/rig/delay/time?VALUE") == (200, {"VALUE": [500.0]})
    spec = rig.controller.spec("delay", "time")
    assert get(rig, "/rig/delay/time?RANGE") == (
        200, {"RANGE": [{"MIN": spec.minimum, "MAX": spec.maximum}]})
    assert get(rig, "/rig/delay/time?TYPE") == (200, {"TYPE": "f"})
    assert get(rig, "/rig/delay/time?UNIT") == (200, {"UNIT": ["time.ms"]})
    assert get(rig, "/rig/delay/time?ACCESS") == (200, {"ACCESS": 3})
    assert get(rig, "/rig/delay?FULL_PATH") == (200, {"FULL_PATH": "/rig/delay"})
    assert "time" in get(rig, "/rig/delay?CONTENTS")[1]["CONTENTS"]
    # a write-only method has no value: 204; an attribute nobody defines: 400
    assert get(rig, "/preset/save?VALUE") == (204, None)
    assert get(rig, "/rig/delay/time?GABBAGABBAHEY")[0] == 400
    # percent-encoded paths are decoded before the lookup
    assert get(rig, "/rig/%64elay/time?VALUE") == (200, {"VALUE": [500.0]})


def test_unknown_paths_and_methods(rig: Rig) -> None:
    for path in ("/nope", "/rig/nothere", "/rig/delay/time/extra", "/rig//delay",
                 "/../etc/passwd", "/rig/delay/time/norm/x?VALUE"):
        assert get(rig, path)[0] == 404, path
    request = urllib.request.Request(rig.base + "/rig/delay/time", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 501


def test_host_info(rig: Rig) -> None:
    status, info = get(rig, "/?HOST_INFO")
    assert status == 200
    assert info["NAME"] == "test rig"
    assert info["OSC_PORT"] == OSC_PORT
    assert info["OSC_TRANSPORT"] == "UDP"
    assert info["OSC_IP"] == "127.0.0.1"
    assert info["WS_IP"] == "127.0.0.1"
    assert info["WS_PORT"] == rig.server.port
    for ext in ("ACCESS", "VALUE", "RANGE", "DESCRIPTION", "UNIT", "LISTEN", "PATH_CHANGED"):
        assert info["EXTENSIONS"][ext] is True, ext


def test_keep_alive_serves_several_requests_on_one_connection(rig: Rig) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", rig.server.port, timeout=5)
    for path in ("/rig/delay/time?VALUE", "/rig/level/gain?UNIT", "/nope"):
        conn.request("GET", path)
        reply = conn.getresponse()
        reply.read()
        assert reply.status in (200, 404)
    conn.close()


# -- the WebSocket side -------------------------------------------------------------------
def test_listen_streams_changes_as_osc_and_ignore_stops_them(rig: Rig) -> None:
    ws = WsClient(rig.server.port)
    try:
        assert wait_for(lambda: rig.server.clients == 1)
        ws.command("LISTEN", "/rig/delay/time")
        ws.command("LISTEN", "/rig/delay/time/norm")
        ws.command("LISTEN", "/rig/level/gain")
        # commands and changes race: ping first, the pong proves LISTEN was read
        ws.send_frame(0x9, b"sync")
        assert ws.receive() == (0xA, b"sync")
        rig.controller.set_param("delay", "time", 480.0)
        msg = ws.receive_osc()
        assert msg.address == "/rig/delay/time"
        assert msg.params == [pytest.approx(480.0)]
        msg = ws.receive_osc()
        assert msg.address == "/rig/delay/time/norm"
        spec = rig.controller.spec("delay", "time")
        assert msg.params == [pytest.approx(spec.to_norm(480.0), abs=1e-6)]
        # the value is clamped by the controller and streamed as applied
        rig.controller.set_param("level", "gain", 1e6)
        msg = ws.receive_osc()
        assert (msg.address, msg.params) == (
            "/rig/level/gain", [pytest.approx(rig.controller.spec("level", "gain").maximum)])
        # not listened: nothing is sent for it
        rig.controller.set_mix("delay", 0.5)
        ws.command("IGNORE", "/rig/delay/time")
        ws.command("IGNORE", "/rig/delay/time/norm")
        ws.send_frame(0x9, b"sync2")
        assert ws.receive() == (0xA, b"sync2")
        rig.controller.set_param("delay", "time", 200.0)  # ignored now
        rig.controller.set_param("level", "gain", -3.0)  # still listened
        msg = ws.receive_osc()
        assert (msg.address, msg.params) == ("/rig/level/gain", [pytest.approx(-3.0)])
    finally:
        ws.close()
    assert wait_for(lambda: rig.server.clients == 0)


def test_path_changed_after_preset_load_and_model_swap(rig: Rig) -> None:
    ws = WsClient(rig.server.port)
    try:
        rig.controller.save_preset("clean")
        rig.controller.load_preset("clean")
        opcode, payload = ws.receive()
        assert opcode == 0x1
        assert json.loads(payload) == {"COMMAND": "PATH_CHANGED", "DATA": "/rig"}
        rig.controller.set_model("drive", "identity")
        opcode, payload = ws.receive()
        assert (opcode, json.loads(payload)) == (
            0x1, {"COMMAND": "PATH_CHANGED", "DATA": "/rig"})
        # the tree a client fetches after PATH_CHANGED is the new rig's
        assert get(rig, "/rig/drive/model?VALUE") == (200, {"VALUE": ["identity"]})
    finally:
        ws.close()


def test_two_clients_each_get_their_own_stream(rig: Rig) -> None:
    a, b = WsClient(rig.server.port), WsClient(rig.server.port)
    try:
        a.command("LISTEN", "/rig/delay/mix")
        b.command("LISTEN", "/rig/delay/bypass")
        for ws in (a, b):
            ws.send_frame(0x9, b"s")
            assert ws.receive() == (0xA, b"s")
        rig.controller.set_mix("delay", 0.25)
        rig.controller.set_bypass("delay", True)
        msg = a.receive_osc()
        assert (msg.address, msg.params) == ("/rig/delay/mix", [0.25])
        msg = b.receive_osc()
        assert (msg.address, msg.params) == ("/rig/delay/bypass", [1])
    finally:
        a.close()
        b.close()


def test_fragmented_text_message_and_close_handshake(rig: Rig) -> None:
    ws = WsClient(rig.server.port)
    text = json.dumps({"COMMAND": "LISTEN", "DATA": "/rig/delay/mix"}).encode()
    ws.send_frame(0x1, text[:10], fin=False)
    ws.send_frame(0x9, b"mid")  # a control frame may arrive between fragments
    ws.send_frame(0x0, text[10:])
    assert ws.receive() == (0xA, b"mid")
    ws.send_frame(0x9, b"sync")
    assert ws.receive() == (0xA, b"sync")
    rig.controller.set_mix("delay", 0.75)
    assert ws.receive_osc().address == "/rig/delay/mix"
    ws.send_frame(0x8, struct.pack("!H", 1000))
    opcode, payload = ws.receive()
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1000
    assert wait_for(lambda: rig.server.clients == 0)
    ws.close()


def test_protocol_errors_close_the_connection(rig: Rig) -> None:
    ws = WsClient(rig.server.port)
    ws.send_frame(0x1, b'{"COMMAND": "LISTEN"}', masked=False)  # clients must mask
    opcode, payload = ws.receive()
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002
    assert wait_for(lambda: rig.server.clients == 0)
    ws.close()
    # nonsense commands are ignored, not fatal
    ws = WsClient(rig.server.port)
    ws.send_frame(0x1, b'{"COMMAND": "DANCE", "DATA": 3}')
    ws.send_frame(0x1, b'["not", "an", "object"]')
    ws.command("LISTEN", "no-slash")
    ws.send_frame(0x9, b"alive")
    assert ws.receive() == (0xA, b"alive")
    ws.close()


def test_bad_handshakes_are_refused(rig: Rig) -> None:
    for headers, code in (
            ({"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "short",
              "Sec-WebSocket-Version": "13"}, 400),
            ({"Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": base64.b64encode(b"k" * 16).decode(),
              "Sec-WebSocket-Version": "8"}, 426)):
        conn = http.client.HTTPConnection("127.0.0.1", rig.server.port, timeout=5)
        conn.request("GET", "/", headers=headers)
        assert conn.getresponse().status == code
        conn.close()
    assert rig.server.clients == 0


def test_a_client_that_stops_reading_is_dropped(rig: Rig, monkeypatch) -> None:
    monkeypatch.setattr(oscquery, "QUEUE_FRAMES", 8)
    ws = WsClient(rig.server.port)
    try:
        ws.command("LISTEN", "/rig/delay/time")
        ws.send_frame(0x9, b"s")
        assert ws.receive() == (0xA, b"s")
        # the listener (what the controller calls) returns although ws never reads;
        # once the socket buffers and the queue are full, the client is dropped
        big = ("x" * 60000,)
        calls = 0
        while rig.server.clients == 1 and calls < 20000:
            rig.server._on_change("/rig/delay/time", big, None)
            calls += 1
        assert wait_for(lambda: rig.server.clients == 0), calls
        # the dropped client reads what was already sent, then its connection ends
        with pytest.raises((ConnectionError, OSError)):
            while True:
                ws.receive()
    finally:
        ws.close()
    # a new client streams as usual
    fresh = WsClient(rig.server.port)
    try:
        fresh.command("LISTEN", "/rig/delay/time")
        fresh.send_frame(0x9, b"s")
        assert fresh.receive() == (0xA, b"s")
        rig.controller.set_param("delay", "time", 123.0)
        msg = fresh.receive_osc()
        assert (msg.address, msg.params) == ("/rig/delay/time", [pytest.approx(123.0)])
    finally:
        fresh.close()


def test_stop_ends_open_connections(tmp_path: Path) -> None:
    r = Rig(tmp_path)
    ws = WsClient(r.server.port)
    idle = http.client.HTTPConnection("127.0.0.1", r.server.port, timeout=5)
    idle.request("GET", "/?HOST_INFO")
    idle.getresponse().read()  # kept alive, idle
    try:
        assert wait_for(lambda: r.server.clients == 1)
        r.server.stop()
        assert r.server.clients == 0
        with pytest.raises((ConnectionError, OSError)):
            ws.receive()  # the server's close reaches the client
        r.controller.save_preset("after")
        r.controller.load_preset("after")  # a stopped server ignores rig changes
    finally:
        ws.close()
        idle.close()
        r.engine.stop()
