"""Training data: aligned capture recordings, each at known control values.

A single capture (``neuralrig train DRY WET``) is one recording without
controls. A knob-conditioned capture (``--pairs PAIRS.toml``) is several
recordings of the same capture signal, each with the device's knobs at known
values; the model takes those knobs as controls and interpolates between
them. A recording marked ``holdout`` is never trained on: it only measures how
well the model does at a setting it has not seen.

PAIRS.toml (paths relative to the file)::

    dry = "capture.wav"            # the capture signal, shared by every pair
    [[control]]                    # one per knob; min/max/default/unit optional
    name = "drive"                 # (0, 1, midpoint, "")
    [[control]]
    name = "tone"
    [[pair]]
    wet = "drive0-tone0.wav"
    drive = 0.0
    tone = 0.0
    [[pair]]
    wet = "drive0.4-tone0.6.wav"
    drive = 0.4
    tone = 0.6
    holdout = true                 # evaluation only
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuralrig.server.audiofile import read_audio
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import CaptureError, NeuralrigError

from ..capture.align import AlignedCapture, check_and_align

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_CONTROLS = 8
# Recordings whose click latencies lie within this much of each other are one device through
# one path: they share the earliest latency (see capture.align). Wider apart, each keeps its
# own, with a warning.
SHARED_LATENCY_SPREAD_S = 0.00025
_CONTROL_KEYS = {"name", "min", "max", "default", "unit", "description"}
_PAIR_KEYS = {"wet", "dry", "holdout"}


@dataclass
class Recording:
    """One aligned capture at one control setting."""

    label: str
    capture: AlignedCapture
    values: dict[str, float]  # control values in their own units
    normalised: np.ndarray  # float32 (K,), 0..1 per control
    holdout: bool = False


@dataclass
class CaptureSet:
    recordings: list[Recording]
    controls: tuple[ParamSpec, ...]
    sample_rate: int
    sources: list[str] = field(default_factory=list)
    shared_latency: int | None = None  # samples, when every recording is aligned at it
    notes: list[str] = field(default_factory=list)  # set-wide warnings
    forced_latency: int | None = None  # the --latency every recording is aligned at

    @property
    def trained(self) -> list[Recording]:
        return [r for r in self.recordings if not r.holdout]

    @property
    def heldout(self) -> list[Recording]:
        return [r for r in self.recordings if r.holdout]

    def warnings(self) -> list[str]:
        return self.notes + [f"{r.label}: {w}" for r in self.recordings
                             for w in r.capture.warnings]


def _read(path: Path, what: str):
    if not path.is_file():
        raise CaptureError(f"{what} {path} does not exist")
    return read_audio(path)


def align_files(dry_path: str | Path, wet_path: str | Path, latency: int | None = None):
    """Read and align one DRY/WET pair (see capture.align for the checks); ``latency``
    overrides the detected one."""
    dry, wet = _read(Path(dry_path), "DRY file"), _read(Path(wet_path), "WET file")
    try:
        return check_and_align(dry.data, wet.data, dry.sample_rate, wet.sample_rate,
                               latency=latency)
    except CaptureError as exc:
        raise CaptureError(f"{Path(wet_path).name}: {exc}") from None


def single_capture(dry_path: str | Path, wet_path: str | Path,
                   latency: int | None = None) -> CaptureSet:
    """One DRY/WET pair; ``latency`` (samples) aligns at it instead of the detected one."""
    aligned = align_files(dry_path, wet_path, latency)
    rec = Recording(Path(wet_path).name, aligned, {}, np.zeros(0, np.float32))
    return CaptureSet([rec], (), aligned.sample_rate, [str(dry_path), str(wet_path)],
                      shared_latency=latency, forced_latency=latency)


def _control_spec(item: object, index: int) -> ParamSpec:
    if not isinstance(item, dict):
        raise CaptureError(f"[[control]] {index + 1} must be a table")
    unknown = set(item) - _CONTROL_KEYS
    if unknown:
        raise CaptureError(f"[[control]] {index + 1}: unknown key(s) {', '.join(sorted(unknown))}"
                           f" (known: {', '.join(sorted(_CONTROL_KEYS))})")
    name = item.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise CaptureError(f"[[control]] {index + 1}: 'name' must be a word such as 'drive'")
    lo, hi = item.get("min", 0.0), item.get("max", 1.0)
    for key, value in (("min", lo), ("max", hi)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                not math.isfinite(value):
            raise CaptureError(f"control '{name}': '{key}' must be a number")
    default = item.get("default", 0.5 * (lo + hi))
    try:
        return ParamSpec(name, float(lo), float(hi), float(default), str(item.get("unit", "")),
                         description=str(item.get("description", "")))
    except (TypeError, ValueError) as exc:
        raise CaptureError(f"control '{name}': {exc}") from None


def load_pairs(path: str | Path, latency: int | None = None) -> CaptureSet:
    """Read PAIRS.toml and align every pair; errors name the file and the entry.

    The pairs share the earliest latency their clicks give (see ``_share_latency``), or
    ``latency`` (samples) when it is given: the alignment a model being continued on new
    recordings was trained at.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaptureError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaptureError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(doc) - {"dry", "control", "pair"}
    if unknown:
        raise CaptureError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} "
                           "(known: dry, [[control]], [[pair]])")
    base = path.parent
    items = doc.get("control", [])
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CONTROLS:
        raise CaptureError(f"{path}: declare 1..{MAX_CONTROLS} [[control]] tables, one per knob")
    controls = tuple(_control_spec(item, i) for i, item in enumerate(items))
    names = [c.name for c in controls]
    if len(set(names)) != len(names):
        raise CaptureError(f"{path}: a control is declared twice ({', '.join(names)})")
    pairs = doc.get("pair", [])
    if not isinstance(pairs, list) or not pairs:
        raise CaptureError(f"{path}: no [[pair]] entries; add one per recording")
    default_dry = doc.get("dry")
    recordings: list[Recording] = []
    sources: list[str] = []
    aligned_cache: dict[tuple[str, str], AlignedCapture] = {}
    keys: list[tuple[str, str]] = []
    for i, pair in enumerate(pairs):
        where = f"{path.name}, [[pair]] {i + 1}"
        if not isinstance(pair, dict):
            raise CaptureError(f"{where}: must be a table")
        unknown = set(pair) - _PAIR_KEYS - set(names)
        if unknown:
            raise CaptureError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                               f"(controls: {', '.join(names)})")
        wet, dry = pair.get("wet"), pair.get("dry", default_dry)
        if not isinstance(wet, str) or not isinstance(dry, str):
            raise CaptureError(f"{where}: needs 'wet' (and 'dry', here or at the top) as file "
                               "names")
        values: dict[str, float] = {}
        for spec in controls:
            value = pair.get(spec.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                    not math.isfinite(value):
                raise CaptureError(f"{where}: '{spec.name}' must be given as a number")
            if not spec.minimum <= value <= spec.maximum:
                raise CaptureError(f"{where}: {spec.name} = {value} is outside "
                                   f"{spec.minimum:g}..{spec.maximum:g}")
            values[spec.name] = float(value)
        holdout = pair.get("holdout", False)
        if not isinstance(holdout, bool):
            raise CaptureError(f"{where}: 'holdout' must be true or false")
        key = (str(base / dry), str(base / wet))
        try:
            aligned = aligned_cache.get(key) or align_files(*key, latency)
        except NeuralrigError as exc:
            raise CaptureError(f"{where}: {exc}") from None
        aligned_cache[key] = aligned
        norm = np.array([spec.to_norm(values[spec.name]) for spec in controls], np.float32)
        label = ", ".join(f"{k}={v:g}" for k, v in values.items())
        recordings.append(Recording(label, aligned, values, norm, holdout))
        sources.append(wet)
        keys.append(key)
    rates = {r.capture.sample_rate for r in recordings}
    if len(rates) != 1:
        raise CaptureError(f"{path}: the recordings have different sample rates "
                           f"({', '.join(map(str, sorted(rates)))} Hz); record all at one rate")
    if all(r.holdout for r in recordings):
        raise CaptureError(f"{path}: every pair is a holdout; nothing is left to train on")
    settings = [tuple(r.values.values()) for r in recordings]
    if len(set(settings)) != len(settings):
        raise CaptureError(f"{path}: two pairs have the same control values")
    rate = rates.pop()
    if latency is not None:
        spread = round(SHARED_LATENCY_SPREAD_S * rate)
        notes = [f"{r.label}: aligned at {latency} samples as --latency asks, but its clicks "
                 f"give {r.capture.latency_samples}: is that latency right for it?"
                 for r in recordings if abs(r.capture.latency_samples - latency) > spread]
        return CaptureSet(recordings, controls, rate, sources, latency, notes, latency)
    shared, notes = _share_latency(recordings, keys, rate)
    return CaptureSet(recordings, controls, rate, sources, shared, notes)


def _share_latency(recordings: list[Recording], keys: list[tuple[str, str]], rate: int
                   ) -> tuple[int | None, list[str]]:
    """Realign every recording at the earliest latency of the set, when the latencies agree
    to within SHARED_LATENCY_SPREAD_S. Returns (that latency or None, warnings)."""
    latencies = [r.capture.latency_samples for r in recordings]
    low, high = min(latencies), max(latencies)
    if high - low > round(SHARED_LATENCY_SPREAD_S * rate):
        return None, [f"the recordings' latencies differ by {1000 * (high - low) / rate:.2f} ms "
                      f"({low}..{high} samples): recorded through different paths? Each is "
                      "aligned on its own latency; for one model, record every setting "
                      "through the same path"]
    realigned: dict[tuple[str, str], AlignedCapture] = {}
    for rec, key in zip(recordings, keys, strict=True):
        if rec.capture.latency_samples != low:
            if key not in realigned:
                realigned[key] = align_files(*key, latency=low)
            rec.capture = realigned[key]
    return low, []


class SegmentSampler:
    """Random training examples: ``warmup + length`` samples of dry and wet audio.

    The first ``warmup`` output samples are excluded from the loss (the model
    settles into its state there). Examples never cross into the validation
    section: they lie wholly inside each recording's training range.
    """

    def __init__(self, recordings: Sequence[Recording], length: int, warmup: int,
                 seed: int = 0) -> None:
        self.recordings = list(recordings)
        self.length, self.warmup = length, warmup
        span = warmup + length
        self._ranges = []
        for r in self.recordings:
            lo, hi = r.capture.train
            if hi - lo < span:
                raise CaptureError(f"{r.label}: the training section ({hi - lo} samples) is "
                                   f"shorter than one example ({span})")
            self._ranges.append((lo, hi - span))
        self._sizes = np.array([hi - lo for lo, hi in self._ranges], np.float64)
        self._weights = self._sizes / self._sizes.sum()
        self.rng = np.random.default_rng(seed)
        self.last_recordings = np.zeros(0, np.int64)  # which recording each example came from

    def energies(self, coef: float) -> np.ndarray:
        """(recordings, 2): each recording's mean wet energy over its training section,
        plain and pre-emphasised by ``coef``; the balanced loss divides by them."""
        out = np.empty((len(self.recordings), 2), np.float64)
        for i, r in enumerate(self.recordings):
            lo, hi = r.capture.train
            wet = r.capture.wet[lo:hi].astype(np.float64)
            emphasised = wet[1:] - coef * wet[:-1]
            out[i] = (np.mean(wet * wet), np.mean(emphasised * emphasised))
        return np.maximum(out, 1e-12)

    @property
    def weights(self) -> np.ndarray:
        """The chance that an example comes from each recording."""
        return self._weights.copy()

    @weights.setter
    def weights(self, value: Sequence[float]) -> None:  # a checkpoint's, on --resume
        self.focus(np.asarray(value, np.float64) / self._sizes)

    def focus(self, scores: Sequence[float]) -> None:
        """Draw from each recording in proportion to its training audio times its score
        (``train --focus`` passes each recording's validation ESR)."""
        scores = np.asarray(scores, np.float64)
        if scores.shape != self._sizes.shape or not np.all(np.isfinite(scores)) \
                or np.any(scores < 0) or not np.any(scores > 0):
            raise ValueError(f"focus: {len(self._sizes)} finite scores >= 0, not all zero, "
                             f"are needed (got {scores.tolist()})")
        weighted = self._sizes * scores
        self._weights = weighted / weighted.sum()

    @property
    def train_samples(self) -> int:
        return int(sum(r.capture.train[1] - r.capture.train[0] for r in self.recordings))

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dry (B, T), wet (B, T), controls (B, K)), T = warmup + length."""
        span = self.warmup + self.length
        which = self.rng.choice(len(self.recordings), size=size, p=self._weights)
        self.last_recordings = which
        k = self.recordings[0].normalised.size
        dry = np.empty((size, span), np.float32)
        wet = np.empty((size, span), np.float32)
        ctrl = np.empty((size, k), np.float32)
        for b, i in enumerate(which):
            rec = self.recordings[i]
            lo, hi = self._ranges[i]
            start = int(self.rng.integers(lo, hi + 1))
            dry[b] = rec.capture.dry[start:start + span]
            wet[b] = rec.capture.wet[start:start + span]
            ctrl[b] = rec.normalised
        return dry, wet, ctrl

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def restore(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def validation_batch(recordings: Sequence[Recording], warmup: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each recording's validation section with ``warmup`` samples before it."""
    k = recordings[0].normalised.size
    lo, hi = recordings[0].capture.validation
    start = max(0, lo - warmup)
    dry = np.stack([r.capture.dry[start:hi] for r in recordings])
    wet = np.stack([r.capture.wet[start:hi] for r in recordings])
    ctrl = np.stack([r.normalised for r in recordings]) if k else np.zeros((len(recordings), 0),
                                                                           np.float32)
    return dry, wet, ctrl.astype(np.float32)
