"""OSCQuery: the OSC address space as JSON over HTTP, and value streaming over a WebSocket.

Follows Vidvox's OSCQuery proposal. ``GET /`` answers the whole tree
(FULL_PATH, CONTENTS, TYPE, RANGE, UNIT, VALUE, ACCESS, DESCRIPTION, CLIPMODE),
``GET /rig/drive/drive`` one node, ``GET /rig/drive/drive?VALUE`` one attribute,
``GET /?HOST_INFO`` the server's name, OSC port and extensions. The tree is
built from ``namespace.entries``, the same description the OSC frontend
answers, so both always agree. Only GET is served, and a path is only ever
looked up in that tree: no files, no writes.

The same port speaks WebSocket (RFC 6455, the small server side written here
on the standard library). A client sends ``{"COMMAND": "LISTEN", "DATA":
"/rig/drive/drive"}`` (or ``IGNORE``); every change at a listened address
then arrives as a binary frame holding the OSC message. When the rig's
structure changes (a preset or model loads) every client gets
``{"COMMAND": "PATH_CHANGED", "DATA": "/rig"}`` and should fetch the tree
again. Changes are queued per client and written by that client's own
thread, so the controller's listener never blocks; a client whose queue
fills up (too slow, or gone) is dropped.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import math
import queue
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import NeuralrigError
from . import namespace
from .controller import ControlError, RigController
from .osc import encode

log = logging.getLogger("neuralrig.oscquery")

# neuralrig units -> the OSCQuery proposal's recommended UNIT strings (units.md);
# anything else (":1", "%", "step") passes through unchanged.
UNITS = {
    "dB": "gain.db",
    "ms": "time.ms",
    "s": "time.second",
    "Hz": "time.hz",
    "bpm": "time.bpm",
    "cents": "time.cents",
    "semitones": "time.midinote",  # pitch offsets share the note scale's step
    "deg": "angle.degree",
    "°": "angle.degree",
}
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "VALUE", "RANGE", "UNIT", "ACCESS",
              "DESCRIPTION", "CLIPMODE")
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "UNIT": True,
    "CLIPMODE": True, "TAGS": False, "EXTENDED_TYPE": False, "CRITICAL": False,
    "LISTEN": True, "PATH_CHANGED": True, "PATH_RENAMED": False, "PATH_ADDED": False,
    "PATH_REMOVED": False, "HTML": False, "OVERLOADS": False,
}
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 65536  # bytes a client message may have (LISTEN/IGNORE are tiny)
MAX_LISTENS = 4096  # addresses one client may listen to
MAX_CLIENTS = 64  # WebSocket clients at once
QUEUE_FRAMES = 2048  # frames queued per client before it counts as too slow and is dropped
SEND_TIMEOUT = 5.0  # seconds one frame may take to leave before the client is dropped
PING_INTERVAL = 20.0  # seconds of silence before the server pings (finds dead peers)
HTTP_IDLE_TIMEOUT = 15.0  # seconds an HTTP connection may sit idle


class OscQueryServer:
    """HTTP + WebSocket OSCQuery server for one rig. ``port`` is the bound port."""

    def __init__(self, controller: RigController, http_port: int, osc_port: int,
                 host: str = "0.0.0.0", name: str = "neuralrig") -> None:
        self.controller = controller
        self.osc_port = osc_port
        self.host = host
        self.name = name
        server_class = _Http6Server if ":" in host else _HttpServer
        try:
            self._http = server_class((host, http_port), _Handler)
        except OSError as exc:
            raise NeuralrigError(
                f"OSCQuery: cannot listen on {host}:{http_port} ({exc.strerror}); is another "
                "neuralrig running? Set [oscquery] port in the rig config") from None
        self._http.app = self
        self.port: int = self._http.server_address[1]
        self._lock = threading.Lock()  # guards the client and connection sets
        self._clients: set[_WsClient] = set()
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._stopped = False

    # -- life cycle -------------------------------------------------------------
    def start(self) -> None:
        self.controller.add_listener(self._on_change)
        self.controller.add_rig_listener(self._on_rig_change)
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={
            "poll_interval": 0.2}, name="oscquery-http", daemon=True)
        self._thread.start()
        log.info("OSCQuery on http/ws %s:%d (OSC on udp port %d)", self.host, self.port,
                 self.osc_port)

    def stop(self) -> None:
        self._stopped = True
        self.controller.remove_listener(self._on_change)
        self.controller.remove_rig_listener(self._on_rig_change)
        if self._thread is not None:
            self._http.shutdown()
        with self._lock:
            clients = list(self._clients)
            connections = list(self._connections)
            self._clients.clear()  # their handler threads may finish a little later
        for client in clients:
            client.drop("server stopping")
        for conn in connections:  # idle keep-alive connections wake up and end
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for client in clients:
            client.join(2.0)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    # -- the JSON description ----------------------------------------------------
    def tree(self) -> dict[str, Any]:
        """The whole namespace as an OSCQuery node tree (a fresh snapshot)."""
        root: dict[str, Any] = _container("/", self.name)
        for entry in namespace.entries(self.controller):
            node = root
            parts = entry.address.strip("/").split("/")
            for depth, part in enumerate(parts):
                contents = node.setdefault("CONTENTS", {})
                if part not in contents:
                    path = "/" + "/".join(parts[:depth + 1])
                    contents[part] = _container(path, self._container_description(path))
                node = contents[part]
            _describe(node, entry)
        return root

    def _container_description(self, path: str) -> str:
        parts = path.strip("/").split("/")
        if parts == ["rig"]:
            return "the effect chain: one container per slot, in signal order"
        if len(parts) == 2 and parts[0] == "rig":
            with contextlib.suppress(ControlError):
                return f"slot {parts[1]} ({self.controller.slot(parts[1]).type})"
        return ""

    def host_info(self, local_ip: str | None) -> dict[str, Any]:
        info: dict[str, Any] = {"NAME": self.name, "EXTENSIONS": dict(EXTENSIONS)}
        if self.osc_port:
            if local_ip:
                info["OSC_IP"] = local_ip
            info["OSC_PORT"] = self.osc_port
            info["OSC_TRANSPORT"] = "UDP"
        if local_ip:
            info["WS_IP"] = local_ip
        info["WS_PORT"] = self.port
        return info

    # -- WebSocket clients -----------------------------------------------------------
    def _add_client(self, client: _WsClient) -> bool:
        with self._lock:
            if self._stopped or len(self._clients) >= MAX_CLIENTS:
                return False
            self._clients.add(client)
            return True

    def _remove_client(self, client: _WsClient) -> None:
        with self._lock:
            self._clients.discard(client)

    def _on_change(self, address: str, args: tuple[Any, ...], origin: object) -> None:
        """Controller listener (any control thread): queue the change for listeners."""
        with self._lock:
            clients = list(self._clients)
        if not clients:
            return
        messages = [(address, args)]
        norm = self._norm_companion(address, args)
        if norm is not None:
            messages.append(norm)
        for addr, values in messages:
            targets = [c for c in clients if c.listens(addr)]
            if not targets:
                continue
            frame = ws_frame(OP_BINARY, encode(addr, values))
            for client in targets:
                client.send(frame)

    def _norm_companion(self, address: str, args: tuple[Any, ...]
                        ) -> tuple[str, tuple[Any, ...]] | None:
        """A parameter change also moves its /norm address (what a 0..1 fader listens to)."""
        parts = address.split("/")
        if len(parts) != 4 or parts[1] != "rig" or len(args) != 1:
            return None
        try:
            spec = self.controller.spec(parts[2], parts[3])
            return f"{address}/norm", (spec.to_norm(float(args[0])),)
        except (ControlError, TypeError, ValueError):
            return None

    def _on_rig_change(self) -> None:
        if self._stopped:
            return
        frame = ws_frame(OP_TEXT, json.dumps({"COMMAND": "PATH_CHANGED",
                                               "DATA": "/rig"}).encode())
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.send(frame)


# -- tree helpers ------------------------------------------------------------------------
def _container(path: str, description: str) -> dict[str, Any]:
    node: dict[str, Any] = {"FULL_PATH": path, "ACCESS": 0}
    if description:
        node["DESCRIPTION"] = description
    return node


def _describe(node: dict[str, Any], entry: namespace.Entry) -> None:
    """Fill a node with an Entry's attributes (a node may also be a container)."""
    node["DESCRIPTION"] = entry.description
    readable = entry.value is not None and bool(entry.access & namespace.READ)
    access = entry.access if readable else entry.access & namespace.WRITE
    node["ACCESS"] = access
    if not entry.types:
        return
    node["TYPE"] = entry.types
    if readable:
        try:
            node["VALUE"] = [_json_value(v) for v in entry.value()]  # type: ignore[misc]
        except Exception:  # a slot rebuilt under us: the value is omitted, not an error
            log.debug("no value for %s", entry.address, exc_info=True)
    if entry.minimum is not None or entry.maximum is not None:
        rng: dict[str, Any] = {}
        if entry.minimum is not None:
            rng["MIN"] = _number(entry.minimum, entry.types[0])
        if entry.maximum is not None:
            rng["MAX"] = _number(entry.maximum, entry.types[0])
        node["RANGE"] = [rng] + [{} for _ in entry.types[1:]]
        node["CLIPMODE"] = ["both"] + ["none" for _ in entry.types[1:]]
    if entry.unit:
        node["UNIT"] = [osc_unit(entry.unit)] + ["" for _ in entry.types[1:]]


