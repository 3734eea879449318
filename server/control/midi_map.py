"""MIDI messages -> RigController calls (pure logic: no ports, no threads of its own).

``MidiMapper.handle(message)`` takes a ``mido.Message`` (``handle_bytes`` raw
bytes) and never raises: a message that cannot be applied is logged. The
MIDI frontend (``midi.py``) calls it from one thread; tests call it directly.

Channels: mido numbers them 0-15, the config 1-16 (``None`` is omni).

Control changes
    The mappings live in ``controller.midi`` (so presets save them) and are
    read on every message, because a preset load replaces them. A CC value
    0..127 becomes 0..1 and then a value between the mapping's ``min`` and
    ``max`` (default: the parameter's whole range) along its curve:

    * ``param``: the parameter's own curve (``ParamSpec.from_norm``; a log
      parameter stays logarithmic between ``min`` and ``max``);
    * ``linear``: ``min + x (max - min)``;
    * ``log``: ``min (max / min) ** x`` (``min`` and ``max`` positive;
      otherwise linear, with a warning);
    * ``exp``: slow at the bottom, fast near the top:
      ``(e^(k x) - 1) / (e^k - 1)`` of the way from ``min`` to ``max``, k = 4.

    ``mode = "relative"`` reads two's complement steps (1..63 = +n, 65..127 =
    -(128 - n), 0 and 64 nothing); one step is 1/127 of the mapping's range
    measured along its curve.

    14-bit pairs (``lsb = cc + 32``) combine to 0..16383. Senders send the MSB
    first, then the LSB (the MIDI 1.0 order). The MSB is applied as soon as it
    arrives, with the last LSB seen for that pair (so a coarse move lands at
    once and a controller that only sends MSBs still works); the LSB that
    follows refines it. An LSB that arrives before any MSB is only stored.

Expression pedal
    With ``settings.expression`` and nothing mapped to CC 11 (or CC 4), CC 11
    drives the ``gain`` of slot ``level`` (else of the last slot that has a
    ``gain``); a dB range that includes 0 dB stops at 0 dB (toe down = unity
    gain, never +24 dB). CC 4 drives the first neural slot's first control.
    These defaults are not stored in ``controller.midi`` (presets do not save
    them) and follow the rig when it changes.

MIDI learn
    ``controller.learn(slot, param)`` arms; the next CC on any channel becomes
    an absolute mapping on that channel (``controller.map_cc``), and its value
    is applied at once. ``controller.forget_cc`` removes a mapping.

Program change -> ``controller.load_preset(program)`` (the program-th preset
in sorted order) on ``settings.program_channel`` (None omni, 1-16, "none"
ignores them).

Notes (note_on / note_off, on ``settings.note_channel``) -> ``controller.note``
for every slot that plays notes.

Footswitches (``controller.midi.switches``): value >= 64 is a press.
``bypass`` + ``latching`` toggles the bypass on each press; ``momentary``
keeps the slot active while held and bypasses it on release. ``tap`` sets
the slot's ``time`` parameter from the interval between presses (the average
of the last 3 intervals; a gap longer than 2 s starts counting anew), in the
parameter's unit (ms or s).

Feedback
    A controller listener sends each parameter change that did not come from a
    mapping back out as that mapping's CC value (the inverse of the mapping;
    14-bit mappings send MSB then LSB), so LED rings and motor faders follow.
    The mapping that caused a change does not get it echoed. A latching
    bypass switch gets 127 (slot active) or 0 (bypassed). After a preset load
    every mapping is sent once. Values already sent (or just received) on a
    controller are not sent again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import mido

from ..control_config import CCMapping, MidiSettings, SwitchMapping
from ..engine.midi_io import CCRoute, Routes
from ..engine.params import ParamSpec
from ..errors import NeuralrigError
from .controller import RigController

log = logging.getLogger("neuralrig.midi")

EXPRESSION_CC = 11
EXPRESSION_2_CC = 4
EXP_K = 4.0
TAP_MAX_INTERVAL = 2.0  # seconds; a longer gap starts a new tap sequence
TAP_AVERAGE = 3  # intervals averaged
PRESSED = 64
SEVEN_BIT = 127
FOURTEEN_BIT = 16383

Send = Callable[[mido.Message], None]


@dataclass(frozen=True)
class SwitchOrigin:
    """The origin of a change a footswitch made (so it is not echoed to that switch)."""

    switch: SwitchMapping


def channel_matches(wanted: int | str | None, channel0: int) -> bool:
    """``wanted`` from the config (None omni, 1-16, "none") against a mido channel 0-15."""
    if wanted is None:
        return True
    if wanted == "none":
        return False
    return wanted == channel0 + 1


class Curve:
    """A mapping's 0..1 <-> value law between its min and max."""

    def __init__(self, mapping: CCMapping, spec: ParamSpec) -> None:
        self.spec = spec
        self.low = spec.minimum if mapping.minimum is None else mapping.minimum
        self.high = spec.maximum if mapping.maximum is None else mapping.maximum
        curve = mapping.curve
        if curve == "param":
            whole = mapping.minimum is None and mapping.maximum is None
            curve = "spec" if whole else spec.curve
        if curve == "log" and not (self.low > 0 and self.high > 0):
            log.warning("MIDI CC %d -> %s.%s: a log curve needs a positive min and max "
                        "(%g .. %g); using linear", mapping.cc, mapping.slot, mapping.param,
                        self.low, self.high)
            curve = "linear"
        self.kind = curve

    def value(self, x: float) -> float:
        x = min(1.0, max(0.0, x))
        if self.kind == "spec":
            return self.spec.from_norm(x)
        if self.kind == "log":
            return self.low * (self.high / self.low) ** x
        if self.kind == "exp":
            x = math.expm1(EXP_K * x) / math.expm1(EXP_K)
        return self.low + x * (self.high - self.low)

    def position(self, value: float) -> float:
        """The inverse: 0..1 for ``value`` (clamped to the mapping's range)."""
        if self.kind == "spec":
            return self.spec.to_norm(value)
        if self.kind == "log":
            x = math.log(max(value, 1e-30) / self.low) / math.log(self.high / self.low)
        else:
            span = self.high - self.low
            x = (value - self.low) / span if span else 0.0
            if self.kind == "exp":
                x = min(1.0, max(0.0, x))
                x = math.log1p(x * math.expm1(EXP_K)) / EXP_K
        return min(1.0, max(0.0, x))


