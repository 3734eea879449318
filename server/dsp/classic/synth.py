"""Synth: a small polyphonic subtractive synthesizer played by MIDI notes.

Four voices, each a band-limited sawtooth with its own ADSR envelope, summed
into one resonant low-pass (a ladder filter) and a level. The synth is added
to the slot's input, so a synth slot anywhere in the chain layers notes on
top of the guitar: ``mix`` sets how much synth is heard (0 none, 1 all of it)
and ``bypass`` silences it.

Notes arrive through ``note(note, velocity)``, which the engine runs on the
audio thread at a block boundary: it only sets values of pyo objects built
once in ``build`` (a voice's pitch, its envelope's trigger and times), never
creates new ones. A new note takes a free voice, else the oldest one.
``attack`` and ``release`` apply from the next note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.pyo_env import pyo
from ..registry import register
from .common import ClassicProcessor, log_glide

VOICES = 4
DECAY = 0.15  # seconds from the peak to the sustain level
SUSTAIN = 0.7  # share of the peak held while a key is down
VOICE_GAIN = 0.35  # per voice, so four loud notes stay below full scale
RESONANCE_MAX = 0.95  # the ladder self-oscillates at 1


def note_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


@register
class Synth(ClassicProcessor):
    kind = "synth"
    summary = "Polyphonic synth (4 voices: saw, ADSR, resonant low-pass) played by MIDI notes."
    params = (
        ParamSpec("cutoff", 50.0, 16000.0, 2500.0, "Hz", "log",
                  description="low-pass cutoff"),
        ParamSpec("resonance", 0.0, 1.0, 0.2, "",
                  description="filter resonance (1 is just below self-oscillation)"),
        ParamSpec("attack", 1.0, 2000.0, 5.0, "ms", "log",
                  description="time a note takes to reach full level (from the next note)"),
        ParamSpec("release", 5.0, 5000.0, 200.0, "ms", "log",
                  description="time a note takes to fade after its key is released"),
        ParamSpec("level", -60.0, 12.0, -6.0, "dB", description="synth output level"),
    )

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        self._attack = controls["attack"]
        self._release = controls["release"]
        self._pitch = [g(pyo.Sig(note_hz(60))) for _ in range(VOICES)]
        self._gate = [g(pyo.Sig(0.0)) for _ in range(VOICES)]
        self._env = [g(pyo.MidiAdsr(gate, attack=0.005, decay=DECAY, sustain=SUSTAIN,
                                    release=0.2, mul=VOICE_GAIN)) for gate in self._gate]
        oscillators = [g(pyo.LFO(freq=pitch, sharp=1.0, type=0, mul=env))
                       for pitch, env in zip(self._pitch, self._env, strict=True)]
        voices = g(pyo.Mix(oscillators, voices=1))
        cutoff = log_glide(controls["cutoff"], 0.03, g)
        filtered = g(pyo.MoogLP(voices, freq=cutoff,
                                res=g(controls["resonance"] * RESONANCE_MAX)))
        synth = g(filtered * g(pyo.DBToA(controls["level"])))
        self._notes = [-1] * VOICES  # the key each voice plays (-1: free or releasing)
        self._age = [0] * VOICES
        self._count = 0
        return g(source + synth)

    def note(self, note: int, velocity: int) -> None:
        """Note on (velocity > 0) or off; audio thread only, sets existing objects only."""
        notes = self._notes
        if velocity <= 0:
            for voice in range(VOICES):
                if notes[voice] == note:
                    notes[voice] = -1
                    self._gate[voice].value = 0.0
            return
        voice = self._pick(note)
        self._count += 1
        self._age[voice] = self._count
        notes[voice] = note
        env = self._env[voice]
        env.setAttack(max(0.001, float(self._attack.value) * 0.001))
        env.setRelease(max(0.005, float(self._release.value) * 0.001))
        self._pitch[voice].value = note_hz(note)
        self._gate[voice].value = velocity / 127.0

    def _pick(self, note: int) -> int:
        notes = self._notes
        for voice in range(VOICES):  # the same key again: retrigger its voice
            if notes[voice] == note:
                return voice
        free = [v for v in range(VOICES) if notes[v] == -1]
        pool = free or range(VOICES)
        return min(pool, key=lambda v: self._age[v])

    def reset(self) -> None:
        for voice in range(VOICES):
            self._notes[voice] = -1
            self._gate[voice].value = 0.0
