"""The example clients in examples/ (TouchOSC, Pure Data, Max) against the daemon's namespace.

Every OSC address a client sends to must exist for the shipped default rig, its
faders must span 0..1 on the /norm addresses, and the ranges it uses to map the
daemon's echoes back to 0..1 must be the parameters' own. The Pure Data patch
also runs for real (pd -nogui) against a daemon on loopback: its sliders change
the rig, and the rig's changes and meters come back to it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import LoggedProcess, offline_controller
from neuralrig.server.control import namespace
from neuralrig.server.control.controller import RigController
from neuralrig.server.control.osc import OscFrontend
from neuralrig.server.control_config import OscSettings
from neuralrig.server.engine.engine import Engine

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import default_rig  # noqa: E402

# What the daemon sends that is not an address of its own namespace: replies and
# subscription traffic (server/control/osc.py).
REPLIES = {"/subscribed", "/unsubscribed", "/error", "/preset/loaded", "/preset/saved",
           "/preset/list", "/rig/slots", "/status"}


@dataclass
class Daemon:
    engine: Engine
    controller: RigController
    osc: OscFrontend


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The shipped default rig on the offline engine, with OSC on an ephemeral loopback port."""
    controller = offline_controller(tmp_path_factory.mktemp("daemon"))
    engine = controller.engine
    osc = OscFrontend(controller, OscSettings(port=0, host="127.0.0.1"))
    osc.start()
    try:
        yield Daemon(engine, controller, osc)
    finally:
        osc.stop()
        engine.stop()


@pytest.fixture(scope="module")
def entries(daemon: Daemon) -> dict[str, namespace.Entry]:
    return {entry.address: entry for entry in namespace.entries(daemon.controller)}


# The example gesture mapping's addresses (server/control/osc.py, "/map/<name>/<action>")
# and the XY pad it declares as its gesture source.
MAPPING_ADDRESSES = {f"/map/{default_rig.MAPPING}/{action}" for action in (
    "inputs", "outputs", "get", "record", "example", "clear", "delete", "train", "run",
    "regressor", "smooth")} | {default_rig.XY_ADDRESS} | {
    f"/map/{default_rig.MAPPING}/{reply}"  # what the daemon sends back
    for reply in ("examples", "training", "progress", "trained", "error")}


def known(address: str, entries: dict[str, namespace.Entry]) -> bool:
    if address in entries or address in REPLIES or address in MAPPING_ADDRESSES:
        return True
    meter = re.fullmatch(r"/meter/(\w+)", address)
    return bool(meter) and meter.group(1) in ("input", "output", *default_rig.SLOTS)


# -- the shared control table ---------------------------------------------------------------


def test_the_control_table_matches_the_default_rig(daemon: Daemon, entries) -> None:
    assert tuple(daemon.controller.slot_ids()) == default_rig.SLOTS
    for fader in default_rig.FADERS:
        spec = daemon.controller.spec(fader.slot, fader.param)
        assert (fader.minimum, fader.maximum, fader.curve, fader.unit) == (
            spec.minimum, spec.maximum, spec.curve, spec.unit), fader
        norm = entries[fader.norm_address]
        assert (norm.minimum, norm.maximum, norm.types) == (0.0, 1.0, "f")
        assert entries[fader.address].types == "f"
    for slot in default_rig.SLOTS:
        assert entries[f"/rig/{slot}/bypass"].types == "i"


# -- TouchOSC -------------------------------------------------------------------------------

TOSC = EXAMPLES / "touchosc" / "neuralrig.tosc"


def tosc_root() -> ET.Element:
    """The layout's XML: a .tosc file is zlib-compressed XML under <lexml>."""
    root = ET.fromstring(zlib.decompress(TOSC.read_bytes()))
    assert root.tag == "lexml"
    return root


def tosc_property(node: ET.Element, key: str) -> str | None:
    for prop in node.findall("properties/property"):
        if prop.findtext("key") == key:
            return prop.findtext("value")
    return None


@dataclass
class ToscMessage:
    control: str
    path: str
    send: bool
    receive: bool
    arguments: list[tuple[str, str, str, float, float]]  # type, conversion, value, min, max


