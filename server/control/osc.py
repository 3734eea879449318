"""The OSC frontend: one UDP socket, the address space of ``namespace``, replies and subscribers.

Every packet is parsed and answered on this frontend's own thread; changes go
through the RigController, which hands them to the audio thread without a lock.
A bundle's timetag travels with its messages, so the engine applies them at
the block that time falls in. Bad input is answered on ``/error`` (the
offending address and a reason) and logged, at a limited rate.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

from ..control_config import OscSettings
from ..errors import NeuralrigError
from .controller import ControlError, RigController
from .namespace import option_value

log = logging.getLogger("neuralrig.osc")

MAX_PACKET = 16384  # bytes; larger packets are refused, not parsed
METER_INTERVAL = 0.1  # seconds between meter sends to subscribers
Address = tuple[str, int]  # (host, port)


@dataclass
class Subscriber:
    target: Address  # where changes and meters go
    source: Address  # where the /subscribe came from (its changes are not echoed back)
    last_heard: float


class RateLimitedLog:
    """At most ``per_second`` lines a second; the rest are counted and summarised."""

    def __init__(self, per_second: int = 10) -> None:
        self.per_second = per_second
        self._window = 0.0
        self._count = 0
        self._suppressed = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._window >= 1.0:
            if self._suppressed:
                log.warning("(%d more OSC errors in the last second not shown)",
                            self._suppressed)
            self._window, self._count, self._suppressed = now, 0, 0
        if self._count < self.per_second:
            self._count += 1
            log.warning(message, *args)
        else:
            self._suppressed += 1


class OscFrontend:
    def __init__(self, controller: RigController, settings: OscSettings) -> None:
        self.controller = controller
        self.settings = settings
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self._sock.bind((settings.host, settings.port))
        except OSError as exc:
            self._sock.close()
            raise NeuralrigError(
                f"OSC: cannot listen on {settings.host}:{settings.port} ({exc.strerror}); "
                "is another neuralrig running? Set [osc] port in the rig config") from None
        self.port: int = self._sock.getsockname()[1]
        self._subscribers: dict[Address, Subscriber] = {}
        self._subs_lock = threading.Lock()  # control threads only
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors = RateLimitedLog()
        self._routes = self._global_routes()
        self._requesters: dict[str, Address] = {}  # mapping -> who asked it to train
        self.packets = 0
        self.errors = 0

    # -- life cycle ----------------------------------------------------------
    def start(self) -> None:
        self.controller.add_listener(self._on_change)
        self.controller.mapper.add_listener(self._on_mapper)
        self.controller.add_rig_listener(self._on_rig_change)
        for target, name in ((self._receive_loop, "osc-in"), (self._meter_loop, "osc-meters")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("OSC listening on udp %s:%d", self.settings.host, self.port)

    def stop(self) -> None:
        self._stop.set()
        self.controller.remove_listener(self._on_change)
        self.controller.remove_rig_listener(self._on_rig_change)
        with contextlib.suppress(OSError):  # wakes recvfrom
            self._sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._sock.close()

    # -- receiving -------------------------------------------------------------
    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(65536)
            except OSError:
                if self._stop.is_set():
                    return
                continue
            if self._stop.is_set():
                return
            sender = (sender[0], sender[1])
            self.packets += 1
            try:
                self.handle_packet(data, sender)
            except Exception:  # never let one packet end the frontend
                log.exception("OSC packet from %s:%d failed", *sender)

    def handle_packet(self, data: bytes, sender: Address) -> None:
        self._heard(sender)
        if len(data) > MAX_PACKET:
            self._error(sender, "/", f"packet of {len(data)} bytes is over {MAX_PACKET}")
            return
        if len(data) % 4:  # every OSC packet is a whole number of 32-bit words
            self._error(sender, "/", f"malformed OSC packet ({len(data)} bytes is not a "
                        "multiple of 4)")
            return
        try:
            messages = list(_messages(data, None))
        except Exception as exc:  # python-osc raises several types on garbage
            self._error(sender, "/", f"malformed OSC packet ({type(exc).__name__}: {exc})")
            return
        for at, message in messages:
            self._dispatch(message, sender, at)

    def _dispatch(self, message: OscMessage, sender: Address, at: float | None) -> None:
        address = message.address
        try:
            args = tuple(message.params)
        except Exception as exc:
            self._error(sender, address, f"cannot read arguments: {exc}")
            return
        try:
            handler = self._routes.get(address)
            if handler is not None:
                handler(args, sender, at)
            elif address.startswith("/rig/"):
                self._rig(address, args, sender, at)
            elif address.startswith("/map/"):
                self._map(address, args, sender)
            elif self.controller.mapper.listens_to(address):
                self.controller.mapper.gesture(address, _floats(args, address))
            else:
                raise ControlError(f"unknown address {address!r} (send /rig/get or browse "
                                   "OSCQuery for the namespace)")
        except (NeuralrigError, ValueError) as exc:
            self._error(sender, address, str(exc))

    # -- global addresses ------------------------------------------------------
    def _global_routes(self) -> dict[str, Callable[[tuple[Any, ...], Address, float | None],
                                                   None]]:
        c = self.controller
        return {
            "/status": lambda a, s, t: self._reply_pairs(s, "/status", c.status(), a),
            "/meters": lambda a, s, t: self._send_meters([self._reply_to(s)], a),
            "/subscribe": self._subscribe,
            "/unsubscribe": self._unsubscribe,
            "/preset/save": lambda a, s, t: self._reply(
                s, "/preset/saved", c.save_preset(_string(a, "/preset/save"), origin=s)),
            "/preset/load": self._preset_load,
            "/preset/list": lambda a, s, t: self._no_args(a, "/preset/list") or self._reply(
                s, "/preset/list", *c.preset_names()),
            "/midi/learn": self._learn,
            "/midi/forget": self._forget,
            "/rig/get": lambda a, s, t: self._no_args(a, "/rig/get") or self._send_rig(s),
            "/map/list": lambda a, s, t: self._no_args(a, "/map/list") or self._reply(
                s, "/map/list", *c.mapper.names()),
        }

    def _map(self, address: str, args: tuple[Any, ...], sender: Address) -> None:
        """/map/<name>/<action>: declare, record, train and run gesture mappings."""
        mapper = self.controller.mapper
        parts = address.split("/")[2:]
        if len(parts) != 2:
            raise ControlError(f"unknown address {address!r}: /map/<name>/<action>")
        name, action = parts
        base = f"/map/{name}"
        if action == "inputs":
            mapper.declare(name, inputs=list(_strings(args, len(args) or 1, address)))
            self._send_map(sender, name)
        elif action == "outputs":
            mapper.declare(name, outputs=list(_strings(args, len(args) or 1, address)))
            self._send_map(sender, name)
        elif action == "get":
            self._no_args(args, address)
            self._send_map(sender, name)
        elif action == "record":
            self._reply(sender, f"{base}/examples", mapper.record(name, _flag(args, address)))
        elif action == "example":
            self._no_args(args, address)
            self._reply(sender, f"{base}/examples", mapper.example(name))
        elif action == "clear":
            self._no_args(args, address)
            mapper.clear(name)
            self._reply(sender, f"{base}/examples", 0)
        elif action == "delete":
            (index,) = _ints(args, 1, address)
            self._reply(sender, f"{base}/examples", mapper.delete(name, index))
        elif action == "train":
            self._no_args(args, address)
            self._requesters[name] = self._reply_to(sender)
            mapper.train(name)
            self._reply(sender, f"{base}/training", mapper.get(name).data.count)
        elif action == "run":
            mapper.run(name, _flag(args, address))
            self._send_map(sender, name)
        elif action == "regressor":
            mapper.set_regressor(name, _string(args, address))
            self._send_map(sender, name)
        elif action == "smooth":
            mapper.set_smoothing(name, _number(args, address))
            self._send_map(sender, name)
        else:
            raise ControlError(f"unknown mapping action {action!r} (inputs, outputs, get, "
                               "record, example, clear, delete, train, run, regressor, "
                               "smooth)")

    def _send_map(self, sender: Address, name: str) -> None:
        info = self.controller.mapper.get(name).describe()
        error = info["validation_error"]
        self._reply(sender, f"/map/{name}", "inputs", *info["inputs"], "outputs",
                    *info["outputs"], "examples", info["examples"], "state", info["state"],
                    "regressor", info["regressor"], "validation_error",
                    -1.0 if error is None else float(error), "smooth", float(info["smooth"]),
                    "error", info["error"])

    def _on_mapper(self, address: str, args: tuple[Any, ...]) -> None:
        """Training progress and results: to every subscriber and to whoever asked."""
        targets = {sub.target for sub in self._live_subscribers()}
        name = address.split("/")[2]
        requester = self._requesters.get(name)
        if requester is not None:
            targets.add(requester)
            if not address.endswith("/progress"):
                self._requesters.pop(name, None)
        for target in targets:
            self._send(target, address, *args)

    def _learn(self, args: tuple[Any, ...], sender: Address, at: float | None) -> None:
        slot_id, param = _strings(args, 2, "/midi/learn")
        self.controller.learn(slot_id, param, origin=sender)
        self._reply(sender, "/midi/learning", slot_id, param)

    def _forget(self, args: tuple[Any, ...], sender: Address, at: float | None) -> None:
        slot_id, param = _strings(args, 2, "/midi/forget")
        self.controller.forget_cc(slot_id, param, origin=sender)
        self._reply(sender, "/midi/forgot", slot_id, param)

    def _preset_load(self, args: tuple[Any, ...], sender: Address, at: float | None) -> None:
        if len(args) != 1:
            raise ControlError("/preset/load takes one argument: a name (s) or number (i)")
        value = args[0]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ControlError("/preset/load takes a name (s) or a number (i)")
        self._reply(sender, "/preset/loaded", self.controller.load_preset(value, origin=sender))

    def _subscribe(self, args: tuple[Any, ...], sender: Address, at: float | None) -> None:
        target = self._port_target(args, sender, "/subscribe")
        with self._subs_lock:
            self._subscribers[target] = Subscriber(target, sender, time.monotonic())
        self._send(target, "/subscribed", int(self.settings.subscription_timeout))
        self._send_rig_to(target)

    def _unsubscribe(self, args: tuple[Any, ...], sender: Address, at: float | None) -> None:
        target = self._port_target(args, sender, "/unsubscribe")
        with self._subs_lock:
            self._subscribers.pop(target, None)
        self._send(target, "/unsubscribed", target[1])

    def _port_target(self, args: tuple[Any, ...], sender: Address, address: str) -> Address:
        if not args:
            return self._reply_to(sender)
        port = args[0]
        if len(args) != 1 or isinstance(port, bool) or not isinstance(port, int) \
                or not 1 <= port <= 65535:
            raise ControlError(f"{address} takes one port number (i, 1-65535) or nothing")
        return (sender[0], port)

    # -- /rig/... ----------------------------------------------------------------
    def _rig(self, address: str, args: tuple[Any, ...], sender: Address,
             at: float | None) -> None:
        c = self.controller
        parts = address.split("/")[2:]  # after "/rig"
        if len(parts) == 1 and parts[0] in ("input_gain", "output_gain"):
            value = _number(args, address)
            applied = c.set_gain(parts[0], value, at=at, origin=sender)
            self._check_range(sender, address, value, -60.0, 24.0, applied, " dB")
            return
        if len(parts) == 2 and parts[0] in ("input_gain", "output_gain") and parts[1] == "get":
            self._reply(sender, f"/rig/{parts[0]}", c.gains()[parts[0]])
            return
        if len(parts) < 2 or not parts[0]:
            raise ControlError(f"unknown address {address!r}")
        slot_id, rest = parts[0], parts[1:]
        view = c.slot(slot_id)
        base = f"/rig/{slot_id}"
        if rest == ["get"]:
            self._no_args(args, address)
            self._send_slot(self._reply_to(sender), slot_id)
        elif rest == ["bypass"]:
            c.set_bypass(slot_id, _flag(args, address), at=at, origin=sender)
        elif rest == ["mix"]:
            value = _number(args, address)
            applied = c.set_mix(slot_id, value, at=at, origin=sender)
            self._check_range(sender, address, value, 0.0, 1.0, applied)
        elif len(rest) == 1 and rest[0] in view.option_specs:
            if len(args) != 1:
                raise ControlError(f"{address} takes one argument")
            if rest[0] == "model":
                c.set_model(slot_id, args[0], origin=sender)
            else:
                c.set_option(slot_id, rest[0], args[0], origin=sender)
        elif rest == ["note"]:
            note, velocity = _ints(args, 2, address)
            c.note(slot_id, note, velocity, origin=sender)
        elif len(rest) == 2 and rest[1] == "get" and rest[0] in ("bypass", "mix"):
            self._no_args(args, address)
            self._reply(sender, f"{base}/{rest[0]}",
                        int(view.bypass) if rest[0] == "bypass" else view.mix)
        elif len(rest) == 2 and rest[1] == "get" and rest[0] in view.option_specs:
            self._no_args(args, address)
            self._reply(sender, f"{base}/{rest[0]}", option_value(view, rest[0]))
        elif len(rest) == 1:
            spec = c.spec(slot_id, rest[0])  # an unknown name is the first thing to report
            value = _number(args, address)
            applied = c.set_param(slot_id, rest[0], value, at=at, origin=sender)
            unit = f" {spec.unit}" if spec.unit else ""
            self._check_range(sender, address, value, spec.minimum, spec.maximum, applied,
                              unit)
        elif len(rest) == 2 and rest[1] == "norm":
            c.spec(slot_id, rest[0])
            value = _number(args, address)
            c.set_param(slot_id, rest[0], value, norm=True, at=at, origin=sender)
            self._check_range(sender, address, value, 0.0, 1.0, min(1.0, max(0.0, value)))
        elif len(rest) == 2 and rest[1] == "get":
            self._no_args(args, address)
            self._reply(sender, f"{base}/{rest[0]}", c.value(slot_id, rest[0]))
        else:
            raise ControlError(f"unknown address {address!r}")

    # -- replies and notifications ----------------------------------------------
    def _reply_to(self, sender: Address) -> Address:
        port = self.settings.reply_port
        return (sender[0], port) if port else sender

    def _reply(self, sender: Address, address: str, *args: Any) -> None:
        self._send(self._reply_to(sender), address, *args)

    def _reply_pairs(self, sender: Address, address: str, values: dict[str, Any],
                     args: tuple[Any, ...]) -> None:
        self._no_args(args, address)
        flat: list[Any] = []
        for key, value in values.items():
            if value is None:
                continue
            flat += [key, value]
        self._reply(sender, address, *flat)

    def _send(self, target: Address, address: str, *args: Any) -> None:
        try:
            self._sock.sendto(encode(address, args), target)
        except OSError as exc:  # an unreachable client must not stop the others
            log.debug("OSC send to %s:%d failed: %s", target[0], target[1], exc)

    def _send_slot(self, target: Address, slot_id: str) -> None:
        view = self.controller.slot(slot_id)
        base = f"/rig/{slot_id}"
        for name, value in view.values.items():
            self._send(target, f"{base}/{name}", value)
        self._send(target, f"{base}/bypass", int(view.bypass))
        self._send(target, f"{base}/mix", view.mix)
        for option in view.option_specs:
            self._send(target, f"{base}/{option}", option_value(view, option))

    def _send_rig(self, sender: Address) -> None:
        self._send_rig_to(self._reply_to(sender))

    def _send_rig_to(self, target: Address) -> None:
        self._send(target, "/rig/slots", *self.controller.slot_ids())
        for which, value in self.controller.gains().items():
            self._send(target, f"/rig/{which}", value)
        for slot_id in self.controller.slot_ids():
            self._send_slot(target, slot_id)

    def _on_change(self, address: str, args: tuple[Any, ...], origin: object) -> None:
        """Controller listener (any control thread): tell every live subscriber."""
        for sub in self._live_subscribers():
            if sub.source != origin and sub.target != origin:
                self._send(sub.target, address, *args)

    def _on_rig_change(self) -> None:
        """A preset or model swap changed the rig: every subscriber gets all of it again."""
        for sub in self._live_subscribers():
            self._send_rig_to(sub.target)

    def _check_range(self, sender: Address, address: str, value: float, lo: float,
                     hi: float, applied: float, unit: str = "") -> None:
        """A value outside its range was clamped (and applied): say so, as bad input."""
        slack = 1e-6 * (hi - lo)  # float32 rounding of a value at the edge is not an error
        if lo - slack <= value <= hi + slack:
            return
        self._error(sender, address, f"{value:g} is outside {lo:g}..{hi:g}{unit}: clamped to "
                    f"{applied:g}")

    def _error(self, sender: Address, address: str, reason: str) -> None:
        self.errors += 1
        self._errors.warning("OSC from %s:%d: %s: %s", sender[0], sender[1], address, reason)
        self._reply(sender, "/error", address, reason)

    @staticmethod
    def _no_args(args: tuple[Any, ...], address: str) -> None:
        if args:
            raise ControlError(f"{address} takes no arguments, got {len(args)}")

    # -- subscribers and meters ---------------------------------------------------
    def _heard(self, sender: Address) -> None:
        """Any packet from a subscriber's host and port keeps its subscription alive."""
        now = time.monotonic()
        with self._subs_lock:
            for sub in self._subscribers.values():
                if sub.source == sender:
                    sub.last_heard = now

    def _live_subscribers(self) -> list[Subscriber]:
        timeout = self.settings.subscription_timeout
        now = time.monotonic()
        with self._subs_lock:
            expired = [k for k, s in self._subscribers.items() if now - s.last_heard > timeout]
            for key in expired:
                del self._subscribers[key]
                log.info("OSC subscriber %s:%d expired (silent for %.0f s)", *key, timeout)
            return list(self._subscribers.values())

    def _meter_loop(self) -> None:
        while not self._stop.wait(METER_INTERVAL):
            targets = [s.target for s in self._live_subscribers()]
            if targets:
                try:
                    self._send_meters(targets, ())
                except Exception:
                    log.exception("meters failed")

    def _send_meters(self, targets: list[Address], args: tuple[Any, ...]) -> None:
        self._no_args(args, "/meters")
        meters = self.controller.meters()
        rows = [("input", meters["input"]), ("output", meters["output"])]
        rows += list(meters["slots"].items())
        for target in targets:
            for where, meter in rows:
                self._send(target, f"/meter/{where}", *meter["peak_db"], *meter["rms_db"])


