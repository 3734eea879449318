"""Rig configuration: a TOML file describing engine settings and an ordered chain of slots.

Validation lives here, in one place: every error names the file, the line where
it can, and what is wrong.

    [engine]
    sample_rate = 48000
    block = 128
    channels = 1            # 1 (mono) or 2 (stereo)
    input_gain = 0.0        # dB
    output_gain = 0.0       # dB

    [paths]
    models = ["~/neuralrig/models"]      # relative paths are relative to this file
    impulses = ["~/neuralrig/impulses"]
    presets = "~/neuralrig/presets"      # where /preset/save writes (one folder)
    mappings = "~/neuralrig/mappings"    # where gesture mappings are kept (one folder)

    [[slot]]
    id = "drive"            # stable, becomes part of OSC addresses
    type = "overdrive"
    drive = 0.6             # parameters and options sit beside id and type
    bypass = false
    mix = 1.0

The control sections ([osc], [oscquery], [discovery], [midi]) are parsed by
``control_config``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .control_config import ControlSettings, parse_control
from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SLOT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
RESERVED_SLOT_KEYS = {"id", "type", "bypass", "mix"}
SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)
MAX_BLOCK = 4096
MAX_CHANNELS = 2


@dataclass(frozen=True)
class SlotConfig:
    id: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)
    bypass: bool = False
    mix: float = 1.0
    line: int | None = None


@dataclass(frozen=True)
class RigConfig:
    sample_rate: int = 48000
    block: int = 128
    channels: int = 1
    input_gain: float = 0.0
    output_gain: float = 0.0
    slots: tuple[SlotConfig, ...] = ()
    model_dirs: tuple[Path, ...] = ()
    impulse_dirs: tuple[Path, ...] = ()
    preset_dir: Path = field(default_factory=lambda: Path("~/neuralrig/presets").expanduser())
    mapping_dir: Path = field(
        default_factory=lambda: Path("~/neuralrig/mappings").expanduser())
    # [[mapping]] name, run: which gesture mappings run (a preset turns them on and off).
    mapping_runs: tuple[tuple[str, bool], ...] = ()
    control: ControlSettings = field(default_factory=ControlSettings)
    source: str = "<built-in>"

    def slot(self, slot_id: str) -> SlotConfig:
        for slot in self.slots:
            if slot.id == slot_id:
                return slot
        from .errors import UnknownSlotError

        known = ", ".join(s.id for s in self.slots) or "none"
        raise UnknownSlotError(f"no slot '{slot_id}' in the rig (slots: {known})")

    def with_engine(self, **changes: Any) -> RigConfig:
        """A copy with engine settings overridden (from the command line)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        merged = replace(self, **changes)
        validate_engine(merged)
        return merged


def builtin_data_dir() -> Path:
    """Folder of files shipped with the package (impulse responses, models)."""
    return Path(str(resources.files("neuralrig.models") / "data"))


def default_config_path() -> Path:
    return Path(str(resources.files("neuralrig.server.rigs") / "default.toml"))


def load_config(path: str | Path | None = None) -> RigConfig:
    """Read and validate a rig config; ``None`` means the shipped default rig."""
    path = Path(path) if path is not None else default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    return parse_config(text, source=str(path), base_dir=path.parent)


def parse_config(text: str, source: str = "<string>", base_dir: Path | None = None) -> RigConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    base_dir = base_dir or Path.cwd()

    sections = {"engine", "paths", "slot", "osc", "oscquery", "discovery", "midi", "mapping"}
    unknown = set(data) - sections
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {sorted(unknown)} "
            f"(expected {', '.join(sorted(sections - {'slot', 'mapping'}))}, [[slot]], "
            "[[mapping]])"
        )
    engine = _table(data.get("engine", {}), f"{source}: [engine]")
    paths = _table(data.get("paths", {}), f"{source}: [paths]")

    known_engine = {"sample_rate", "block", "channels", "input_gain", "output_gain"}
    extra = set(engine) - known_engine
    if extra:
        raise ConfigError(
            f"{source}: [engine] has unknown key(s) {sorted(extra)} "
            f"(known: {', '.join(sorted(known_engine))})"
        )
    extra = set(paths) - {"models", "impulses", "presets", "mappings"}
    if extra:
        raise ConfigError(f"{source}: [paths] has unknown key(s) {sorted(extra)}")

    slots_raw = data.get("slot", [])
    if not isinstance(slots_raw, list):
        raise ConfigError(f"{source}: 'slot' must be an array of tables ([[slot]])")
    slots = tuple(_parse_slot(raw, i, text, source) for i, raw in enumerate(slots_raw))
    ids = [s.id for s in slots]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{source}: slot id(s) used twice: {', '.join(dupes)}")

    builtin = builtin_data_dir()
    config = RigConfig(
        sample_rate=_number(engine, "sample_rate", 48000, int, source),
        block=_number(engine, "block", 128, int, source),
        channels=_number(engine, "channels", 1, int, source),
        input_gain=_number(engine, "input_gain", 0.0, float, source),
        output_gain=_number(engine, "output_gain", 0.0, float, source),
        slots=slots,
        model_dirs=(*_dirs(paths, "models", base_dir, source), builtin),
        impulse_dirs=(*_dirs(paths, "impulses", base_dir, source), builtin),
        preset_dir=_preset_dir(paths, base_dir, source),
        mapping_dir=_preset_dir(paths, base_dir, source, "mappings"),
        control=parse_control(data, source),
        mapping_runs=_mapping_runs(data.get("mapping", []), source),
        source=source,
    )
    validate_engine(config)
    _check_mapped_slots(config)
    return config


