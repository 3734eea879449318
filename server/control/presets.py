"""Presets: the whole rig state (slots, models, parameters, bypasses, MIDI mappings) as TOML.

A preset file is a rig config without the machine-specific parts (sample
rate, block, folders, network), so `neuralrig serve --config PRESET.toml`
also runs it. Names are plain words: no path separators, no leading dot,
so a client can never reach outside the preset folder.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..config import RigConfig, parse_config
from ..errors import ConfigError
from ..tomlwrite import dumps

PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.()+-]{0,63}$")
MAX_PRESET_BYTES = 1 << 20


class PresetError(ConfigError):
    """A preset name or file that cannot be used."""


def check_name(name: str) -> str:
    if not isinstance(name, str) or not PRESET_NAME.match(name) or ".." in name:
        raise PresetError(
            f"preset name {name!r} not allowed: use letters, digits, spaces and _.()+- "
            "(at most 64 characters, no path separators, not starting with a dot)")
    return name


class PresetStore:
    """The preset folder: list, save (atomically), read."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        path = self.folder / f"{check_name(name)}.toml"
        # A symlinked preset must not lead outside the folder either.
        if not path.resolve().is_relative_to(self.folder.resolve()):
            raise PresetError(f"preset '{name}' points outside {self.folder}")
        return path

    def names(self) -> list[str]:
        """Preset names in sorted order; program change N selects names()[N]."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.toml")
                      if p.is_file() and PRESET_NAME.match(p.stem))

    def by_index(self, index: int) -> str:
        names = self.names()
        if not 0 <= index < len(names):
            raise PresetError(f"no preset number {index} ({len(names)} preset(s) in "
                              f"{self.folder})")
        return names[index]

    def save(self, name: str, state: dict[str, Any]) -> Path:
        path = self.path(name)
        header = f"neuralrig preset '{name}', saved {time.strftime('%Y-%m-%d %H:%M:%S')}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, dumps(state, header=header))
        except OSError as exc:  # a full or read-only disk: the old preset stays whole
            raise PresetError(f"preset '{name}': cannot save: {exc}") from None
        return path

    def read(self, name: str, running: RigConfig) -> RigConfig:
        """The preset as a config for the running engine (its rate, block, folders, network)."""
        path = self.path(name)
        try:
            if path.stat().st_size > MAX_PRESET_BYTES:
                raise PresetError(f"preset '{name}' is larger than 1 MB")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PresetError(f"no preset '{name}' in {self.folder}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PresetError(f"preset '{name}': cannot read: {exc}") from None
        preset = parse_config(text, source=f"preset '{name}'", base_dir=self.folder)
        midi = replace(running.control.midi, cc=preset.control.midi.cc,
                       switches=preset.control.midi.switches)
        return replace(running, slots=preset.slots, input_gain=preset.input_gain,
                       output_gain=preset.output_gain,
                       control=replace(running.control, midi=midi),
                       mapping_runs=preset.mapping_runs)
