"""The training corpus: synthesised, seeded, reproducible 48 kHz mono audio.

Events laid end to end with short gaps and overlaps (so a 2048-sample block can
hold the end of one sound and the start of the next):

* plucked strings (Karplus-Strong) over five octaves, with bright or dull excitation
  and short or long decay, sometimes as two- or three-note chords;
* subtractive synth notes (additive saw or square, a low-pass whose cutoff follows
  an envelope: brightness sweeps), with slight vibrato;
* FM bells and electric-piano tones (decaying modulation index);
* drum patterns: kick, snare, clap, closed and open hi-hats, toms;
* noise textures: white noise through a slowly sweeping band-pass (wind, surf);
* silence.

Each event gets its own level (peaks from -30 to -3 dBFS), so loudness, pitch,
brightness and noisiness all vary across the corpus. ``synthesise(seconds, seed)``
returns float32 in [-1, 1]; the same arguments give the same samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

RATE = 48000
TRAIN_SEED, VALIDATION_SEED = 20240, 777


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _envelope(n: int, attack: float, decay: float, sustain: float, release: float,
              gate: float) -> np.ndarray:
    """ADSR (seconds; ``gate`` = how long the key is held), exponential decay/release."""
    t = np.arange(n) / RATE
    env = np.where(t < attack, t / max(attack, 1e-4),
                   sustain + (1 - sustain) * np.exp(-(t - attack) / max(decay, 1e-4)))
    held = np.clip(env, 0, 1)
    gate_level = held[min(n - 1, int(gate * RATE))]
    return np.where(t < gate, held, gate_level * np.exp(-(t - gate) / max(release, 1e-4)))


def pluck(rng: np.random.Generator, note: float, seconds: float) -> np.ndarray:
    """Karplus-Strong: a noise burst through a comb with an averaging loop filter."""
    n = int(seconds * RATE)
    period = max(2, round(RATE / _midi_hz(note)))
    burst = rng.uniform(-1, 1, period)
    brightness = rng.uniform(0.05, 0.95)  # one-pole excitation low-pass
    burst = signal.lfilter([brightness], [1, -(1 - brightness)], burst)
    excitation = np.zeros(n)
    excitation[:period] = burst
    # Loop gain sets the decay time (t60 from 0.3 s to 4 s, shorter for high notes).
    t60 = rng.uniform(0.3, 4.0) * min(1.0, 220.0 / _midi_hz(note)) ** 0.5
    gain = 10 ** (-3 * period / (t60 * RATE))
    denominator = np.zeros(period + 2)
    denominator[0], denominator[period], denominator[period + 1] = 1, -gain / 2, -gain / 2
    return signal.lfilter([1.0], denominator, excitation)


def synth_note(rng: np.random.Generator, note: float, seconds: float) -> np.ndarray:
    """Additive saw or square through an enveloped low-pass (cutoff sweep)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = _midi_hz(note)
    vibrato = 1 + rng.uniform(0, 0.006) * np.sin(2 * np.pi * rng.uniform(4, 7) * t)
    phase = 2 * np.pi * np.cumsum(f0 * vibrato) / RATE
    square = rng.random() < 0.4
    cut_lo, cut_hi = f0 * rng.uniform(1, 3), f0 * rng.uniform(3, 40)
    filter_env = _envelope(n, 0.005, rng.uniform(0.05, 0.8), rng.uniform(0, 0.6), 0.2,
                           seconds * 0.7)
    cutoff = cut_lo + (cut_hi - cut_lo) * filter_env
    out = np.zeros(n)
    harmonics = int(min(18000, RATE / 2 - 500) // f0)
    for k in range(1, harmonics + 1):
        if square and k % 2 == 0:
            continue
        response = 1 / np.sqrt(1 + (k * f0 / cutoff) ** 4)  # 2nd-order low-pass slope
        out += response / k * np.sin(k * phase)
    amp = _envelope(n, rng.uniform(0.002, 0.08), rng.uniform(0.1, 0.6), rng.uniform(0.3, 0.9),
                    rng.uniform(0.05, 0.4), seconds * rng.uniform(0.5, 0.85))
    return out * amp


def fm_note(rng: np.random.Generator, note: float, seconds: float) -> np.ndarray:
    """Two-operator FM: a bell (inharmonic ratio) or an electric piano (ratio 1)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = _midi_hz(note)
    ratio = rng.choice([1.0, 1.0, 2.0, 3.5, 1.41])
    index = rng.uniform(0.5, 6) * np.exp(-t / rng.uniform(0.05, 0.8))
    out = np.sin(2 * np.pi * f0 * t + index * np.sin(2 * np.pi * f0 * ratio * t))
    return out * np.exp(-t / rng.uniform(0.2, 1.5)) * np.minimum(1, t / 0.002)


def _noise_burst(rng: np.random.Generator, n: int, low: float, high: float,
                 decay: float) -> np.ndarray:
    sos = signal.butter(2, [low, min(high, RATE / 2 - 100)], "bandpass", fs=RATE,
                        output="sos")
    t = np.arange(n) / RATE
    return signal.sosfilt(sos, rng.uniform(-1, 1, n)) * np.exp(-t / decay)


def drum(rng: np.random.Generator, kind: str) -> np.ndarray:
    n = int(0.6 * RATE)
    t = np.arange(n) / RATE
    if kind == "kick":
        f = rng.uniform(40, 60) + rng.uniform(80, 180) * np.exp(-t / rng.uniform(0.02, 0.06))
        body = np.sin(2 * np.pi * np.cumsum(f) / RATE) * np.exp(-t / rng.uniform(0.15, 0.4))
        return body + 0.3 * _noise_burst(rng, n, 1000, 8000, 0.004)
    if kind == "tom":
        f = rng.uniform(80, 220) * (1 + 0.5 * np.exp(-t / 0.03))
        return np.sin(2 * np.pi * np.cumsum(f) / RATE) * np.exp(-t / rng.uniform(0.1, 0.3))
    if kind == "snare":
        tone = np.sin(2 * np.pi * rng.uniform(160, 240) * t) * np.exp(-t / 0.05)
        return 0.6 * tone + _noise_burst(rng, n, 1500, 12000, rng.uniform(0.06, 0.2)) * 2
    if kind == "clap":
        out = np.zeros(n)
        for k, delay in enumerate((0.0, 0.011, 0.022, 0.031)):
            start = int(delay * RATE)
            burst = _noise_burst(rng, n - start, 900, 3000, 0.09 if k == 3 else 0.007)
            out[start:] += burst * 3
        return out
    closed = kind == "hat"
    return _noise_burst(rng, n, 6000, 20000, 0.04 if closed else 0.3) * 3


def drum_pattern(rng: np.random.Generator) -> np.ndarray:
    """One or two bars of 16th notes at 80-150 BPM."""
    step = 60 / rng.uniform(80, 150) / 4
    steps = 16 * int(rng.integers(1, 3))
    out = np.zeros(int((steps * step + 0.6) * RATE))
    for s in range(steps):
        hits = []
        if s % 8 == 0 or rng.random() < 0.08:
            hits.append("kick")
        if s % 8 == 4 or rng.random() < 0.05:
            hits.append("clap" if rng.random() < 0.3 else "snare")
        if s % 2 == 0 and rng.random() < 0.85:
            hits.append("openhat" if rng.random() < 0.1 else "hat")
        if rng.random() < 0.04:
            hits.append("tom")
        for kind in hits:
            hit = drum(rng, kind) * rng.uniform(0.4, 1.0)
            start = int(s * step * RATE)
            out[start:start + len(hit)] += hit
    return out


def texture(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """White noise through a band-pass whose centre drifts (processed in 10 ms steps)."""
    n = int(seconds * RATE)
    hop = 480
    white = rng.uniform(-1, 1, n)
    out = np.zeros(n)
    centre_a, centre_b = np.exp(rng.uniform(np.log(300), np.log(9000), 2))
    q = rng.uniform(0.7, 4)
    b, a = signal.iirpeak(centre_a, q, fs=RATE)
    state = np.zeros(2)
    for i, start in enumerate(range(0, n, hop)):
        frac = i * hop / n
        centre = centre_a * (centre_b / centre_a) ** (0.5 - 0.5 * np.cos(np.pi * frac))
        b, a = signal.iirpeak(centre, q, fs=RATE)
        out[start:start + hop], state = signal.lfilter(b, a, white[start:start + hop],
                                                       zi=state)
    swell = np.sin(np.pi * np.arange(n) / n) ** rng.uniform(0.5, 2)
    return out * swell


def _pitched(rng: np.random.Generator,
             voice: Callable[[np.random.Generator, float, float], np.ndarray]) -> np.ndarray:
    root = rng.uniform(36, 84)
    seconds = rng.uniform(0.4, 2.5)
    voices = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
    intervals = [0.0, *rng.choice([3, 4, 5, 7, 12], voices - 1)]
    return sum(voice(rng, root + i, seconds) for i in intervals)


def event(rng: np.random.Generator) -> np.ndarray:
    kind = rng.choice(["pluck", "synth", "fm", "drums", "texture", "silence"],
                      p=[0.25, 0.25, 0.12, 0.2, 0.1, 0.08])
    if kind == "pluck":
        return _pitched(rng, pluck)
    if kind == "synth":
        return _pitched(rng, synth_note)
    if kind == "fm":
        return _pitched(rng, fm_note)
    if kind == "drums":
        return drum_pattern(rng)
    if kind == "texture":
        return texture(rng, rng.uniform(1.0, 4.0))
    return np.zeros(int(rng.uniform(0.1, 0.8) * RATE))


def synthesise(seconds: float, seed: int) -> np.ndarray:
    """``seconds`` of corpus (float32, peaks at most -3 dBFS)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out = np.zeros(n + 10 * RATE)
    position = 0
    while position < n:
        clip = event(rng)
        peak = np.max(np.abs(clip))
        if peak > 0:
            clip = clip / peak * 10 ** (rng.uniform(-30, -3) / 20)
        out[position:position + len(clip)] += clip[:len(out) - position]
        # Next event: after a gap, or overlapping this one's tail.
        position += max(int(0.05 * RATE), len(clip) + int(rng.uniform(-0.4, 0.3) * RATE))
    out = out[:n]
    peak = np.max(np.abs(out))
    if peak > 10 ** (-3 / 20):
        out *= 10 ** (-3 / 20) / peak
    return out.astype(np.float32)