def _check_mapped_slots(config: RigConfig) -> None:
    """MIDI mappings must name slots of this rig (their parameters are checked at build)."""
    ids = {s.id for s in config.slots}
    midi = config.control.midi
    for kind, mappings in (("midi.cc", midi.cc), ("midi.switch", midi.switches)):
        for mapping in mappings:
            if getattr(mapping, "mapping", ""):
                continue  # a footswitch on a gesture mapping, which may be declared later
            if mapping.slot not in ids:
                raise ConfigError(
                    f"{config.source}: [[{kind}]] for cc {mapping.cc} names slot "
                    f"'{mapping.slot}', which is not in the rig (slots: "
                    f"{', '.join(sorted(ids)) or 'none'})")


def validate_engine(config: RigConfig) -> None:
    where = config.source
    if config.sample_rate not in SAMPLE_RATES:
        raise ConfigError(
            f"{where}: sample_rate {config.sample_rate} unsupported "
            f"(choose one of {', '.join(map(str, SAMPLE_RATES))})"
        )
    if not (16 <= config.block <= MAX_BLOCK) or config.block & (config.block - 1):
        raise ConfigError(
            f"{where}: block {config.block} must be a power of two from 16 to {MAX_BLOCK}"
        )
    if config.channels not in (1, MAX_CHANNELS):
        raise ConfigError(
            f"{where}: channels must be 1 (mono) or 2 (stereo), not {config.channels}"
        )
    for name in ("input_gain", "output_gain"):
        value = getattr(config, name)
        if not -60.0 <= value <= 24.0:
            raise ConfigError(f"{where}: {name} {value} dB outside -60..24 dB")


def _parse_slot(raw: Any, index: int, text: str, source: str) -> SlotConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: slot #{index + 1} must be a table")
    slot_id = raw.get("id")
    line = _line_of_slot(text, index)
    where = f"{source}:{line}" if line else source
    if not isinstance(slot_id, str) or not SLOT_ID.match(slot_id):
        raise ConfigError(
            f"{where}: slot #{index + 1} needs an 'id' of letters, digits, '_' or '-' "
            f"starting with a letter (at most 32 characters), got {slot_id!r}"
        )
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ConfigError(f"{where}: slot '{slot_id}' needs a 'type' (a processor name)")
    bypass = raw.get("bypass", False)
    if not isinstance(bypass, bool):
        raise ConfigError(f"{where}: slot '{slot_id}': bypass must be true or false")
    mix = raw.get("mix", 1.0)
    if isinstance(mix, bool) or not isinstance(mix, (int, float)) or not 0.0 <= mix <= 1.0:
        raise ConfigError(f"{where}: slot '{slot_id}': mix must be a number from 0 to 1")
    settings = {k: v for k, v in raw.items() if k not in RESERVED_SLOT_KEYS}
    return SlotConfig(slot_id, kind, settings, bypass, float(mix), line)


def _line_of_slot(text: str, index: int) -> int | None:
    """Line number of the index-th ``[[slot]]`` header, for error messages."""
    count = -1
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*\[\[\s*slot\s*\]\]", line):
            count += 1
            if count == index:
                return number
    return None


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _number(table: dict[str, Any], key: str, default: Any, kind: type, source: str) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: [engine] {key} must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise ConfigError(f"{source}: [engine] {key} must be a whole number, got {value}")
    return kind(value)


def _mapping_runs(value: Any, source: str) -> tuple[tuple[str, bool], ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: [[mapping]] must be tables with name and run")
    out = []
    for table in value:
        extra = set(table) - {"name", "run"}
        name, run = table.get("name"), table.get("run", True)
        if extra or not isinstance(name, str) or not isinstance(run, bool):
            raise ConfigError(f"{source}: [[mapping]] takes name (a string) and run (true or "
                              f"false), got {table}")
        out.append((name, run))
    return tuple(out)


def _preset_dir(paths: dict[str, Any], base_dir: Path, source: str,
                key: str = "presets") -> Path:
    """A folder the daemon writes to (presets, mappings): one, created when first needed."""
    value = paths.get(key, f"~/neuralrig/{key}")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: [paths] {key} must be a folder name")
    return (base_dir / Path(value).expanduser()).resolve()


def _dirs(paths: dict[str, Any], key: str, base_dir: Path, source: str) -> tuple[Path, ...]:
    value = paths.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [paths] {key} must be a list of folder names")
    return tuple((base_dir / Path(v).expanduser()).resolve() for v in value)