class MidiMapper:
    """Applies MIDI messages to a RigController; sends feedback through ``send``."""

    def __init__(self, controller: RigController, settings: MidiSettings,
                 send: Send | None = None, clock: Callable[[], float] = time.monotonic,
                 publish_routes: Callable[[Routes], None] | None = None) -> None:
        self.controller = controller
        self.settings = settings
        self.send = send
        self.clock = clock
        self.publish_routes = publish_routes
        self.defaults: list[CCMapping] = []
        self._msb: dict[tuple[int, int], int] = {}  # (channel0, msb cc) -> last MSB
        self._lsb: dict[tuple[int, int], int] = {}  # (channel0, msb cc) -> last LSB
        self._taps: dict[str, deque[float]] = {}
        self._last_tap: dict[str, float] = {}
        self._sent: dict[tuple[int, int], int] = {}  # (channel0, cc) -> last value out/in
        self._sent_lock = threading.Lock()
        self._curves: dict[tuple[CCMapping, ParamSpec], Curve] = {}
        self._closed = False
        self._refresh_defaults()
        controller.add_listener(self._on_change)
        controller.add_rig_listener(self._on_rig)

    def close(self) -> None:
        """Stop listening to the controller."""
        self._closed = True
        self.controller.remove_listener(self._on_change)
        self.controller.remove_rig_listener(self._on_rig)

    def _on_rig(self) -> None:
        if not self._closed:
            self._refresh_defaults()

    # -- input ---------------------------------------------------------------
    def handle_bytes(self, data: Iterable[int], applied: tuple[CCRoute, ...] = (),
                     chain: object = None, played: bool = False) -> None:
        """Apply raw MIDI bytes; ``applied`` routes were already applied to ``chain``
        by the audio thread (see ``engine.midi_io``), and a ``played`` note played."""
        try:
            message = mido.Message.from_bytes(list(data))
        except (ValueError, TypeError) as exc:
            log.debug("ignored MIDI bytes %s: %s", _hex(data), exc)
            return
        self.handle(message, applied, chain, played)

    def handle(self, message: mido.Message, applied: tuple[CCRoute, ...] = (),
               chain: object = None, played: bool = False) -> None:
        """Apply one message; never raises."""
        try:
            self._gesture(message)
        except NeuralrigError as exc:
            log.warning("MIDI %s: %s", message, exc)
        try:
            kind = message.type
            if kind == "control_change":
                done = tuple(route.mapping for route in applied)
                self._control_change(message.channel, message.control, message.value,
                                     done, chain)
            elif kind == "program_change":
                self._program_change(message.channel, message.program)
            elif kind in ("note_on", "note_off"):
                velocity = message.velocity if kind == "note_on" else 0
                self._note(message.channel, message.note, velocity,
                           chain if played else None)
            else:
                log.debug("ignored MIDI %s", kind)
        except NeuralrigError as exc:
            log.warning("MIDI %s: %s", message, exc)
        except Exception:
            log.exception("MIDI %s failed", message)

    def _gesture(self, message: mido.Message) -> None:
        """Feed gesture mappings that listen to this controller (see control.mapper)."""
        mapper = getattr(self.controller, "mapper", None)
        if mapper is None or not mapper.mappings:
            return
        kind = message.type
        if kind == "control_change":
            where, values = f"cc/{{}}/{message.control}", (message.value / 127.0,)
        elif kind == "pitchwheel":
            where, values = "bend/{}", ((message.pitch + 8192) / 16383.0,)
        elif kind == "aftertouch":
            where, values = "aftertouch/{}", (message.value / 127.0,)
        elif kind == "note_on" and message.velocity > 0:
            where, values = "note/{}", (message.note / 127.0, message.velocity / 127.0)
        else:
            return
        for channel in (str(message.channel + 1), "omni"):
            source = "midi/" + where.format(channel)
            if mapper.listens_to(source):
                mapper.gesture(source, values)

    def _control_change(self, channel0: int, cc: int, value: int,
                        done: tuple[object, ...] = (), chain: object = None) -> None:
        with self._sent_lock:
            self._sent[(channel0, cc)] = value  # a motor fader is where it was moved to
        controller = self.controller
        target = controller.learn_target
        if target is not None:
            controller.learn_target = None
            mapping = CCMapping(cc=cc, slot=target[0], param=target[1], channel=channel0 + 1)
            controller.map_cc(mapping, origin=mapping)
            log.info("MIDI learn: CC %d on channel %d -> %s.%s", cc, channel0 + 1, *target)
        for switch in tuple(controller.midi.switches):
            if switch.cc == cc and channel_matches(switch.channel, channel0):
                self._switch(switch, value)
        for mapping in self._mappings():
            if not channel_matches(mapping.channel, channel0):
                continue
            if mapping.lsb is None:
                if mapping.cc != cc:
                    continue
                if mapping.mode == "relative":
                    self._relative(mapping, value)
                else:
                    self._apply(mapping, value / SEVEN_BIT, chain if mapping in done else None)
            elif cc == mapping.cc:
                key = (channel0, mapping.cc)
                self._msb[key] = value
                fine = (value << 7) | self._lsb.get(key, 0)
                self._apply(mapping, fine / FOURTEEN_BIT)
            elif cc == mapping.lsb:
                key = (channel0, mapping.cc)
                self._lsb[key] = value
                if key in self._msb:
                    fine = (self._msb[key] << 7) | value
                    self._apply(mapping, fine / FOURTEEN_BIT)

    def _apply(self, mapping: CCMapping, x: float, applied_to: object = None) -> None:
        curve = self._curve(mapping)
        self.controller.set_param(mapping.slot, mapping.param, curve.value(x), origin=mapping,
                                  applied_to=applied_to)

    def _relative(self, mapping: CCMapping, value: int) -> None:
        steps = value if value < 64 else value - 128  # 0 -> 0, 64 -> -64 (no move)
        if steps in (0, -64):
            return
        curve = self._curve(mapping)
        now = self.controller.value(mapping.slot, mapping.param)
        x = curve.position(now) + steps / SEVEN_BIT
        self.controller.set_param(mapping.slot, mapping.param, curve.value(x), origin=mapping)

    def _curve(self, mapping: CCMapping) -> Curve:
        spec = self.controller.spec(mapping.slot, mapping.param)
        key = (mapping, spec)
        curve = self._curves.get(key)
        if curve is None:
            if len(self._curves) > 256:
                self._curves.clear()
            curve = self._curves[key] = Curve(mapping, spec)
        return curve

    def _switch(self, switch: SwitchMapping, value: int) -> None:
        pressed = value >= PRESSED
        origin = SwitchOrigin(switch)
        if switch.mapping:
            self._mapping_switch(switch, pressed)
            return
        if switch.action == "tap":
            if pressed:
                self._tap(switch.slot, origin)
            return
        if switch.mode == "momentary":
            self.controller.set_bypass(switch.slot, not pressed, origin=origin)
        elif pressed:
            bypass = self.controller.slot(switch.slot).bypass
            self.controller.set_bypass(switch.slot, not bypass, origin=origin)

    def _mapping_switch(self, switch: SwitchMapping, pressed: bool) -> None:
        """A gesture mapping's loop from the floor: record (held, or toggled), take one
        example, train, run (held, or toggled). A release only ends a held action."""
        mapper = self.controller.mapper
        mapping = mapper.get(switch.mapping)  # ControlError (logged) if not declared
        if switch.action in ("record", "run"):
            now = mapping.recording if switch.action == "record" else mapping.running
            if switch.mode == "momentary":
                on = pressed
            elif pressed:
                on = not now
            else:
                return
            if switch.action == "record":
                count = mapper.record(switch.mapping, on)
                log.info("mapping '%s': recording %s (%d examples)", switch.mapping,
                         "on" if on else "off", count)
            else:
                mapper.run(switch.mapping, on)
                log.info("mapping '%s': %s", switch.mapping, "running" if on else "stopped")
        elif pressed and switch.action == "example":
            log.info("mapping '%s': example %d taken", switch.mapping,
                     mapper.example(switch.mapping))
        elif pressed and switch.action == "train":
            mapper.train(switch.mapping)
            log.info("mapping '%s': training on %d examples", switch.mapping,
                     mapping.data.count)

    def _tap(self, slot_id: str, origin: object) -> None:
        now = self.clock()
        last = self._last_tap.get(slot_id)
        self._last_tap[slot_id] = now
        intervals = self._taps.setdefault(slot_id, deque(maxlen=TAP_AVERAGE))
        if last is None or now - last > TAP_MAX_INTERVAL or now <= last:
            intervals.clear()
            return
        intervals.append(now - last)
        seconds = sum(intervals) / len(intervals)
        spec = self.controller.spec(slot_id, "time")
        value = seconds * 1000.0 if spec.unit == "ms" else seconds
        value = self.controller.set_param(slot_id, "time", value, origin=origin)
        log.debug("tap tempo %s.time = %g %s", slot_id, value, spec.unit)

    def _program_change(self, channel0: int, program: int) -> None:
        if not channel_matches(self.settings.program_channel, channel0):
            return
        name = self.controller.load_preset(program, origin=self)
        log.info("program change %d (channel %d): preset '%s'", program, channel0 + 1, name)

    def _note(self, channel0: int, note: int, velocity: int, played_on: object = None) -> None:
        if not channel_matches(self.settings.note_channel, channel0):
            return
        controller = self.controller
        for slot_id in controller.slot_ids():
            if controller.slot(slot_id).accepts_notes:
                controller.note(slot_id, note, velocity, origin=self, played_on=played_on)

    # -- mappings --------------------------------------------------------------
    def _mappings(self) -> list[CCMapping]:
        return [*self.controller.midi.cc, *self.defaults]

    def _refresh_defaults(self) -> None:
        """Work out the expression pedal mappings for the rig as it is now."""
        old = self.defaults
        new: list[CCMapping] = []
        if self.settings.expression:
            taken = {m.cc for m in self.controller.midi.cc}
            taken |= {m.lsb for m in self.controller.midi.cc if m.lsb is not None}
            taken |= {s.cc for s in self.controller.midi.switches}
            if EXPRESSION_CC not in taken:
                mapping = self._volume_pedal()
                if mapping is not None:
                    new.append(mapping)
            if EXPRESSION_2_CC not in taken:
                mapping = self._neural_pedal()
                if mapping is not None:
                    new.append(mapping)
        self.defaults = new
        if self.publish_routes is not None:
            self.publish_routes(self.routes())
        if new != old:
            for m in new:
                log.info("expression pedal: CC %d -> %s.%s (%g .. %g)", m.cc, m.slot, m.param,
                         *self._range(m))
            if not new and old:
                log.info("expression pedal: no default mappings")

    def _volume_pedal(self) -> CCMapping | None:
        controller = self.controller
        ids = controller.slot_ids()
        candidates = (["level"] if "level" in ids and "gain" in controller.slot("level").specs
                      else [s for s in ids if "gain" in controller.slot(s).specs][-1:])
        if not candidates:
            return None
        slot = candidates[0]
        spec = controller.spec(slot, "gain")
        top = 0.0 if spec.unit == "dB" and spec.minimum < 0.0 < spec.maximum else None
        return CCMapping(cc=EXPRESSION_CC, slot=slot, param="gain", maximum=top)

    def _neural_pedal(self) -> CCMapping | None:
        for slot_id in self.controller.slot_ids():
            view = self.controller.slot(slot_id)
            if view.type == "neural" and view.specs:
                return CCMapping(cc=EXPRESSION_2_CC, slot=slot_id, param=next(iter(view.specs)))
        return None

    def routes(self) -> Routes:
        """What the audio thread may apply by itself: absolute 7-bit CC mappings, each
        with its 128 values worked out here (14-bit and relative mappings keep state,
        so they stay on the MIDI thread)."""
        found: dict[tuple[int, int], list[CCRoute]] = {}
        for mapping in self._mappings():
            if mapping.lsb is not None or mapping.mode == "relative":
                continue
            try:
                spec = self.controller.spec(mapping.slot, mapping.param)
                curve = self._curve(mapping)
            except NeuralrigError:
                continue
            values = tuple(spec.clamp(curve.value(v / SEVEN_BIT)) for v in range(128))
            route = CCRoute(mapping.slot, mapping.param, values, mapping)
            channels = range(16) if mapping.channel is None else (mapping.channel - 1,)
            for channel0 in channels:
                found.setdefault((channel0, mapping.cc), []).append(route)
        return {key: tuple(routes) for key, routes in found.items()}

    def _range(self, mapping: CCMapping) -> tuple[float, float]:
        curve = self._curve(mapping)
        return curve.low, curve.high

    # -- feedback --------------------------------------------------------------
    def _on_change(self, address: str, args: tuple[Any, ...], origin: object) -> None:
        if address.startswith("/midi/"):
            if address in ("/midi/mapped", "/midi/forgot"):
                self._refresh_defaults()
            return
        if address == "/preset/loaded":
            self._refresh_defaults()
            self.send_all()
            return
        if self.send is None or not address.startswith("/rig/"):
            return
        parts = address.split("/")
        if len(parts) != 4 or not args:
            return
        slot_id, name = parts[2], parts[3]
        try:
            if name == "bypass":
                for switch in tuple(self.controller.midi.switches):
                    if (switch.slot == slot_id and switch.action == "bypass"
                            and switch.mode == "latching" and origin != SwitchOrigin(switch)):
                        self._out(switch.channel, switch.cc, 0 if args[0] else SEVEN_BIT)
                return
            for mapping in self._mappings():
                if mapping.slot == slot_id and mapping.param == name and mapping != origin:
                    self._feedback(mapping, float(args[0]))
        except Exception:  # feedback must never break the change that caused it
            log.exception("MIDI feedback for %s failed", address)

    def send_all(self) -> None:
        """Send every mapping's current value (after a preset load, or on connect)."""
        if self.send is None:
            return
        with self._sent_lock:
            self._sent.clear()
        for mapping in self._mappings():
            try:
                self._feedback(mapping, self.controller.value(mapping.slot, mapping.param))
            except NeuralrigError as exc:
                log.debug("no feedback for CC %d: %s", mapping.cc, exc)
        for switch in tuple(self.controller.midi.switches):
            if switch.action == "bypass" and switch.mode == "latching":
                try:
                    bypass = self.controller.slot(switch.slot).bypass
                except NeuralrigError:
                    continue
                self._out(switch.channel, switch.cc, 0 if bypass else SEVEN_BIT)

    def _feedback(self, mapping: CCMapping, value: float) -> None:
        x = self._curve(mapping).position(value)
        if mapping.lsb is None:
            self._out(mapping.channel, mapping.cc, round(x * SEVEN_BIT))
        else:
            fine = round(x * FOURTEEN_BIT)
            self._out(mapping.channel, mapping.cc, fine >> 7, force=True)
            self._out(mapping.channel, mapping.lsb, fine & 0x7F, force=True)

    def _out(self, channel: int | None, cc: int, value: int, force: bool = False) -> None:
        if self.send is None:
            return
        channel0 = 0 if channel is None else channel - 1
        key = (channel0, cc)
        with self._sent_lock:
            if not force and self._sent.get(key) == value:
                return
            self._sent[key] = value
        self.send(mido.Message("control_change", channel=channel0, control=cc, value=value))


def _hex(data: Iterable[int]) -> str:
    try:
        return " ".join(f"{b:02X}" for b in data)
    except (TypeError, ValueError):
        return repr(data)
