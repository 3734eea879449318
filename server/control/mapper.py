"""The live mapper: gestures in, parameters out, through regressors people train on the fly.

A mapping names its gesture sources (OSC addresses whose float arguments are
input dimensions; ``midi/cc/CH/N``, ``midi/bend/CH``, ``midi/aftertouch/CH``,
``midi/note/CH`` with CH 1-16 or ``omni``) and its outputs (``slot/param``).
Every gesture updates the mappings that listen to its source: a recording one
stores (gesture, current output values) as an example, a running one predicts
the outputs and sets them through the RigController, like any other client,
so they are clamped, smoothed and echoed to subscribers.

Training runs in a separate process (``mappings.worker``): the audio callback
shares this process's GIL and must never wait for a fit. Mapping files are
saved atomically in the mappings folder whenever their examples, declaration
or regressor change, and loaded at start, so a mapping survives a restart.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralrig.mappings import examples
from neuralrig.mappings.examples import MappingData, MappingFileError, check_smoothing
from neuralrig.mappings.regressors import RegressorError, valid_kind

from .controller import ControlError, RigController
from .glide import Glide

log = logging.getLogger("neuralrig.mapper")

SUFFIX = ".mapping.safetensors"
RECORD_INTERVAL = 0.02  # seconds between examples while recording (a gesture stream is dense)
MIDI_SOURCE = re.compile(r"midi/(cc/(?:omni|[1-9]|1[0-6])/(?:\d{1,3})|"
                         r"(?:bend|aftertouch|note)/(?:omni|[1-9]|1[0-6]))")
OSC_SOURCE = re.compile(r"(/[A-Za-z0-9_.~-]+)+(:\d{1,2})?")
RESERVED = ("/rig", "/map", "/preset", "/midi", "/status", "/meters", "/subscribe",
            "/unsubscribe", "/error")
Notify = Callable[[str, tuple[Any, ...]], None]


def source_dims(source: str) -> int | None:
    """Numbers a source contributes; None for an OSC address until its first message."""
    if source.startswith("midi/"):
        if not MIDI_SOURCE.fullmatch(source) or (
                source.startswith("midi/cc/") and int(source.rsplit("/", 1)[1]) > 127):
            raise ControlError(f"gesture source {source!r}: use midi/cc/CH/N (N 0-127), "
                               "midi/bend/CH, midi/aftertouch/CH or midi/note/CH, with CH "
                               "1-16 or omni")
        return 2 if source.startswith("midi/note/") else 1
    if not OSC_SOURCE.fullmatch(source):
        raise ControlError(f"gesture source {source!r}: an OSC address (/xy, or /xy:2 to "
                           "give its number of floats) or a midi/... source")
    address, _, count = source.partition(":")
    if any(address == r or address.startswith(r + "/") for r in RESERVED):
        raise ControlError(f"gesture source {address!r} is one of neuralrig's own addresses")
    if count:
        if not 1 <= int(count) <= 16:
            raise ControlError(f"gesture source {source!r}: 1 to 16 numbers")
        return int(count)
    return None


@dataclass
class LiveMapping:
    data: MappingData
    recording: bool = False
    training: bool = False
    progress: float = 0.0
    last_error: str = ""
    vector: np.ndarray = field(default_factory=lambda: np.zeros(0))
    last_example: float = 0.0

    def __post_init__(self) -> None:
        self.vector = np.zeros(sum(self.data.input_dims))

    @property
    def running(self) -> bool:
        return self.data.running

    @running.setter
    def running(self, on: bool) -> None:
        self.data.running = on

    def span(self, source: str) -> tuple[int, int] | None:
        start = 0
        for name, dims in zip(self.data.inputs, self.data.input_dims, strict=True):
            if _address(name) == source:
                return start, dims
            start += dims
        return None

    def describe(self) -> dict[str, Any]:
        d = self.data
        return {"inputs": d.inputs, "input_dims": d.input_dims, "outputs": d.outputs,
                "examples": d.count, "regressor": d.regressor.kind if d.regressor else "",
                "state": self.state, "validation_error": d.validation_error,
                "smooth": d.smoothing, "error": self.last_error}

    @property
    def state(self) -> str:
        if self.training:
            return "training"
        if self.recording:
            return "recording"
        if self.running:
            return "running" if self.data.regressor is not None else "waiting"
        return "trained" if self.data.regressor is not None else "idle"


def _address(source: str) -> str:
    return source.partition(":")[0] if source.startswith("/") else source


class Mapper:
    def __init__(self, controller: RigController, folder: Path | None) -> None:
        self.controller = controller
        self.folder = folder
        self.mappings: dict[str, LiveMapping] = {}
        self._lock = threading.RLock()  # control threads only (OSC, MIDI, training)
        self._notify: list[Notify] = []
        self._sources: dict[str, list[LiveMapping]] = {}
        self._glide = Glide(self._set_outputs)
        if folder is not None and folder.is_dir():
            self._load_all(folder)

    # -- declaring ---------------------------------------------------------------
    def add_listener(self, notify: Notify) -> None:
        self._notify.append(notify)

    def names(self) -> list[str]:
        return sorted(self.mappings)

    def get(self, name: str) -> LiveMapping:
        mapping = self.mappings.get(name)
        if mapping is None:
            known = ", ".join(self.names()) or "none"
            raise ControlError(f"no mapping '{name}' (mappings: {known}); declare it with "
                               f"/map/{name}/inputs and /map/{name}/outputs")
        return mapping

    def declare(self, name: str, inputs: list[str] | None = None,
                outputs: list[str] | None = None) -> LiveMapping:
        """Create or change a mapping's inputs or outputs (examples must be cleared first)."""
        with self._lock:
            old = self.mappings.get(name)
            new_inputs = inputs if inputs is not None else (old.data.inputs if old else [])
            new_outputs = outputs if outputs is not None else (old.data.outputs if old else [])
            if inputs is not None:
                if not inputs:
                    raise ControlError(f"/map/{name}/inputs: name at least one gesture source")
                dims = [source_dims(s) or 0 for s in inputs]
            else:
                dims = list(old.data.input_dims) if old else []
            for target in new_outputs:
                self._check_output(target)
            if old is not None and old.data.count and (
                    new_inputs != old.data.inputs or new_outputs != old.data.outputs):
                raise ControlError(f"mapping '{name}' has {old.data.count} examples for its "
                                   f"current inputs and outputs: /map/{name}/clear first")
            try:
                data = MappingData(name, list(new_inputs), dims, list(new_outputs))
            except MappingFileError as exc:
                raise ControlError(str(exc)) from None
            if old is not None:
                self._glide.cancel(name)
                data.regressor_kind, data.running = old.data.regressor_kind, old.running
                data.smoothing = old.data.smoothing
                if new_inputs == old.data.inputs and new_outputs == old.data.outputs:
                    data = old.data
            mapping = LiveMapping(data)
            self.mappings[name] = mapping
            self._index()
            self._save(mapping)
        return mapping

    def _check_output(self, target: str) -> None:
        slot_id, sep, param = target.partition("/")
        if not sep or not slot_id or not param:
            raise ControlError(f"output {target!r}: use slot/param, e.g. drive/drive or "
                               "rave/z1")
        self.controller.spec(slot_id, param)  # raises with the known names

    def _index(self) -> None:
        sources: dict[str, list[LiveMapping]] = {}
        for mapping in self.mappings.values():
            for source in mapping.data.inputs:
                sources.setdefault(_address(source), []).append(mapping)
        self._sources = sources

    def listens_to(self, source: str) -> bool:
        return source in self._sources

    # -- gestures (OSC thread, MIDI thread) ---------------------------------------
    def gesture(self, source: str, values: tuple[float, ...]) -> None:
        for mapping in self._sources.get(source, ()):
            self._take(mapping, source, values)

    def _take(self, mapping: LiveMapping, source: str, values: tuple[float, ...]) -> None:
        span = mapping.span(source)
        if span is None:
            return
        start, dims = span
        if dims == 0:  # an OSC source's size comes from its first message
            with self._lock:
                index = [_address(s) for s in mapping.data.inputs].index(source)
                if mapping.data.count:
                    raise ControlError(f"{source}: mapping '{mapping.data.name}' has examples "
                                       "but no size for this source")
                mapping.data.input_dims[index] = dims = len(values)
                mapping.data.x = np.zeros((0, sum(mapping.data.input_dims)))
                mapping.vector = np.zeros(sum(mapping.data.input_dims))
                self._save(mapping)
        if len(values) != dims:
            raise ControlError(f"{source}: mapping '{mapping.data.name}' expects {dims} "
                               f"number(s), got {len(values)}")
        if not all(map(math.isfinite, values)):
            raise ControlError(f"{source}: values must be finite numbers")
        mapping.vector[start:start + dims] = values
        if mapping.recording:
            now = time.monotonic()
            if now - mapping.last_example >= RECORD_INTERVAL:
                mapping.last_example = now
                self._add_example(mapping)
        elif mapping.running and mapping.data.regressor is not None:
            self._apply(mapping)

    def _apply(self, mapping: LiveMapping) -> None:
        regressor = mapping.data.regressor
        if regressor is None:
            return
        outputs = regressor.predict(mapping.vector)
        if mapping.data.smoothing > 0.0:
            self._glide.move(mapping.data.name, outputs, mapping.data.smoothing,
                             lambda: self._current_outputs(mapping), self._tolerance(mapping))
        else:
            self._set_outputs(mapping.data.name, outputs)

    def _set_outputs(self, name: str, values: np.ndarray) -> None:
        mapping = self.mappings.get(name)
        if mapping is None:
            return
        for target, value in zip(mapping.data.outputs, values, strict=True):
            slot_id, _, param = target.partition("/")
            self.controller.set_param(slot_id, param, float(value), origin=self)

    def _tolerance(self, mapping: LiveMapping) -> np.ndarray:
        """How close a glide must come to arrive: a ten-thousandth of each range."""
        specs = [self.controller.spec(*t.split("/", 1)) for t in mapping.data.outputs]
        return np.array([1e-4 * (s.maximum - s.minimum) for s in specs])

    def _current_outputs(self, mapping: LiveMapping) -> np.ndarray:
        return np.array([self.controller.value(*t.split("/", 1)) for t in mapping.data.outputs])

    def _add_example(self, mapping: LiveMapping) -> None:
        if 0 in mapping.data.input_dims:
            raise ControlError(f"mapping '{mapping.data.name}': no message yet from "
                               f"{mapping.data.inputs[mapping.data.input_dims.index(0)]} "
                               "(its size is unknown)")
        if not mapping.data.outputs:
            raise ControlError(f"mapping '{mapping.data.name}' has no outputs: "
                               f"/map/{mapping.data.name}/outputs first")
        with self._lock:
            mapping.data.add(mapping.vector, self._current_outputs(mapping))

    # -- the interactive loop -----------------------------------------------------
    def example(self, name: str) -> int:
        mapping = self.get(name)
        self._add_example(mapping)
        self._save(mapping)
        return mapping.data.count

    def record(self, name: str, on: bool) -> int:
        mapping = self.get(name)
        if on and not mapping.data.outputs:
            raise ControlError(f"mapping '{name}' has no outputs: /map/{name}/outputs first")
        mapping.recording = on
        if on:
            mapping.running = False
        else:
            self._save(mapping)
        return mapping.data.count

    def clear(self, name: str) -> None:
        mapping = self.get(name)
        with self._lock:
            d = mapping.data
            d.x, d.y = np.zeros((0, sum(d.input_dims))), np.zeros((0, len(d.outputs)))
            d.regressor, d.validation_error = None, None
        self._glide.cancel(name)
        self._save(mapping)

    def delete(self, name: str, index: int) -> int:
        mapping = self.get(name)
        with self._lock:
            d = mapping.data
            if not 0 <= index < d.count:
                raise ControlError(f"mapping '{name}' has {d.count} examples; no example "
                                   f"{index}")
            d.x, d.y = np.delete(d.x, index, axis=0), np.delete(d.y, index, axis=0)
        self._save(mapping)
        return mapping.data.count

    def run(self, name: str, on: bool) -> None:
        mapping = self.get(name)
        mapping.running = on
        if not on:
            self._glide.cancel(name)
        if on:
            mapping.recording = False
            if mapping.data.regressor is None:
                log.info("mapping '%s' will run once trained", name)
        self._save(mapping)

    def apply_runs(self, runs: tuple[tuple[str, bool], ...]) -> None:
        """Turn mappings on or off as a config or preset says; unknown names are logged."""
        for name, on in runs:
            if name in self.mappings:
                self.run(name, on)
            else:
                log.warning("[[mapping]] %s: no such mapping in %s", name, self.folder)

    def set_smoothing(self, name: str, seconds: float) -> None:
        """The time constant (seconds) of the glide from one prediction to the next."""
        try:
            seconds = check_smoothing(seconds)
        except MappingFileError as exc:
            raise ControlError(f"/map/{name}/smooth: {exc}") from None
        mapping = self.get(name)
        mapping.data.smoothing = seconds
        if seconds == 0.0:
            self._glide.cancel(name)
        self._save(mapping)

    def close(self) -> None:
        """Stop gliding (before the engine stops)."""
        self._glide.close()

    def set_regressor(self, name: str, kind: str) -> None:
        try:
            valid_kind(kind)
        except RegressorError as exc:
            raise ControlError(str(exc)) from None
        mapping = self.get(name)
        mapping.data.regressor_kind = kind
        self._save(mapping)

    def train(self, name: str, on_done: Callable[[LiveMapping], None] | None = None) -> None:
        """Train in a separate process; ``on_done`` runs (on a helper thread) when it ends."""
        from neuralrig.mappings.worker import train_in_process

        mapping = self.get(name)
        if mapping.training:
            raise ControlError(f"mapping '{name}' is already training")
        if mapping.data.count == 0:
            raise ControlError(f"mapping '{name}' has no examples: record some first")
        with self._lock:
            x, y = mapping.data.x.copy(), mapping.data.y.copy()
        mapping.training, mapping.recording, mapping.progress = True, False, 0.0
        mapping.last_error = ""

        def progress(fraction: float) -> None:
            mapping.progress = fraction
            self._send(f"/map/{name}/progress", (float(fraction),))

        def work() -> None:
            try:
                outcome = train_in_process(x, y, mapping.data.regressor_kind, progress)
                with self._lock:
                    mapping.data.regressor = outcome.regressor
                    mapping.data.validation_error = outcome.validation_error
                self._save(mapping)
                log.info("mapping '%s' trained: %s on %d examples in %.2f s, validation "
                         "error %s", name, outcome.kind, len(x), outcome.seconds,
                         "n/a" if outcome.validation_error is None
                         else f"{100 * outcome.validation_error:.2f}% of range")
            except Exception as exc:  # the daemon lives on; the client hears why
                mapping.last_error = str(exc)
                log.warning("mapping '%s' failed to train: %s", name, exc)
            finally:
                mapping.training = False
            if mapping.last_error:
                self._send(f"/map/{name}/error", (mapping.last_error,))
            else:
                error = mapping.data.validation_error
                self._send(f"/map/{name}/trained", (-1.0 if error is None else float(error),))
                if mapping.running:
                    self._apply(mapping)
            if on_done is not None:
                on_done(mapping)

        threading.Thread(target=work, name=f"map-train-{name}", daemon=True).start()

    # -- persistence ---------------------------------------------------------------
    def _save(self, mapping: LiveMapping) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._lock:
                examples.save(self.folder / f"{mapping.data.name}{SUFFIX}", mapping.data)
        except OSError as exc:
            mapping.last_error = f"cannot save: {exc}"
            log.warning("mapping '%s' not saved: %s", mapping.data.name, exc)

    def save_all(self) -> None:
        for mapping in list(self.mappings.values()):
            self._save(mapping)

    def _load_all(self, folder: Path) -> None:
        self._load_files(folder)
        for path in sorted(folder.glob("*.toml")):
            try:
                self._load_declaration(path)
            except (ControlError, ValueError) as exc:
                log.warning("mapping declaration %s skipped: %s", path.name, exc)
        self._index()

    def _load_declaration(self, path: Path) -> None:
        """A mapping declared in TOML: inputs, outputs, regressor, run, smooth. Its examples and
        trained regressor stay in its .mapping.safetensors file beside it."""
        from ..config import tomllib

        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read: {exc}") from None
        extra = set(table) - {"inputs", "outputs", "regressor", "run", "smooth"}
        if extra:
            raise ValueError(f"unknown key(s) {sorted(extra)} (inputs, outputs, regressor, "
                             "run, smooth)")
        inputs, outputs = table.get("inputs"), table.get("outputs")
        if not (isinstance(inputs, list) and isinstance(outputs, list)
                and all(isinstance(v, str) for v in [*inputs, *outputs])):
            raise ValueError("inputs and outputs must be lists of strings")
        name = path.stem
        old = self.mappings.get(name)
        if old is not None and old.data.count and (
                old.data.inputs != inputs or old.data.outputs != outputs):
            log.warning("mapping '%s': %s declares other inputs or outputs than its %d "
                        "recorded examples; the examples' declaration is kept", name,
                        path.name, old.data.count)
            return
        self.declare(name, inputs=list(inputs), outputs=list(outputs))
        if "regressor" in table:
            self.set_regressor(name, str(table["regressor"]))
        if "smooth" in table:
            smooth = table["smooth"]
            if isinstance(smooth, bool) or not isinstance(smooth, (int, float)):
                raise ValueError("smooth must be a number of seconds")
            self.set_smoothing(name, float(smooth))
        if "run" in table:
            self.run(name, bool(table["run"]))

    def _load_files(self, folder: Path) -> None:
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            try:
                data = examples.load(path)
            except MappingFileError as exc:
                log.warning("mapping file skipped: %s", exc)
                continue
            missing = [t for t in data.outputs if not self._output_exists(t)]
            if missing:
                log.warning("mapping '%s': outputs %s are not in this rig; it stays idle "
                            "until they are", data.name, ", ".join(missing))
            if missing:
                data.running = False
            self.mappings[data.name] = LiveMapping(data)
            log.info("mapping '%s' loaded: %d examples, %s", data.name, data.count,
                     data.regressor.kind if data.regressor else "not trained")

    def _output_exists(self, target: str) -> bool:
        try:
            self._check_output(target)
        except Exception:
            return False
        return True

    def _send(self, address: str, args: tuple[Any, ...]) -> None:
        for notify in list(self._notify):
            try:
                notify(address, args)
            except Exception:
                log.exception("mapper listener failed")
