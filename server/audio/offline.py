"""Offline backend: pyo's manual server, driven block by block from numpy arrays.

Input is written straight into the server's input buffer (read by the same
``Input`` objects the live backends use); output is captured exactly, with no
master-gain ramp, by a ``TableFill`` per attached sink.
"""

from __future__ import annotations

import ctypes
import time
from typing import Any

import numpy as np

from ..engine.pyo_env import pyo
from .backend import AudioBackend


class OfflineBackend(AudioBackend):
    name = "offline"

    def __init__(self) -> None:
        super().__init__()
        self._sinks: list[tuple[Any, list[np.ndarray]]] = []
        self._in: np.ndarray | None = None
        self._out: np.ndarray | None = None
        # Offline time runs with the blocks, not the wall clock: block n starts
        # at epoch + n * block / sample_rate, whatever the machine's speed.
        self.epoch = time.time()
        self.frames_done = 0

    def boot(self, sample_rate: int, block: int, channels: int) -> Any:
        self.sample_rate, self.block, self.channels = sample_rate, block, channels
        server = pyo.Server(
            sr=sample_rate, nchnls=channels, buffersize=block, duplex=1, audio="manual",
            midi="none", verbosity=1,
        )
        server.boot()
        address = int(server.getInputAddr(), 16)
        raw = (ctypes.c_float * (block * channels)).from_address(address)
        self._in = np.ctypeslib.as_array(raw).reshape(block, channels)
        self._out = np.zeros((block, channels), dtype=np.float32)
        self.server = server
        return server

    def attach_sink(self, output: Any) -> Any:
        tables = [pyo.DataTable(self.block) for _ in range(self.channels)]
        fill = pyo.TableFill(output, tables)
        handle = (fill, [np.asarray(t.getBuffer()) for t in tables], tables)
        self._sinks.append(handle[:2])
        return handle

    def detach_sink(self, handle: Any) -> None:
        # Views go before their tables: pyo frees table memory regardless of views.
        handle[0].stop()
        self._sinks = [s for s in self._sinks if s[0] is not handle[0]]
        handle[1].clear()

    def shutdown(self) -> None:
        self._sinks.clear()
        self._in = None
        super().shutdown()

    def block_time(self) -> float:
        return self.epoch + self.frames_done / self.sample_rate

    def process_block(self, block_in: np.ndarray) -> np.ndarray:
        """Process one block (frames x channels); returns a view valid until the next call."""
        assert self._in is not None and self._out is not None
        self._in[:] = block_in
        self.server.process()
        self.frames_done += self.block
        self._out[:] = 0.0
        for _, views in self._sinks:
            for channel, view in enumerate(views):
                self._out[:, channel] += view
        return self._out

    def run(self, audio: np.ndarray, tail: int = 0) -> np.ndarray:
        """Process a whole signal (frames x channels), padded to whole blocks.

        Returns ``len(audio) + tail`` frames; the caller trims latency.
        """
        frames = audio.shape[0] + tail
        blocks = -(-frames // self.block)
        padded = np.zeros((blocks * self.block, self.channels), dtype=np.float32)
        padded[: audio.shape[0]] = audio
        result = np.empty_like(padded)
        for b in range(blocks):
            span = slice(b * self.block, (b + 1) * self.block)
            result[span] = self.process_block(padded[span])
        return result[:frames]
