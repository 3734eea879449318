"""Checking a capture recording (DRY = the capture signal, WET = the device's output) and
lining the two up.

`check_and_align(dry, wet, dry_rate, wet_rate, layout)` refuses, with a `CaptureError` naming
the problem: different sample rates, a WET of the wrong length, a DRY that is not neuralrig's
capture signal, a silent, too quiet or clipping WET, a latency outside 0..50 ms, and a latency
that differs between the leading and the trailing clicks (two clocks: drift). A WET that is
polarity-inverted is flipped, with a warning.

Latency is where the device's response to each one-sample click begins (see `_find_click`);
the pair is aligned CAUSAL_MARGIN samples short of it, so a model never has to predict ahead.
Recordings of one device at several knob settings share one latency (``latency=``): the
onset a click gives moves by a sample or two with the knobs (a darker tone rises later
past the onset threshold), and aligning each recording on its own would shift the target
by whole samples from one setting to the next, which no smooth model can follow.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from neuralrig.server.errors import CaptureError

from .scales import STANDARD_SCALES
from .signal import DEFAULT_SEED, CaptureLayout, capture_signal

MAX_LATENCY_S = 0.05
DRIFT_TOLERANCE = 2  # samples
CLIP_LEVEL = 0.999
CLIP_ALLOWED = 3  # samples at full scale tolerated (isolated overs)
MIN_PLAYING_DBFS = -50.0
SILENT_PEAK = 1e-4  # -80 dBFS
DRY_MATCH = 0.999  # normalised correlation with the regenerated signal
DRIFT_SEARCH_S = 0.25  # the trailing clicks are searched this far either side
ONSET_FRACTION = 0.01  # a click's response starts where it first exceeds 1 % of its peak
RESPONSE_S = 0.002  # how far past the latest latency a response peak is looked for
LOBE_S = 0.0002  # the first lobe, whose sign is the polarity
CAUSAL_MARGIN = 4  # samples: align this much early, so the model never needs lookahead


@dataclass
class AlignedCapture:
    dry: np.ndarray  # float32 mono, aligned: dry[i] and wet[i] belong together
    wet: np.ndarray
    sample_rate: int
    latency_samples: int  # WET lags DRY by this many samples
    train: tuple[int, int]  # sample range [start, end) in the aligned arrays
    validation: tuple[int, int]
    layout: CaptureLayout
    warnings: list[str] = field(default_factory=list)
    polarity_inverted: bool = False
    # WET is advanced by this many samples: the latency less CAUSAL_MARGIN, so the
    # device's response never comes before the input that caused it.
    shift: int = 0


def _mono(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        if x.shape[1] == 1:
            x = x[:, 0]
        elif x.shape[0] == 1:
            x = x[0]
        else:
            raise CaptureError(f"{name} has {x.shape[1]} channels; record the capture in mono")
    if x.ndim != 1:
        raise CaptureError(f"{name} must be a mono signal")
    return x


@functools.lru_cache(maxsize=4)
def _reference(rate: int, seed: int, scale: float) -> tuple[np.ndarray, CaptureLayout]:
    signal, layout = capture_signal(rate, seed, scale)
    signal.flags.writeable = False
    return signal, layout


def _reference_of_length(rate: int, frames: int) -> tuple[np.ndarray, CaptureLayout]:
    """The standard-length capture signal with ``frames`` samples (else the full one)."""
    for scale in STANDARD_SCALES:
        signal, layout = _reference(rate, DEFAULT_SEED, scale)
        if signal.size == frames:
            break
    else:
        signal, layout = _reference(rate, DEFAULT_SEED, 1.0)
    return signal, layout


def _db(value: float) -> float:
    return 20 * np.log10(value) if value > 0 else -np.inf


def _find_click(wet: np.ndarray, at: int, lo: int, hi: int, floor: float, rate: int,
                what: str) -> tuple[int, float]:
    """Lag in lo..hi (samples) at which WET's response to DRY's click at ``at`` begins.

    The click is one sample, so the device's response starts at its latency: the
    onset is the first sample above ONSET_FRACTION of the response's peak (and
    well above the noise floor). The peak of a filtered response comes later
    (a low-pass delays it), so aligning on the peak would ask the model to
    predict the future. The polarity is the sign of the response's first lobe.
    """
    start = at + lo
    stop = min(wet.size, at + hi + 1 + round(RESPONSE_S * rate))
    if start < 0 or stop - start <= round(RESPONSE_S * rate):
        raise CaptureError(f"WET.wav ends before the click at {at / rate:.2f} s ({what}); "
                           "record the whole capture signal")
    seg = wet[start:stop].astype(np.float64)
    mag = np.abs(seg)
    peak = float(mag.max())
    if peak < 1e-6 or peak < 8 * floor:
        raise CaptureError(f"no click found in WET.wav near {at / rate:.2f} s ({what}, "
                           f"searched latencies {lo / rate * 1000:.0f}..{hi / rate * 1000:.0f} ms)"
                           "; is the latency above 50 ms or the device's output noisy?")
    above = np.flatnonzero(mag > max(ONSET_FRACTION * peak, 4 * floor))
    onset = int(above[0])
    if onset > hi - lo:
        raise CaptureError(f"the response to the click at {at / rate:.2f} s ({what}) starts "
                           f"after {(lo + onset) / rate * 1000:.0f} ms; latency above "
                           f"{hi / rate * 1000:.0f} ms is not supported")
    lobe = seg[onset:onset + max(1, round(LOBE_S * rate))]
    return lo + onset, float(np.sign(lobe.sum()) or 1.0)


def check_and_align(dry: np.ndarray, wet: np.ndarray, dry_rate: int, wet_rate: int,
                    layout: CaptureLayout | None = None, *,
                    latency: int | None = None) -> AlignedCapture:
    """Check a capture pair and return it aligned (see the module docstring).

    ``latency`` (samples) aligns at that latency instead of the one the clicks give
    (which is still checked and reported as ``latency_samples``).
    """
    if int(dry_rate) != int(wet_rate):
        raise CaptureError(f"DRY.wav is at {dry_rate} Hz but WET.wav at {wet_rate} Hz; "
                           "record the device's output at the capture signal's rate")
    rate = int(dry_rate)
    aligned_at = latency
    dry = _mono(dry, "DRY.wav")
    wet = _mono(wet, "WET.wav")

    # DRY must be the capture signal, generated afresh at its rate.
    if layout is None or layout.sample_rate != rate:
        reference, layout = _reference_of_length(rate, dry.size)
    else:
        reference, layout = _reference(rate, layout.seed, layout.seconds_scale)
    if dry.size != reference.size:
        raise CaptureError(f"DRY.wav is not neuralrig's capture signal ({dry.size} samples, "
                           f"expected {reference.size} at {rate} Hz)")
    norm = float(np.linalg.norm(dry) * np.linalg.norm(reference))
    match = float(np.dot(dry.astype(np.float64), reference)) / norm if norm > 0 else 0.0
    if match < DRY_MATCH:
        raise CaptureError(f"DRY.wav is not neuralrig's capture signal (correlation {match:.3f} "
                           f"with the signal `neuralrig capture-signal --sr {rate}` writes)")

    n = dry.size
    max_lat = round(MAX_LATENCY_S * rate)
    if wet.size < n - max_lat or wet.size > n + rate:
        raise CaptureError(f"WET.wav is {wet.size / rate:.2f} s long but DRY.wav "
                           f"{n / rate:.2f} s; record the whole capture signal (the wet file may "
                           "be longer by the latency, at most 1 s)")

    # Level: silence, clipping, too quiet.
    peak = float(np.max(np.abs(wet)))
    if peak < SILENT_PEAK:
        raise CaptureError(f"WET.wav is silent (peak {_db(peak):.1f} dBFS); check the "
                           "connections and the device's output")
    overs = np.flatnonzero(np.abs(wet) >= CLIP_LEVEL)
    if overs.size > CLIP_ALLOWED:
        raise CaptureError(f"WET.wav clips: {overs.size} samples at full scale, from "
                           f"{overs[0] / rate:.2f} s to {overs[-1] / rate:.2f} s; lower the "
                           "recording level and record again")
    play = layout.section("playing")
    seg = wet[play.start:min(play.end, wet.size)].astype(np.float64)
    rms = float(np.sqrt(np.mean(seg * seg))) if seg.size else 0.0
    if _db(rms) < MIN_PLAYING_DBFS:
        raise CaptureError(f"WET.wav is too quiet: {_db(rms):.1f} dBFS RMS over the playing "
                           f"section (needs at least {MIN_PLAYING_DBFS:.0f} dBFS); raise the "
                           "recording level")

    # Latency from the leading clicks; they must agree.
    quiet = wet[:max(1, layout.lead_blips[0])].astype(np.float64)
    floor = float(np.quantile(np.abs(quiet), 0.999)) if quiet.size else 0.0
    lead = [_find_click(wet, b, 0, max_lat, floor, rate, "leading click")
            for b in layout.lead_blips]
    lags = [lag for lag, _ in lead]
    if max(lags) - min(lags) > DRIFT_TOLERANCE:
        span = (layout.lead_blips[-1] - layout.lead_blips[0]) / rate
        ppm = (lags[-1] - lags[0]) / span * 1e6 / rate if span > 0 else 0.0
        raise CaptureError(
            f"latency drifts: the leading clicks give {lags} samples ({ppm:+.0f} ppm clock "
            "mismatch); the playback and recording clocks differ: record dry and wet "
            "through one interface at one sample rate")
    latency = round(float(np.median(lags)))
    signs = [sign for _, sign in lead]
    warnings: list[str] = []
    inverted = all(sign < 0 for sign in signs)
    if inverted:
        wet = -wet
        warnings.append("WET.wav is polarity-inverted relative to DRY.wav; it was flipped")
    elif any(sign < 0 for sign in signs):
        warnings.append("the leading clicks disagree on polarity; kept WET.wav as recorded")

    # The trailing clicks: the same latency, else two clocks drift apart.
    search = round(DRIFT_SEARCH_S * rate)
    for b in layout.end_blips:
        lo, hi = max(0, latency - search), latency + search
        if b + hi + 33 > wet.size:
            hi = wet.size - b - 33
        if hi <= lo:
            raise CaptureError(f"WET.wav ends before the trailing click at {b / rate:.2f} s; "
                               "record the whole capture signal")
        lag, _ = _find_click(wet, b, lo, hi, floor, rate, "trailing click")
        if abs(lag - latency) > DRIFT_TOLERANCE:
            ppm = (lag - latency) / (b - layout.lead_blips[0]) * 1e6
            raise CaptureError(
                f"latency drifts: {latency} samples at the leading clicks but {lag} at the "
                f"trailing click ({ppm:+.0f} ppm clock "
                "mismatch); the playback and recording clocks differ: record dry and wet "
                "through one interface at one sample rate")
    if peak > 0.99 * CLIP_LEVEL and overs.size:
        warnings.append(f"WET.wav touches full scale at {overs.size} sample(s)")

    if aligned_at is not None and not 0 <= aligned_at <= max_lat:
        raise CaptureError(f"cannot align at a latency of {aligned_at} samples "
                           f"(0..{max_lat} at {rate} Hz)")
    shift = max(0, (latency if aligned_at is None else aligned_at) - CAUSAL_MARGIN)
    usable = min(n, wet.size - shift)
    aligned_dry = np.ascontiguousarray(dry[:usable])
    aligned_wet = np.ascontiguousarray(wet[shift:shift + usable])
    val = layout.validation
    if val[1] > usable:
        raise CaptureError("WET.wav ends inside the validation section; record the whole "
                           "capture signal")
    return AlignedCapture(aligned_dry, aligned_wet, rate, latency, layout.train, val, layout,
                          warnings, inverted, shift)