def osc_unit(unit: str) -> str:
    """neuralrig's unit as OSCQuery's UNIT string, where the proposal names one."""
    return UNITS.get(unit, unit)


def _number(value: float, tag: str) -> float | int:
    return int(value) if tag == "i" else float(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def find(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node at an OSC path, or None."""
    if path in ("", "/"):
        return tree
    node = tree
    for part in path.strip("/").split("/"):
        contents = node.get("CONTENTS")
        if not part or contents is None or part not in contents:
            return None
        node = contents[part]
    return node


# -- OSC and WebSocket encoding ---------------------------------------------------------
def ws_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, unfragmented server frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class _WsClosed(Exception):
    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _WsClient:
    """One WebSocket connection: the handler thread reads, a writer thread sends."""

    def __init__(self, app: OscQueryServer, sock: socket.socket, rfile: Any, peer: str) -> None:
        self.app = app
        self.sock = sock
        self.rfile = rfile
        self.peer = peer
        self._listening: set[str] = set()
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_FRAMES)
        self._closed = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="oscquery-ws-out",
                                        daemon=True)

    # -- called from any thread ----------------------------------------------------
    def listens(self, address: str) -> bool:
        return address in self._listening

    def send(self, frame: bytes) -> None:
        """Queue a frame; never blocks. A client that cannot keep up is dropped."""
        if self._closed.is_set():
            return
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.drop(f"too slow ({QUEUE_FRAMES} frames queued)")

    def drop(self, why: str) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        log.info("OSCQuery client %s dropped: %s", self.peer, why)
        with contextlib.suppress(OSError):  # wakes the reader and a stuck writer
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def join(self, timeout: float) -> None:
        if self._writer.is_alive():
            self._writer.join(timeout)

    # -- the session (runs on the HTTP handler's thread) -------------------------------
    def run(self) -> None:
        self._writer.start()
        log.info("OSCQuery WebSocket client %s connected", self.peer)
        try:
            while not self._closed.is_set():
                opcode, payload = self._read_message()
                if opcode == OP_TEXT:
                    self._command(payload)
                elif opcode == OP_BINARY:
                    log.debug("OSCQuery %s: binary frame ignored (send OSC over UDP to "
                              "OSC_PORT)", self.peer)
                elif opcode == OP_PING:
                    self.send(ws_frame(OP_PONG, payload))
                elif opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000
                    raise _WsClosed(code, "client closed")
        except _WsClosed as closed:
            if not self._closed.is_set():
                self._send_close(closed.code)
                log.info("OSCQuery WebSocket client %s closed (%d %s)", self.peer,
                         closed.code, closed.reason)
        except OSError as exc:
            if not self._closed.is_set():
                log.info("OSCQuery WebSocket client %s gone (%s)", self.peer, exc)
        finally:
            self._closed.set()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self.app._remove_client(self)
            self._writer.join(timeout=SEND_TIMEOUT + 1.0)

    def _send_close(self, code: int) -> None:
        """Answer a close (or end with an error code): queued behind pending frames."""
        frame = ws_frame(OP_CLOSE, struct.pack("!H", code if code != 1005 else 1000))
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(frame)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._writer.join(timeout=SEND_TIMEOUT + 1.0)

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            raise OSError("connection closed by the client")
        return data

    def _read_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read_exact(2)
        if b0 & 0x70:
            raise _WsClosed(1002, "reserved bits set (no extensions were negotiated)")
        fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        if not masked:
            raise _WsClosed(1002, "client frames must be masked")
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        if opcode >= 0x8 and (n > 125 or not fin):
            raise _WsClosed(1002, "bad control frame")
        if n > MAX_MESSAGE:
            raise _WsClosed(1009, f"message over {MAX_MESSAGE} bytes")
        mask = self._read_exact(4)
        data = self._read_exact(n)
        if n:  # unmask: XOR with the key repeated, as one big integer (fast in Python)
            key = (mask * (n // 4 + 1))[:n]
            data = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
        return fin, opcode, data

    def _read_message(self) -> tuple[int, bytes]:
        """The next whole message; control frames come back as they arrive."""
        fin, opcode, data = self._read_frame()
        if opcode >= 0x8:
            if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
                raise _WsClosed(1002, f"unknown opcode {opcode}")
            return opcode, data
        if opcode == OP_CONT:
            raise _WsClosed(1002, "continuation frame without a start")
        if opcode not in (OP_TEXT, OP_BINARY):
            raise _WsClosed(1002, f"unknown opcode {opcode}")
        parts = [data]
        size = len(data)
        while not fin:
            last, op, more = self._read_frame()
            if op == OP_PING:
                self.send(ws_frame(OP_PONG, more))
                continue
            if op == OP_CLOSE:
                raise _WsClosed(1000, "client closed")
            if op == OP_PONG:
                continue
            if op != OP_CONT:
                raise _WsClosed(1002, "new message inside a fragmented one")
            size += len(more)
            if size > MAX_MESSAGE:
                raise _WsClosed(1009, f"message over {MAX_MESSAGE} bytes")
            parts.append(more)
            fin = last  # control frames between fragments do not end the message
        return opcode, b"".join(parts)

    def _command(self, payload: bytes) -> None:
        try:
            message = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if not payload.strip():
                return
            raise _WsClosed(1007, "text frames must be JSON") from None
        if not isinstance(message, dict):
            log.debug("OSCQuery %s: ignored %r", self.peer, message)
            return
        command, data = message.get("COMMAND"), message.get("DATA")
        if command not in ("LISTEN", "IGNORE"):
            log.debug("OSCQuery %s: unknown command %r ignored", self.peer, command)
            return
        if not isinstance(data, str) or not data.startswith("/") or len(data) > 512:
            log.debug("OSCQuery %s: %s needs an OSC address, got %r", self.peer, command, data)
            return
        if command == "LISTEN":
            if len(self._listening) < MAX_LISTENS:
                self._listening = self._listening | {data}  # swapped whole: readers never lock
        else:
            self._listening = self._listening - {data}

    # -- the writer thread ----------------------------------------------------------
    def _write_loop(self) -> None:
        # A send that cannot finish within SEND_TIMEOUT fails (the socket stays blocking
        # for the reader, so the timeout is set on the kernel side for sends only).
        with contextlib.suppress(OSError):
            secs = int(SEND_TIMEOUT)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                                 struct.pack("ll", secs, int((SEND_TIMEOUT - secs) * 1e6)))
        while True:
            try:
                frame = self._queue.get(timeout=PING_INTERVAL)
            except queue.Empty:
                frame = ws_frame(OP_PING, b"neuralrig")
            if frame is None:
                return
            try:
                self.sock.sendall(frame)
            except OSError as exc:
                self.drop(f"send failed ({exc})")
                return


# -- HTTP ------------------------------------------------------------------------------
class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    app: OscQueryServer


class _Http6Server(_HttpServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """GET only: the tree, one node, one attribute, HOST_INFO, or a WebSocket upgrade."""

    server: _HttpServer
    protocol_version = "HTTP/1.1"  # keep-alive: browsers fetch many nodes
    server_version = "neuralrig-oscquery"
    timeout = HTTP_IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        with self.server.app._lock:
            self.server.app._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.app._lock:
            self.server.app._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        app = self.server.app
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket(app)
            return
        url = urlsplit(self.path)
        path = unquote(url.path) or "/"
        attribute = url.query.split("&")[0].split("=")[0] if url.query else ""
        if attribute == "HOST_INFO":
            self._json(200, app.host_info(self._local_ip()))
            return
        node = find(app.tree(), path)
        if node is None:
            self._json(404, {"error": f"no OSC node at {path}"})
            return
        if not attribute:
            self._json(200, node)
        elif attribute not in ATTRIBUTES:
            self._json(400, {"error": f"unknown attribute {attribute!r} "
                                      f"(known: {', '.join(ATTRIBUTES)}, HOST_INFO)"})
        elif attribute not in node:
            self._empty(204)
        else:
            self._json(200, {attribute: node[attribute]})

    def _local_ip(self) -> str | None:
        try:
            ip = self.connection.getsockname()[0]
        except OSError:
            return None
        return ip[7:] if ip.startswith("::ffff:") else ip

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _websocket(self, app: OscQueryServer) -> None:
        key = self.headers.get("Sec-WebSocket-Key", "")
        connection = self.headers.get("Connection", "").lower()
        try:
            valid_key = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:  # binascii.Error
            valid_key = False
        if "upgrade" not in connection or not valid_key:
            self._json(400, {"error": "bad WebSocket handshake"})
            self.close_connection = True
            return
        if self.headers.get("Sec-WebSocket-Version", "") != "13":
            self.send_response(426)
            self.send_header("Sec-WebSocket-Version", "13")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True
            return
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        client = _WsClient(app, self.connection, self.rfile, peer)
        if not app._add_client(client):
            self._json(503, {"error": "too many WebSocket clients (or stopping)"})
            self.close_connection = True
            return
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", ws_accept(key))
        self.end_headers()
        self.connection.settimeout(None)  # sessions are long; the writer pings
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.close_connection = True
        client.run()
