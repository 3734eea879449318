"""The neural processor: runs a StreamingModel once per block, inside the audio callback.

The slot's input is copied into per-channel pyo tables by ``TableFill``; a
``TrigFunc`` on the engine's block trigger then calls the model on numpy/torch
views of those tables and writes into output tables read back by
``TableScan``. All three are created in that order, so the model sees the
current block and its output leaves in the same block: no added latency.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..dsp.registry import register
from ..errors import ConfigError, NeuralrigError
from .processor import BuildContext, OptionSpec, Processor
from .pyo_env import pyo

_audio_thread = threading.local()


def prepare_audio_thread() -> None:
    """One intra-op thread and inference mode, set from the audio thread itself.

    (Setting the thread count only from the main thread left an LSTM-32 at
    p99 625 us / max 2.2 ms per 128-sample block; from the audio thread,
    411 us / 0.75 ms.)
    """
    if getattr(_audio_thread, "ready", False):
        return
    torch.set_num_threads(1)
    guard = torch.inference_mode()
    guard.__enter__()  # stays entered for the life of the thread
    _audio_thread.guard = guard
    _audio_thread.ready = True


@register
class NeuralProcessor(Processor):
    kind = "neural"
    summary = "A neural model (amp, pedal) run block by block in the audio callback."
    options = (
        OptionSpec("model", str, None, "built-in model name or a model file in the model folders"),
    )

    def __init__(self, options: Mapping[str, Any], ctx: BuildContext) -> None:
        super().__init__(options, ctx)
        from neuralrig.models.builtin import BUILTIN_MODELS
        from neuralrig.models.format import load_model

        name = self.option_values["model"]
        if not name:
            raise ConfigError("a neural slot needs 'model' (a built-in name or a model file)")
        source = name if name in BUILTIN_MODELS else ctx.resolve_file(name, "model")
        try:
            self.model = load_model(source)
        except NeuralrigError as exc:
            raise ConfigError(str(exc)) from None
        rate = self.model.sample_rate
        if rate is not None and int(rate) != int(ctx.sample_rate):
            raise ConfigError(
                f"model '{name}' runs at {rate:g} Hz but the engine runs at "
                f"{ctx.sample_rate:g} Hz (run the engine at {rate:g} Hz)"
            )
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
        in_views = [torch.from_numpy(np.asarray(t.getBuffer())) for t in self._in_tables]
        out_views = [torch.from_numpy(np.asarray(t.getBuffer())) for t in self._out_tables]
        if channels == 1:  # the model works on the tables' memory directly
            self._x, self._y = in_views[0].unsqueeze(0), out_views[0].unsqueeze(0)
            self._in_views = self._out_views = ()
        else:
            self._x = torch.zeros(channels, block)
            self._y = torch.zeros(channels, block)
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
        # Torch views of pyo tables first: pyo frees a table's memory even
        # while views of it exist.
        self._x = self._y = None  # type: ignore[assignment]
        self._in_views = self._out_views = ()
        self._in_tables = self._out_tables = []

    def _process_block(self) -> None:
        """Audio thread, once per block: no allocation beyond torch's own, no locks, no I/O."""
        prepare_audio_thread()
        try:
            for c, view in enumerate(self._in_views):
                self._x[c].copy_(view)
            for name, signal in self._controls:
                self.model.set_control(name, signal.get())
            self.model.process(self._x, self._y)
            for c, view in enumerate(self._out_views):
                view.copy_(self._y[c])
        except Exception:  # a failing model goes silent for the block; counted, not raised
            self.errors += 1
            self._y.zero_()
            for view in self._out_views:
                view.zero_()
