"""Load a folder of one-shot WAVs for training: every WAV below it, subfolders as packs.

Each file is mixed to mono, resampled to the model rate, its leading silence
(below −60 dB of its peak) dropped, trimmed (with a 5 ms fade) or zero-padded to
the model length and normalised to a peak of 0.9.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from neuralrig.server.audiofile import read_audio
from neuralrig.server.errors import AudioFileError

PEAK = 0.9
MIN_FILES = 4


@dataclass
class PackSet:
    """One-shots ready for training: ``audio`` (N, length) float32 and their names."""

    audio: np.ndarray
    names: list[str]        # "kicks/kick_012": path below the folder, without suffix
    packs: list[str]        # pack names, sorted
    pack_of: np.ndarray     # (N,) index into packs
    sample_rate: int


def find_wavs(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioFileError(f"{folder}: not a folder" if folder.exists()
                             else f"{folder}: folder not found")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())


def prepare(x: np.ndarray, rate: int, sample_rate: int, length: int) -> np.ndarray | None:
    """Mono (frames,) or (frames, ch) at ``rate`` -> (length,) float32; None when silent."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != sample_rate:
        ratio = Fraction(sample_rate, rate).limit_denominator(1000)
        x = signal.resample_poly(x, ratio.numerator, ratio.denominator)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 1e-6:
        return None
    x = x[int(np.argmax(np.abs(x) > 1e-3 * peak)):]
    if x.size > length:
        x = x[:length].copy()
        fade = min(length, int(0.005 * sample_rate))
        x[-fade:] *= np.linspace(1.0, 0.0, fade)
    else:
        x = np.pad(x, (0, length - x.size))
    peak = float(np.max(np.abs(x)))
    if peak < 1e-6:
        return None
    return (x * (PEAK / peak)).astype(np.float32)


def load_pack(folder: str | Path, sample_rate: int, length: int) -> PackSet:
    """Read every WAV below ``folder``; refuse an empty folder or a bad file by name."""
    folder = Path(folder)
    paths = find_wavs(folder)
    if not paths:
        raise AudioFileError(f"{folder}: no WAV files found (looked for *.wav in it and its "
                             "subfolders)")
    if len(paths) < MIN_FILES:
        raise AudioFileError(f"{folder}: only {len(paths)} WAV file(s); training needs at "
                             f"least {MIN_FILES}")
    audio, names, pack_names = [], [], []
    for path in paths:
        clip = read_audio(path)  # AudioFileError names the file
        x = prepare(clip.data, clip.sample_rate, sample_rate, length)
        if x is None:
            raise AudioFileError(f"{path}: silent (peak below -120 dBFS); remove it")
        relative = path.relative_to(folder)
        audio.append(x)
        names.append(relative.with_suffix("").as_posix())
        pack_names.append(relative.parent.as_posix() if relative.parent.parts else folder.name)
    packs = sorted(set(pack_names))
    return PackSet(np.stack(audio), names, packs,
                   np.array([packs.index(p) for p in pack_names]), sample_rate)