def tosc_messages() -> list[ToscMessage]:
    out = []
    for node in tosc_root().iter("node"):
        for message in node.findall("messages/osc"):
            path = "".join(p.findtext("value") or "" for p in message.findall("path/partial"))
            args = [(p.findtext("type"), p.findtext("conversion"), p.findtext("value"),
                     float(p.findtext("scaleMin")), float(p.findtext("scaleMax")))
                    for p in message.findall("arguments/partial")]
            out.append(ToscMessage(tosc_property(node, "name"), path,
                                   message.findtext("send") == "1",
                                   message.findtext("receive") == "1", args))
    return out


def test_every_address_of_the_touchosc_layout_exists_with_its_range(entries) -> None:
    messages = tosc_messages()
    unknown = [m.path for m in messages if not known(m.path, entries)]
    assert not unknown, f"the TouchOSC layout uses addresses the daemon lacks: {unknown}"
    by_control: dict[str, list[ToscMessage]] = {}
    for m in messages:
        by_control.setdefault(m.control, []).append(m)
    for fader in default_rig.FADERS:
        sends = [m for m in by_control[fader.name] if m.send]
        receives = [m for m in by_control[fader.name] if m.receive]
        # The fader's 0..1 goes to /norm unscaled.
        assert [(m.path, m.arguments) for m in sends] == [
            (fader.norm_address, [("VALUE", "FLOAT", "x", 0.0, 1.0)])]
        entry = entries[fader.address]
        if fader.curve == "linear":  # the echo, scaled over the parameter's own range
            assert [(m.path, m.arguments) for m in receives] == [
                (fader.address, [("VALUE", "FLOAT", "x", entry.minimum, entry.maximum)])]
        else:  # mapped by the root script (tested below)
            assert receives == []
    for slot in default_rig.SLOTS:
        [m] = by_control[f"{slot}-bypass"]
        assert (m.path, m.send, m.receive) == (f"/rig/{slot}/bypass", True, True)
        assert m.arguments == [("VALUE", "INTEGER", "x", 0.0, 1.0)]
        assert entries[m.path].types == "i"
    for name in default_rig.PRESETS:
        for action in ("load", "save"):
            [m] = by_control[f"preset-{action}-{name}"]
            assert (m.path, m.arguments) == (f"/preset/{action}",
                                              [("CONSTANT", "STRING", name, 0.0, 1.0)])
            assert entries[m.path].types == "s"
    base = f"/map/{default_rig.MAPPING}"
    [xy] = by_control["xy"]
    assert (xy.path, xy.send, xy.arguments) == (default_rig.XY_ADDRESS, True, [
        ("VALUE", "FLOAT", "x", 0.0, 1.0), ("VALUE", "FLOAT", "y", 0.0, 1.0)])
    declare = by_control["map-declare"]
    assert [(m.path, [a[2] for a in m.arguments]) for m in declare] == [
        (f"{base}/inputs", [f"{default_rig.XY_ADDRESS}:2"]),
        (f"{base}/outputs", list(default_rig.MAPPING_OUTPUTS))]
    for action in ("example", "train"):
        [m] = by_control[f"map-{action}"]
        assert (m.path, m.arguments) == (f"{base}/{action}", [])
    for action in ("record", "run"):
        [m] = by_control[f"map-{action}"]
        assert (m.path, m.arguments) == (f"{base}/{action}",
                                          [("VALUE", "INTEGER", "x", 0.0, 1.0)])


def test_every_message_the_touchosc_layout_sends_is_taken_by_the_daemon(tmp_path: Path
                                                                        ) -> None:
    """Each fader, bypass toggle and preset button's message, sent as TouchOSC would (a
    fader at 0.25, a toggle on, presets saved before they are loaded), to a daemon of
    its own on the default rig: no /error, and the values land."""
    from test_osc import Client

    c = offline_controller(tmp_path)
    osc = OscFrontend(c, OscSettings(port=0, host="127.0.0.1"))
    osc.start()
    daemon = Daemon(c.engine, c, osc)
    client = Client(osc.port)
    mapping = {m.control for m in tosc_messages()
               if m.control == "xy" or m.control.startswith("map-")}
    sends = [m for m in tosc_messages() if m.send and m.control not in mapping]
    sends.sort(key=lambda m: m.path == "/preset/load")  # saves first
    errors = daemon.osc.errors
    try:
        for m in sends:
            args = [a[2] if a[0] == "CONSTANT" else (1 if a[1] == "INTEGER" else 0.25)
                    for a in m.arguments]
            client.send(m.path, *args)
        client.ask("/preset/list")
        assert daemon.osc.errors == errors
        for fader in default_rig.FADERS:
            spec = c.spec(fader.slot, fader.param)
            assert c.value(fader.slot, fader.param) == pytest.approx(spec.from_norm(0.25))
        assert all(c.slot(slot).bypass for slot in default_rig.SLOTS)
        assert c.preset_names() == list(default_rig.PRESETS)
    finally:
        client.close()
        osc.stop()
        c.engine.stop()