# -- packet and argument helpers ----------------------------------------------------
def encode(address: str, args: tuple[Any, ...]) -> bytes:
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, bool):
            builder.add_arg(int(arg), "i")
        elif isinstance(arg, int):
            builder.add_arg(arg, "i" if -2**31 <= arg < 2**31 else "h")
        elif isinstance(arg, float):
            builder.add_arg(arg if math.isfinite(arg) else 0.0, "f")
        else:
            builder.add_arg(str(arg), "s")
    return builder.build().dgram


def _messages(data: bytes, at: float | None):
    """(timetag or None, message) for a packet; nested bundles keep their own timetags."""
    if OscBundle.dgram_is_bundle(data):
        bundle = OscBundle(data)
        stamp = bundle.timestamp
        own = None if stamp == osc_types.IMMEDIATELY else float(stamp)
        when = own if own is not None else at
        for content in bundle:
            if isinstance(content, OscBundle):
                yield from _messages(content.dgram, when)
            else:
                yield when, content
    elif OscMessage.dgram_is_message(data):
        yield at, OscMessage(data)
    else:
        raise ValueError("neither an OSC message nor a bundle")


def _number(args: tuple[Any, ...], address: str) -> float:
    if len(args) != 1:
        raise ControlError(f"{address} takes one number (f or i), got {len(args)} arguments")
    value = args[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(f"{address} takes a number (f or i), got {_type(value)}")
    if not math.isfinite(value):
        raise ControlError(f"{address}: value must be a finite number, got {value}")
    return float(value)


def _flag(args: tuple[Any, ...], address: str) -> bool:
    if len(args) != 1:
        raise ControlError(f"{address} takes one argument (i 0/1, f, T or F)")
    value = args[0]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value >= 0.5
    raise ControlError(f"{address} takes 0 or 1 (i, f, T or F), got {_type(value)}")


def _floats(args: tuple[Any, ...], address: str) -> tuple[float, ...]:
    """A gesture's numbers (floats, ints, or T/F as 1/0)."""
    if not args:
        raise ControlError(f"{address}: a gesture needs at least one number")
    out = []
    for value in args:
        if isinstance(value, (bool, int, float)):  # T/F count as 1/0
            out.append(float(value))
        else:
            raise ControlError(f"{address}: gesture values must be numbers, got "
                               f"{_type(value)}")
    return tuple(out)


def _string(args: tuple[Any, ...], address: str) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise ControlError(f"{address} takes one string (s)")
    return args[0]


def _strings(args: tuple[Any, ...], count: int, address: str) -> tuple[str, ...]:
    if len(args) != count or not all(isinstance(a, str) for a in args):
        raise ControlError(f"{address} takes {count} strings ({'s' * count})")
    return args


def _ints(args: tuple[Any, ...], count: int, address: str) -> tuple[int, ...]:
    if len(args) != count or not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)
            for a in args):
        raise ControlError(f"{address} takes {count} numbers ({'i' * count})")
    return tuple(int(a) for a in args)


def _type(value: Any) -> str:
    return {str: "a string (s)", bytes: "a blob (b)", type(None): "nil (N)"}.get(
        type(value), type(value).__name__)
