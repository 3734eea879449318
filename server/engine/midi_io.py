"""MIDI in and out through the audio engine's own JACK client (pyo's JACK MIDI).

Why here and not in a MIDI client of its own: JACK hands a MIDI event to its
destination in the cycle after the one it was sent in. pyo's JACK client reads
its MIDI input port at the start of that cycle, before it computes the block,
so a CC handled there changes the very block it arrives in. A separate MIDI
client (python-rtmidi) receives it in the same cycle, but the audio engine can
only see it a block or two later (measured: p99 3 blocks against 1 here).

Incoming events reach ``EngineMidi`` on the audio thread (pyo's ``RawMidi``,
which runs before the chain because it is created before it). There it does
two cheap things, and nothing that locks, logs or does I/O:

* a CC with a *route* (an absolute 7-bit mapping to a parameter, its 128 values
  worked out beforehand by the MIDI mapper) is applied to the running chain at
  once;
* a note on a channel in ``note_channels`` is played at once by every slot of the
  running chain that plays notes (a one-shot generator, the synth), so a trigger
  sounds in the block it arrives in;
* every event goes into ``inbox``, a bounded deque the MIDI frontend's thread
  empties: it keeps the controller's state, feedback, learn, presets, notes
  (those not played here), footswitches and the other mappings.

Limits of pyo's JACK MIDI input: it reads three bytes of every event (system
messages such as sysex arrive truncated and are ignored here; a malformed two-byte
CC would take a third byte from whatever follows it in JACK's buffer), and it takes
at most 200 events per cycle into a fixed array without a bound check. Past 200 it
overwrites its own event counters: measured with bursts of 250, 1,000 and 2,727 CCs
in one 128-frame cycle, 151, 0 and 180 events arrived, and the rig ran on and took
the next CC (``test_midi_jack``). Hardware MIDI (about 3 events per cycle on a DIN
cable) never comes near it; a sequencer sending every controller at once could.

Feedback does not go out of pyo's MIDI output port: pyo clears that port's buffer
only in cycles where it sends something, so JACK repeats the last events every
cycle until the next send (seen here: a CC echoed hundreds of times). The MIDI
frontend's python-rtmidi output client sends it instead.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from .pyo_env import pyo

INBOX_LIMIT = 4096  # events kept for the MIDI thread; beyond it the oldest are dropped
CONTROL_CHANGE = 0xB0
NOTE_OFF, NOTE_ON = 0x80, 0x90


@dataclass(frozen=True, eq=False)
class CCRoute:
    """One CC's value 0..127 -> a parameter of a slot, precomputed (``values[cc_value]``)."""

    slot_id: str
    param: str
    values: tuple[float, ...]  # 128 entries, already clamped to the parameter's range
    mapping: object  # the mapping this route stands for (compared by identity)


Routes = dict[tuple[int, int], tuple[CCRoute, ...]]  # (channel 0-15, cc) -> routes


@dataclass(frozen=True)
class MidiEvent:
    """An event as the MIDI thread gets it: the bytes, and where the audio thread applied it."""

    data: tuple[int, ...]
    applied: tuple[CCRoute, ...] = ()
    chain: object = None  # the chain the routes (or the note) were applied to
    played: bool = False  # a note the audio thread already played on ``chain``


class EngineMidi:
    """MIDI ports on the engine's JACK client; see the module docstring."""

    def __init__(self, engine: Any, server: Any) -> None:
        self._engine = engine
        self._server = server
        self.routes: Routes = {}  # replaced whole (never mutated) by the MIDI thread
        self.note_channels: frozenset[int] = frozenset()  # channels (0-15) played here
        self.inbox: deque[MidiEvent] = deque(maxlen=INBOX_LIMIT)
        self.received = 0
        self._raw: Any = pyo.RawMidi(self._on_event)  # pyo keeps only a weak reference

    def release(self) -> None:
        if self._raw is not None:
            self._raw.stop()
            self._raw = None

    # -- audio thread -----------------------------------------------------------
    def _on_event(self, status: int, data1: int, data2: int) -> None:
        self.received += 1
        kind = status & 0xF0
        if kind == CONTROL_CHANGE:
            routes = self.routes.get((status & 0x0F, data1))
            chain = self._engine.chain
            if routes and chain is not None:
                slots = chain.slots
                for route in routes:
                    slot = slots.get(route.slot_id)
                    if slot is not None and route.param in slot.controls:
                        slot.apply_param(route.param, route.values[data2 & 0x7F])
                self.inbox.append(MidiEvent((status, data1, data2), routes, chain))
                return
            self.inbox.append(MidiEvent((status, data1, data2)))
        elif kind in (NOTE_ON, NOTE_OFF) and (status & 0x0F) in self.note_channels:
            chain = self._engine.chain
            if chain is not None:
                velocity = data2 & 0x7F if kind == NOTE_ON else 0
                for slot in chain.slots.values():
                    play = getattr(slot.processor, "note", None)
                    if play is not None:
                        play(data1 & 0x7F, velocity)
            self.inbox.append(MidiEvent((status, data1, data2), (), chain, chain is not None))
        elif kind in (0xC0, 0xD0):  # program change, channel pressure: two bytes
            self.inbox.append(MidiEvent((status, data1)))
        elif kind >= 0x80 and status < 0xF0:
            self.inbox.append(MidiEvent((status, data1, data2)))
        # System messages (sysex, clock, ...) reach pyo only as their first three bytes:
        # nothing to act on.
