"""The libjack ctypes wrapper against a real JACK server (dummy driver)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from neuralrig.server.audio.jack_client import (
    JackMonitor,
    PortFlag,
    jack_available,
    server_running,
)
from neuralrig.server.errors import AudioBackendError

pytestmark = pytest.mark.jack

ABSENT = f"neuralrig-absent-{os.getpid()}"


def test_library_loads() -> None:
    assert jack_available()


def test_server_running(jack_server, capfd: pytest.CaptureFixture[str]) -> None:
    assert server_running(jack_server.name)
    assert server_running()  # JACK_DEFAULT_SERVER points at the fixture
    assert not server_running(ABSENT)
    out, err = capfd.readouterr()
    assert (out, err) == ("", ""), "libjack printed while probing"


def test_monitor_needs_a_server(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AudioBackendError, match="not running"):
        JackMonitor(server_name=ABSENT).start()
    assert capfd.readouterr() == ("", "")


def test_monitor_reports_server_settings(jack_server) -> None:
    with JackMonitor() as monitor:
        assert monitor.alive
        assert monitor.sample_rate == jack_server.sample_rate
        assert monitor.buffer_size == jack_server.block
        assert "system:playback_1" in monitor.ports()
        sinks = monitor.ports("^system:", PortFlag.INPUT | PortFlag.PHYSICAL)
        assert "system:playback_1" in sinks
        assert "system:capture_1" not in sinks
        assert monitor.ports("^no-such-client:") == []
        assert 0.0 <= monitor.cpu_load() <= 100.0
    assert not monitor.alive
    monitor.close()  # idempotent
    with pytest.raises(AudioBackendError):
        monitor.cpu_load()


def test_second_monitor_gets_a_unique_name(jack_server) -> None:
    with JackMonitor() as first, JackMonitor() as second:
        assert first.name != second.name
        assert second.sample_rate == jack_server.sample_rate


def test_monitor_sees_the_graph_change_and_settle(jack_server) -> None:
    with JackMonitor("neuralrig-watcher") as watcher:
        before = watcher.last_change
        with JackMonitor("neuralrig-newcomer"):  # a client arriving changes the graph
            deadline = time.monotonic() + 5
            while watcher.last_change == before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert watcher.last_change > before
            # Not quiet for an hour yet: gives up at the limit and says so.
            assert watcher.wait_until_settled(quiet=3600, limit=0.05) is False
            assert watcher.wait_until_settled(quiet=0.05, limit=5) is True
            assert time.monotonic() - watcher.last_change >= 0.05


def test_connect_and_disconnect(jack_server) -> None:
    jack = pytest.importorskip("jack")
    with JackMonitor() as monitor:
        observer = jack.Client("neuralrig-observer", no_start_server=True,
                               servername=jack_server.name)  # fmt: skip
        try:
            monitor.connect("system:capture_1", "system:playback_1")
            monitor.connect("system:capture_1", "system:playback_1")  # already: no error
            linked = [p.name for p in observer.get_all_connections("system:playback_1")]
            assert linked == ["system:capture_1"]
            monitor.disconnect("system:capture_1", "system:playback_1")
            assert observer.get_all_connections("system:playback_1") == []
            with pytest.raises(AudioBackendError):
                monitor.connect("system:capture_1", "no-such:port")
        finally:
            observer.close()


def test_xrun_is_counted(jack_server) -> None:
    """A client whose process callback overruns the period makes JACK report an xrun."""
    jack = pytest.importorskip("jack")
    period = jack_server.block / jack_server.sample_rate
    with JackMonitor() as monitor:
        before = monitor.xruns
        slow = jack.Client("neuralrig-slowpoke", no_start_server=True,
                           servername=jack_server.name)  # fmt: skip
        cycles = 0

        @slow.set_process_callback
        def process(frames: int) -> None:
            nonlocal cycles
            cycles += 1
            if cycles % 16 == 0:
                time.sleep(4 * period)

        slow.activate()
        try:
            deadline = time.monotonic() + 10
            while monitor.xruns == before and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            slow.deactivate()
            slow.close()
        assert cycles > 0, "the slow client never ran"
        assert monitor.xruns > before
        assert monitor.alive


GIL_HOLDER_LOOP = """
import os, sys, time
import jack, rtmidi
from neuralrig.server.audio.jack_client import JackMonitor

server = os.environ["JACK_DEFAULT_SERVER"]
monitor = JackMonitor("nr-gil-monitor", server).start()
slow = jack.Client("nr-gil-slowpoke", servername=server, no_start_server=True)
cycles = [0]

@slow.set_process_callback
def process(frames):  # overruns now and then: xrun notifications keep coming
    cycles[0] += 1
    if cycles[0] % 8 == 0:
        time.sleep(0.006)

slow.activate()
opened, start = 0, time.monotonic()
while time.monotonic() - start < float(sys.argv[1]):
    device = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, f"nr-gil-device{opened % 3}")
    device.open_virtual_port("out")
    device.close_port()
    del device
    opened += 1
print(opened, monitor.xruns)
slow.deactivate()
slow.close()
monitor.close()
"""


def test_a_jack_call_holding_the_gil_does_not_deadlock_the_monitor(jack_server) -> None:
    """python-rtmidi opens and closes JACK clients holding the GIL. A monitor with Python
    callbacks then deadlocked the server: they waited for the GIL, the server for them,
    the GIL holder for the server. This loop hung in three of three runs (30-80 s) with
    those callbacks; libjack now posts semaphores instead."""
    pytest.importorskip("jack")
    pytest.importorskip("rtmidi")
    env = {**os.environ, "JACK_DEFAULT_SERVER": jack_server.name}
    try:
        done = subprocess.run([sys.executable, "-c", GIL_HOLDER_LOOP, "20"], env=env,
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("opening MIDI clients next to a JackMonitor deadlocked the JACK server")
    assert done.returncode == 0, done.stderr
    opened, xruns = map(int, done.stdout.split())
    assert opened >= 3 and xruns > 0  # the counter works without any Python callback
