"""RigController: the one place every control frontend reads and changes the rig.

OSC, OSCQuery, MIDI and presets all go through it, so validation, clamping
and change notification happen once. It runs on control threads only: a
change is clamped here, handed to the engine's lock-free command queue
(applied at the next block boundary, or at a bundle's timetag) and mirrored
in ``SlotView.values``, which is what ``get`` replies read. Listeners hear
every change, whichever frontend made it, so all clients stay in sync.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import RigConfig, SlotConfig
from ..control_config import CCMapping, SwitchMapping
from ..engine.engine import Engine
from ..engine.params import ParamSpec
from ..engine.processor import OptionSpec
from ..engine.slot import split_settings
from ..errors import ConfigError, NeuralrigError
from .presets import PresetStore

log = logging.getLogger("neuralrig.control")

# address, arguments, origin (the frontend or client that caused it, or None)
Listener = Callable[[str, tuple[Any, ...], object], None]
MODEL_NAME_FORBIDDEN = ("/", "\\", "\x00")
FILE_OPTIONS = ("model", "ir")  # options naming a file in the model/impulse folders


class ControlError(NeuralrigError):
    """A control request that cannot be applied; the message names the problem."""


@dataclass
class SlotView:
    """What control frontends know about one slot (the mirror of its state)."""

    id: str
    type: str
    options: dict[str, Any]
    specs: dict[str, ParamSpec]
    values: dict[str, float]
    bypass: bool
    mix: float
    accepts_notes: bool = False
    latency_samples: int = 0
    option_specs: dict[str, OptionSpec] = field(default_factory=dict)

    def option(self, name: str) -> Any:
        """An option's value: as configured, else the processor's default."""
        if name in self.options:
            return self.options[name]
        spec = self.option_specs.get(name)
        return spec.default if spec is not None else None

    def state(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "bypass": self.bypass, "mix": self.mix,
                "params": dict(self.values), "options": dict(self.options),
                "latency_samples": self.latency_samples}


@dataclass
class MidiMappings:
    cc: list[CCMapping] = field(default_factory=list)
    switches: list[SwitchMapping] = field(default_factory=list)


class RigController:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config: RigConfig = engine.config
        self.presets = PresetStore(self.config.preset_dir)
        self.preset: str | None = None
        self.midi = MidiMappings(list(self.config.control.midi.cc),
                                 list(self.config.control.midi.switches))
        self.learn_target: tuple[str, str] | None = None  # set by learn(), used by MIDI
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._rig_listeners: list[Callable[[], None]] = []
        self._slots: dict[str, SlotView] = {}
        self._cpu_mark = (time.monotonic(), time.process_time())
        self._refresh()
        from .mapper import Mapper

        self.mapper = Mapper(self, self.config.mapping_dir)
        self.mapper.apply_runs(self.config.mapping_runs)

    # -- listeners ---------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """``listener(address, args, origin)`` after every change; must not block."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_rig_listener(self, listener: Callable[[], None]) -> None:
        """Called after the rig's structure changed (preset loaded, model swapped)."""
        self._rig_listeners.append(listener)

    def remove_rig_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._rig_listeners:
            self._rig_listeners.remove(listener)

    def _notify(self, address: str, args: tuple[Any, ...], origin: object) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(address, args, origin)
            except Exception:  # one broken client must not stop the others
                log.exception("listener for %s failed", address)

    # -- reading -----------------------------------------------------------
    def slot_ids(self) -> list[str]:
        return list(self._slots)

    def slot(self, slot_id: str) -> SlotView:
        try:
            return self._slots[slot_id]
        except KeyError:
            known = ", ".join(self._slots) or "none"
            raise ControlError(f"no slot '{slot_id}' (slots: {known})") from None

    def spec(self, slot_id: str, name: str) -> ParamSpec:
        view = self.slot(slot_id)
        try:
            return view.specs[name]
        except KeyError:
            known = ", ".join(view.specs) or "none"
            raise ControlError(f"slot '{slot_id}' has no parameter '{name}' "
                               f"(parameters: {known})") from None

    def value(self, slot_id: str, name: str) -> float:
        self.spec(slot_id, name)
        return self.slot(slot_id).values[name]

    def gains(self) -> dict[str, float]:
        return {"input_gain": self.config.input_gain, "output_gain": self.config.output_gain}

    def status(self) -> dict[str, Any]:
        status = self.engine.status().as_dict()
        now, cpu = time.monotonic(), time.process_time()
        wall = now - self._cpu_mark[0]
        status["cpu_percent"] = round(100.0 * (cpu - self._cpu_mark[1]) / wall, 1) if wall > 0 \
            else 0.0
        self._cpu_mark = (now, cpu)
        if status.get("xruns") is None:  # the backend does not report xruns (offline)
            status["xruns"] = -1
        status["state"] = "running"
        status["preset"] = self.preset or ""
        status["slots"] = len(self._slots)
        for report in self.engine.slot_reports().values():
            for key in ("late_chunks", "dropped_chunks"):
                if key in report:
                    status[key] = status.get(key, 0) + report[key]
        return status

    def meters(self) -> dict[str, Any]:
        return self.engine.meters()

    # -- changing ----------------------------------------------------------
    def set_param(self, slot_id: str, name: str, value: float, *, norm: bool = False,
                  at: float | None = None, origin: object = None,
                  applied_to: object = None) -> float:
        """Set a parameter in its unit (or 0..1 with ``norm``); returns the clamped value.

        ``applied_to``: the chain the audio thread already applied it to (MIDI CC).
        """
        spec = self.spec(slot_id, name)
        value = _finite(value, f"{slot_id}.{name}")
        value = spec.from_norm(value) if norm else spec.clamp(value)
        with self._lock:
            self.engine.set_param(slot_id, name, value, at, applied_to)
            self.slot(slot_id).values[name] = value
        self._notify(f"/rig/{slot_id}/{name}", (value,), origin)
        return value

    def set_bypass(self, slot_id: str, bypass: bool, *, at: float | None = None,
                   origin: object = None) -> bool:
        view = self.slot(slot_id)
        with self._lock:
            self.engine.set_param(slot_id, "bypass", float(bool(bypass)), at)
            view.bypass = bool(bypass)
        self._notify(f"/rig/{slot_id}/bypass", (int(view.bypass),), origin)
        return view.bypass

    def set_mix(self, slot_id: str, mix: float, *, at: float | None = None,
                origin: object = None) -> float:
        view = self.slot(slot_id)
        mix = min(1.0, max(0.0, _finite(mix, f"{slot_id}.mix")))
        with self._lock:
            self.engine.set_param(slot_id, "mix", mix, at)
            view.mix = mix
        self._notify(f"/rig/{slot_id}/mix", (mix,), origin)
        return mix

    def set_gain(self, which: str, db: float, *, at: float | None = None,
                 origin: object = None) -> float:
        if which not in ("input_gain", "output_gain"):
            raise ControlError(f"no rig gain '{which}' (input_gain, output_gain)")
        db = min(24.0, max(-60.0, _finite(db, which)))
        with self._lock:
            self.engine.set_gain(which, db, at)
            self.config = replace(self.config, **{which: db})
        self._notify(f"/rig/{which}", (db,), origin)
        return db

    def note(self, slot_id: str, note: int, velocity: int, origin: object = None,
             played_on: object = None) -> None:
        """A note on (velocity > 0) or off for a generator slot.

        ``played_on``: the chain the audio thread already played it on (engine MIDI);
        it is played again only if a newer chain has replaced that one since."""
        view = self.slot(slot_id)
        if not view.accepts_notes:
            raise ControlError(f"slot '{slot_id}' ({view.type}) does not play notes")
        if not (0 <= note <= 127 and 0 <= velocity <= 127):
            raise ControlError(f"note {note} / velocity {velocity} outside 0-127")
        if played_on is None or not self.engine.is_latest(played_on):
            processor = self.engine.slot(slot_id).processor
            self.engine.post(lambda: processor.note(note, velocity))
        self._notify(f"/rig/{slot_id}/note", (note, velocity), origin)

    def set_model(self, slot_id: str, name: str, origin: object = None) -> str:
        """Swap a neural slot's model (built off the audio thread, crossfaded in)."""
        if self.slot(slot_id).type != "neural":
            raise ControlError(f"slot '{slot_id}' is a {self.slot(slot_id).type}, "
                               "not a neural slot")
        return self.set_option(slot_id, "model", name, origin=origin)

    def set_option(self, slot_id: str, option: str, value: Any, origin: object = None) -> Any:
        """Change a build-time option (a model, an impulse response): the slot is rebuilt
        off the audio thread and the rig crossfades to it; parameters keep their values."""
        view = self.slot(slot_id)
        spec = view.option_specs.get(option)
        if spec is None:
            known = ", ".join(view.option_specs) or "none"
            raise ControlError(f"slot '{slot_id}' has no option '{option}' (options: {known})")
        value = _option_value(spec.kind, value, f"{slot_id}.{option}")
        if option in FILE_OPTIONS and (not value or value.startswith(".")
                                       or any(c in value for c in MODEL_NAME_FORBIDDEN)):
            raise ControlError(f"{option} name {value!r} not allowed: give a file name from "
                               "the configured folders, without path separators")
        with self._lock:
            kept = dict(view.values)
            slots = tuple(
                replace(s, settings={**view.options, option: value}, bypass=view.bypass,
                        mix=view.mix) if s.id == slot_id else self._slot_config(s.id)
                for s in self.config.slots)
            self._swap(replace(self.config, slots=slots))
            new = self.slot(slot_id)
            for param, old in kept.items():  # knobs the new build shares keep their place
                if param in new.specs:
                    value_now = new.specs[param].clamp(old)
                    self.engine.set_param(slot_id, param, value_now)
                    new.values[param] = value_now
        self._notify(f"/rig/{slot_id}/{option}", (_osc_value(value),), origin)
        return value

    # -- presets -----------------------------------------------------------
    def preset_names(self) -> list[str]:
        return self.presets.names()

    def save_preset(self, name: str, origin: object = None) -> str:
        with self._lock:
            self.mapper.save_all()  # the mappings the preset names are on disk first
            path = self.presets.save(name, self.state())
        self.preset = name
        log.info("preset '%s' saved to %s", name, path)
        self._notify("/preset/saved", (name,), origin)
        return name

    def load_preset(self, name_or_index: str | int, origin: object = None) -> str:
        name = (self.presets.by_index(name_or_index) if isinstance(name_or_index, int)
                else name_or_index)
        with self._lock:
            config = self.presets.read(name, self.config)
            self._swap(config)
            self.midi = MidiMappings(list(config.control.midi.cc),
                                     list(config.control.midi.switches))
            self.mapper.apply_runs(config.mapping_runs)
            self.preset = name
        log.info("preset '%s' loaded", name)
        self._notify("/preset/loaded", (name,), origin)
        return name

    def state(self) -> dict[str, Any]:
        """The whole rig state as a preset (a rig config without machine settings)."""
        midi: dict[str, Any] = {}
        if self.midi.cc:
            midi["cc"] = [m.as_toml() for m in self.midi.cc]
        if self.midi.switches:
            midi["switch"] = [m.as_toml() for m in self.midi.switches]
        out: dict[str, Any] = {"engine": self.gains()}
        if midi:
            out["midi"] = midi
        out["slot"] = [self._slot_table(view) for view in self._slots.values()]
        runs = [{"name": n, "run": self.mapper.get(n).running} for n in self.mapper.names()]
        if runs:
            out["mapping"] = runs
        return out

    # -- MIDI mappings (kept here so presets carry them) -------------------
    def learn(self, slot_id: str, param: str, origin: object = None) -> None:
        """Arm MIDI learn: the next CC that arrives is mapped to ``slot_id.param``."""
        self.spec(slot_id, param)
        self.learn_target = (slot_id, param)
        self._notify("/midi/learning", (slot_id, param), origin)

    def map_cc(self, mapping: CCMapping, origin: object = None) -> None:
        self.spec(mapping.slot, mapping.param)
        with self._lock:
            self.midi.cc = [m for m in self.midi.cc
                            if not (m.cc == mapping.cc and m.channel == mapping.channel)
                            and not (m.slot == mapping.slot and m.param == mapping.param)]
            self.midi.cc.append(mapping)
        self._notify("/midi/mapped", (mapping.slot, mapping.param, mapping.cc,
                                      mapping.channel or 0), origin)

    def forget_cc(self, slot_id: str, param: str, origin: object = None) -> int:
        with self._lock:
            before = len(self.midi.cc)
            self.midi.cc = [m for m in self.midi.cc
                            if not (m.slot == slot_id and m.param == param)]
            removed = before - len(self.midi.cc)
        self._notify("/midi/forgot", (slot_id, param), origin)
        return removed

    # -- internals ---------------------------------------------------------
    def _swap(self, config: RigConfig) -> None:
        try:
            self.engine.load(config)
        except ConfigError:
            raise
        except NeuralrigError as exc:
            raise ConfigError(str(exc)) from None
        self.config = config
        self._refresh()
        for listener in tuple(self._rig_listeners):
            try:
                listener()
            except Exception:
                log.exception("rig listener failed")

    def _refresh(self) -> None:
        slots: dict[str, SlotView] = {}
        for slot_config in self.config.slots:
            instance = self.engine.slot(slot_config.id)
            processor = instance.processor
            options, _ = split_settings(type(processor), slot_config.settings)
            slots[slot_config.id] = SlotView(
                id=slot_config.id, type=processor.kind, options=options,
                specs={p.name: p for p in processor.params}, values=dict(instance.values),
                bypass=instance.bypass, mix=instance.mix,
                accepts_notes=callable(getattr(processor, "note", None)),
                latency_samples=instance.latency_samples,
                option_specs={o.name: o for o in processor.options})
        self._slots = slots

    def _slot_config(self, slot_id: str) -> SlotConfig:
        view = self._slots[slot_id]
        return SlotConfig(view.id, view.type, {**view.options, **view.values}, view.bypass,
                          view.mix)

    @staticmethod
    def _slot_table(view: SlotView) -> dict[str, Any]:
        table: dict[str, Any] = {"id": view.id, "type": view.type}
        table.update({k: v for k, v in view.options.items() if v is not None})
        table.update(view.values)
        table["bypass"] = view.bypass
        table["mix"] = view.mix
        return table


def _option_value(kind: type, value: Any, name: str) -> Any:
    """An OSC argument as an option of type ``kind`` (OSC has no booleans in 1.0: 0/1)."""
    if kind is bool and isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite(value, name)
    if kind is str and isinstance(value, str):
        return value
    raise ControlError(f"{name} must be {kind.__name__}, got {type(value).__name__}")


def _osc_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ControlError(f"{name}: value must be a finite number, got {value}")
    return value
