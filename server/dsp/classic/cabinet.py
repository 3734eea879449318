"""Cabinet: convolution with a speaker-cabinet impulse response read from a WAV file.

The impulse response is read once, at build time: mixed to mono, resampled to
the engine rate if needed, cut to ``max_length`` samples (with a short fade so
the cut does not ring), and normalised so its loudest frequency passes at 0 dB.
The convolution is direct (time domain), so it adds no latency.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...engine.params import ParamSpec
from ...engine.processor import BuildContext, OptionSpec
from ...engine.pyo_env import pyo
from ...errors import ConfigError
from ..registry import register
from .common import ClassicProcessor
from .resample import ZERO_CROSSINGS, resample

DEFAULT_IR = "cab_4x12.wav"
MIN_LENGTH, MAX_LENGTH = 16, 8192
FADE_SAMPLES = 64  # half-cosine fade applied where a long response is cut
NORM_FFT = 1 << 16  # frequency resolution used to find the response's peak


def load_impulse_response(path: Path, sample_rate: float, max_length: int,
                          name: str | None = None) -> np.ndarray:
    """Read, mix down, resample, truncate and normalise an impulse response."""
    import soundfile as sf

    label = f"impulse response '{name or path.name}'"
    try:
        info = sf.info(str(path))
        # Read only what the cut keeps (plus the resampler's reach).
        needed = int(np.ceil(max_length * info.samplerate / sample_rate))
        needed += 2 * int(np.ceil(ZERO_CROSSINGS * max(1.0, info.samplerate / sample_rate))) + 2
        data, rate = sf.read(str(path), frames=min(needed, info.frames), dtype="float64",
                             always_2d=True)
    except (RuntimeError, OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{label}: cannot read {path}: {exc}") from None
    if data.size == 0:
        raise ConfigError(f"{label}: {path} holds no samples")
    if not np.all(np.isfinite(data)):
        raise ConfigError(f"{label}: {path} holds NaN or infinite samples")
    response = data.mean(axis=1)
    if rate != sample_rate:
        response = resample(response, rate, sample_rate) * (rate / sample_rate)
    if len(response) > max_length:
        response = response[:max_length].copy()
        fade = min(FADE_SAMPLES, max_length // 4)
        response[-fade:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(fade) + 1) / fade)
    peak = float(np.max(np.abs(np.fft.rfft(response, n=max(NORM_FFT, len(response))))))
    if not peak > 1e-9:
        raise ConfigError(f"{label}: {path} is silent")
    return response / peak


@register
class Cabinet(ClassicProcessor):
    kind = "cabinet"
    summary = "Speaker cabinet: direct convolution with an impulse response WAV."
    params = (ParamSpec("level", -40.0, 12.0, 0.0, "dB", description="output level"),)
    options = (
        OptionSpec("ir", str, DEFAULT_IR,
                   "impulse response WAV in the impulse folders (or the shipped cab_4x12.wav)"),
        OptionSpec("max_length", int, 2048,
                   f"longest response used, in samples ({MIN_LENGTH}..{MAX_LENGTH}); "
                   "the cost of the convolution grows with it"),
    )

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        super().__init__(options, ctx)
        name = self.option_values["ir"]
        max_length = self.option_values["max_length"]
        if isinstance(max_length, bool) or not MIN_LENGTH <= max_length <= MAX_LENGTH:
            raise ConfigError(
                f"option 'max_length' of 'cabinet' must be {MIN_LENGTH}..{MAX_LENGTH}, "
                f"got {max_length}"
            )
        path = ctx.resolve_file(name, "impulse response")
        response = load_impulse_response(path, ctx.sample_rate, max_length, name)
        self.ir_path = path
        self._ir = response
        self._ir.setflags(write=False)

    @property
    def ir(self) -> np.ndarray:
        """The processed response, at the engine rate, exactly as convolved."""
        return self._ir

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        g = self.graph
        ir = self._ir
        # pyo's Convolve output lags one sample (y[n] = sum h[k] x[n-1-k]), so the
        # first tap is applied directly and the table holds the rest.
        wet = g(source * float(ir[0]))
        if len(ir) > 1:
            table = pyo.DataTable(len(ir) - 1, init=[float(v) for v in ir[1:]])
            self.ctx.keep.append(table)
            g(table)
            wet = g(wet + g(pyo.Convolve(source, table, size=len(ir) - 1)))
        return g(wet * g(pyo.DBToA(controls["level"])))
