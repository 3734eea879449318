"""`neuralrig serve`: run the rig until SIGTERM or SIGINT, then stop cleanly."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

import numpy as np

from .audio.backend import choose_backend
from .audio.live import JackBackend
from .audio.offline import OfflineBackend
from .config import RigConfig
from .control.controller import RigController
from .control.midi import MidiFrontend
from .engine.engine import Engine

log = logging.getLogger("neuralrig")
STATUS_INTERVAL = 60.0


def serve(config: RigConfig, audio: str | None, sample_rate: int | None,
          block: int | None) -> int:
    started = time.monotonic()
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        # Only record and wake the main thread: logging here could re-enter a
        # write to stderr the main thread was in the middle of.
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    backend = choose_backend(audio)
    engine = Engine(backend, config.with_engine(sample_rate=sample_rate, block=block))
    pacer: threading.Thread | None = None
    frontends = Frontends()
    midi = MidiFrontend(None, config.control.midi)
    # MIDI input on the audio client itself under JACK (see engine.midi_io). The other
    # ports open before the audio: a python-rtmidi JACK client opened once pyo's client
    # runs in this process stalls the audio for about a second (see control.midi).
    engine_input = isinstance(backend, JackBackend) and midi.wants_jack()
    if isinstance(backend, JackBackend):
        backend.midi = engine_input
    midi.open_ports(with_input=not engine_input)
    try:
        engine.start()
        cfg = engine.config
        if isinstance(backend, OfflineBackend):
            pacer = threading.Thread(target=_pace_offline, args=(backend, stop), daemon=True,
                                     name="offline-clock")
            pacer.start()
        log.info(
            "audio running on %s: %d Hz, %d-sample blocks, %s, rig %s with %d slot(s) [%s], "
            "latency %d samples (%.2f ms); started in %.2f s",
            backend.name, cfg.sample_rate, cfg.block, "stereo" if cfg.channels == 2 else "mono",
            cfg.source, len(cfg.slots), ", ".join(s.id for s in cfg.slots),
            engine.latency_samples, 1000 * engine.latency_samples / cfg.sample_rate,
            time.monotonic() - started,
        )
        frontends.start(RigController(engine), midi)
        _sd_notify("READY=1")
        _watch(engine, stop)
        if received:
            log.info("received %s, stopping", received[0])
    finally:
        _sd_notify("STOPPING=1")
        stop.set()
        frontends.stop()
        midi.stop()  # closes ports opened but never started; a no-op once stopped
        if pacer is not None:
            pacer.join(timeout=2.0)
        engine.stop()
    log.info("stopped cleanly")
    return 0


class Frontends:
    """The control frontends the config turns on, started after audio, stopped before it."""

    def __init__(self) -> None:
        self.running: list[object] = []
        self.controller: RigController | None = None

    def start(self, controller: RigController, midi: MidiFrontend) -> None:
        """OSC first (its bound port is what OSCQuery and zeroconf announce), then
        OSCQuery, MIDI and discovery. Stopped in reverse order."""
        from .control.discovery import Discovery, default_name
        from .control.osc import OscFrontend
        from .control.oscquery import OscQueryServer

        self.controller = controller
        settings = controller.config.control
        osc_port = query_port = 0
        if settings.osc.port:
            osc = OscFrontend(controller, settings.osc)
            self._add(osc)
            osc_port = osc.port
        name = settings.discovery.name or default_name()
        if settings.oscquery_port:
            query = OscQueryServer(controller, settings.oscquery_port, osc_port,
                                   host=settings.osc.host, name=name)
            self._add(query)
            query_port = query.port
        if midi.start(controller):
            self.running.append(midi)
        if settings.discovery.enabled and (osc_port or query_port):
            self._add(Discovery(name, osc_port=osc_port, oscquery_port=query_port,
                                interfaces=settings.discovery.interfaces))

    def _add(self, frontend: object) -> None:
        frontend.start()  # type: ignore[attr-defined]
        self.running.append(frontend)

    def stop(self) -> None:
        for frontend in reversed(self.running):
            try:
                frontend.stop()  # type: ignore[attr-defined]
            except Exception:
                log.exception("stopping %s failed", type(frontend).__name__)
        self.running.clear()
        if self.controller is not None:
            self.controller.mapper.close()  # no glide moves a parameter once audio stops


def _watch(engine: Engine, stop: threading.Event) -> None:
    """Report xruns as they happen and a status line every minute."""
    last_xruns = engine.backend.xruns() or 0
    last_status = time.monotonic()
    last_late: dict[str, int] = {}
    while not stop.wait(1.0):
        for slot_id, report in engine.slot_reports().items():
            late = report.get("late_chunks", 0)
            if late > last_late.get(slot_id, 0):
                log.warning("slot %s: %d generator chunk(s) late (total %d), played as "
                            "silence; raise its budget or buffer, or use a lighter model",
                            slot_id, late - last_late.get(slot_id, 0), late)
            last_late[slot_id] = late
        xruns = engine.backend.xruns() or 0
        if xruns > last_xruns:
            snap = engine.stats.snapshot() if engine.stats else None
            log.warning("%d xrun(s) (total %d); block time p99 %.0f us, max %.0f us; "
                        "block work started at most %.0f us into its cycle, %d block(s) over "
                        "half a block late", xruns - last_xruns, xruns,
                        snap.block_us_p99 if snap else 0, snap.block_us_max if snap else 0,
                        snap.start_late_us_max if snap else -1,
                        snap.late_starts if snap else -1)
            last_xruns = xruns
        if time.monotonic() - last_status >= STATUS_INTERVAL:
            status = engine.status()
            log.info("status: dsp load %.0f%%, block mean %.0f us, p99 %.0f us, max %.0f us, "
                     "xruns %s, peak RSS %.0f MB", 100 * status.stats.dsp_load,
                     status.stats.block_us_mean, status.stats.block_us_p99,
                     status.stats.block_us_max, status.xruns, status.stats.peak_rss_mb)
            last_status = time.monotonic()


def _pace_offline(backend: OfflineBackend, stop: threading.Event) -> None:
    """Without a sound card or JACK: process silence in real time, so the rig runs."""
    silence = np.zeros((backend.block, backend.channels), dtype=np.float32)
    period = backend.block / backend.sample_rate
    deadline = time.monotonic()
    while not stop.is_set():
        backend.process_block(silence)
        deadline += period
        delay = deadline - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            deadline = time.monotonic()


def _sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) about readiness; a no-op elsewhere."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode(), address)
    except OSError as exc:
        log.debug("sd_notify failed: %s", exc)
