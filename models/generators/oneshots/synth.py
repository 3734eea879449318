"""A synthesised one-shot sample pack: kicks, snares, hats and plucks, seeded.

Every file has its own random generator, derived from (seed, pack, index), so a
file is the same whatever the pack size. Pitch, attack, decay, tone and length
(0.3–0.5 s) vary within each pack; `python -m ...oneshots.synth OUT` writes one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import signal

from neuralrig.server.audiofile import write_audio

SAMPLE_RATE = 22050
PACKS = ("kicks", "snares", "hats", "plucks")
Voice = Callable[[np.random.Generator, int, int], np.ndarray]


def _loguniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _envelope(t: np.ndarray, attack: float, decay: float) -> np.ndarray:
    """A linear rise over ``attack`` seconds, then an exponential fall (time constant ``decay``)."""
    rise = np.clip(t / attack, 0.0, 1.0)
    fall = np.exp(-np.maximum(t - attack, 0.0) / decay)
    return rise * fall


def _filtered_noise(rng: np.random.Generator, n: int, sr: int, btype: str,
                    cutoff: float | tuple[float, float]) -> np.ndarray:
    sos = signal.butter(2, cutoff, btype=btype, fs=sr, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(n))


def kick(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f_end = rng.uniform(40.0, 95.0)
    f_start = f_end * rng.uniform(2.0, 6.0)
    freq = f_end + (f_start - f_end) * np.exp(-t / rng.uniform(0.008, 0.05))
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr)
    body *= _envelope(t, _loguniform(rng, 0.0005, 0.02), rng.uniform(0.05, 0.35))
    click = _filtered_noise(rng, n, sr, "lowpass", rng.uniform(2000, 6000))
    click *= np.exp(-t / 0.003) * rng.uniform(0.0, 0.6)
    drive = rng.uniform(1.0, 3.0)
    return np.tanh(drive * (body + click)) / np.tanh(drive)


def snare(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f = rng.uniform(140.0, 290.0)
    freq = f * (1 + 0.5 * np.exp(-t / 0.01))
    attack = _loguniform(rng, 0.0005, 0.015)
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * _envelope(t, attack, rng.uniform(0.02, 0.1))
    centre = rng.uniform(1200.0, 5000.0)
    noise = _filtered_noise(rng, n, sr, "bandpass", (centre / 2.5, min(centre * 2.5, 0.47 * sr)))
    noise *= _envelope(t, attack, rng.uniform(0.04, 0.25)) / (np.std(noise) + 1e-9) * 0.4
    return body * rng.uniform(0.3, 1.0) + noise * rng.uniform(0.4, 1.0)


def hat(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    base = rng.uniform(280.0, 460.0)
    metal = sum(np.sign(np.sin(2 * np.pi * base * r * t + rng.uniform(0, 2 * np.pi)))
                for r in (2.0, 3.0, 4.16, 5.43, 6.79, 8.21))
    noise = rng.standard_normal(n) * 2.0
    mix = rng.uniform(0.2, 0.8)
    x = mix * metal / 6 + (1 - mix) * noise / 2
    x = signal.sosfilt(signal.butter(4, rng.uniform(3500.0, 8500.0), "highpass", fs=sr,
                                     output="sos"), x)
    return x * _envelope(t, _loguniform(rng, 0.0003, 0.01), _loguniform(rng, 0.01, 0.25))


def pluck(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = 440.0 * 2 ** ((rng.uniform(40, 84) - 69) / 12)
    tilt = rng.uniform(0.7, 2.5)  # harmonic k has amplitude k**-tilt: brightness
    decay = rng.uniform(0.08, 0.6)
    damping = rng.uniform(0.05, 0.6)  # higher harmonics die sooner
    inharmonic = rng.uniform(0.0, 0.0005)
    x = np.zeros(n)
    for k in range(1, int(0.45 * sr / f0) + 1):
        fk = f0 * k * np.sqrt(1 + inharmonic * k * k)
        if fk >= 0.45 * sr:
            break
        x += (k ** -tilt) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi)) \
            * np.exp(-t * (1 + damping * (k - 1)) / decay)
    return x * _envelope(t, _loguniform(rng, 0.001, 0.04), 10.0)


VOICES: dict[str, tuple[str, Voice]] = {
    "kicks": ("kick", kick), "snares": ("snare", snare), "hats": ("hat", hat),
    "plucks": ("pluck", pluck),
}


def one_shot(pack: str, index: int, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One file of ``pack``: float32 mono, 0.3–0.5 s, peak 0.5–0.95, a 5 ms fade at the end."""
    pack_no = PACKS.index(pack)
    rng = np.random.default_rng(np.random.SeedSequence([seed, pack_no, index]))
    n = round(rng.uniform(0.3, 0.5) * sample_rate)
    x = VOICES[pack][1](rng, n, sample_rate)
    fade = min(n, int(0.005 * sample_rate))
    x[-fade:] *= np.linspace(1.0, 0.0, fade)
    x *= rng.uniform(0.5, 0.95) / (np.max(np.abs(x)) + 1e-12)
    return x.astype(np.float32)


def write_pack(folder: str | Path, per_pack: int = 150, seed: int = 0,
               sample_rate: int = SAMPLE_RATE, packs: tuple[str, ...] = PACKS) -> list[Path]:
    """Write ``per_pack`` 16-bit WAVs into ``folder/<pack>/<voice>_NNN.wav``; the paths."""
    folder = Path(folder)
    written = []
    for pack in packs:
        (folder / pack).mkdir(parents=True, exist_ok=True)
        stem = VOICES[pack][0]
        for i in range(per_pack):
            path = folder / pack / f"{stem}_{i:03d}.wav"
            write_audio(path, one_shot(pack, i, seed, sample_rate)[:, None], sample_rate, "PCM_16")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the synthesised one-shot pack.")
    parser.add_argument("folder")
    parser.add_argument("--per-pack", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sr", type=int, default=SAMPLE_RATE)
    args = parser.parse_args(argv)
    paths = write_pack(args.folder, args.per_pack, args.seed, args.sr)
    print(f"wrote {len(paths)} files into {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
