"""The one-shot slot: a sample-pack autoencoder played by notes (Latent Play's method).

The current latent point is a blend of two training samples (``sample_a``,
``sample_b``, ``morph``), moved along the two PCA axes (``pc1``, ``pc2``) and then
edited under constraints so that the estimated pitch, attack, release and
brightness shift by the amounts set (``z' = z + Aᵀ(AAᵀ)⁻¹ Δ``: the smallest move
that gets there). All of them are ordinary parameters, so OSC, MIDI CCs and the
mapper reach them.

A worker thread decodes the current point whenever a parameter changes (a few
ms on one core) into a free buffer of a small pool and publishes it; a note
then starts a voice on the newest buffer in the block it arrives in, scaled by
its velocity, so a trigger never waits for the network. Voices play to their
end (note offs are ignored, as on a drum sampler); when all are busy the oldest
is stolen and fades out over one block. Offline the decode runs inline, so
renders are deterministic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..dsp.registry import register
from ..errors import ConfigError, NeuralrigError
from .params import ParamSpec, db_to_amp
from .processor import BuildContext, OptionSpec, Processor
from .pyo_env import pyo

log = logging.getLogger("neuralrig.oneshots")

POLL_SECONDS = 0.002  # how often the worker looks for changed parameters
SHIFTS = {  # feature -> (range, unit, description)
    "pitch": (24.0, "st", "pitch shift of the estimated pitch"),
    "attack": (1.0, "log10 s", "attack time change (1 = ten times longer)"),
    "release": (1.0, "log10 s", "release time change (1 = ten times longer)"),
    "brightness": (24.0, "st", "spectral centroid shift"),
}


@register
class OneShotProcessor(Processor):
    kind = "oneshots"
    summary = ("One-shot generator: a sample-pack autoencoder steered along its PCA axes "
               "and feature targets, played by notes.")
    options = (
        OptionSpec("model", str, "oneshots.safetensors",
                   "one-shot model (neuralrig train-samples) in the model folders"),
        OptionSpec("voices", int, 8, "one-shots that can sound at once"),
    )

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        super().__init__(options, ctx)
        from neuralrig.models.generators.oneshots.model import OneShotModel

        name = self.option_values["model"]
        try:
            self.model = OneShotModel.load(ctx.resolve_file(name, "model"))
        except NeuralrigError as exc:
            raise ConfigError(str(exc)) from None
        if not 1 <= self.option_values["voices"] <= 64:
            raise ConfigError("voices must be between 1 and 64")
        model = self.model
        last = float(len(model.names) - 1)
        specs = [
            ParamSpec("sample_a", 0.0, max(last, 1.0), 0.0, smoothing=0.0,
                      description="training sample to start from (index)"),
            ParamSpec("sample_b", 0.0, max(last, 1.0), 0.0, smoothing=0.0,
                      description="training sample to morph towards (index)"),
            ParamSpec("morph", 0.0, 1.0, 0.0, smoothing=0.0,
                      description="0 = sample_a, 1 = sample_b"),
            ParamSpec("pc1", -2.0, 2.0, 0.0, smoothing=0.0,
                      description="move along the first PCA axis (1 = the training range)"),
            ParamSpec("pc2", -2.0, 2.0, 0.0, smoothing=0.0,
                      description="move along the second PCA axis"),
        ]
        self._features = [f for f in model.feature_names if f in SHIFTS]
        for feature in self._features:
            span, unit, text = SHIFTS[feature]
            specs.append(ParamSpec(feature, -span, span, 0.0, unit, smoothing=0.0,
                                   description=text))
        specs.append(ParamSpec("level", -60.0, 12.0, 0.0, "dB", description="output level"))
        self.params = tuple(specs)
        self._rows = [model.feature_names.index(f) for f in self._features]
        self.length = round(model.length * ctx.sample_rate / model.sample_rate)
        voices = self.option_values["voices"]
        # Busy at most: one buffer per voice, a stolen voice's fading tail, the newest
        # decode and the two before it (a note racing the worker may still take them).
        self._pool = np.zeros((voices + 4, self.length), np.float32)
        self._in_use = [0] * len(self._pool)
        self._current = -1  # newest decoded buffer (-1: none yet)
        self._recent = (-1, -1)
        self._voice_buf = [-1] * voices
        self._voice_pos = [0] * voices
        self._voice_gain = [0.0] * voices
        self._voice_age = [0] * voices
        self._tail_buf, self._tail_pos, self._tail_gain = -1, 0, 0.0  # a stolen voice
        self._count = 0
        self.generated = 0
        self.generate_ms = 0.0  # last decode's duration
        self._last: tuple[float, ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        log.info("%s", model.describe())

    def report(self) -> dict[str, Any]:
        return {"generated": self.generated, "generate_ms": round(self.generate_ms, 2)}

    # -- latent point -----------------------------------------------------------------
    def latent_point(self, values: Mapping[str, float]) -> np.ndarray:
        """The latent point the parameters describe (see the module docstring)."""
        model = self.model
        last = len(model.names) - 1
        a = min(last, max(0, round(values["sample_a"])))
        b = min(last, max(0, round(values["sample_b"])))
        z = model.morph(a, b, float(values["morph"]))
        moves = np.array([values["pc1"], values["pc2"]], dtype=np.float64)
        if moves.any():
            z = model.from_pca(model.pca_coords(z) + moves, base=z)
        shifts = {f: float(values[f]) for f in self._features if values[f] != 0.0}
        if shifts:
            now = model.features(z)
            targets = {f: now[model.feature_names.index(f)] + s for f, s in shifts.items()}
            z = model.constrained_edit(z, targets)
        return z

    def _decode(self, values: Mapping[str, float], into: np.ndarray) -> None:
        import time

        start = time.perf_counter()
        model = self.model
        audio = model.generate(self.latent_point(values))
        if self.length != model.length:
            from scipy.signal import resample_poly

            g = np.gcd(round(self.ctx.sample_rate), model.sample_rate)
            audio = resample_poly(audio, round(self.ctx.sample_rate) // g,
                                  model.sample_rate // g)[: self.length]
        into[: len(audio)] = audio
        into[len(audio):] = 0.0
        self.generate_ms = 1000.0 * (time.perf_counter() - start)
        self.generated += 1

    def _refresh(self) -> bool:
        """Decode the current point into a free buffer if the parameters moved."""
        values = tuple(float(c.get()) for c in self._signals)
        if values == self._last:
            return False
        free = next((k for k in range(len(self._pool)) if k != self._current
                     and k not in self._recent and self._in_use[k] == 0), -1)
        if free < 0:  # cannot happen with the pool's size; if it did, retry next time
            return False
        self._decode(dict(zip(self._names, values, strict=True)), self._pool[free])
        self._last = values  # only once decoded: a failed decode is tried again
        self._recent = (self._current, self._recent[0])
        self._current = free
        return True

    # -- wiring -------------------------------------------------------------------------
    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        ctx = self.ctx
        block = ctx.block
        self._names = [p.name for p in self.params if p.name != "level"]
        self._signals = [controls[n] for n in self._names]
        self._level = controls["level"]
        self._out_table = pyo.DataTable(block)
        self._out = np.asarray(self._out_table.getBuffer())
        self._scratch = np.zeros(block, np.float32)
        self._fade_out = np.arange(block, 0, -1, dtype=np.float32) / block
        self._refresh()  # the first point, before any note can arrive
        self._hook = pyo.TrigFunc(ctx.block_trigger, self._process_block)
        voices = pyo.TableScan([self._out_table] * ctx.channels)
        output = source + voices
        ctx.keep.extend((self._hook, voices, output))
        if ctx.realtime:
            self._thread = threading.Thread(target=self._worker, name="oneshots-decode",
                                            daemon=True)
            self._thread.start()
        return output

    def _worker(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._refresh()
            except Exception:
                log.exception("one-shot decode failed; notes keep the previous sound")
                self._stop.wait(1.0)

    def release(self) -> None:
        self._stop.set()  # never joined here: this runs on the audio thread
        self._out = None  # type: ignore[assignment]

    def reset(self) -> None:
        for v in range(len(self._voice_buf)):
            self._release_voice(v)
        if self._tail_buf >= 0:
            self._in_use[self._tail_buf] -= 1
            self._tail_buf = -1

    # -- audio thread ---------------------------------------------------------------------
    def note(self, note: int, velocity: int) -> None:
        """Note on: a voice starts on the newest one-shot (note offs are ignored)."""
        if velocity <= 0 or self._current < 0:
            return
        bufs = self._voice_buf
        free = [v for v in range(len(bufs)) if bufs[v] < 0]
        if free:
            voice = free[0]
        else:  # steal the oldest; it fades out over the next block instead of stopping dead
            voice = min(range(len(bufs)), key=self._voice_age.__getitem__)
            self._fade_voice(voice)
        current = self._current
        self._in_use[current] += 1
        bufs[voice] = current
        self._voice_pos[voice] = 0
        self._voice_gain[voice] = velocity / 127.0
        self._count += 1
        self._voice_age[voice] = self._count

    def _fade_voice(self, voice: int) -> None:
        if self._tail_buf >= 0:
            self._in_use[self._tail_buf] -= 1
        self._tail_buf, self._tail_pos = self._voice_buf[voice], self._voice_pos[voice]
        self._tail_gain = self._voice_gain[voice]
        self._voice_buf[voice] = -1  # its buffer stays in use by the tail

    def _release_voice(self, voice: int) -> None:
        buf = self._voice_buf[voice]
        if buf >= 0:
            self._in_use[buf] -= 1
            self._voice_buf[voice] = -1

    def _process_block(self) -> None:
        out = self._out
        if out is None:
            return
        if not self.ctx.realtime:
            self._refresh()
        out.fill(0.0)
        level = db_to_amp(float(self._level.get()))
        block, length = len(out), self.length
        scratch = self._scratch
        tail = self._tail_buf
        if tail >= 0:
            n = min(block, length - self._tail_pos)
            np.multiply(self._pool[tail, self._tail_pos:self._tail_pos + n],
                        self._tail_gain * level, out=scratch[:n])
            scratch[:n] *= self._fade_out[:n]
            out[:n] += scratch[:n]
            self._in_use[tail] -= 1
            self._tail_buf = -1
        for v, buf in enumerate(self._voice_buf):
            if buf < 0:
                continue
            pos = self._voice_pos[v]
            n = min(block, length - pos)
            np.multiply(self._pool[buf, pos:pos + n], self._voice_gain[v] * level,
                        out=scratch[:n])
            out[:n] += scratch[:n]
            pos += n
            if pos >= length:
                self._release_voice(v)
            else:
                self._voice_pos[v] = pos
