"""neuralrig's reamping (capture) signal: play it through a pedal or amp, record the result.

`capture_signal(sample_rate, seed, seconds_scale)` returns the mono float32 signal and its
`CaptureLayout`. The signal is deterministic: the same arguments always give the same samples,
so a recording can be checked against a freshly generated copy (see `align.check_and_align`).
Its peak stays below -0.5 dBFS.

Layout at 48 kHz, ``seconds_scale=1`` (about 2:58; every length except the fixed silences and
blip regions scales with ``seconds_scale``):

| section      | start (s) | end (s) | purpose                                                    |
|--------------|----------:|--------:|------------------------------------------------------------|
| lead_silence |      0.00 |    0.50 | the device's noise floor; room for its latency             |
| blips        |      0.50 |    2.00 | clicks at 0.50 s and 1.50 s, each after silence: latency   |
| sweeps       |      2.00 |   12.50 | log sine sweeps 20 Hz..20 kHz at -18, -6, -1 dBFS peak     |
| noise        |     12.50 |   20.30 | white and pink noise bursts at -30, -18, -6 dBFS peak      |
| playing      |     20.30 |  140.30 | synthesised guitar: notes, power chords, chugs, strums     |
| level_steps  |    140.30 |  165.30 | one 5 s phrase at -24, -18, -12, -6, 0 dB (peak -0.6 dBFS) |
| gap          |    165.30 |  166.30 | silence: the tails of the training material ring out       |
| validation   |    166.30 |  175.30 | held-out playing (own seed), never repeated elsewhere      |
| tail_silence |    175.30 |  176.30 | silence before the trailing blips                          |
| end_blips    |    176.30 |  177.80 | clicks at +0.50 s and +1.00 s: latency again, to see drift |

Training uses sweeps..level_steps; validation is only the `validation` section.
Each section boundary is stored in samples (`Section.start`, `Section.end`, end exclusive).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numba as nb
import numpy as np

from neuralrig.server.errors import CaptureError

DEFAULT_SEED = 20240611
PEAK = 10 ** (-0.6 / 20)  # the loudest sample, just under -0.5 dBFS
BLIP_AMPLITUDE = 0.9
MIN_RATE, MAX_RATE = 22050, 192000


@dataclass(frozen=True)
class Section:
    name: str
    start: int  # first sample
    end: int  # one past the last sample
    purpose: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class CaptureLayout:
    sample_rate: int
    seed: int
    seconds_scale: float
    length: int
    sections: tuple[Section, ...]
    lead_blips: tuple[int, ...]  # sample index of each leading click
    end_blips: tuple[int, ...]  # sample index of each trailing click
    train_sections: tuple[str, ...] = field(
        default=("sweeps", "noise", "playing", "level_steps"))
    validation_section: str = "validation"

    def section(self, name: str) -> Section:
        for sec in self.sections:
            if sec.name == name:
                return sec
        raise KeyError(name)

    @property
    def train(self) -> tuple[int, int]:
        return self.section(self.train_sections[0]).start, self.section(
            self.train_sections[-1]).end

    @property
    def validation(self) -> tuple[int, int]:
        sec = self.section(self.validation_section)
        return sec.start, sec.end

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        rate = self.sample_rate
        lines = [f"{self.length} samples at {rate} Hz ({self.length / rate:.2f} s), mono"]
        for sec in self.sections:
            lines.append(f"  {sec.name:<13} {sec.start / rate:8.2f} s .. {sec.end / rate:8.2f} s"
                         f"  {sec.purpose}")
        blips = ", ".join(f"{b / rate:.2f} s" for b in self.lead_blips + self.end_blips)
        lines.append(f"  clicks at {blips}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- synthesis helpers

@nb.njit(cache=True)
def _karplus_strong(excitation: np.ndarray, period: float, decay: float, out: np.ndarray) -> None:
    """Plucked string: a delay line of `period` samples (linearly interpolated) with an averaging
    loss filter scaled by `decay`, excited by `excitation`."""
    n = out.size
    for i in range(n):
        x = excitation[i] if i < excitation.size else 0.0
        pos = i - period
        j = int(np.floor(pos))
        frac = pos - j
        fb = 0.0
        if j - 1 >= 0:
            a = out[j] * (1.0 - frac) + out[j + 1] * frac
            b = out[j - 1] * (1.0 - frac) + out[j] * frac
            fb = 0.5 * decay * (a + b)
        out[i] = x + fb


def _pluck(rng: np.random.Generator, freq: float, seconds: float, rate: int, velocity: float,
           brightness: float, decay_time: float) -> np.ndarray:
    """One plucked string note (float64)."""
    n = max(1, int(seconds * rate))
    period = rate / freq
    exc_len = max(2, int(period))
    exc = rng.uniform(-1.0, 1.0, exc_len)
    # A softer pick is a darker excitation: a one-pole lowpass with brightness 0..1.
    coef = 1.0 - 0.85 * (1.0 - brightness)
    for i in range(1, exc_len):
        exc[i] = exc[i - 1] + coef * (exc[i] - exc[i - 1])
    exc -= exc.mean()
    exc /= max(1e-9, np.max(np.abs(exc)))
    # Loop gain so the note falls 60 dB in decay_time seconds.
    per_loop = 10 ** (-3.0 * period / (decay_time * rate))
    out = np.zeros(n)
    _karplus_strong(exc, period, min(0.99999, per_loop), out)
    fade = min(n, int(0.01 * rate))
    if fade > 1:
        out[n - fade:] *= np.linspace(1.0, 0.0, fade)
    return out * velocity


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


# E standard guitar: E2 (MIDI 40) to about D6 (MIDI 86).
_OPEN_CHORDS = ((40, 47, 52, 56, 59, 64), (45, 52, 57, 61, 64), (43, 47, 50, 55, 59, 67),
                (48, 52, 55, 60, 64), (50, 57, 62, 66), (40, 47, 52, 55, 59, 64),
                (45, 52, 57, 60, 64))


def _playing(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Guitar-like playing: single notes, power chords, palm-muted chugs and strummed chords,
    with a slowly moving dynamic (velocities span about 30 dB)."""
    rng = np.random.default_rng(seed)
    n = max(1, int(seconds * rate))
    out = np.zeros(n + int(3.0 * rate))
    t = 0.0
    tempo = rng.uniform(90, 150)
    beat = 60.0 / tempo
    while t < seconds:
        # A slow dynamic contour over ~8 s plus per-event variation.
        contour = 0.55 + 0.45 * np.sin(2 * np.pi * t / rng.uniform(6, 10) + seed % 7)
        vel = float(np.clip(contour * rng.uniform(0.5, 1.0), 0.03, 1.0))
        kind = rng.choice(4, p=(0.35, 0.25, 0.22, 0.18))
        start = int(t * rate)
        if kind == 0:  # single notes, legato-ish line
            for _ in range(int(rng.integers(2, 7))):
                note = int(rng.integers(40, 87))
                dur = beat * rng.choice((0.5, 1.0, 2.0))
                ring = dur + rng.uniform(0.1, 1.2)
                s = _pluck(rng, _midi_hz(note), ring, rate, vel * rng.uniform(0.7, 1.0),
                           rng.uniform(0.3, 1.0), rng.uniform(1.0, 4.0))
                _mix(out, s, start)
                start += int(dur * rate)
        elif kind == 1:  # power chords (root, fifth, octave), let ring
            for _ in range(int(rng.integers(1, 4))):
                root = int(rng.integers(40, 58))
                ring = beat * rng.choice((1.0, 2.0, 4.0))
                for k, iv in enumerate((0, 7, 12)):
                    s = _pluck(rng, _midi_hz(root + iv), ring + 0.3, rate, vel * 0.6,
                               rng.uniform(0.5, 1.0), rng.uniform(1.5, 3.5))
                    off = start + int(k * rng.uniform(0.003, 0.012) * rate)
                    _mix(out, s, off)
                start += int(ring * rate)
        elif kind == 2:  # palm-muted chugs: short, dark, fast-decaying notes
            root = int(rng.integers(40, 48))
            for _ in range(int(rng.integers(4, 13))):
                step = beat * rng.choice((0.25, 0.5))
                accent = 1.0 if rng.random() < 0.25 else 0.6
                for iv in (0, 7):
                    s = _pluck(rng, _midi_hz(root + iv), step * 0.9, rate, vel * accent * 0.7,
                               rng.uniform(0.05, 0.3), rng.uniform(0.08, 0.25))
                    _mix(out, s, start)
                start += int(step * rate)
        else:  # strummed open chords, down and up strokes
            chord = _OPEN_CHORDS[int(rng.integers(len(_OPEN_CHORDS)))]
            for _ in range(int(rng.integers(1, 5))):
                ring = beat * rng.choice((1.0, 2.0))
                strings = chord if rng.random() < 0.6 else chord[::-1]
                spread = rng.uniform(0.008, 0.03)
                for k, note in enumerate(strings):
                    s = _pluck(rng, _midi_hz(note), ring + 0.5, rate, vel * 0.4,
                               rng.uniform(0.4, 1.0), rng.uniform(1.5, 4.0))
                    off = start + int(k * spread * rate)
                    _mix(out, s, off)
                start += int(ring * rate)
        t = start / rate + beat * rng.choice((0.0, 0.5, 1.0))
    out = out[:n]
    fade = min(n, int(0.05 * rate))
    if fade > 1:
        out[n - fade:] *= np.linspace(1.0, 0.0, fade)
    return _normalise(out, PEAK)


