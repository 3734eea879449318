"""Reading and writing audio files, with errors that name the problem and atomic writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .atomic import write_atomic
from .errors import AudioFileError


@dataclass(frozen=True)
class AudioFile:
    data: np.ndarray  # frames x channels, float32
    sample_rate: int
    subtype: str
    format: str


def read_audio(path: str | Path) -> AudioFile:
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: file not found")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    try:
        info = sf.info(str(path))
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(f"{path}: unsupported or unreadable audio file ({exc})") from None
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot read ({exc.strerror})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: the file holds no audio frames")
    if not np.isfinite(data).all():
        raise AudioFileError(f"{path}: the file contains NaN or infinite samples")
    return AudioFile(np.ascontiguousarray(data), int(rate), info.subtype, info.format)


def check_output_path(path: str | Path) -> tuple[Path, str]:
    """Refuse an output name that cannot be written, before any work is done.

    Returns the path and the container name (WAV, FLAC, AIFF...).
    """
    path = Path(path)
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"{path}: folder {folder} does not exist")
    extension = path.suffix.lstrip(".").upper()
    if extension not in sf.available_formats():
        raise AudioFileError(
            f"{path}: unsupported output format '.{extension.lower()}' "
            "(use .wav, .flac or .aiff)"
        )
    return path, extension


def write_audio(path: str | Path, data: np.ndarray, sample_rate: int,
                subtype: str | None = None) -> None:
    """Write atomically (temporary file, fsync, rename) so a failure leaves nothing half-written."""
    path, extension = check_output_path(path)
    if subtype is not None and not sf.check_format(extension, subtype):
        subtype = None  # the input's sample format does not exist in this container
    def write(tmp: str) -> None:
        with sf.SoundFile(tmp, "w", samplerate=sample_rate, channels=data.shape[1],
                          format=extension, subtype=subtype) as handle:
            handle.write(data)

    try:
        write_atomic(path, write)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{path}: cannot write ({exc})") from None
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot write ({exc.strerror})") from None
