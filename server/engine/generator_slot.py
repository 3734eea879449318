"""The RAVE slot: any TorchScript generator in nn~'s contract, streamed through the rig.

Modes:

* ``style`` - the live input is encoded, the latents edited, then decoded
  (style transfer: play a guitar, hear it through the model's timbre);
* ``generate`` - the decoder alone, its latent coordinates ``z1``..``zN`` set by
  parameters (an XY pad, a mapper, a MIDI pedal);
* ``prior`` - latents from the model's prior (when it has one), then edited;
* ``reconstruct`` - the model's ``forward`` (or encode then decode), unedited.

Edits (``style`` and ``prior``) apply to every latent frame: per dimension a
``scale``, then an ``offset``, or ``hold`` to freeze it at the value it had.
Parameters are read when a chunk is handed to the worker and ramp across the
chunk's latent frames from the previous chunk's values, so a control move
never steps.

Engine blocks are gathered into chunks of ``buffer`` samples (a multiple of
the model's ratio) and inference runs on a worker thread (``ChunkStreamer``);
the slot declares ``buffer + budget`` samples of latency plus the model's own
(``get_latency()`` when it declares it), and the dry path is delayed to match.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..dsp.registry import register
from ..errors import ConfigError, NeuralrigError
from .chunk_streamer import SLOTS, ChunkStreamer
from .params import ParamSpec
from .processor import BuildContext, OptionSpec, Processor
from .pyo_env import pyo

log = logging.getLogger("neuralrig.generator")

MODES = ("style", "generate", "prior", "reconstruct")
LATENT_RANGE = 4.0  # latent coordinates and offsets span -4..4 (RAVE's latents are ~N(0, 1))
SCALE_RANGE = 3.0


def latent_params(mode: str, dims: int) -> tuple[ParamSpec, ...]:
    """The parameters a mode exposes for ``dims`` latent dimensions (named from 1)."""
    # No pyo smoothing: the worker ramps each value across a chunk's latent frames.
    if mode == "reconstruct":
        return ()
    if mode == "generate":
        return tuple(ParamSpec(f"z{d}", -LATENT_RANGE, LATENT_RANGE, 0.0, smoothing=0.0,
                               description=f"latent coordinate {d}")
                     for d in range(1, dims + 1))
    specs: list[ParamSpec] = []
    if mode == "prior":
        specs.append(ParamSpec("temperature", 0.0, 2.0, 1.0, smoothing=0.0,
                               description="randomness of the prior's latents"))
    for d in range(1, dims + 1):
        specs += [
            ParamSpec(f"z{d}_offset", -LATENT_RANGE, LATENT_RANGE, 0.0, smoothing=0.0,
                      description=f"added to latent {d} (after its scale)"),
            ParamSpec(f"z{d}_scale", -SCALE_RANGE, SCALE_RANGE, 1.0, smoothing=0.0,
                      description=f"multiplies latent {d} (negative inverts it)"),
            ParamSpec(f"z{d}_hold", 0.0, 1.0, 0.0, smoothing=0.0,
                      description=f"above 0.5: latent {d} stays at its last value"),
        ]
    return tuple(specs)


@register
class RaveProcessor(Processor):
    kind = "rave"
    summary = ("A RAVE (or any nn~-contract TorchScript) generator: style transfer of the "
               "input, generation from latent coordinates or the prior, reconstruction.")
    options = (
        OptionSpec("model", str, "rave-synth.ts",
                   "TorchScript file (nn~'s contract) in the model folders"),
        OptionSpec("mode", str, "style", "style, generate, prior or reconstruct", MODES),
        OptionSpec("buffer", int, 2048,
                   "samples per model call (rounded up to the model's ratio; at least "
                   "two engine blocks)"),
        OptionSpec("budget", float, 1.0,
                   "share of a buffer's time inference may take; latency is "
                   "buffer x (1 + budget)"),
        OptionSpec("latents", int, 8, "latent dimensions exposed as parameters"),
        OptionSpec("device", str, "cpu", "cpu, or cuda on a Jetson (same output)",
                   ("cpu", "cuda")),
        OptionSpec("threads", int, 1, "torch threads for inference (process-wide)"),
        OptionSpec("sample_rate", int, None,
                   "the model's rate when its file does not declare one"),
    )

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        super().__init__(options, ctx)
        import torch

        from neuralrig.models.generators.torchscript import load_generator

        opts = self.option_values
        name = opts["model"]
        path = ctx.resolve_file(name, "model")
        if opts["threads"] < 1:
            raise ConfigError("threads must be at least 1")
        torch.set_num_threads(opts["threads"])
        try:
            self.model = load_generator(path, sample_rate=opts["sample_rate"],
                                        device=opts["device"])
        except NeuralrigError as exc:
            raise ConfigError(str(exc)) from None
        model = self.model
        self.mode = opts["mode"]
        self._check_methods(name)
        dims = min(max(0, opts["latents"]), model.latent_size)
        self.dims = dims
        self.params = latent_params(self.mode, dims)
        block = ctx.block
        if opts["buffer"] < 1:
            raise ConfigError("buffer must be a positive number of samples")
        budget = opts["budget"]
        if not 0.0 < budget <= 1.0:
            raise ConfigError(f"budget must be above 0 and at most 1, got {budget}")
        engine_rate = round(ctx.sample_rate)
        self._resampled = None
        if model.sample_rate == engine_rate:
            step = math.lcm(model.ratio, block)
            # At least two engine blocks: inference needs a block of time besides the check.
            self.chunk = step * math.ceil(max(opts["buffer"], 2 * block) / step)
            self.model_chunk = self.chunk
            self._added_latency = model.latency
        else:
            self._resample_to(engine_rate, opts["buffer"], name)
        self.budget = min(self.chunk, max(2 * block, block * math.ceil(budget * self.chunk
                                                                        / block)))
        self.frames = self.model_chunk // model.ratio
        self._ctrl = np.zeros((SLOTS, len(self.params)), np.float32)
        self._prev = np.array([p.default for p in self.params], np.float32)
        self._held = torch.zeros(model.latent_size)
        self._ramp = torch.arange(1, self.frames + 1, dtype=torch.float32) / self.frames
        self._torch = torch
        log.info("%s: %s mode, %d latents exposed, buffer %d, latency %d samples",
                 model.describe(), self.mode, dims, self.chunk, self.latency_samples)

    def _resample_to(self, engine_rate: int, buffer: int, name: str) -> None:
        """Run the model at its own rate: chunks are resampled on the worker thread."""
        from neuralrig.models.generators.gather import GatheredGenerator
        from neuralrig.models.resampled import ResampledModel

        model, block = self.model, self.ctx.block
        self.chunk = block * math.ceil(max(buffer, 2 * block) / block)
        ratio = model.ratio
        self.model_chunk = ratio * math.ceil(buffer * model.sample_rate / engine_rate / ratio)
        gathered = GatheredGenerator(self._run_model, self.model_chunk, model.sample_rate,
                                     model.latency)
        try:
            resampled = ResampledModel(gathered, engine_rate)
        except NeuralrigError as exc:
            raise ConfigError(f"model '{name}': {exc}") from None
        resampled.prepare(1, self.chunk)
        self._resampled = resampled
        self._added_latency = resampled.latency_samples
        log.info("model %s runs at %d Hz: resampled from %d Hz on the inference thread",
                 name, model.sample_rate, engine_rate)

    def _check_methods(self, name: str) -> None:
        needs = {"style": ("encode", "decode"), "generate": ("decode",),
                 "prior": ("prior", "decode"), "reconstruct": ()}[self.mode]
        missing = [m for m in needs if not self.model.has(m)]
        if missing:
            raise ConfigError(f"model '{name}' has no {', '.join(missing)} method for "
                              f"{self.mode} mode (it has {', '.join(self.model.methods)})")

    @property
    def latency_samples(self) -> int:
        return self.chunk + self.budget + self._added_latency

    def report(self) -> dict[str, Any]:
        streamer = getattr(self, "_streamer", None)
        if streamer is None:
            return {}
        return {"late_chunks": streamer.late, "dropped_chunks": streamer.dropped,
                "chunks": streamer.chunks}

    # -- wiring -------------------------------------------------------------------
    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        ctx = self.ctx
        block = ctx.block
        self._in_tables = [pyo.DataTable(block) for _ in range(ctx.channels)]
        self._out_table = pyo.DataTable(block)
        self._in_views = tuple(np.asarray(t.getBuffer()) for t in self._in_tables)
        self._out_view = np.asarray(self._out_table.getBuffer())
        self._mono = np.zeros(block, np.float32)
        self._controls = tuple(controls[p.name] for p in self.params)
        # Edits ramp from the previous chunk's values: the first from the configured ones.
        self._prev = np.array([float(c.value) for c in self._controls], np.float32)
        self._streamer = ChunkStreamer(block, self.chunk, self.budget, self._infer,
                                       realtime=ctx.realtime, on_submit=self._snapshot,
                                       name=f"rave-{self.mode}")
        self._fill = pyo.TableFill(source, self._in_tables)
        self._hook = pyo.TrigFunc(ctx.block_trigger, self._process_block)
        output = pyo.TableScan([self._out_table] * ctx.channels)
        ctx.keep.extend((self._fill, self._hook, output))
        return output

    def reset(self) -> None:
        self.model.reset()
        if self._resampled is not None:
            self._resampled.reset()
        streamer = getattr(self, "_streamer", None)
        if streamer is not None:
            streamer.reset()

    def release(self) -> None:
        streamer = getattr(self, "_streamer", None)
        if streamer is not None:
            streamer.stop()
        self._in_views = ()
        self._out_view = None  # type: ignore[assignment]
        self._in_tables = []

    # -- audio thread -------------------------------------------------------------
    def _process_block(self) -> None:
        views = self._in_views
        if len(views) == 1:
            x = views[0]
        else:
            x = self._mono
            np.add(views[0], views[1], out=x)
            x *= 0.5
        self._streamer.process(x, self._out_view)

    def _snapshot(self, number: int) -> None:
        row = self._ctrl[number % SLOTS]
        for i, signal in enumerate(self._controls):
            row[i] = signal.get()

    # -- worker thread ------------------------------------------------------------
    def _infer(self, x: np.ndarray, number: int, out: np.ndarray) -> None:
        self._now = self._ctrl[number % SLOTS].copy()
        if self._resampled is None:
            self._run_model(x, out)
        else:
            self._resampled.process(x[None, :], out[None, :])

    def _run_model(self, x: np.ndarray, out: np.ndarray) -> None:
        """One model-rate chunk through the mode's methods, edited by ``self._now``."""
        torch = self._torch
        model = self.model
        ctrl = self._now
        with torch.inference_mode():
            audio = torch.from_numpy(x).view(1, 1, -1).to(model.device)
            if model.audio_channels > 1:
                audio = audio.expand(1, model.audio_channels, -1)
            if self.mode == "reconstruct":
                y = (model.call("forward", audio) if model.has("forward")
                     else model.call("decode", model.call("encode", audio)))
            else:
                z = self._latents(audio, ctrl)
                y = model.call("decode", z)
            y = y[0].mean(0) if y.shape[1] > 1 else y[0, 0]
            out[:] = y.to("cpu").numpy()
        self._prev = ctrl

    def _latents(self, audio: Any, ctrl: np.ndarray) -> Any:
        torch = self._torch
        model = self.model
        dims, frames = self.dims, self.frames
        ramp = self._ramp.to(model.device)
        now = torch.from_numpy(ctrl).to(model.device)
        before = torch.from_numpy(self._prev).to(model.device)
        values = before[:, None] + (now - before)[:, None] * ramp[None, :]  # (params, frames)
        if self.mode == "generate":
            z = torch.zeros(1, model.latent_size, frames, device=model.device)
            z[0, :dims] = values
            return z
        base = 0
        if self.mode == "style":
            z = model.call("encode", audio)
        else:
            spec = model.methods["prior"]
            z = model.call("prior", torch.full(
                (1, spec.in_channels, self.model_chunk // spec.in_ratio), float(ctrl[0]),
                device=model.device))
            base = 1  # temperature comes first
        z = z.clone()
        held = self._held.to(model.device)
        for d in range(dims):
            offset, scale = values[base + 3 * d], values[base + 3 * d + 1]
            if ctrl[base + 3 * d + 2] > 0.5:
                z[0, d] = held[d]
            else:
                z[0, d] = z[0, d] * scale + offset
        self._held = z[0, :, -1].to("cpu").clone()
        return z