def test_the_touchosc_mapping_buttons_drive_the_daemon(daemon: Daemon) -> None:
    """Every message the layout's XY pad and mapping buttons can send, sent as TouchOSC
    would (its argument types), is accepted by the daemon and does what it says."""
    from test_osc import Client

    c = daemon.controller
    client = Client(daemon.osc.port)
    by_control: dict[str, list[ToscMessage]] = {}
    for m in tosc_messages():
        by_control.setdefault(m.control, []).append(m)

    def press(control: str, x: float = 1.0) -> None:
        for m in by_control[control]:
            args = [a[2] if a[0] == "CONSTANT" else int(x) for a in m.arguments]
            client.send(m.path, *args)
        client.ask("/map/list")

    try:
        press("map-declare")
        mapping = c.mapper.get(default_rig.MAPPING)
        assert (mapping.data.inputs, mapping.data.outputs) == (
            [f"{default_rig.XY_ADDRESS}:2"], list(default_rig.MAPPING_OUTPUTS))
        for x, y in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)):
            client.send(default_rig.XY_ADDRESS, x, y)
            for target in default_rig.MAPPING_OUTPUTS:
                client.send(f"/rig/{target}/norm", 0.5 * (x + y))
            press("map-example")
        assert mapping.data.count == 4
        press("map-record", 1)
        assert mapping.recording
        press("map-record", 0)
        press("map-train")
        assert wait_until(lambda: mapping.state == "trained", timeout=60)
        press("map-run", 1)
        assert mapping.running
        client.send(default_rig.XY_ADDRESS, 0.5, 0.5)
        client.ask("/map/list")
        for target in default_rig.MAPPING_OUTPUTS:
            spec = c.spec(*target.split("/"))
            assert c.value(*target.split("/")) == pytest.approx(spec.from_norm(0.5), abs=0.02)
        press("map-run", 0)
        assert not mapping.running
        assert daemon.osc.errors == 0
    finally:  # the module's daemon is shared: leave the mapping empty and stopped
        client.send(f"/map/{default_rig.MAPPING}/run", 0)
        client.send(f"/map/{default_rig.MAPPING}/clear")
        client.ask("/map/list")
        client.close()


def test_the_touchosc_layout_is_what_its_generator_writes(tmp_path: Path) -> None:
    generated = _run_generator(EXAMPLES / "touchosc" / "make_layout.py", tmp_path,
                               "neuralrig.tosc")
    assert generated.read_bytes() == TOSC.read_bytes(), "run make_layout.py again"


