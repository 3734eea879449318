"""Minimal ctypes binding to libjack: server probing and an xrun/CPU-load monitor.

No Python package is needed beyond the system's libjack (jackd2's libjack.so.0).
libjack's own error/info printing is routed to this module's logger at DEBUG
level, so probing for a missing server prints nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import enum
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from neuralrig.server.errors import AudioBackendError

__all__ = [
    "JackMonitor",
    "PortFlag",
    "jack_available",
    "server_running",
]

log = logging.getLogger(__name__)

# jack_options_t
_JACK_NO_START_SERVER = 0x01
_JACK_USE_EXACT_NAME = 0x02
_JACK_SERVER_NAME = 0x04
# jack_status_t
_JACK_SERVER_FAILED = 0x10

# jack_status_t bits worth naming in error messages
_STATUS_TEXT = {
    0x01: "failure",
    0x02: "invalid option",
    0x04: "name not unique",
    0x10: "cannot connect to server",
    0x20: "server error",
    0x200: "shared memory failure",
    0x400: "protocol version mismatch",
    0x800: "backend error",
}

_EEXIST = 17


class PortFlag(enum.IntFlag):
    """JackPortFlags, for :meth:`JackMonitor.ports`."""

    NONE = 0
    INPUT = 0x1
    OUTPUT = 0x2
    PHYSICAL = 0x4
    CAN_MONITOR = 0x8
    TERMINAL = 0x10


_MessageCallback = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
# JackXRunCallback and JackGraphOrderCallback: int (*)(void *arg)
_ArgCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_ShutdownCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _log_libjack(msg: bytes | None) -> None:
    if msg:
        log.debug("libjack: %s", msg.decode(errors="replace"))


# Kept at module level: libjack holds the raw pointer for the process lifetime.
_message_sink = _MessageCallback(_log_libjack)

_lib_lock = threading.Lock()
_lib_cache: list[ctypes.CDLL | None] = []


def _load() -> ctypes.CDLL | None:
    with _lib_lock:
        if _lib_cache:
            return _lib_cache[0]
        lib: ctypes.CDLL | None = None
        for name in (ctypes.util.find_library("jack"), "libjack.so.0"):
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if lib is not None:
            _declare(lib)
            lib.jack_set_error_function(_message_sink)
            lib.jack_set_info_function(_message_sink)
        _lib_cache.append(lib)
        return lib


def _declare(lib: ctypes.CDLL) -> None:
    p, i, u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32
    cstr, status_p = ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)
    sigs: dict[str, tuple[object, list[object]]] = {
        "jack_set_error_function": (None, [_MessageCallback]),
        "jack_set_info_function": (None, [_MessageCallback]),
        "jack_client_close": (i, [p]),
        "jack_activate": (i, [p]),
        "jack_deactivate": (i, [p]),
        "jack_set_xrun_callback": (i, [p, _ArgCallback, p]),
        "jack_set_graph_order_callback": (i, [p, _ArgCallback, p]),
        "jack_on_shutdown": (None, [p, _ShutdownCallback, p]),
        "jack_cpu_load": (ctypes.c_float, [p]),
        "jack_frames_since_cycle_start": (u32, [p]),
        "jack_get_sample_rate": (u32, [p]),
        "jack_get_buffer_size": (u32, [p]),
        "jack_get_client_name": (cstr, [p]),
        "jack_get_ports": (ctypes.POINTER(cstr), [p, cstr, cstr, ctypes.c_ulong]),
        "jack_free": (None, [p]),
        "jack_connect": (i, [p, cstr, cstr]),
        "jack_disconnect": (i, [p, cstr, cstr]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    # jack_client_open is variadic; the server name is the only extra argument we pass.
    lib.jack_client_open.restype = p
    lib.jack_client_open.argtypes = [cstr, i, status_p]


def _lib() -> ctypes.CDLL:
    lib = _load()
    if lib is None:
        raise AudioBackendError("libjack not found: install jackd2 (libjack-jackd2-0)")
    return lib


def jack_available() -> bool:
    """True if libjack can be loaded."""
    return _load() is not None


def _status_text(status: int) -> str:
    names = [text for bit, text in _STATUS_TEXT.items() if status & bit]
    return ", ".join(names) or f"status 0x{status:x}"


def _open(name: str, server_name: str | None, exact: bool) -> tuple[int | None, int]:
    """jack_client_open without ever starting a server; returns (client, status)."""
    lib = _lib()
    options = _JACK_NO_START_SERVER | (_JACK_USE_EXACT_NAME if exact else 0)
    status = ctypes.c_int(0)
    if server_name:
        # Variadic call: ctypes passes the extra char* by its runtime type.
        client = lib.jack_client_open(
            name.encode(),
            options | _JACK_SERVER_NAME,
            ctypes.byref(status),
            ctypes.c_char_p(server_name.encode()),
        )
    else:
        client = lib.jack_client_open(name.encode(), options, ctypes.byref(status))
    return client, status.value


def server_running(server_name: str | None = None) -> bool:
    """True if a JACK server is reachable; never starts one.

    Without ``server_name``, libjack picks the server as usual (``JACK_DEFAULT_SERVER``
    or ``default``).
    """
    if not jack_available():
        return False
    client, _ = _open("neuralrig-probe", server_name, exact=False)
    if not client:
        return False
    _lib().jack_client_close(client)
    return True


class _Counter:
    """A POSIX semaphore used as an event counter that libjack bumps without Python.

    Why: JACK runs notification callbacks on its own thread, and a Python callback
    there must take the GIL. A thread that holds the GIL while it waits on the JACK
    server (python-rtmidi opening a JACK client does) then deadlocks the server: it
    waits for this client's answer, which waits for the GIL (seen here: jackd stuck
    writing to a client that never read). ``sem_post(sem_t *)`` has the shape of a
    one-argument JACK callback, so libjack calls it directly and no GIL is involved.
    """

    _SIZE = 64  # bytes; sem_t is 32 on 64-bit glibc, 16 on 32-bit

    def __init__(self) -> None:
        libc = _libc()
        self._sem = ctypes.create_string_buffer(self._SIZE)
        if libc.sem_init(self._sem, 0, 0) != 0:
            raise AudioBackendError("cannot create a semaphore for JACK's notifications")

    @property
    def arg(self) -> int:
        """The pointer to pass as the callback's argument."""
        return ctypes.addressof(self._sem)

    @property
    def value(self) -> int:
        count = ctypes.c_int(0)
        _libc().sem_getvalue(self._sem, ctypes.byref(count))
        return count.value


