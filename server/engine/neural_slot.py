"""The neural processor: runs a StreamingModel once per block, inside the audio callback.

The slot's input is copied into per-channel pyo tables by ``TableFill``; a
``TrigFunc`` on the engine's block trigger then calls the model on numpy
views of those tables and writes into output tables read back by
``TableScan``. All three are created in that order, so the model sees the
current block and its output leaves in the same block: no added latency.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..dsp.registry import register
from ..errors import ConfigError, NeuralrigError
from .processor import BuildContext, OptionSpec, Processor
from .pyo_env import pyo


@register
class NeuralProcessor(Processor):
    kind = "neural"
    summary = ("A neural model (amp, pedal): neuralrig, NAM, AIDA-X or Proteus file, "
               "run block by block in the audio callback.")
    options = (
        OptionSpec("model", str, None, "built-in model name or a model file in the model folders"),
        OptionSpec("normalize", bool, True,
                   "scale a NAM model's output to -18 dB loudness, as NAM's plugin does"),
        OptionSpec("input_level_dbu", float, None,
                   "your interface's input level (dBu at 0 dBFS) to calibrate NAM captures"),
    )

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        super().__init__(options, ctx)
        from neuralrig.models.builtin import BUILTIN_MODELS
        from neuralrig.models.formats import load_model
        from neuralrig.models.formats.nam import apply_nam_levels

        name = self.option_values["model"]
        if not name:
            raise ConfigError("a neural slot needs 'model' (a built-in name or a model file)")
        source = name if name in BUILTIN_MODELS else ctx.resolve_file(name, "model")
        try:
            model = load_model(source)
        except NeuralrigError as exc:
            raise ConfigError(str(exc)) from None
        fmt = (getattr(model, "metadata", None) or {}).get("format", "built-in")
        # NAM's plugin levels apply to NAM files; a neuralrig capture keeps the device's level.
        levels = apply_nam_levels(
            model, normalize=bool(self.option_values["normalize"]) and fmt == "nam",
            input_calibration_dbu=self.option_values["input_level_dbu"])
        logging.getLogger("neuralrig.neural").info(
            "model %s (%s): %s%s", name, fmt, model.describe(),
            f"; {', '.join(levels)}" if levels else "")
        rate = model.sample_rate
        if rate is not None and round(rate) != round(ctx.sample_rate):
            from neuralrig.models.resampled import ResampledModel

            try:
                model = ResampledModel(model, ctx.sample_rate)
            except NeuralrigError as exc:
                raise ConfigError(f"model '{name}': {exc}") from None
            logging.getLogger("neuralrig.neural").info(
                "model %s runs at %g Hz; resampling from %g Hz adds %d samples (%.2f ms) "
                "latency", name, rate, ctx.sample_rate, model.added_latency,
                1000.0 * model.added_latency / ctx.sample_rate)
        self.model = model
        self.params = self.model.controls
        self.model.prepare(ctx.channels, ctx.block)
        self.errors = 0

    @property
    def latency_samples(self) -> int:
        return self.model.latency_samples

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        ctx = self.ctx
        channels, block = ctx.channels, ctx.block
        self._in_tables = [pyo.DataTable(block) for _ in range(channels)]
        self._out_tables = [pyo.DataTable(block) for _ in range(channels)]
        in_views = [np.asarray(t.getBuffer()) for t in self._in_tables]
        out_views = [np.asarray(t.getBuffer()) for t in self._out_tables]
        if channels == 1:  # the model works on the tables' memory directly
            self._x, self._y = in_views[0][None, :], out_views[0][None, :]
            self._in_views = self._out_views = ()
        else:
            self._x = np.zeros((channels, block), np.float32)
            self._y = np.zeros((channels, block), np.float32)
            self._in_views, self._out_views = tuple(in_views), tuple(out_views)
        self._controls = tuple(controls.items())
        self._fill = pyo.TableFill(source, self._in_tables)
        self._hook = pyo.TrigFunc(ctx.block_trigger, self._process_block)
        output = pyo.TableScan(self._out_tables)
        ctx.keep.extend((self._fill, self._hook, output))
        return output

    def reset(self) -> None:
        self.model.reset()

    def release(self) -> None:
        # Views of pyo tables first: pyo frees a table's memory even
        # while views of it exist.
        self._x = self._y = None  # type: ignore[assignment]
        self._in_views = self._out_views = ()
        self._in_tables = self._out_tables = []

    def _process_block(self) -> None:
        """Audio thread, once per block: preallocated arrays, no locks, no I/O.

        The kernels are numba code compiled in ``prepare``; nothing compiles here.
        """
        try:
            for c, view in enumerate(self._in_views):
                self._x[c] = view
            for name, signal in self._controls:
                self.model.set_control(name, signal.get())
            self.model.process(self._x, self._y)
            for c, view in enumerate(self._out_views):
                view[:] = self._y[c]
        except Exception:  # a failing model goes silent for the block; counted, not raised
            self.errors += 1
            self._y.fill(0.0)
            for view in self._out_views:
                view.fill(0.0)
