"""Offline rendering: the same rig as the live daemon, run on files or arrays."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .audio.offline import OfflineBackend
from .audiofile import check_output_path, read_audio, write_audio
from .config import RigConfig, SlotConfig, load_config
from .engine.engine import Engine
from .errors import ConfigError, UnknownSlotError

log = logging.getLogger("neuralrig.render")


def model_rig(model: str | Path, base: RigConfig | None = None) -> RigConfig:
    """A one-slot rig (slot id ``model``) holding a neural model file or built-in name."""
    from neuralrig.models.builtin import BUILTIN_MODELS

    base = base or RigConfig()
    name = str(model)
    dirs = base.model_dirs
    if name not in BUILTIN_MODELS:
        path = Path(model).expanduser().resolve()
        # The file's own folder is the one model folder this rig may read.
        dirs = (path.parent, *dirs)
        name = path.name
    slot = SlotConfig(id="model", type="neural", settings={"model": name})
    return replace(base, slots=(slot,), model_dirs=dirs, source=f"--model {model}")


def apply_overrides(config: RigConfig, assignments: Iterable[str]) -> RigConfig:
    """Apply ``SLOT.PARAM=VALUE`` strings (from ``--set``) to a config."""
    slots = {slot.id: slot for slot in config.slots}
    for text in assignments:
        target, sep, raw = text.partition("=")
        slot_id, dot, param = target.strip().partition(".")
        if not sep or not dot or not slot_id or not param:
            raise ConfigError(f"--set '{text}': expected SLOT.PARAM=VALUE")
        if slot_id not in slots:
            known = ", ".join(slots) or "none"
            raise UnknownSlotError(f"--set '{text}': no slot '{slot_id}' (slots: {known})")
        value = _parse_value(raw.strip(), text)
        slot = slots[slot_id]
        if param == "bypass":
            slot = replace(slot, bypass=bool(value))
        elif param == "mix":
            slot = replace(slot, mix=min(1.0, max(0.0, float(value))))
        else:
            slot = replace(slot, settings={**slot.settings, param: value})
        slots[slot_id] = slot
    return replace(config, slots=tuple(slots[s.id] for s in config.slots))


def _parse_value(raw: str, text: str) -> float | str | bool:
    lowered = raw.lower()
    if lowered in ("true", "on"):
        return True
    if lowered in ("false", "off"):
        return False
    try:
        value = float(raw)
    except ValueError:
        return raw  # an option such as a file name
    if not np.isfinite(value):
        raise ConfigError(f"--set '{text}': value must be a finite number")
    return value


@dataclass(frozen=True)
class NoteEvent:
    """A note for a slot that plays notes (a synth, one-shots), at a time in the input."""

    slot: str
    seconds: float
    note: int
    velocity: int  # 0: note off


def parse_note(text: str) -> NoteEvent:
    """``SLOT:SECONDS:NOTE[:VELOCITY]`` (from ``--note``); velocity 100 if left out."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[0]:
        raise ConfigError(f"--note '{text}': expected SLOT:SECONDS:NOTE[:VELOCITY], "
                          "e.g. shots:0.5:60:100")
    try:
        seconds = float(parts[1])
        note, velocity = int(parts[2]), int(parts[3]) if len(parts) == 4 else 100
    except ValueError:
        raise ConfigError(f"--note '{text}': SECONDS is a number, NOTE and VELOCITY "
                          "whole numbers") from None
    if not (math.isfinite(seconds) and seconds >= 0.0):
        raise ConfigError(f"--note '{text}': SECONDS must be 0 or more")
    if not (0 <= note <= 127 and 0 <= velocity <= 127):
        raise ConfigError(f"--note '{text}': NOTE and VELOCITY are 0-127")
    return NoteEvent(parts[0], seconds, note, velocity)


def midi_file_notes(path: str | Path, slot: str) -> list[NoteEvent]:
    """Every note on and off of a standard MIDI file (all tracks, its tempo map), for
    ``slot`` (from ``--midi FILE.mid:SLOT``)."""
    import mido

    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"--midi {path}: not a readable MIDI file ({exc})") from None
    events, now = [], 0.0
    for message in midi:  # times in seconds, tempo changes applied
        now += message.time
        if message.type in ("note_on", "note_off"):
            velocity = message.velocity if message.type == "note_on" else 0
            events.append(NoteEvent(slot, now, message.note, velocity))
    return events


def _schedule_notes(engine: Engine, notes: Sequence[NoteEvent]) -> None:
    """Post each note to its slot at its time. A note sounds from the start of the block
    its time falls in; the time is on the input's clock (the rig's latency is added, so
    the note lines up with the input after latency compensation)."""
    backend = engine.backend
    assert isinstance(backend, OfflineBackend)
    delay = engine.latency_samples / backend.sample_rate
    zero = backend.block_time()  # the input's first sample: the next block
    for event in notes:
        processor = engine.slot(event.slot).processor  # UnknownSlotError names the slots
        play = getattr(processor, "note", None)
        if not callable(play):
            raise ConfigError(f"note for '{event.slot}': that slot does not play notes")
        engine.post(lambda play=play, e=event: play(e.note, e.velocity),
                    at=zero + event.seconds + delay)


def render_array(config: RigConfig, audio: np.ndarray, sample_rate: int,
                 block: int | None = None, notes: Sequence[NoteEvent] = ()) -> np.ndarray:
    """Run ``audio`` (frames x channels) through the rig; same shape out, latency removed.
    ``notes`` are played to the slots that play notes, at their times."""
    if audio.ndim == 1:
        audio = audio[:, None]
    config = config.with_engine(sample_rate=sample_rate, channels=audio.shape[1], block=block)
    engine = Engine(OfflineBackend(), config)
    try:
        engine.start()
        _schedule_notes(engine, notes)
        return engine.process_offline(audio.astype(np.float32, copy=False))
    finally:
        engine.stop()


def render_file(in_path: str | Path, out_path: str | Path, config: RigConfig | None = None,
                block: int | None = None, notes: Sequence[NoteEvent] = ()
                ) -> dict[str, float]:
    """Render a file; OUT keeps IN's sample rate, channel count, length and sample format."""
    check_output_path(out_path)  # before the work, not after it
    source = read_audio(in_path)
    if source.data.shape[1] > 2:
        raise ConfigError(f"{in_path}: {source.data.shape[1]} channels; neuralrig renders "
                          "mono or stereo")
    config = config or load_config(None)
    rendered = render_array(config, source.data, source.sample_rate, block, notes)
    peak = float(np.max(np.abs(rendered))) if rendered.size else 0.0
    clipped = int(np.count_nonzero(np.abs(rendered) > 1.0))
    if clipped and not source.subtype.startswith("FLOAT") and source.subtype != "DOUBLE":
        log.warning("%d samples above full scale were clipped writing %s (peak %.2f dBFS); "
                    "lower the output gain", clipped, out_path, 20 * np.log10(peak))
    write_audio(out_path, rendered, source.sample_rate, source.subtype)
    return {"frames": rendered.shape[0], "channels": rendered.shape[1],
            "sample_rate": source.sample_rate, "peak": peak, "clipped": clipped}
