"""The backend interface: boot a pyo server, give a source, take sinks.

The engine's graph code is the same for every backend: it reads from
``source()`` and hands its final object to ``attach_sink``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from ..errors import AudioBackendError

BACKENDS = ("jack", "portaudio", "offline")


class AudioBackend(ABC):
    name: str

    def __init__(self) -> None:
        self.server: Any = None
        self.sample_rate = 0
        self.block = 0
        self.channels = 0
        # The full JACK name of the server's own MIDI input, when it carries one
        self.midi_input: str | None = None

    @abstractmethod
    def boot(self, sample_rate: int, block: int, channels: int) -> Any:
        """Create and boot the pyo server; return it."""

    def source(self) -> Any:
        from ..engine.pyo_env import pyo

        return pyo.Input(list(range(self.channels)))

    @abstractmethod
    def attach_sink(self, output: Any) -> Any:
        """Route ``output`` (one stream per channel) to the backend; return a handle."""

    @abstractmethod
    def detach_sink(self, handle: Any) -> None: ...

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        if self.server is not None and self.server.getIsStarted():
            self.server.stop()

    def shutdown(self) -> None:
        if self.server is not None:
            self.stop()
            if self.server.getIsBooted():
                self.server.shutdown()
            self.server = None

    def block_time(self) -> float:
        """Wall-clock time (Unix seconds) of the block about to be processed.

        Called on the audio thread at each block start; OSC bundle timetags are
        compared against it.
        """
        return time.time()

    def xruns(self) -> int | None:
        """Xruns reported by the audio system, or None where it reports none."""
        return None

    def cycle_clock(self) -> Callable[[], int] | None:
        """A function giving the frames since the audio system's current cycle began
        (called at each block start), or None where there is no such clock."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "sample_rate": self.sample_rate, "block": self.block,
                "channels": self.channels}


def choose_backend(name: str | None) -> AudioBackend:
    """``None`` picks jack when a JACK server runs, else portaudio."""
    from .jack_client import server_running
    from .live import JackBackend, PortaudioBackend
    from .offline import OfflineBackend

    if name is None:
        name = "jack" if server_running() else "portaudio"
    if name == "jack":
        return JackBackend()
    if name == "portaudio":
        return PortaudioBackend()
    if name == "offline":
        return OfflineBackend()
    raise AudioBackendError(f"unknown audio backend '{name}' (choose {', '.join(BACKENDS)})")
