"""Live backends: JACK and PortAudio (ALSA). Output goes to the server's dac."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..engine.pyo_env import pyo
from ..errors import AudioBackendError
from .backend import AudioBackend

log = logging.getLogger("neuralrig.audio")


class _LiveBackend(AudioBackend):
    def attach_sink(self, output: Any) -> Any:
        output.out()
        return output

    def detach_sink(self, handle: Any) -> None:
        handle.stop()


MIDI_INPUT = "midi_in"
# pyo registers a MIDI output too; nothing is sent through it (see engine.midi_io).
UNUSED_MIDI_OUTPUT = "unused_midi_out"


class JackBackend(_LiveBackend):
    """A JACK client named ``neuralrig``; the JACK server sets rate and block size.

    With ``midi`` the same client also carries the MIDI input (``neuralrig:midi_in``;
    see ``engine.midi_io``).
    """

    name = "jack"

    def __init__(self, client_name: str = "neuralrig", autoconnect: bool = True,
                 midi: bool = False) -> None:
        super().__init__()
        self.client_name = client_name
        self.autoconnect = autoconnect
        self.midi = midi
        self.monitor: Any = None

    def boot(self, sample_rate: int, block: int, channels: int) -> Any:
        from .jack_client import JackMonitor, server_running

        if not server_running():
            raise AudioBackendError(
                "no JACK server is running (start one, e.g. "
                "'jackd -d alsa' or 'jackd --no-realtime -d dummy', or use --audio portaudio)"
            )
        self.monitor = JackMonitor()
        self.monitor.start()
        jack_rate, jack_block = self.monitor.sample_rate, self.monitor.buffer_size
        if (jack_rate, jack_block) != (sample_rate, block):
            log.warning(
                "JACK runs at %d Hz with %d-sample blocks; using those instead of the "
                "configured %d Hz / %d", jack_rate, jack_block, sample_rate, block,
            )
        self.sample_rate, self.block, self.channels = jack_rate, jack_block, channels
        before = set(self.monitor.ports(type_pattern="midi")) if self.midi else set()
        server = pyo.Server(
            sr=jack_rate, nchnls=channels, buffersize=jack_block, duplex=1, audio="jack",
            jackname=self.client_name, midi="jack" if self.midi else "none", verbosity=1,
        )
        server.setJackAuto(self.autoconnect, self.autoconnect)
        server.boot()
        if not server.getIsBooted():
            self.monitor.close()
            raise AudioBackendError("pyo could not open a JACK client (see the JACK log)")
        self.server = server
        if self.midi:
            server.setJackMidiInputPortName(MIDI_INPUT)
            server.setJackMidiOutputPortName(UNUSED_MIDI_OUTPUT)
            self.midi_input = self._own_midi_input(before)
        return server

    def _own_midi_input(self, before: set[str]) -> str:
        try:
            return self.monitor.new_port(before, MIDI_INPUT, timeout=2.0)
        except AudioBackendError:
            raise AudioBackendError("pyo opened no JACK MIDI ports (built without JACK "
                                    "MIDI?); run with [midi] enabled = false") from None

    def xruns(self) -> int | None:
        return self.monitor.xruns if self.monitor is not None else None

    def cycle_clock(self) -> Callable[[], int] | None:
        return self.monitor.cycle_clock() if self.monitor is not None else None

    def shutdown(self) -> None:
        super().shutdown()
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None


class PortaudioBackend(_LiveBackend):
    """PortAudio on the default ALSA device."""

    name = "portaudio"

    def boot(self, sample_rate: int, block: int, channels: int) -> Any:
        outputs = pyo.pa_get_output_devices()[0]
        if not outputs:
            raise AudioBackendError(
                "no audio device found: PortAudio sees no output device "
                "(no sound card? run 'neuralrig doctor', or use --audio jack)"
            )
        self.sample_rate, self.block, self.channels = sample_rate, block, channels
        server = pyo.Server(
            sr=sample_rate, nchnls=channels, buffersize=block, duplex=1, audio="portaudio",
            midi="none", verbosity=1,
        )
        server.boot()
        if not server.getIsBooted():
            raise AudioBackendError("PortAudio could not open the audio device")
        self.server = server
        return server
