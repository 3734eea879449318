"""The engine: owns the pyo server and the live chain, and applies changes between blocks.

Threads: the audio thread runs pyo's callback at the start of each block and
the chain's end hook at its end. Every other thread (CLI, OSC, MIDI) posts
small closures to a deque that the audio thread drains at the next block
start, so a change lands on a block boundary and nothing waits on a lock.
A closure with a due time (an OSC bundle's timetag) goes into a heap that
only the audio thread touches, and runs at the start of the block its time
falls in.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio.backend import AudioBackend
from ..audio.offline import OfflineBackend
from ..config import RigConfig
from ..errors import ConfigError, UnknownSlotError
from .chain import SWAP_FADE, ChainInstance
from .midi_io import EngineMidi
from .processor import BuildContext
from .pyo_env import pyo
from .stats import BlockStats, StatsSnapshot

log = logging.getLogger("neuralrig.engine")


@dataclass(frozen=True)
class EngineStatus:
    backend: str
    sample_rate: int
    block: int
    channels: int
    latency_samples: int
    latency_ms: float
    xruns: int | None
    stats: StatsSnapshot

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "stats"}
        out.update(self.stats.as_dict())
        return out


class Engine:
    def __init__(self, backend: AudioBackend, config: RigConfig) -> None:
        self.backend = backend
        self.config = config
        self.chain: ChainInstance | None = None
        self._commands: deque[Callable[[], None]] = deque()
        self._timed: list[tuple[float, int, Callable[[], None]]] = []  # audio thread only
        self._order = itertools.count()
        self._latest: ChainInstance | None = None  # newest chain, swapped in or pending
        self._retiring: list[tuple[ChainInstance, Any, int]] = []
        self._pending: list[tuple[ChainInstance, Any]] = []  # built, not swapped in yet
        self._blocks = 0
        self.stats: BlockStats | None = None
        self.audio_errors = 0
        self._cycle_clock: Callable[[], int] | None = None
        self.midi: EngineMidi | None = None  # MIDI on the engine's own client (JACK)

    # -- life cycle ------------------------------------------------------
    def start(self) -> None:
        cfg = self.config
        # Keep the GIL hand-over short: the audio thread must not wait long for it.
        sys.setswitchinterval(0.0005)
        server = self.backend.boot(cfg.sample_rate, cfg.block, cfg.channels)
        backend = self.backend
        if (backend.sample_rate, backend.block) != (cfg.sample_rate, cfg.block):
            cfg = cfg.with_engine(sample_rate=backend.sample_rate, block=backend.block)
            self.config = cfg
        self.stats = BlockStats(cfg.block / cfg.sample_rate, cfg.block)
        self._cycle_clock = backend.cycle_clock()
        self._block_seconds = cfg.block / cfg.sample_rate
        impulse = [1.0] + [0.0] * (cfg.block - 1)
        self._trigger_table = pyo.DataTable(cfg.block, init=impulse)
        self._block_trigger = pyo.TableScan(self._trigger_table)
        self._source = backend.source()
        if backend.midi_input is not None:
            # Before the chain: pyo computes objects in creation order, so a CC handled
            # here reaches the chain in the block it arrives in.
            self.midi = EngineMidi(self, server)
        self.chain = self._build(cfg, faded_in=True)
        self._sink = backend.attach_sink(self.chain.output)
        server.setCallback(self._block_start)
        backend.start()
        if isinstance(backend, OfflineBackend):
            # pyo's filters compute their first sample before their coefficients
            # are set; one block of silence lets every object settle, then
            # stateful models start from their reset state.
            backend.process_block(np.zeros((cfg.block, cfg.channels), dtype=np.float32))
            self.chain.reset()

    def stop(self) -> None:
        """Stop audio and free the graph before the server goes (pyo crashes otherwise)."""
        self.backend.stop()
        self._wait_for_last_block()
        chains = [(self.chain, self._sink)] if self.chain is not None else []
        chains += [(chain, sink) for chain, sink, _ in self._retiring]
        # Chains built by load() whose swap never ran (no block came after it).
        chains += [(chain, sink) for chain, sink in self._pending if chain is not self.chain]
        self._pending.clear()
        for chain, sink in chains:
            self.backend.detach_sink(sink)
            chain.release()
        self.chain = self._sink = self._latest = None
        self._retiring.clear()
        if self.midi is not None:
            self.midi.release()
            self.midi = None
        self._commands.clear()
        self._timed.clear()
        self._source = self._block_trigger = self._trigger_table = None
        self._cycle_clock = None  # it holds the JACK client the backend closes next
        gc.collect()
        self.backend.shutdown()

    def _wait_for_last_block(self, limit: float = 1.0) -> None:
        """Let a block that was running when the server stopped finish.

        pyo's stop returns at once; a block already under way can still be waiting
        for the GIL, and freeing its slots and tables under it crashed the daemon
        (a ReferenceError in a slot's hook, then heap corruption).
        """
        if isinstance(self.backend, OfflineBackend) or self.stats is None:
            return
        quiet = max(2 * self._block_seconds, 0.01)
        deadline = time.monotonic() + limit
        blocks = self._blocks
        while time.monotonic() < deadline:
            time.sleep(quiet)
            if self._blocks == blocks and not self.stats.in_block:
                return
            blocks = self._blocks
        log.warning("the audio thread was still running %.1f s after the server stopped", limit)

    # -- building and swapping ------------------------------------------
    def _build(self, config: RigConfig, faded_in: bool) -> ChainInstance:
        ctx = BuildContext(
            sample_rate=float(config.sample_rate),
            block=config.block,
            channels=config.channels,
            block_trigger=self._block_trigger,
            data_dirs=tuple(dict.fromkeys((*config.impulse_dirs, *config.model_dirs))),
            realtime=not isinstance(self.backend, OfflineBackend),
        )
        assert self.stats is not None
        return ChainInstance(config, self._source, ctx, self.stats.stop, faded_in)

    def load(self, config: RigConfig) -> None:
        """Build ``config``'s chain off the audio thread and crossfade to it.

        Raises ConfigError, with the running chain untouched, if it is invalid.
        """
        current = self.config
        fixed = ("sample_rate", "block", "channels")
        changed = [f for f in fixed if getattr(config, f) != getattr(current, f)]
        if changed:
            raise ConfigError(
                f"{', '.join(changed)} cannot change while running (restart the daemon)"
            )
        new = self._build(config, faded_in=False)
        sink = self.backend.attach_sink(new.output)
        self._latest = new
        self._pending.append((new, sink))
        fade_blocks = int(SWAP_FADE * config.sample_rate / config.block) + 2

        def swap() -> None:
            old = self.chain
            if old is not None:
                old.timing = False
                old.fade.value = 0.0
                self._retiring.append((old, self._sink, self._blocks + fade_blocks))
            new.fade.value = 1.0
            self.chain, self._sink, self.config = new, sink, config
            self._pending.remove((new, sink))

        self._commands.append(swap)

    # -- audio thread ---------------------------------------------------
    def _block_start(self) -> None:
        stats = self.stats
        if stats is not None:
            clock = self._cycle_clock
            stats.start(clock() if clock is not None else None)
        self._blocks += 1
        commands = self._commands
        while commands:
            try:
                commands.popleft()()
            except Exception:  # a bad command must never stop the audio
                self.audio_errors += 1
        timed = self._timed
        if timed:
            block_end = self.backend.block_time() + self._block_seconds
            while timed and timed[0][0] < block_end:
                try:
                    heapq.heappop(timed)[2]()
                except Exception:
                    self.audio_errors += 1
        if self._retiring and self._retiring[0][2] <= self._blocks:
            chain, sink, _ = self._retiring.pop(0)
            self.backend.detach_sink(sink)
            chain.release()

    # -- control (any thread) -------------------------------------------
    def post(self, command: Callable[[], None], at: float | None = None) -> None:
        """Run ``command`` on the audio thread at the next block boundary.

        With ``at`` (Unix time), run it at the start of the block that time
        falls in; a time already past runs at the next block.
        """
        if at is None:
            self._commands.append(command)
            return
        entry = (at, next(self._order), command)
        self._commands.append(lambda: heapq.heappush(self._timed, entry))

    def slot(self, slot_id: str):  # -> SlotInstance
        """A slot of the newest chain (one swapped in, or about to be)."""
        chain = self._latest or self.chain
        assert chain is not None
        try:
            return chain.slots[slot_id]
        except KeyError:
            known = ", ".join(chain.slots) or "none"
            raise UnknownSlotError(f"no slot '{slot_id}' in the rig (slots: {known})") from None

    def is_latest(self, chain: object) -> bool:
        """Whether ``chain`` is the newest chain (swapped in, or about to be)."""
        return chain is (self._latest or self.chain)

    def set_param(self, slot_id: str, name: str, value: float, at: float | None = None,
                  applied_to: object = None) -> float:
        """Clamp and schedule a parameter change; returns the value that will apply.

        ``applied_to``: the chain the audio thread already applied this value to (a
        MIDI CC route); nothing is scheduled unless a newer chain is waiting.
        """
        slot = self.slot(slot_id)
        if name == "mix":
            value = min(1.0, max(0.0, _finite(value, "mix")))
            self.post(lambda: slot.apply_mix(value), at)
            return value
        if name == "bypass":
            flag = bool(value)
            self.post(lambda: slot.apply_bypass(flag), at)
            return float(flag)
        spec = slot.processor.spec(name)
        value = spec.clamp(value)
        if applied_to is not None and applied_to is (self._latest or self.chain):
            return value
        self.post(lambda: slot.apply_param(name, value), at)
        return value

    def set_gain(self, which: str, db: float, at: float | None = None) -> float:
        chain = self._latest or self.chain
        assert chain is not None
        db = min(24.0, max(-60.0, _finite(db, which)))
        apply = chain.apply_input_gain if which == "input_gain" else chain.apply_output_gain
        self.post(lambda: apply(db), at)
        return db

    # -- reporting --------------------------------------------------------
    @property
    def latency_samples(self) -> int:
        return self.chain.latency_samples if self.chain is not None else 0

    def status(self) -> EngineStatus:
        assert self.stats is not None
        cfg = self.config
        latency = self.latency_samples
        return EngineStatus(
            backend=self.backend.name,
            sample_rate=cfg.sample_rate,
            block=cfg.block,
            channels=cfg.channels,
            latency_samples=latency,
            latency_ms=round(1000.0 * latency / cfg.sample_rate, 3),
            xruns=self.backend.xruns(),
            stats=self.stats.snapshot(),
        )

    def slot_reports(self) -> dict[str, dict[str, Any]]:
        """Each slot's counters that have something to say (a generator's late chunks)."""
        chain = self.chain
        if chain is None:
            return {}
        reports = {sid: slot.processor.report() for sid, slot in list(chain.slots.items())}
        return {sid: report for sid, report in reports.items() if report}

    def meters(self) -> dict[str, Any]:
        assert self.chain is not None
        chain = self.chain
        return {
            "input": chain.input_meter.read(),
            "output": chain.output_meter.read(),
            "slots": {sid: slot.meter.read() for sid, slot in chain.slots.items()},
        }

    def process_offline(self, audio: np.ndarray, compensate_latency: bool = True) -> np.ndarray:
        """Run a whole signal through the rig (offline backend only)."""
        if not isinstance(self.backend, OfflineBackend):
            raise RuntimeError("process_offline needs the offline backend")
        latency = self.latency_samples if compensate_latency else 0
        out = self.backend.run(audio, tail=latency)
        return out[latency:]


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: value must be a finite number")
    return value
