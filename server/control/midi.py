"""The MIDI frontend: ports, auto-connection to devices, and the MIDI thread.

``MidiFrontend(controller, settings).start()`` opens an output port named
``settings.port_name`` (through mido's rtmidi backend) and takes input from one
of two places, on JACK MIDI (``api = "jack"``), ALSA sequencer (``"alsa"``) or,
with ``"auto"``, JACK when a JACK server runs and ALSA otherwise:

* the audio engine's own JACK client, when the engine runs on JACK with MIDI
  (``neuralrig serve`` under JACK: port ``neuralrig:midi_in``). A mapped CC is
  then applied by the audio thread in the block it arrives in
  (``engine.midi_io``); everything else comes to the MIDI thread from there;
* otherwise a python-rtmidi input port of its own (under JACK on client
  ``<port_name>-midi-in``, port ``in``), so MIDI also works beside the offline or
  PortAudio backends.

When the API cannot be used (no JACK server, no /dev/snd/seq, not compiled into
python-rtmidi) it logs a warning and the daemon runs without MIDI.

Under JACK the output lives on client ``<port_name>-midi-out`` (port ``out``).
python-rtmidi's ports must be opened before the audio engine starts
(``open_ports()``): a JACK client that python-rtmidi opens while pyo's client
runs in the same process stalls the audio for about a second. So under JACK
nothing new is ever opened later: a small ctypes client (``JackMonitor``, which
releases the GIL) lists the MIDI ports and connects matching sources to our
input and our output to matching destinations.

Under ALSA, python-rtmidi cannot connect two arbitrary ports, but opening a
numbered port makes RtMidi create a port of its own and connect it to that
one. So every source port whose name matches a ``settings.connect`` pattern
gets an input of its own (an ALSA port named after ``port_name``), and every
destination port matching ``settings.feedback`` gets an output that receives
the parameter echoes. A background thread
rescans about once a second: a device plugged in later is connected, and
the input of a device that went away is closed (so replugging it works).
Patterns are fnmatch patterns, matched without regard to case against the
names python-rtmidi lists (JACK: ``client:port``; ALSA: ``client:port 20:0``).
Our own ports (clients named ``port_name``, or ``port_name-NN`` as JACK
renames duplicates) are never connected, and neither is ALSA's "Midi Through"
unless a pattern names it (it would loop our echoes back as input).

Threads. With the engine's input, the audio thread queues every event and the
"neuralrig-midi" thread takes them every 2 ms. With a python-rtmidi input under
JACK no Python callback is set: one would run in the MIDI client's real-time
process thread and take the GIL there. A poll thread reads RtMidi's lock-free
queue every 2 ms instead. Under ALSA the callback (on RtMidi's own thread) only
queues the message. Either way one "neuralrig-midi" thread takes messages in
order and applies them through ``MidiMapper`` (a preset load can take a while).
Nothing here raises into a callback: bad MIDI is logged at debug level and
dropped.
"""

from __future__ import annotations

import fnmatch
import logging
import queue
import re
import threading
import time
from typing import Any

import mido

from ..control_config import MidiSettings
from ..engine.midi_io import EngineMidi, Routes
from .controller import RigController
from .midi_map import MidiMapper, channel_matches

log = logging.getLogger("neuralrig.midi")

RESCAN_INTERVAL = 1.0  # seconds
POLL_INTERVAL = 0.002  # seconds between reads of the JACK input queue (under a block)
_BACKENDS = {"jack": "UNIX_JACK", "alsa": "LINUX_ALSA"}
_PORT_LABEL = re.compile(r"[^A-Za-z0-9 ._()-]+")


