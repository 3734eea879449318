"""`neuralrig doctor`: what a user needs to see when something does not work."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from . import __version__
from .config import RigConfig
from .errors import NeuralrigError

MODEL_SUFFIXES = (".safetensors", ".nam", ".json", ".ts", ".pt")
# What `neuralrig train` writes beside a model: not models themselves.
TRAINING_SIDE_FILES = (".report.json", ".checkpoint.pt")


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence C libraries (ALSA, PortAudio) that print straight to fd 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def run_doctor(config: RigConfig, out=print) -> int:
    problems = 0
    out(f"neuralrig {__version__} on Python {platform.python_version()} ({platform.machine()})")
    out(_versions())

    out("\nSound cards")
    cards = Path("/proc/asound/cards")
    text = cards.read_text().strip() if cards.exists() else ""
    if not text or "no soundcards" in text:
        out("  none found (use JACK with the dummy driver: "
            "jackd --no-realtime -d dummy -r 48000 -p 128)")
    else:
        for line in text.splitlines():
            out(f"  {line.strip()}")

    out("\nJACK")
    from .audio.jack_client import JackMonitor, jack_available, server_running

    server_name = os.environ.get("JACK_DEFAULT_SERVER", "default")
    if not jack_available():
        out("  libjack not found (install jackd2)")
    elif not server_running():
        out(f"  no JACK server running (server name '{server_name}'); "
            "`neuralrig serve` will fall back to PortAudio")
    else:
        try:
            with JackMonitor() as monitor:
                out(f"  server '{server_name}' running: {monitor.sample_rate} Hz, "
                    f"{monitor.buffer_size}-sample blocks, DSP load {monitor.cpu_load():.1f}%")
                for port in monitor.ports():
                    out(f"    port {port}")
        except NeuralrigError as exc:
            out(f"  server '{server_name}' did not answer: {exc}")
            problems += 1

    out("\nPortAudio devices")
    from .engine.pyo_env import pyo

    with _quiet_native_stderr():
        names, indexes = pyo.pa_get_output_devices()
        in_names, _ = pyo.pa_get_input_devices()
    if not names:
        out("  no output device")
    for name, index in zip(names, indexes, strict=False):
        out(f"  output {index}: {name}")
    for name in in_names:
        out(f"  input: {name}")

    out("\nMIDI ports")
    out(_midi_ports())

    out(f"\nConfig in effect: {config.source}")
    out(f"  {config.sample_rate} Hz, block {config.block}, "
        f"{'stereo' if config.channels == 2 else 'mono'}, input gain {config.input_gain:+g} dB, "
        f"output gain {config.output_gain:+g} dB")
    for slot in config.slots:
        state = " (bypassed)" if slot.bypass else ""
        settings = ", ".join(f"{k}={v}" for k, v in slot.settings.items())
        out(f"  slot {slot.id}: {slot.type}{state} mix={slot.mix:g} {settings}")
    problems += _check_rig(config, out)
    _control(config, out)

    out("\nModels")
    from neuralrig.models.builtin import BUILTIN_MODELS

    out(f"  built-in: {', '.join(BUILTIN_MODELS)}")
    for folder in config.model_dirs:
        files = sorted(p for p in folder.glob("*") if p.suffix in MODEL_SUFFIXES
                       and not p.name.endswith(TRAINING_SIDE_FILES)) if folder.is_dir() else []
        where = "" if folder.is_dir() else " (missing)"
        out(f"  {folder}{where}: {'' if files else 'no model files'}")
        for path in files:
            problems += _check_model(path, out)
    out("\n" + ("no problems found" if not problems else f"{problems} problem(s) found"))
    return 0 if not problems else 1


def _control(config: RigConfig, out: Callable[[str], None]) -> None:
    """What `serve` will listen on and advertise, and the presets it can load."""
    control = config.control
    osc = control.osc
    out("\nControl")
    query = f"http port {control.oscquery_port}" if control.oscquery_port else "off"
    out(f"  OSC: {'udp ' + osc.host + ':' + str(osc.port) if osc.port else 'off'}"
        f"{', replies to port ' + str(osc.reply_port) if osc.reply_port else ''}; "
        f"OSCQuery: {query}")
    disc = control.discovery
    out(f"  zeroconf: {'off' if not disc.enabled else repr(disc.name or 'neuralrig on <host>')}"
        f"{' on ' + ', '.join(disc.interfaces) if disc.enabled and disc.interfaces else ''}")
    midi = control.midi
    out(f"  MIDI: {'off' if not midi.enabled else midi.api + ' port ' + repr(midi.port_name)}"
        f", {len(midi.cc)} CC mapping(s), {len(midi.switches)} footswitch(es)")
    folder = config.preset_dir
    names = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
    out(f"  presets: {folder} ({len(names)}){': ' + ', '.join(names) if names else ''}")
    folder = config.mapping_dir
    names = sorted(p.name.removesuffix(".mapping.safetensors")
                   for p in folder.glob("*.mapping.safetensors")) if folder.is_dir() else []
    out(f"  gesture mappings: {folder} ({len(names)}){': ' + ', '.join(names) if names else ''}")


def _check_model(path: Path, out: Callable[[str], None]) -> int:
    """Load (not run) a model file and say what it is, or why it is refused."""
    from neuralrig.models.formats import load_model

    if path.suffix in (".ts", ".pt"):
        return _check_generator(path, out)
    try:
        model = load_model(path)
    except NeuralrigError as exc:
        if "oneshot" in str(exc):  # not an effect: the one-shot generator's file
            return _check_oneshots(path, out)
        out(f"    {path.name}: REFUSED: {str(exc).removeprefix(f'{path}: ')}")
        return 1
    fmt = (getattr(model, "metadata", None) or {}).get("format", "neuralrig")
    knobs = ", ".join(c.name for c in model.controls)
    out(f"    {path.name}: {fmt}: {model.describe()}" + (f"; controls {knobs}" if knobs else ""))
    return 0


def _check_generator(path: Path, out: Callable[[str], None]) -> int:
    """A TorchScript generator: loaded and probed through the rave slot's loader."""
    from neuralrig.models.generators.torchscript import load_generator

    try:
        generator = load_generator(path)
    except NeuralrigError as exc:
        message = str(exc).removeprefix(f"{path}: ")
        if "no sample rate" in message:  # usable with the slot's sample_rate option
            out(f"    {path.name}: TorchScript generator; {message}")
            return 0
        out(f"    {path.name}: REFUSED: {message}")
        return 1
    out(f"    {path.name}: generator (rave slot): {generator.describe().split(': ', 1)[1]}")
    return 0