def _mix(out: np.ndarray, note: np.ndarray, at: int) -> None:
    if at < out.size:
        end = min(out.size, at + note.size)
        out[at:end] += note[: end - at]


def _normalise(x: np.ndarray, peak: float) -> np.ndarray:
    top = np.max(np.abs(x)) if x.size else 0.0
    return x * (peak / top) if top > 0 else x


def _log_sweep(seconds: float, rate: int, peak: float) -> np.ndarray:
    n = max(2, int(seconds * rate))
    f0, f1 = 20.0, min(20000.0, 0.45 * rate)
    t = np.arange(n) / rate
    k = np.log(f1 / f0)
    phase = 2 * np.pi * f0 * seconds / k * (np.exp(t * k / seconds) - 1.0)
    x = np.sin(phase)
    ramp = min(n // 4, int(0.01 * rate))
    if ramp > 1:
        win = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        x[:ramp] *= win
        x[n - ramp:] *= win[::-1]
    return x * peak


def _noise(rng: np.random.Generator, seconds: float, rate: int, peak: float,
           pink: bool) -> np.ndarray:
    n = max(2, int(seconds * rate))
    x = rng.standard_normal(n)
    if pink:
        spec = np.fft.rfft(x)
        freqs = np.fft.rfftfreq(n, 1.0 / rate)
        freqs[0] = freqs[1] if n > 2 else 1.0
        spec /= np.sqrt(freqs / 20.0).clip(1.0)
        x = np.fft.irfft(spec, n)
    ramp = min(n // 4, int(0.005 * rate))
    if ramp > 1:
        win = np.linspace(0.0, 1.0, ramp)
        x[:ramp] *= win
        x[n - ramp:] *= win[::-1]
    return _normalise(x, peak)


def _db(value: float) -> float:
    return 10 ** (value / 20)


# --------------------------------------------------------------------------- the signal

def capture_signal(sample_rate: int = 48000, seed: int = DEFAULT_SEED,
                   seconds_scale: float = 1.0) -> tuple[np.ndarray, CaptureLayout]:
    """neuralrig's capture signal (mono float32) and its layout. See the module docstring."""
    if not isinstance(sample_rate, int | np.integer) or not MIN_RATE <= sample_rate <= MAX_RATE:
        raise CaptureError(f"capture signal sample rate {sample_rate} Hz is not supported "
                           f"(use {MIN_RATE}..{MAX_RATE} Hz, e.g. 44100 or 48000)")
    if not 0.01 <= seconds_scale <= 1.0:
        raise CaptureError(f"seconds_scale {seconds_scale} is outside 0.01..1")
    rate = int(sample_rate)
    rng = np.random.default_rng(seed)
    s = float(seconds_scale)
    parts: list[np.ndarray] = []
    sections: list[Section] = []
    cursor = 0

    def add(name: str, audio: np.ndarray, purpose: str) -> None:
        nonlocal cursor
        parts.append(audio)
        sections.append(Section(name, cursor, cursor + audio.size, purpose))
        cursor += audio.size

    def silence(seconds: float) -> np.ndarray:
        return np.zeros(round(seconds * rate))

    def blip_region(offsets: tuple[float, ...], seconds: float) -> tuple[np.ndarray, list[int]]:
        region = silence(seconds)
        at = [round(o * rate) for o in offsets]
        for a in at:
            region[a] = BLIP_AMPLITUDE
        return region, at

    add("lead_silence", silence(0.5), "the device's noise floor; room for its latency")
    region, at = blip_region((0.0, 1.0), 1.5)
    lead_blips = tuple(cursor + a for a in at)
    add("blips", region, "clicks after silence: latency")

    sweep_len = 3.0 * s
    sweeps = []
    for level in (-18.0, -6.0, -1.0):
        sweeps += [_log_sweep(sweep_len, rate, _db(level)), silence(0.5 * s)]
    add("sweeps", np.concatenate(sweeps), "log sine sweeps 20 Hz..20 kHz at -18, -6, -1 dBFS")

    bursts = []
    for level in (-30.0, -18.0, -6.0):
        for pink in (False, True):
            bursts += [_noise(rng, 1.0 * s, rate, _db(level), pink), silence(0.3 * s)]
    add("noise", np.concatenate(bursts), "white and pink noise bursts at -30, -18, -6 dBFS")

    add("playing", _playing(120.0 * s, rate, seed + 1),
        "synthesised guitar: notes, power chords, chugs, strums")

    phrase = _playing(5.0 * s, rate, seed + 2)
    add("level_steps", np.concatenate([phrase * _db(level) for level in (-24, -18, -12, -6, 0)]),
        "one phrase at -24, -18, -12, -6, 0 dB")
    add("gap", silence(1.0), "silence: the training material's tails ring out")
    add("validation", _playing(9.0 * s, rate, seed + 3),
        "held-out playing, never repeated elsewhere")
    add("tail_silence", silence(1.0), "silence before the trailing clicks")
    region, at = blip_region((0.5, 1.0), 1.5)
    end_blips = tuple(cursor + a for a in at)
    add("end_blips", region, "clicks again: latency drift")

    signal = np.concatenate(parts).astype(np.float32)
    top = float(np.max(np.abs(signal)))
    if top > PEAK:  # never expected; keeps the documented ceiling whatever the seed
        signal *= np.float32(PEAK / top)
    layout = CaptureLayout(rate, int(seed), s, int(signal.size), tuple(sections),
                           lead_blips, end_blips)
    return signal, layout
