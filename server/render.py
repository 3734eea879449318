"""Offline rendering: the same rig as the live daemon, run on files or arrays."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
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


def render_array(config: RigConfig, audio: np.ndarray, sample_rate: int,
                 block: int | None = None) -> np.ndarray:
    """Run ``audio`` (frames x channels) through the rig; same shape out, latency removed."""
    if audio.ndim == 1:
        audio = audio[:, None]
    config = config.with_engine(sample_rate=sample_rate, channels=audio.shape[1], block=block)
    engine = Engine(OfflineBackend(), config)
    try:
        engine.start()
        return engine.process_offline(audio.astype(np.float32, copy=False))
    finally:
        engine.stop()


def render_file(in_path: str | Path, out_path: str | Path, config: RigConfig | None = None,
                block: int | None = None) -> dict[str, float]:
    """Render a file; OUT keeps IN's sample rate, channel count, length and sample format."""
    check_output_path(out_path)  # before the work, not after it
    source = read_audio(in_path)
    if source.data.shape[1] > 2:
        raise ConfigError(f"{in_path}: {source.data.shape[1]} channels; neuralrig renders "
                          "mono or stereo")
    config = config or load_config(None)
    rendered = render_array(config, source.data, source.sample_rate, block)
    peak = float(np.max(np.abs(rendered))) if rendered.size else 0.0
    clipped = int(np.count_nonzero(np.abs(rendered) > 1.0))
    if clipped and not source.subtype.startswith("FLOAT") and source.subtype != "DOUBLE":
        log.warning("%d samples above full scale were clipped writing %s (peak %.2f dBFS); "
                    "lower the output gain", clipped, out_path, 20 * np.log10(peak))
    write_audio(out_path, rendered, source.sample_rate, source.subtype)
    return {"frames": rendered.shape[0], "channels": rendered.shape[1],
            "sample_rate": source.sample_rate, "peak": peak, "clipped": clipped}