def _check_oneshots(path: Path, out: Callable[[str], None]) -> int:
    from neuralrig.models.generators.oneshots.model import OneShotModel

    try:
        model = OneShotModel.load(path)
    except NeuralrigError as exc:
        out(f"    {path.name}: REFUSED: {str(exc).removeprefix(f'{path}: ')}")
        return 1
    out(f"    {path.name}: generator (oneshots slot): {model.describe()}")
    return 0


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for dist in ("pyo", "torch", "numpy", "numba", "python-osc", "mido", "python-rtmidi",
                 "zeroconf"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} MISSING")
    return "  " + ", ".join(parts)


def _midi_ports() -> str:
    lines = []
    try:
        import rtmidi
    except ImportError:
        return "  python-rtmidi not installed"
    for api, label in ((rtmidi.API_LINUX_ALSA, "ALSA"), (rtmidi.API_UNIX_JACK, "JACK")):
        if api not in rtmidi.get_compiled_api():
            continue
        try:
            with _quiet_native_stderr():
                ins = rtmidi.MidiIn(api).get_ports()
                outs = rtmidi.MidiOut(api).get_ports()
        except Exception as exc:  # rtmidi raises its own SystemError subclasses
            lines.append(f"  {label}: unavailable ({exc})")
            continue
        lines.append(f"  {label} inputs: {', '.join(ins) or 'none'}")
        lines.append(f"  {label} outputs: {', '.join(outs) or 'none'}")
    return "\n".join(lines) or "  no MIDI API compiled into python-rtmidi"


def _check_rig(config: RigConfig, out) -> int:
    """Build the rig offline for one block: proves every slot, file and parameter is valid."""
    import numpy as np

    from .render import render_array

    try:
        render_array(config, np.zeros((config.block, config.channels), np.float32),
                     config.sample_rate, config.block)
    except NeuralrigError as exc:
        out(f"  PROBLEM: {exc}")
        return 1
    out("  rig builds and runs (checked offline)")
    return 0
