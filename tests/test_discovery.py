"""Zeroconf advertisement, on the loopback interface only (never multicast on other interfaces)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from zeroconf import DNSQuestionType, IPVersion, ServiceBrowser, ServiceListener, Zeroconf

from conftest import write_rig
from neuralrig.server.control.discovery import OSC_TYPE, OSCQUERY_TYPE, Discovery, default_name

LOOPBACK = ["127.0.0.1"]


@pytest.fixture
def browser_zc() -> Iterator[Zeroconf]:
    zc = Zeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
    yield zc
    zc.close()


def unique_name() -> str:
    return f"nr test {uuid.uuid4().hex[:8]}"


class Found(ServiceListener):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.event = threading.Event()
        self.wanted: str | None = None

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.add(name)
        if name == self.wanted:
            self.event.set()

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.discard(name)


def resolve(zc: Zeroconf, type_: str, instance: str):
    return zc.get_service_info(type_, f"{instance}.{type_}", timeout=3000,
                               question_type=DNSQuestionType.QM)


def test_browser_finds_both_services_with_ports_and_txt(browser_zc: Zeroconf) -> None:
    name = unique_name()
    disc = Discovery(name, osc_port=9500, oscquery_port=9501, interfaces=LOOPBACK,
                     version="9.9.9")
    disc.start()
    try:
        assert disc.wait(20), disc.error
        assert disc.name == name
        for type_ in (OSC_TYPE, OSCQUERY_TYPE):  # what TouchOSC / OSCQuery browsers see
            found = Found()
            found.wanted = f"{name}.{type_}"
            browser = ServiceBrowser(browser_zc, type_, found)
            try:
                assert found.event.wait(10), (type_, found.names)
            finally:
                browser.cancel()
        osc = resolve(browser_zc, OSC_TYPE, name)
        assert osc is not None and osc.port == 9500
        assert osc.parsed_addresses() == ["127.0.0.1"]
        assert osc.properties == {b"txtvers": b"1", b"version": b"9.9.9",
                                  b"oscquery": b"9501"}
        query = resolve(browser_zc, OSCQUERY_TYPE, name)
        assert query is not None and query.port == 9501
        assert query.properties == {b"txtvers": b"1", b"version": b"9.9.9", b"osc": b"9500"}
    finally:
        disc.stop()
    # goodbye packets: the services are gone from the network after stop
    assert resolve(browser_zc, OSC_TYPE, name) is None


def test_two_daemons_with_one_name_both_register(browser_zc: Zeroconf, caplog) -> None:
    name = unique_name()
    first = Discovery(name, osc_port=9510, oscquery_port=9511, interfaces=LOOPBACK)
    second = Discovery(name, osc_port=9520, oscquery_port=9521, interfaces=LOOPBACK)
    first.start()
    try:
        assert first.wait(20), first.error
        with caplog.at_level(logging.INFO, logger="neuralrig.discovery"):
            second.start()
            assert second.wait(20), second.error
        assert first.name == name
        assert second.name == f"{name} (2)"
        assert any("advertising as" in r.getMessage() and f"{name} (2)" in r.getMessage()
                   for r in caplog.records)
        for disc, port in ((first, 9510), (second, 9520)):
            info = resolve(browser_zc, OSC_TYPE, disc.name)
            assert info is not None and info.port == port
            info = resolve(browser_zc, OSCQUERY_TYPE, disc.name)
            assert info is not None and info.port == port + 1
    finally:
        second.stop()
        first.stop()


def test_only_the_ports_that_are_on_get_advertised(browser_zc: Zeroconf) -> None:
    name = unique_name()
    disc = Discovery(name, osc_port=9530, oscquery_port=0, interfaces=LOOPBACK)
    disc.start()
    try:
        assert disc.wait(20), disc.error
        info = resolve(browser_zc, OSC_TYPE, name)
        assert info is not None and info.properties == {
            b"txtvers": b"1", b"version": disc.version.encode()}
        assert browser_zc.get_service_info(OSCQUERY_TYPE, f"{name}.{OSCQUERY_TYPE}",
                                           timeout=800) is None
    finally:
        disc.stop()


def test_failures_warn_and_never_raise(caplog) -> None:
    # 192.0.2.0/24 is TEST-NET-1: no machine's own address, so binding to it fails
    disc = Discovery(unique_name(), osc_port=9540, oscquery_port=9541,
                     interfaces=["192.0.2.123"])
    with caplog.at_level(logging.WARNING, logger="neuralrig.discovery"):
        disc.start()
        assert not disc.wait(20)
    assert disc.ready.is_set() and disc.error
    assert any("cannot advertise" in r.getMessage() for r in caplog.records)
    disc.stop()  # still safe
    bad = Discovery(unique_name(), osc_port=9540, interfaces=["not-an-address"])
    bad.start()
    assert not bad.wait(20) and "not-an-address" in bad.error
    bad.stop()


def test_stop_before_registration_finished() -> None:
    disc = Discovery(unique_name(), osc_port=9550, oscquery_port=9551, interfaces=LOOPBACK)
    disc.start()
    disc.stop()  # returns; the thread sees the stop and does not register
    assert disc.ready.wait(10)


def test_default_name_names_the_host() -> None:
    import socket

    assert default_name() == f"neuralrig on {socket.gethostname().split('.')[0]}"
    long = Discovery("x" * 100, osc_port=1)
    assert len(long.base_name.encode()) == 63


class Watched(Found):
    """Found, also telling when the wanted service is withdrawn (a goodbye packet)."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.gone = threading.Event()

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        super().remove_service(zc, type_, name)
        if name == self.wanted:
            self.gone.set()


def test_the_daemon_advertises_its_own_ports_on_loopback(browser_zc: Zeroconf,
                                                         tmp_path: Path) -> None:
    """`neuralrig serve` end to end: [discovery] name from the rig config, --listen
    127.0.0.1 as the interface; a browser on loopback finds both services with the
    daemon's OSC and OSCQuery ports, and they are withdrawn when it stops."""
    from test_daemon_jack import Daemon

    name = unique_name()
    rig = write_rig(tmp_path, f'[discovery]\nname = "{name}"\n'
                    '[[slot]]\nid = "level"\ntype = "gain"\n')
    daemon = Daemon("--config", str(rig), "--audio", "offline", "--no-midi")
    query_port = int(daemon.args[daemon.args.index("--oscquery-port") + 1])
    watched = {t: Watched(f"{name}.{t}") for t in (OSC_TYPE, OSCQUERY_TYPE)}
    browsers = [ServiceBrowser(browser_zc, t, w) for t, w in watched.items()]
    try:
        daemon.wait_for(f"discovery: advertising '{name}'")
        for type_, found in watched.items():  # found by browsing, not only by name
            assert found.event.wait(10), (type_, found.names)
        osc = resolve(browser_zc, OSC_TYPE, name)
        assert osc is not None and osc.port == daemon.osc_port
        assert osc.parsed_addresses() == ["127.0.0.1"]
        assert osc.properties[b"oscquery"] == str(query_port).encode()
        query = resolve(browser_zc, OSCQUERY_TYPE, name)
        assert query is not None and query.port == query_port
        assert query.parsed_addresses() == ["127.0.0.1"]
        assert query.properties[b"osc"] == str(daemon.osc_port).encode()
        assert osc.properties[b"version"] == query.properties[b"version"] != b""
        code = daemon.stop()
        assert code == 0, "\n".join(daemon.lines)
        for type_, found in watched.items():  # its goodbye packets on the way out
            assert found.gone.wait(10), type_
    finally:
        daemon.stop()
        for browser in browsers:
            browser.cancel()