_libc_cache: list[ctypes.CDLL] = []


def _libc() -> ctypes.CDLL:
    with _lib_lock:
        if not _libc_cache:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.sem_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint]
            libc.sem_getvalue.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
            _libc_cache.append(libc)
        return _libc_cache[0]


def _sem_post_as(prototype: type) -> Any:
    """libc's sem_post as a JACK callback of ``prototype`` (its one argument: the sem)."""
    return prototype(ctypes.cast(_libc().sem_post, ctypes.c_void_p).value)


class JackMonitor:
    """A passive JACK client: counts xruns, reports DSP load, lists and links ports.

    It registers no ports and no process callback, so it adds nothing to the
    real-time graph, and no Python callback at all: libjack counts xruns, graph
    reorders and a shutdown into semaphores (see ``_Counter`` for why). It also
    notes when the graph last changed (ports, connections), so that a caller can
    wait for the graph to settle: see :meth:`wait_until_settled`.
    """

    def __init__(self, name: str = "neuralrig-monitor", server_name: str | None = None) -> None:
        self.name = name
        self.server_name = server_name
        self._client: int | None = None
        self._alive = False
        self._xruns = _Counter()
        self._reorders = _Counter()
        self._shutdowns = _Counter()
        # Function pointers must outlive the client: libjack keeps them.
        self._count_cb = _sem_post_as(_ArgCallback)
        self._shutdown_cb = _sem_post_as(_ShutdownCallback)
        self._changed_at = time.monotonic()
        self._graph: tuple[int, tuple[str, ...]] | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> JackMonitor:
        """Open, register callbacks and activate; raises AudioBackendError on failure."""
        if self._client:
            return self
        lib = _lib()
        client, status = _open(self.name, self.server_name, exact=True)
        if not client and not status & _JACK_SERVER_FAILED:
            # Most likely the name is taken (jack2 reports that as a server error):
            # let JACK append a suffix.
            client, status = _open(self.name, self.server_name, exact=False)
        if not client:
            server = self.server_name or "the default server"
            if status & _JACK_SERVER_FAILED:
                raise AudioBackendError(
                    f"JACK server not running ({server}): "
                    "start jackd or the neuralrig-jackd service"
                )
            raise AudioBackendError(f"JACK ({server}) refused a client: {_status_text(status)}")
        self._client = client
        self.name = (lib.jack_get_client_name(client) or self.name.encode()).decode()
        lib.jack_on_shutdown(client, self._shutdown_cb, self._shutdowns.arg)
        if (lib.jack_set_xrun_callback(client, self._count_cb, self._xruns.arg)
                or lib.jack_set_graph_order_callback(client, self._count_cb,
                                                     self._reorders.arg)):
            self.close()
            raise AudioBackendError("JACK refused the xrun or graph-order callback")
        if lib.jack_activate(client) != 0:
            self.close()
            raise AudioBackendError("could not activate the JACK monitor client")
        self._alive = True
        return self

    def close(self) -> None:
        """Deactivate and close the client; safe to call twice or after a server shutdown."""
        client, self._client = self._client, None
        if not client:
            return
        lib = _lib()
        if self.alive:
            lib.jack_deactivate(client)
        self._alive = False
        lib.jack_client_close(client)

    def __del__(self) -> None:
        # libjack would otherwise call freed callbacks if the monitor is dropped unclosed.
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> JackMonitor:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what libjack counted ---------------------------------------------------

    @property
    def xruns(self) -> int:
        """Xruns JACK reported since this monitor started."""
        return self._xruns.value

    @property
    def last_change(self) -> float:
        """``time.monotonic()`` of the last port or connection change seen.

        Seen when asked: each call compares the port list and JACK's graph-reorder
        count with the previous call's.
        """
        self._look()
        return self._changed_at

    def _look(self) -> None:
        if not self.alive:
            return
        graph = (self._reorders.value, tuple(self.ports()))
        if graph != self._graph:  # the first look counts as a change: nothing seen before
            self._changed_at = time.monotonic()
            self._graph = graph

    def wait_until_settled(self, quiet: float = 0.05, limit: float = 2.0) -> bool:
        """Wait until the graph has not changed for ``quiet`` seconds (at most ``limit``).

        Why: every graph change makes jack2 recompute latencies on each client's
        notification thread, walking that client's port list, and a client that
        unregisters a port meanwhile can crash the process (seen here: SIGSEGV in
        ``JackClient::HandleLatencyCallback`` while python-rtmidi closed a port
        just after another client had gone). Close ports once this returns. True if
        the graph settled, False if it was still changing at ``limit``.
        """
        deadline = time.monotonic() + limit
        while True:
            changed_at = self.last_change
            now = time.monotonic()
            wait = changed_at + quiet - now
            if wait <= 0:
                return True
            if now >= deadline:
                return False
            time.sleep(min(wait, deadline - now, 0.01))

    # -- queries ---------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """True while the client is active and the server has not shut down."""
        return self._alive and self._shutdowns.value == 0

    def _live(self) -> int:
        if not self._client or not self.alive:
            raise AudioBackendError("JACK monitor is not connected to a running server")
        return self._client

    def cycle_clock(self) -> Callable[[], int]:
        """A function giving the frames since the current JACK cycle began.

        Cheap enough for every block (one ctypes call, no allocation beyond the
        returned small int); the client handle is bound now, so call it only while
        this monitor is open.
        """
        client = self._live()
        # Through a PyDLL handle, so the call keeps the GIL: it cannot block, and a
        # release here would hand the GIL to a waiting control thread mid-block.
        since = ctypes.PyDLL(_lib()._name).jack_frames_since_cycle_start
        since.restype, since.argtypes = ctypes.c_uint32, [ctypes.c_void_p]
        return lambda: since(client)

    def cpu_load(self) -> float:
        """JACK's DSP load estimate, in percent (0-100)."""
        return float(_lib().jack_cpu_load(self._live()))

    @property
    def sample_rate(self) -> int:
        return int(_lib().jack_get_sample_rate(self._live()))

    @property
    def buffer_size(self) -> int:
        return int(_lib().jack_get_buffer_size(self._live()))

    def ports(
        self, pattern: str = "", flags: int = PortFlag.NONE, type_pattern: str = ""
    ) -> list[str]:
        """Port names matching a regex ``pattern``, port type and ``PortFlag`` bits."""
        lib = _lib()
        arr = lib.jack_get_ports(
            self._live(), pattern.encode() or None, type_pattern.encode() or None, int(flags)
        )
        if not arr:
            return []
        try:
            names: list[str] = []
            for idx in range(1 << 20):
                item = arr[idx]
                if item is None:
                    break
                names.append(item.decode())
            return names
        finally:
            lib.jack_free(ctypes.cast(arr, ctypes.c_void_p))

    def new_port(self, before: set[str], short_name: str, type_pattern: str = "midi",
                 timeout: float = 0.0) -> str:
        """The full name of a port called ``short_name`` that is not in ``before`` (a
        port this process just registered; JACK may have renamed its client). Waits up
        to ``timeout`` seconds for it; raises AudioBackendError if it does not appear."""
        deadline = time.monotonic() + timeout
        while True:
            new = set(self.ports(type_pattern=type_pattern)) - before
            found = sorted(n for n in new if n.endswith(f":{short_name}"))
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise AudioBackendError(f"JACK port '{short_name}' did not appear")
            time.sleep(0.01)

    def connect(self, src: str, dst: str) -> None:
        """Connect output port ``src`` to input port ``dst`` (already connected is fine)."""
        rc = _lib().jack_connect(self._live(), src.encode(), dst.encode())
        if rc not in (0, _EEXIST):
            raise AudioBackendError(f"cannot connect JACK ports {src} -> {dst}")

    def disconnect(self, src: str, dst: str) -> None:
        """Disconnect ``src`` from ``dst``."""
        if _lib().jack_disconnect(self._live(), src.encode(), dst.encode()) != 0:
            raise AudioBackendError(f"cannot disconnect JACK ports {src} -> {dst}")
