"""Shared fixtures. Tests import the installed package (neuralrig.*), never the folders."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Overridable so test runs that overlap (two engineers, one machine) use separate servers.
JACK_TEST_SERVER = os.environ.get("NEURALRIG_TEST_JACK", "neuralrig-test")
JACK_TEST_RATE = 48000
JACK_TEST_BLOCK = 128


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "jack: needs a JACK server (the suite starts a dummy one)")


# -- JACK server -------------------------------------------------------------------


@dataclass(frozen=True)
class JackServer:
    name: str
    sample_rate: int
    block: int


def _stale_jackd_pids(name: str) -> list[int]:
    """PIDs of jackd processes started with ``-n name`` (left over by a crashed run)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if not args or os.path.basename(args[0]) != "jackd":
            continue
        for flag, value in itertools.pairwise(args):
            if (flag in ("-n", "--name") and value == name) or flag == f"--name={name}":
                pids.append(int(proc.name))
    return pids


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


def _stop_stale_jackd(name: str) -> None:
    for pid in _stale_jackd_pids(name):
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):  # gone, or another user's
            continue
        if not _wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JackServer]:
    """A JACK server with the dummy driver, and JACK_DEFAULT_SERVER pointing at it."""
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd not on PATH (install jackd2)")
    from neuralrig.server.audio.jack_client import server_running

    _stop_stale_jackd(JACK_TEST_SERVER)
    log_path = tmp_path_factory.mktemp("jackd") / "jackd.log"
    cmd = [jackd, "-n", JACK_TEST_SERVER, "--no-realtime", "-d", "dummy",
           "-r", str(JACK_TEST_RATE), "-p", str(JACK_TEST_BLOCK)]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    old_default = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = JACK_TEST_SERVER
    try:
        deadline = time.monotonic() + 10
        while not server_running(JACK_TEST_SERVER):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if proc.poll() is not None else "not reachable after 10 s"
                pytest.fail(f"jackd {why}: {' '.join(cmd)}\n{log_path.read_text()}")
            time.sleep(0.1)
        yield JackServer(JACK_TEST_SERVER, JACK_TEST_RATE, JACK_TEST_BLOCK)
    finally:
        if old_default is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old_default
        # SIGTERM lets jackd free its slot in JACK's server registry (8 slots at most).
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- rigs, audio and the CLI --------------------------------------------------------


# The rig the OSC and OSCQuery tests control: a neural slot, a delay and a gain.
CONTROL_RIG = """
[[slot]]
id = "drive"
type = "neural"
model = "identity"
[[slot]]
id = "delay"
type = "delay"
time = 350.0
[[slot]]
id = "level"
type = "gain"
gain = 0.0
"""


def write_rig(folder: Path, text: str, name: str = "rig.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def offline_controller(folder: Path, rig_text: str | None = None):  # -> RigController
    """A rig (``rig_text``, or the shipped default) running on pyo's offline backend,
    presets in ``folder/presets``, behind a RigController. Stop it with
    ``controller.engine.stop()``."""
    from dataclasses import replace

    from neuralrig.server.audio.offline import OfflineBackend
    from neuralrig.server.config import load_config
    from neuralrig.server.control.controller import RigController
    from neuralrig.server.engine.engine import Engine

    config = load_config(write_rig(folder, rig_text) if rig_text is not None else None)
    engine = Engine(OfflineBackend(), replace(config, preset_dir=folder / "presets",
                                              mapping_dir=folder / "mappings"))
    engine.start()
    return RigController(engine)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port nothing on 127.0.0.1 uses right now (UDP by default)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_args() -> list[str]:
    """Arguments that keep a test daemon on loopback, on ports of its own."""
    return ["--listen", "127.0.0.1", "--osc-port", str(free_port()),
            "--oscquery-port", str(free_port(socket.SOCK_STREAM))]


def neuralrig_exe() -> str:
    """The installed `neuralrig` command beside this interpreter (the venv's)."""
    import sys

    beside = Path(sys.executable).parent / "neuralrig"
    exe = str(beside) if beside.exists() else shutil.which("neuralrig")
    assert exe, "the neuralrig command is not installed in this environment"
    return exe


class LoggedProcess:
    """A subprocess whose output (stdout and stderr) is collected line by line."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal, wait (kill after ``timeout``), and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(timeout=2)
        return code


def run_cli(*args: str, timeout: float = 120, env: dict[str, str] | None = None):
    """Run the installed `neuralrig` command; returns the CompletedProcess."""
    return subprocess.run([neuralrig_exe(), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture
def guitar_wav(tmp_path: Path) -> Path:
    """A 3-second stereo 44.1 kHz 24-bit WAV of plucked notes."""
    import soundfile as sf

    from neuralrig.server.bench import guitar_like

    audio = guitar_like(3.0, 44100, 2)
    audio[:, 1] *= 0.7
    path = tmp_path / "guitar.wav"
    sf.write(path, audio, 44100, subtype="PCM_24")
    return path


def close_midi_port(port, monitor_name: str = "nrtest-closer") -> None:
    """Close a python-rtmidi JACK port once the JACK graph has settled (closing one in
    the middle of a graph change can crash libjack: see JackMonitor), then free it."""
    from neuralrig.server.audio.jack_client import JackMonitor

    with JackMonitor(monitor_name) as graph:
        graph.wait_until_settled()
        port.close_port()
    port.delete()