class MidiFrontend:
    """MIDI in and out for a RigController; ``start()`` / ``stop()`` from the main thread."""

    def __init__(self, controller: RigController | None, settings: MidiSettings,
                 rescan_interval: float = RESCAN_INTERVAL) -> None:
        self.controller = controller
        self.settings = settings
        self.rescan_interval = rescan_interval
        self.api: str | None = None  # "jack" or "alsa" once running
        self.mapper: MidiMapper | None = None
        self._rtmidi: Any = None
        self._rtapi: int | None = None
        self._vin: Any = None
        self._vout: Any = None
        self._scan_in: Any = None
        self._scan_out: Any = None
        self._inputs: dict[str, Any] = {}  # source port name -> rtmidi.MidiIn (JACK: None)
        self._outputs: dict[str, Any] = {}  # destination port name -> rtmidi.MidiOut (JACK: None)
        self._patchbay: Any = None  # JACK: the ctypes client that lists and connects ports
        self.port_names: tuple[str, str] = ("", "")  # our input and output, full names
        self._failed: set[str] = set()  # ports that would not open (warned once)
        self._lock = threading.RLock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._engine_midi: EngineMidi | None = None  # MIDI on the audio engine's client

    # -- life cycle ----------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.api is not None

    def open_ports(self, with_input: bool = True) -> bool:
        """Open our virtual ports; under JACK call this before the audio engine starts.

        ``with_input=False`` opens the output only: the audio engine's JACK client
        takes the input (``engine.midi_io``). False (with a warning) if MIDI is off or
        unavailable. ``start()`` calls it when it has not been called.
        """
        if self._vout is not None:
            return True
        settings = self.settings
        if not settings.enabled:
            log.info("MIDI is off ([midi] enabled = false)")
            return False
        try:
            import rtmidi
        except ImportError:
            log.warning("MIDI is off: python-rtmidi is not installed")
            return False
        api = self._choose_api()
        rtapi = rtmidi.API_UNIX_JACK if api == "jack" else rtmidi.API_LINUX_ALSA
        if rtapi not in rtmidi.get_compiled_api():
            log.warning("MIDI is off: python-rtmidi was built without %s support",
                        api.upper())
            return False
        self._rtmidi, self._rtapi = rtmidi, rtapi
        name = settings.port_name
        jack = api == "jack"
        clients = (f"{name}-midi-in", f"{name}-midi-out") if jack else (name, name)
        ports = ("in", "out") if jack else (name, name)
        try:
            before = set(self._open_patchbay().ports(type_pattern="midi")) if jack else set()
            if with_input:
                # The input is rtmidi's own: mido's input callback drops a message it
                # cannot parse without a word, and bad MIDI should leave a debug line.
                self._vin = rtmidi.MidiIn(rtapi, clients[0], queue_size_limit=4096)
                self._vin.ignore_types(sysex=False, timing=True, active_sense=True)
                if not jack:  # under JACK a callback would take the GIL in JACK's RT thread
                    self._vin.set_callback(self._on_raw)
                self._vin.open_virtual_port(ports[0])
            backend = mido.Backend(f"mido.backends.rtmidi/{_BACKENDS[api]}", load=True)
            self._vout = backend.open_output(ports[1], virtual=True, client_name=clients[1])
            if jack:
                self.port_names = self._own_jack_ports(before, ports, with_input)
            else:
                self._scan_in = rtmidi.MidiIn(rtapi, name)
                self._scan_out = rtmidi.MidiOut(rtapi, name)
        except Exception as exc:  # rtmidi raises SystemError (an OSError) and others
            log.warning("MIDI is off: cannot open %s MIDI ports: %s", api.upper(), exc)
            self._close_ports()
            return False
        self.api = api
        return True

    def _open_patchbay(self) -> Any:
        from ..audio.jack_client import JackMonitor

        if self._patchbay is None:
            self._patchbay = JackMonitor(f"{self.settings.port_name}-midi-patch").start()
        return self._patchbay

    def _own_jack_ports(self, before: set[str], ports: tuple[str, str], with_input: bool
                        ) -> tuple[str, str]:
        """Our ports' full names: the MIDI ports that appeared when we opened them."""
        out = self._patchbay.new_port(before, ports[1])
        return (self._patchbay.new_port(before, ports[0]) if with_input else "", out)

    def start(self, controller: RigController | None = None) -> bool:
        """Open the ports (if ``open_ports`` did not) and start the MIDI threads."""
        if controller is not None:
            self.controller = controller
        if self.mapper is not None:
            return True
        engine_midi = self._engine_input()
        if not self.open_ports(with_input=engine_midi is None):
            return False
        if engine_midi is not None and self._vin is None:
            self._engine_midi = engine_midi
            engine_midi.note_channels = frozenset(
                c for c in range(16) if channel_matches(self.settings.note_channel, c))
            self.port_names = (self.controller.engine.backend.midi_input, self.port_names[1])
        assert self.controller is not None, "MidiFrontend needs a RigController to start"
        settings, api, name = self.settings, self.api, self.settings.port_name
        assert api is not None
        engine_midi = self._engine_midi
        self.mapper = MidiMapper(self.controller, settings, send=self._send,
                                 publish_routes=self._publish_routes if engine_midi else None)
        self._stop.clear()
        dispatch = self._engine_loop if engine_midi else self._dispatch_loop
        self._threads = [
            threading.Thread(target=dispatch, name="neuralrig-midi", daemon=True),
            threading.Thread(target=self._scan_loop, name="neuralrig-midi-scan", daemon=True),
        ]
        if api == "jack" and not engine_midi:
            self._threads.append(threading.Thread(target=self._poll_loop,
                                                  name="neuralrig-midi-poll", daemon=True))
        self._rescan()  # devices present now are connected before start() returns
        for thread in self._threads:
            thread.start()
        where = " and ".join(self.port_names) if api == "jack" else f"'{name}' (in and out)"
        log.info("MIDI on %s: ports %s; connecting %s; echoes to %s", api.upper(), where,
                 _patterns(settings.connect), _patterns(settings.feedback))
        return True

    def stop(self) -> None:
        if not self.running:
            self._close_ports()  # opened by open_ports() but never started
            return
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads = []
        if self.mapper is not None:
            self.mapper.close()
            self.mapper = None
        if self._engine_midi is not None:
            self._engine_midi.routes = {}
            self._engine_midi = None
        self._close_ports()
        self.api = None

    def _engine_input(self) -> EngineMidi | None:
        """The audio engine's own JACK MIDI input, when it has one (``engine.midi_io``)."""
        engine_midi = getattr(getattr(self.controller, "engine", None), "midi", None)
        return engine_midi if engine_midi is not None and self.wants_jack() else None

    def wants_jack(self) -> bool:
        """MIDI is on and would use JACK (``api`` jack, or auto with a JACK server)."""
        return self.settings.enabled and self._choose_api() == "jack"

    def _choose_api(self) -> str:
        if self.settings.api != "auto":
            return self.settings.api
        from ..audio.jack_client import server_running

        return "jack" if server_running() else "alsa"

    # -- status ----------------------------------------------------------------
    def inputs(self) -> list[str]:
        """Source ports connected to us right now (besides whatever connects to our port)."""
        with self._lock:
            return sorted(self._inputs)

    def outputs(self) -> list[str]:
        """Destination ports that receive our echoes (besides our own output port)."""
        with self._lock:
            return sorted(self._outputs)

    # -- input -----------------------------------------------------------------
    def _poll_loop(self) -> None:
        """JACK: take messages from RtMidi's lock-free queue every POLL_INTERVAL.

        A python-rtmidi callback would run in the MIDI client's JACK process thread
        and take the GIL there, competing with pyo's audio callback for it.
        """
        vin = self._vin
        while not self._stop.is_set():
            try:
                while (message := vin.get_message()) is not None:
                    self._queue.put(message[0])
            except Exception as exc:  # a closed port at shutdown
                log.debug("MIDI poll: %s", exc)
                return
            time.sleep(POLL_INTERVAL)

    def _engine_loop(self) -> None:
        """Engine ports: take what the audio thread queued, every POLL_INTERVAL."""
        mapper, engine_midi = self.mapper, self._engine_midi
        assert mapper is not None and engine_midi is not None
        inbox = engine_midi.inbox
        while not self._stop.is_set():
            while inbox:
                event = inbox.popleft()
                try:
                    mapper.handle_bytes(event.data, event.applied, event.chain, event.played)
                except Exception:  # the mapper never raises; this is the last guard
                    log.exception("MIDI message %r failed", event.data)
            time.sleep(POLL_INTERVAL)

    def _publish_routes(self, routes: Routes) -> None:
        if self._engine_midi is not None:
            self._engine_midi.routes = routes

    def _on_raw(self, event: Any, data: Any = None) -> None:
        """rtmidi callback (a backend thread): queue only."""
        self._queue.put(event[0])

    def _dispatch_loop(self) -> None:
        mapper = self.mapper
        assert mapper is not None
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                mapper.handle_bytes(item)
            except Exception:  # the mapper never raises; this is the last guard
                log.exception("MIDI message %r failed", item)

    # -- output ----------------------------------------------------------------
    def _send(self, message: mido.Message) -> None:
        data = message.bytes()
        with self._lock:
            # Under JACK the output port is linked to every destination: one send.
            devices = [o for o in self._outputs.values() if o is not None]
            targets = [self._vout, *devices] if self._vout is not None else []
            for index, target in enumerate(targets):
                try:
                    if index == 0:
                        target.send(message)
                    else:
                        target.send_message(data)
                except Exception as exc:
                    log.debug("MIDI send %s failed: %s", message, exc)

    # -- connections -------------------------------------------------------------
    def _scan_loop(self) -> None:
        while not self._stop.wait(self.rescan_interval):
            try:
                self._rescan()
            except Exception:
                log.exception("MIDI port scan failed")

    def _rescan(self) -> None:
        if self.api == "jack":
            self._rescan_jack()
            return
        with self._lock:
            if self._scan_in is None:
                return
            sources = self._scan_in.get_ports()
            destinations = self._scan_out.get_ports()
            self._sync(self._inputs, sources, self.settings.connect, self._open_input, "from")
            added = self._sync(self._outputs, destinations, self.settings.feedback,
                               self._open_output, "to")
        if added and self.mapper is not None:
            self.mapper.send_all()  # a new controller shows the rig as it is

    def _rescan_jack(self) -> None:
        """Connect matching JACK MIDI ports to ours (JACK drops a vanished port's links)."""
        from ..audio.jack_client import PortFlag

        with self._lock:
            patchbay = self._patchbay
            if patchbay is None or not patchbay.alive:
                return
            mine_in, mine_out = self.port_names
            sources = patchbay.ports(type_pattern="midi", flags=PortFlag.OUTPUT)
            destinations = patchbay.ports(type_pattern="midi", flags=PortFlag.INPUT)
            self._link(self._inputs, sources, self.settings.connect,
                       lambda port: patchbay.connect(port, mine_in), "from")
            added = self._link(self._outputs, destinations, self.settings.feedback,
                               lambda port: patchbay.connect(mine_out, port), "to")
        if added and self.mapper is not None:
            self.mapper.send_all()

    def _link(self, linked: dict[str, Any], present: list[str], patterns: tuple[str, ...],
              connect: Any, direction: str) -> bool:
        ours = set(self.port_names)
        wanted = {n for n in present if n not in ours and self._wanted(n, patterns)}
        for name in [n for n in linked if n not in present]:
            log.info("MIDI: %s '%s' gone", "input" if direction == "from" else "output", name)
            del linked[name]
        self._failed &= set(present)
        added = False
        for name in sorted(wanted - set(linked) - self._failed):
            try:
                connect(name)
            except Exception as exc:
                self._failed.add(name)
                log.warning("MIDI: cannot connect %s '%s': %s", direction, name, exc)
                continue
            linked[name] = None
            added = True
            log.info("MIDI: connected %s '%s'", direction, name)
        return added

    def _sync(self, opened: dict[str, Any], present: list[str], patterns: tuple[str, ...],
              opener: Any, direction: str) -> bool:
        wanted = {name for name in present if self._wanted(name, patterns)}
        for name in [n for n in opened if n not in wanted]:
            log.info("MIDI: %s '%s' gone", "input" if direction == "from" else "output", name)
            _close_rt(opened.pop(name))
        self._failed &= set(present)
        added = False
        for name in sorted(wanted - set(opened) - self._failed):
            try:
                opened[name] = opener(name)
            except Exception as exc:
                self._failed.add(name)
                log.warning("MIDI: cannot connect %s '%s': %s", direction, name, exc)
                continue
            added = True
            log.info("MIDI: connected %s '%s'", direction, name)
        return added

    def _wanted(self, name: str, patterns: tuple[str, ...]) -> bool:
        client = name.split(":", 1)[0]
        own = re.escape(self.settings.port_name) + r"(-midi-(in|out|patch))?(-\d+)?"
        if re.fullmatch(own, client):
            return False  # our own ports: a loop
        lowered = name.lower()
        matching = [p for p in patterns if fnmatch.fnmatchcase(lowered, p.lower())]
        if not matching:
            return False
        if "midi through" in lowered:
            return any("through" in p.lower() for p in matching)
        return True

    def _open_input(self, name: str) -> Any:
        rt = self._rtmidi.MidiIn(self._rtapi, self.settings.port_name)
        try:
            index = rt.get_ports().index(name)
            rt.ignore_types(sysex=True, timing=True, active_sense=True)
            rt.set_callback(self._on_raw)
            rt.open_port(index, _label("from", name))
        except Exception:
            _close_rt(rt)
            raise
        return rt

    def _open_output(self, name: str) -> Any:
        rt = self._rtmidi.MidiOut(self._rtapi, self.settings.port_name)
        try:
            rt.open_port(rt.get_ports().index(name), _label("to", name))
        except Exception:
            _close_rt(rt)
            raise
        return rt

    def _close_ports(self) -> None:
        with self._lock:
            for rt in [*self._inputs.values(), *self._outputs.values()]:
                if rt is not None:
                    _close_rt(rt)
            self._inputs.clear()
            self._outputs.clear()
            self._failed.clear()
            if self._vout is not None:
                self._settle()
                try:
                    self._vout.close()
                except Exception as exc:
                    log.debug("closing MIDI port: %s", exc)
            for rt in (self._vin, self._scan_in, self._scan_out):
                if rt is not None:
                    self._settle()
                    _close_rt(rt)
            self._vin = self._vout = self._scan_in = self._scan_out = None
            if self._patchbay is not None:
                self._patchbay.close()
                self._patchbay = None
            self.port_names = ("", "")

    def _settle(self) -> None:
        """JACK: let the graph settle before a port closes (see JackMonitor)."""
        if self._patchbay is not None and self._patchbay.alive:
            self._patchbay.wait_until_settled()


def _close_rt(rt: Any) -> None:
    try:
        if hasattr(rt, "cancel_callback"):
            rt.cancel_callback()
        rt.close_port()
        rt.delete()
    except Exception as exc:
        log.debug("closing MIDI port: %s", exc)


def _label(direction: str, name: str) -> str:
    """Our port's name for a connection: readable, and safe for JACK and ALSA."""
    return f"{direction} {_PORT_LABEL.sub('_', name)}"[:60].strip()


def _patterns(patterns: tuple[str, ...]) -> str:
    return ", ".join(f"'{p}'" for p in patterns) if patterns else "nothing"