# Runs the layout's root script in plain Lua with TouchOSC's functions stubbed:
# controls are tables found by name, sendOSC records, getMillis is a variable.
LUA_HARNESS = """
local controls, sent, now = {}, {}, 0
function getMillis() return now end
function sendOSC(message) sent[#sent + 1] = message end
self = {}
function self:findByName(name, recursive)
  controls[name] = controls[name] or {values = {}}
  return controls[name]
end
dofile(arg[1])
local function report(label)
  local out = {}
  for _, m in ipairs(sent) do
    local args = {}
    for _, a in ipairs(m[2]) do args[#args + 1] = a.tag .. ' ' .. tostring(a.value) end
    out[#out + 1] = m[1] .. ' ' .. table.concat(args, ' ')
  end
  print(label .. '|' .. table.concat(out, ';'))
  sent = {}
end
init(); report('init')
now = 1000; update(); report('update-early')
now = RENEW; update(); report('update-due')
onReceiveOSC({'/rig/delay/time', {{tag = 'f', value = 700}}}, {true})
print('delay-time|' .. controls['delay-time'].values.x)
onReceiveOSC({'/meter/output', {{tag = 'f', value = -15}, {tag = 'f', value = -20}}}, {true})
print('meter|' .. controls['meter-output'].values.x)
onReceiveOSC({'/subscribed', {{tag = 'i', value = 30}}}, {true})
print('status|' .. controls['status'].values.text)
onReceiveOSC({'/preset/loaded', {{tag = 's', value = 'p2'}}}, {true}); report('loaded')
print('status|' .. controls['status'].values.text)
onReceiveOSC({'/error', {{tag = 's', value = '/x'}, {tag = 's', value = 'bad'}}}, {true})
print('status|' .. controls['status'].values.text)
"""


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 is not installed")
def test_the_touchosc_root_script_subscribes_and_maps_echoes(daemon: Daemon,
                                                             tmp_path: Path) -> None:
    root = tosc_root().find("node")
    assert root is not None and root.get("type") == "GROUP"
    script = tosc_property(root, "script")
    assert script
    (tmp_path / "root.lua").write_text(script)
    renew = default_rig.RENEW_SECONDS * 1000
    (tmp_path / "harness.lua").write_text(LUA_HARNESS.replace("RENEW", str(renew)))
    run = subprocess.run(["lua5.4", str(tmp_path / "harness.lua"), str(tmp_path / "root.lua")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    lines = [line.split("|", 1) for line in run.stdout.splitlines()]
    subscribe = f"/subscribe i {default_rig.CLIENT_PORT}"
    assert lines[0:3] == [["init", subscribe], ["update-early", ""], ["update-due", subscribe]]
    spec = daemon.controller.spec("delay", "time")
    assert lines[3][0] == "delay-time"
    assert float(lines[3][1]) == pytest.approx(spec.to_norm(700.0), abs=1e-9)
    assert lines[4] == ["meter", "0.75"]  # -15 dB on the -60..0 dB meter
    assert lines[5][0] == "status" and "connected" in lines[5][1]
    assert lines[6] == ["loaded", subscribe]  # a new preset: ask for every value again
    assert lines[7] == ["status", "preset p2 loaded"]
    assert lines[8] == ["status", "error: /x: bad"]


# -- Max ------------------------------------------------------------------------------------

MAXPAT = EXAMPLES / "max" / "neuralrig.maxpat"


def test_the_max_patch_is_well_formed_and_uses_only_known_addresses(entries) -> None:
    patcher = json.loads(MAXPAT.read_text(encoding="utf-8"))["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    assert len(boxes) == len(patcher["boxes"]), "box ids must be unique"
    for line in patcher["lines"]:  # every wire joins existing outlets and inlets
        (src, outlet), (dst, inlet) = (line["patchline"]["source"],
                                       line["patchline"]["destination"])
        assert outlet < boxes[src]["numoutlets"] and inlet < boxes[dst]["numinlets"], line
    texts = [b.get("text", "") for b in boxes.values() if b["maxclass"] in ("newobj", "message")]
    words = [w for t in texts for w in t.split()]
    addresses = [w.split(":")[0] for w in words if re.match(r"/\w", w)]  # not a division
    unknown = [a for a in addresses if not known(a, entries)]
    assert not unknown, f"the Max patch uses addresses the daemon lacks: {unknown}"
    assert any(t.startswith("udpsend ") for t in texts)
    assert any(t.startswith("udpreceive ") for t in texts)

    def wired_from(box_id: str) -> list[dict]:
        return [boxes[line["patchline"]["destination"][0]] for line in patcher["lines"]
                if line["patchline"]["source"][0] == box_id]

    sliders = [i for i, b in boxes.items() if b["maxclass"] == "slider"]
    sent, pads = {}, []
    for slider in sliders:  # 0..1 floats into "prepend /rig/<slot>/<param>/norm", or the XY pair
        box = boxes[slider]
        assert (box["floatoutput"], box["min"], box["size"]) == (1, 0.0, 1.0)
        [target] = wired_from(slider)
        if target["text"].startswith("pak"):
            pads.append(target)
        else:
            sent[target["text"].split()[1]] = slider
    assert sorted(sent) == sorted(f.norm_address for f in default_rig.FADERS)
    assert len(pads) == 2 and pads[0] is pads[1]  # x and y into one [pak 0. 0.] ...
    assert [b["text"] for b in wired_from(pads[0]["id"])] == [
        f"prepend {default_rig.XY_ADDRESS}"]  # ... sent as /xy x y
    toggles = [wired_from(i)[0]["text"] for i, b in boxes.items() if b["maxclass"] == "toggle"]
    base = f"/map/{default_rig.MAPPING}"
    assert sorted(toggles) == sorted([f"prepend /rig/{s}/bypass" for s in default_rig.SLOTS]
                                     + [f"prepend {base}/record", f"prepend {base}/run"])
    assert (f"{base}/inputs {default_rig.XY_ADDRESS}:2, {base}/outputs "
            + " ".join(default_rig.MAPPING_OUTPUTS)) in texts
    # The echoes are mapped back over each parameter's own range.
    [router] = [b for b in boxes.values() if b.get("text", "").startswith("route /rig/")]
    routes = router["text"].split()[1:]
    for fader in default_rig.FADERS:
        outlet = routes.index(fader.address)
        [split] = [boxes[line["patchline"]["destination"][0]] for line in patcher["lines"]
                   if line["patchline"]["source"] == [router["id"], outlet]]
        [to_norm] = [boxes[line["patchline"]["destination"][0]] for line in patcher["lines"]
                     if line["patchline"]["source"] == [split["id"], 0]]
        spec = entries[fader.address]
        if fader.curve == "log":
            assert to_norm["text"] == (f"expr log($f1 / {spec.minimum:.1f}) / "
                                       f"{math.log(spec.maximum / spec.minimum):.9g}")
        else:
            lo, hi, out_lo, out_hi = map(float, to_norm["text"].split()[1:])
            assert (lo, hi, out_lo, out_hi) == (spec.minimum, spec.maximum, 0.0, 1.0)


def test_the_max_patch_is_what_its_generator_writes(tmp_path: Path) -> None:
    generated = _run_generator(EXAMPLES / "max" / "make_patch.py", tmp_path, "neuralrig.maxpat")
    assert generated.read_bytes() == MAXPAT.read_bytes(), "run make_patch.py again"


# -- Pure Data -------------------------------------------------------------------------------

PD_PATCH = EXAMPLES / "puredata" / "neuralrig.pd"


def pd_objects(path: Path) -> list[str]:
    """The text of every object box of a Pd file (all canvases)."""
    text = path.read_text(encoding="utf-8")
    records = re.split(r"(?<!\\);\n", text)
    return [r.split(" ", 4)[4] for r in records if r.startswith("#X obj ")]


def pd_addresses(path: Path) -> list[str]:
    out = []
    for box in pd_objects(path):
        words = box.split()
        if words[0] == "oscformat":
            if words[1:2] == ["-f"]:
                words = words[2:]
            out.append("/" + "/".join(words[1:]))
    return out


def test_every_address_the_pd_patch_sends_exists(entries) -> None:
    addresses = pd_addresses(PD_PATCH)
    assert "/subscribe" in addresses
    for fader in default_rig.FADERS:
        assert fader.norm_address in addresses
    for slot in default_rig.SLOTS:
        assert f"/rig/{slot}/bypass" in addresses
    unknown = [a for a in addresses if not known(a, entries)]
    assert not unknown, f"the Pd patch sends to addresses the daemon lacks: {unknown}"


def test_the_pd_patch_is_what_its_generator_writes(tmp_path: Path) -> None:
    generated = _run_generator(EXAMPLES / "puredata" / "make_patch.py", tmp_path,
                               "neuralrig.pd")
    assert generated.read_bytes() == PD_PATCH.read_bytes(), "run make_patch.py again"


def _run_generator(script: Path, tmp_path: Path, name: str) -> Path:
    """Run a generator on a copy of its folder (so the repository stays untouched)."""
    shutil.copy(EXAMPLES / "default_rig.py", tmp_path / "default_rig.py")
    folder = tmp_path / script.parent.name
    folder.mkdir()
    shutil.copy(script, folder / script.name)
    subprocess.run([sys.executable, str(folder / script.name)], check=True,
                   capture_output=True, timeout=60)
    return folder / name


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Opens the example as an abstraction pointed at the test daemon. Once the daemon
# answers the first /subscribe, it moves three controls and saves a preset; it prints
# what the daemon sends back. It quits by itself after a while if the test never ends it.
HARNESS = """#N canvas 0 0 700 400 12;
#X obj 10 10 neuralrig 127.0.0.1 {daemon} {listen};
#X obj 10 50 r nr-subscribed;
#X obj 10 80 spigot 1;
#X obj 10 110 t b b;
#X msg 60 140 0;
#X msg 10 170 \\; nr-drive-drive-set 0.8 \\; nr-delay-time-set 0.5
\\; nr-reverb-bypass-set 1 \\; nr-preset save p1;
#X obj 300 50 r nr-delay-time-value;
#X obj 300 80 print test-delay-time-value;
#X obj 300 120 r nr-delay-time-set;
#X obj 300 150 print test-delay-time-set;
#X obj 300 190 r nr-meter-output;
#X obj 300 220 print test-meter-output;
#X obj 500 50 loadbang;
#X obj 500 80 del 60000;
#X msg 500 110 \\; pd quit;
#X obj 300 260 r nr-gate-bypass-set;
#X obj 300 290 print test-gate-bypass-set;
#X connect 1 0 2 0;
#X connect 2 0 3 0;
#X connect 3 0 5 0;
#X connect 3 1 4 0;
#X connect 4 0 2 1;
#X connect 6 0 7 0;
#X connect 8 0 9 0;
#X connect 10 0 11 0;
#X connect 12 0 13 0;
#X connect 13 0 14 0;
#X connect 15 0 16 0;
"""


class PureData(LoggedProcess):
    """pd -nogui running a patch, its printout (stderr) collected line by line."""

    def __init__(self, patch: Path, *args: str) -> None:
        super().__init__(["pd", "-nogui", "-noaudio", "-nomidi", "-stderr", *args,
                          "-open", str(patch)])

    def printed(self, prefix: str) -> list[str]:
        """The arguments of every `print prefix` line so far."""
        return [line.split(":", 1)[1].strip() for line in list(self.lines)
                if line.startswith(prefix + ":")]

    def wait_for(self, prefix: str, test=lambda args: True, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for args in self.printed(prefix):
                if test(args):
                    return args
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"pd never printed {prefix!r}:\n" + "\n".join(self.lines))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> int:
        return super().stop(sig, timeout)


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data (puredata-core) is not installed")
def test_pure_data_drives_the_daemon_and_follows_it(daemon: Daemon, tmp_path: Path) -> None:
    c = daemon.controller
    harness = tmp_path / "harness.pd"
    harness.write_text(HARNESS.format(daemon=daemon.osc.port, listen=free_udp_port()))
    pd = PureData(harness, "-path", str(PD_PATCH.parent))
    try:
        # Subscribed: the daemon answered on the patch's listening port, and sent the rig's
        # state, which set the slider (350 ms on the 1..2000 ms log curve).
        assert float(pd.wait_for("neuralrig-subscribed")) == 30.0
        time_spec = c.spec("delay", "time")
        first = pd.wait_for("test-delay-time-set", lambda a: a.startswith("set"))
        assert float(first.split()[1]) == pytest.approx(time_spec.to_norm(350.0), abs=1e-5)
        # The harness moved sliders and a toggle: the patch sent them as /norm and /bypass.
        assert wait_until(lambda: c.value("drive", "drive") == pytest.approx(0.8, abs=1e-6))
        assert wait_until(lambda: c.value("delay", "time") == pytest.approx(
            time_spec.from_norm(0.5), rel=1e-5))  # the log curve: sqrt(1 * 2000) ms
        assert wait_until(lambda: c.slot("reverb").bypass)
        assert wait_until(lambda: "p1" in c.preset_names())
        # The daemon's own changes come back: the value in ms, and the slider at its
        # 0..1 position on the log curve.
        c.set_param("delay", "time", 700.0)
        pd.wait_for("test-delay-time-value", lambda a: float(a) == pytest.approx(700.0))
        norm = time_spec.to_norm(700.0)
        pd.wait_for("test-delay-time-set",
                    lambda a: a.startswith("set") and abs(float(a.split()[1]) - norm) < 1e-5)
        c.set_bypass("gate", True)
        pd.wait_for("test-gate-bypass-set", lambda a: a == "set 1")
        # Meters arrive at 10 Hz without being asked for.
        pd.wait_for("test-meter-output", lambda a: math.isfinite(float(a)))
        assert not pd.printed("neuralrig-error"), pd.lines
        assert daemon.osc.errors == 0
    finally:
        pd.stop()



# Drives the example patch from the test: each FUDI line "NAME VALUE;" (or "NAME WORD;")
# on a UDP port goes to the patch's receive of that name.
MAPPING_HARNESS = """#N canvas 0 0 900 400 12;
#X obj 10 10 neuralrig 127.0.0.1 {daemon} {listen};
#X obj 10 60 netreceive -u {control};
#X obj 10 100 route {names};
#X obj 300 10 loadbang;
#X obj 300 40 del 120000;
#X msg 300 70 \\; pd quit;
#X obj 500 10 r nr-map-progress;
#X obj 500 40 print test-map-progress;
{sends}
#X connect 1 0 2 0;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 6 0 7 0;
{wires}
"""
DRIVEN = ("nr-xy-x-set", "nr-xy-y-set", "nr-drive-drive-set", "nr-drive-tone-set",
          "nr-delay-feedback-set", "nr-reverb-balance-set", "nr-map", "nr-map-run-set",
          "nr-map-record-set")


def mapping_harness(daemon_port: int, listen: int, control: int) -> str:
    sends = "\n".join(f"#X obj {10 + 110 * k} 150 s {name};" for k, name in enumerate(DRIVEN))
    wires = "\n".join(f"#X connect 2 {k} {8 + k} 0;" for k in range(len(DRIVEN)))
    return MAPPING_HARNESS.format(daemon=daemon_port, listen=listen, control=control,
                                  names=" ".join(DRIVEN), sends=sends, wires=wires)


def wanted(x: float, y: float) -> dict[str, float]:
    """The slider positions (0..1) the test sets for each pad position."""
    return {"drive-drive": x, "drive-tone": 1.0 - y, "delay-feedback": x * y,
            "reverb-balance": 0.5 * (x + y)}


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data (puredata-core) is not installed")
def test_pure_data_trains_and_plays_the_xy_mapping(daemon: Daemon, tmp_path: Path) -> None:
    """The patch's XY pad and mapping controls, clicked through by the test: declare,
    set the sound, move the pad, take an example, over a grid; train (the patch hears
    progress and the held-out error as a subscriber); run; the pad now plays the rig."""
    c = daemon.controller
    harness = tmp_path / "harness.pd"
    control = free_udp_port()
    harness.write_text(mapping_harness(daemon.osc.port, free_udp_port(), control))
    pd = PureData(harness, "-path", str(PD_PATCH.parent))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def click(*lines: str) -> None:
        for line in lines:  # one per datagram: Pd's UDP netreceive takes one message from each
            sock.sendto(f"{line};\n".encode(), ("127.0.0.1", control))

    try:
        pd.wait_for("neuralrig-subscribed")
        click("nr-map declare")
        assert wait_until(lambda: default_rig.MAPPING in c.mapper.mappings
                          and c.mapper.get(default_rig.MAPPING).data.outputs
                          == list(default_rig.MAPPING_OUTPUTS))
        mapping = c.mapper.get(default_rig.MAPPING)
        grid = [(x, y) for x in (0.0, 0.25, 0.5, 0.75, 1.0) for y in (0.0, 0.5, 1.0)]
        for count, (x, y) in enumerate(grid, start=1):
            sound = [f"nr-{name}-set {value}" for name, value in wanted(x, y).items()]
            click(*sound, f"nr-xy-x-set {x}", f"nr-xy-y-set {y}", "nr-map example")
            assert wait_until(lambda n=count: mapping.data.count == n), pd.lines
        spec = {name: c.spec(*name.split("-")) for name in wanted(0, 0)}
        last = mapping.data.y[-1]
        np.testing.assert_allclose(last, [spec[n].from_norm(v) for n, v in wanted(1, 1).items()],
                                   atol=1e-6)
        np.testing.assert_allclose(mapping.data.x[-1], [1.0, 1.0])
        click("nr-map train")
        error = float(pd.wait_for("neuralrig-map-trained", timeout=60))
        assert 0.0 <= error < 0.05
        assert pd.printed("test-map-progress")
        click("nr-map-run-set 1")
        assert wait_until(lambda: mapping.running)
        click("nr-xy-x-set 0.6", "nr-xy-y-set 0.3")
        want = [spec[n].from_norm(v) for n, v in wanted(0.6, 0.3).items()]
        assert wait_until(lambda: np.allclose(
            [c.value(*t.split("/")) for t in default_rig.MAPPING_OUTPUTS], want, atol=0.03))
        assert not pd.printed("neuralrig-error"), pd.lines
        assert not pd.printed("neuralrig-map-error"), pd.lines
    finally:
        sock.close()
        pd.stop()
