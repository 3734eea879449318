"""Zeroconf (mDNS/DNS-SD) advertisement, so controllers find the rig without typing an address.

Two services are registered under one instance name ("neuralrig on <host>" by
default): ``_osc._udp`` (the OSC port; TouchOSC's host browser and most OSC
apps list these) and ``_oscjson._tcp`` (the OSCQuery port, which OSCQuery
browsers look for). TXT records carry ``txtvers``, ``version`` and each
other's port.

Registration runs on a thread of its own: probing takes a second or two and
must not hold up the audio start. If another host (or another neuralrig on
this one) already uses the name, the next free "name (2)", "name (3)" is taken
and logged. A missing network, or an address that is not this machine's, is a
warning: discovery is a convenience and never stops the daemon.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from typing import Any

from .. import __version__

log = logging.getLogger("neuralrig.discovery")

OSC_TYPE = "_osc._udp.local."
OSCQUERY_TYPE = "_oscjson._tcp.local."
LOOKUP_MS = 700  # how long to wait for an existing holder of a name to answer
MAX_SUFFIX = 20  # "name (2)" ... "name (20)", then give up
MAX_LABEL = 63  # bytes in one DNS label (the instance name)


def default_name() -> str:
    return f"neuralrig on {socket.gethostname().split('.')[0]}"


class Discovery:
    """Advertise the OSC and OSCQuery ports on the local network.

    ``interfaces``: IPv4/IPv6 addresses of this machine to announce on (and to
    put in the A/AAAA records); empty means every interface's IPv4 addresses.
    A port of 0 leaves that service out.
    """

    def __init__(self, name: str = "", osc_port: int = 0, oscquery_port: int = 0,
                 interfaces: tuple[str, ...] | list[str] = (),
                 version: str = __version__) -> None:
        self.base_name = _label(name or default_name())
        self.osc_port = osc_port
        self.oscquery_port = oscquery_port
        self.interfaces = tuple(interfaces)
        self.version = version
        self.name: str | None = None  # the instance name actually registered
        self.error: str | None = None  # why discovery is not running, if it is not
        self.ready = threading.Event()  # set when registration finished (or failed)
        self._zc: Any = None
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------
    def start(self) -> None:
        """Register in the background; returns at once."""
        self._thread = threading.Thread(target=self._register, name="discovery",
                                        daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until registration finished; True when the services are announced."""
        self.ready.wait(timeout)
        return self.ready.is_set() and self.error is None and self.name is not None

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            zc, self._zc = self._zc, None
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        if zc is None:
            return
        try:
            zc.unregister_all_services()  # goodbye packets: browsers drop us at once
        except Exception as exc:
            log.debug("zeroconf unregister failed: %s", exc)
        finally:
            try:
                zc.close()
            except Exception as exc:
                log.debug("zeroconf close failed: %s", exc)

    # -- registration (own thread) ------------------------------------------------------
    def _register(self) -> None:
        services = [(t, p) for t, p in ((OSC_TYPE, self.osc_port),
                                        (OSCQUERY_TYPE, self.oscquery_port)) if p]
        try:
            if not services:
                self.error = "no ports to advertise"
                return
            from zeroconf import InterfaceChoice, IPVersion, Zeroconf

            addresses = self._addresses()
            if self.interfaces:
                versions = {ipaddress.ip_address(a.split("%")[0]).version
                            for a in self.interfaces}
                ip_version = (IPVersion.All if versions == {4, 6} else
                              IPVersion.V6Only if versions == {6} else IPVersion.V4Only)
                zc = Zeroconf(interfaces=list(self.interfaces), ip_version=ip_version)
            else:
                zc = Zeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
            with self._lock:
                if self._stopping:
                    zc.close()
                    return
                self._zc = zc
            name = self._free_name(zc, [t for t, _ in services])
            if name is None:
                self.error = (f"'{self.base_name}' and its numbered variants up to "
                              f"({MAX_SUFFIX}) are all taken")
                log.warning("discovery: %s; not advertising", self.error)
                return
            for type_, port in services:
                info = self._info(type_, name, port, addresses)
                if self._stopping:
                    return
                zc.register_service(info, allow_name_change=True)
                registered = info.name[: -len(type_) - 1]
                if registered != name:  # renamed by zeroconf's own probing
                    log.info("discovery: '%s' is taken on the network; %s is '%s'", name,
                             type_.split(".")[0], registered)
                    name = registered
            self.name = name
            if name != self.base_name:
                log.info("discovery: another host uses '%s'; advertising as '%s'",
                         self.base_name, name)
            log.info("discovery: advertising '%s' (%s) on %s", name,
                     ", ".join(f"{t.split('.')[0]} port {p}" for t, p in services),
                     ", ".join(addresses) or "all interfaces")
        except Exception as exc:  # no network, no multicast, an address that is not ours
            self.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.warning("discovery: cannot advertise on the network (%s); OSC and OSCQuery "
                        "still work when given this machine's address", self.error)
        finally:
            self.ready.set()

    def _free_name(self, zc: Any, types: list[str]) -> str | None:
        """The base name, or the first "base (n)" nobody answers for."""
        from zeroconf import DNSQuestionType

        for n in range(1, MAX_SUFFIX + 1):
            candidate = self.base_name if n == 1 else _label(self.base_name, f" ({n})")
            taken = False
            for type_ in types:
                if self._stopping:
                    return None
                # Multicast question: an answer reaches every socket on this host too
                # (a unicast answer to a probe would reach only one of them).
                found = zc.get_service_info(type_, f"{candidate}.{type_}", timeout=LOOKUP_MS,
                                            question_type=DNSQuestionType.QM)
                if found is not None:
                    taken = True
                    log.info("discovery: '%s' is already advertised (%s port %s)", candidate,
                             type_.split(".")[0], found.port)
                    break
            if not taken:
                return candidate
        return None

    def _info(self, type_: str, name: str, port: int, addresses: list[str]) -> Any:
        from zeroconf import ServiceInfo

        properties = {"txtvers": "1", "version": self.version}
        if type_ == OSC_TYPE and self.oscquery_port:
            properties["oscquery"] = str(self.oscquery_port)
        if type_ == OSCQUERY_TYPE and self.osc_port:
            properties["osc"] = str(self.osc_port)
        return ServiceInfo(type_, f"{name}.{type_}", port=port, properties=properties,
                           server=f"{_host_label()}.local.", parsed_addresses=addresses)

    def _addresses(self) -> list[str]:
        """The addresses to put in A/AAAA records."""
        if self.interfaces:
            out = []
            for address in self.interfaces:
                ip = ipaddress.ip_address(address.split("%")[0])  # ValueError names it
                if not ip.is_unspecified:
                    out.append(str(ip))
            return out
        import ifaddr

        found = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
                 if isinstance(ip.ip, str)]
        routable = [a for a in found if not ipaddress.ip_address(a).is_loopback]
        return routable or found


def _label(name: str, suffix: str = "") -> str:
    """``name + suffix`` cut to fit one DNS label (63 bytes of UTF-8)."""
    room = MAX_LABEL - len(suffix.encode())
    data = name.encode()[:room]
    return data.decode("utf-8", errors="ignore").rstrip() + suffix


def _host_label() -> str:
    host = socket.gethostname().split(".")[0]
    host = re.sub(r"[^A-Za-z0-9-]", "-", host).strip("-")
    return host[:MAX_LABEL] or "neuralrig"
