"""A chain instance: input gain, the slots in order, output gain and a swap fade.

The engine builds a new instance whenever the rig changes and crossfades to it;
pyo computes objects in creation order, so building in signal-flow order keeps
the whole chain free of added latency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import RigConfig
from .processor import BuildContext
from .pyo_env import pyo
from .slot import Meter, SlotInstance

SWAP_FADE = 0.03  # seconds of crossfade when one chain replaces another
GAIN_SMOOTHING = 0.03


class ChainInstance:
    def __init__(
        self,
        config: RigConfig,
        source: Any,
        ctx: BuildContext,
        on_block_end: Callable[[], None],
        faded_in: bool,
    ) -> None:
        self.config = config
        self.input_gain_db = config.input_gain
        self.output_gain_db = config.output_gain
        self._in_gain = pyo.SigTo(config.input_gain, time=GAIN_SMOOTHING, init=config.input_gain)
        signal = source * pyo.DBToA(self._in_gain)
        self.input_meter = Meter(signal, ctx.channels)
        self.slots: dict[str, SlotInstance] = {}
        for slot_config in config.slots:
            slot = SlotInstance(slot_config, signal, ctx)
            self.slots[slot.id] = slot
            signal = slot.output
        self._out_gain = pyo.SigTo(
            config.output_gain, time=GAIN_SMOOTHING, init=config.output_gain
        )
        start = 1.0 if faded_in else 0.0
        self.fade = pyo.SigTo(start, time=SWAP_FADE, init=start)
        self.output = signal * pyo.DBToA(self._out_gain) * self.fade
        self.output_meter = Meter(self.output, ctx.channels)
        self._ctx = ctx
        self.timing = True
        # Created last, so it runs after every other object of this chain.
        self._end_hook = pyo.TrigFunc(ctx.block_trigger, self._block_end)
        self._on_block_end = on_block_end

    def _block_end(self) -> None:
        if self.timing:
            self._on_block_end()

    @property
    def latency_samples(self) -> int:
        return sum(slot.latency_samples for slot in self.slots.values())

    def reset(self) -> None:
        """Clear every processor's state (recurrent state, histories)."""
        for slot in self.slots.values():
            slot.processor.reset()

    def apply_input_gain(self, db: float) -> None:
        self.input_gain_db = db
        self._in_gain.value = db

    def apply_output_gain(self, db: float) -> None:
        self.output_gain_db = db
        self._out_gain.value = db

    def release(self) -> None:
        """Drop the pyo graph (call at a block boundary, on the audio thread)."""
        self._end_hook.stop()
        self._on_block_end = _noop
        for slot in self.slots.values():
            slot.release()
        self.slots.clear()
        self._ctx.keep.clear()
        self.output = self.fade = self._end_hook = None  # type: ignore[assignment]


def _noop() -> None:
    pass
