"""Write neuralrig.pd, a Pure Data (vanilla) patch for the shipped default rig.

    python3 examples/puredata/make_patch.py      # rewrites examples/puredata/neuralrig.pd

Only vanilla objects: oscformat/oscparse, netsend/netreceive (-u -b), list,
route, math, iemgui sliders and toggles. The front canvas holds the controls;
the subpatch [pd osc] holds the network logic. Everything meets through named
send/receive pairs, so another patch (or a test) can drive the controls:

    nr-<slot>-<param>-set   a float moves the slider (and sends it); "set x" only shows it
    nr-<slot>-<param>-value the daemon's echo in the parameter's unit (number box)
    nr-<slot>-bypass-set    a toggle, as above
    nr-connect              "connect HOST PORT" points the patch at a daemon
    nr-listen               "listen PORT" is where the echoes and meters arrive
    nr-preset               "load NAME" / "save NAME"
    nr-meter-<input|output> peak dBFS of the first channel, 10 times a second
    nr-subscribed           the daemon's subscription timeout, on each (re)subscribe

Opened on its own it connects to 127.0.0.1 9000 and listens on 9002. Used as an
abstraction, [neuralrig HOST PORT LISTEN_PORT] sets all three.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from default_rig import (  # noqa: E402
    CLIENT_PORT,
    DAEMON_HOST,
    DAEMON_PORT,
    FADERS,
    PRESETS,
    RENEW_SECONDS,
    SLOTS,
)

FG, BG, LBL = "#000000", "#fcfcfc", "#000000"


class Canvas:
    """Objects and connections of one Pd canvas, indexed in creation order."""

    def __init__(self, header: str) -> None:
        self.header = header
        self.lines: list[str] = []
        self.wires: list[tuple[int, int, int, int]] = []

    def _add(self, line: str) -> int:
        self.lines.append(line)
        return len(self.lines) - 1

    def obj(self, x: int, y: int, text: str) -> int:
        return self._add(f"#X obj {x} {y} {text};")

    def msg(self, x: int, y: int, text: str) -> int:
        return self._add(f"#X msg {x} {y} {text};")

    def text(self, x: int, y: int, text: str) -> int:
        return self._add(f"#X text {x} {y} {text};")

    def floatatom(self, x: int, y: int, width: int, label: str, receive: str) -> int:
        return self._add(f"#X floatatom {x} {y} {width} 0 0 1 {label} {receive} -;")

    def raw(self, line: str) -> int:
        return self._add(line)

    def wire(self, a: int, b: int, outlet: int = 0, inlet: int = 0) -> None:
        self.wires.append((a, outlet, b, inlet))

    def chain(self, *boxes: int) -> None:
        for a, b in itertools.pairwise(boxes):
            self.wire(a, b)

    def render(self, footer: str = "") -> list[str]:
        out = [self.header, *self.lines]
        out += [f"#X connect {a} {o} {b} {i};" for a, o, b, i in self.wires]
        if footer:
            out.append(footer)
        return out


def esc(text: str) -> str:
    """Pd file escaping for dollars, commas and semicolons inside a box."""
    return text.replace("$", "\\$").replace(",", " \\,").replace(";", " \\;")


def osc_logic() -> Canvas:
    c = Canvas("#N canvas 60 60 1100 760 osc 0;")
    # -- startup: creation arguments or the defaults --------------------------------
    lb = c.obj(20, 20, "loadbang")
    args = c.obj(20, 50, esc("list append $1 $2 $3"))
    noargs = c.obj(20, 80, "route 0")
    defaults = c.msg(20, 110, f"list {DAEMON_HOST} {DAEMON_PORT} {CLIENT_PORT}")
    setup = c.msg(20, 150, esc("; nr-listen listen $3; nr-connect connect $1 $2"))
    c.chain(lb, args, noargs, defaults, setup)
    c.wire(noargs, setup, outlet=1)

    # -- sending: every formatted packet goes through one netsend ----------------------
    tx = c.obj(20, 200, "r nr-tx")
    prepend = c.obj(20, 230, "list prepend send")
    trim = c.obj(20, 260, "list trim")
    netsend = c.obj(20, 300, "netsend -u -b")
    c.chain(tx, prepend, trim, netsend)
    connect = c.obj(200, 200, "r nr-connect")
    before = c.obj(200, 230, "t b a b")
    disconnect = c.msg(300, 260, "disconnect")
    c.wire(connect, before)
    c.wire(before, disconnect, outlet=2)
    c.wire(disconnect, netsend)
    c.wire(before, netsend, outlet=1)
    connected = c.obj(20, 330, "print neuralrig-connected")
    c.wire(netsend, connected)

    # -- subscribing: now, every RENEW_SECONDS, and after a preset load ------------------
    listen = c.obj(450, 20, "r nr-listen")
    listen_split = c.obj(450, 50, "t a a")
    port_of = c.obj(530, 80, "route listen")
    port = c.obj(450, 150, "f")
    netreceive = c.obj(450, 500, "netreceive -u -b")
    c.wire(listen, listen_split)
    c.wire(listen_split, netreceive, outlet=1)
    c.wire(listen_split, port_of, outlet=0)
    c.wire(port_of, port, inlet=1)
    subscribe_now = c.obj(600, 20, "r nr-subscribe")
    metro = c.obj(600, 50, f"metro {RENEW_SECONDS * 1000}")
    c.wire(subscribe_now, port)
    c.wire(before, metro, outlet=0)  # (re)start the renewals on every connect
    c.wire(metro, port)
    subscribe = c.obj(450, 180, "oscformat -f i subscribe")
    sub_tx = c.obj(450, 210, "s nr-tx")
    c.chain(port, subscribe, sub_tx)

    # -- controls to the daemon ------------------------------------------------------
    y = 260
    for fader in FADERS:
        r = c.obj(450, y, f"r nr-{fader.name}")
        fmt = c.obj(630, y, f"oscformat rig {fader.slot} {fader.param} norm")
        s = c.obj(900, y, "s nr-tx")
        c.chain(r, fmt, s)
        y += 30
    for slot in SLOTS:
        r = c.obj(450, y, f"r nr-{slot}-bypass")
        fmt = c.obj(630, y, f"oscformat -f i rig {slot} bypass")
        s = c.obj(900, y, "s nr-tx")
        c.chain(r, fmt, s)
        y += 30
    preset = c.obj(20, 380, "r nr-preset")
    kind = c.obj(20, 410, "route load save")
    load_name = c.obj(20, 440, "list")
    then = c.obj(20, 470, "t b l")
    load = c.obj(80, 500, "oscformat preset load")
    save_name = c.obj(250, 440, "list")
    save = c.obj(250, 500, "oscformat preset save")
    preset_tx = c.obj(80, 530, "s nr-tx")
    reload = c.obj(20, 560, "del 200")
    c.chain(preset, kind, load_name, then)
    c.wire(then, load, outlet=1)
    c.wire(load, preset_tx)
    c.wire(kind, save_name, outlet=1)
    c.chain(save_name, save, preset_tx)
    c.wire(then, reload)  # after loading, subscribe again: the daemon resends every value
    c.wire(reload, port)

    # -- the daemon to the controls --------------------------------------------------
    parse = c.obj(450, y + 20, "oscparse")
    c.wire(netreceive, parse)
    ptrim = c.obj(450, y + 50, "list trim")
    top = c.obj(450, y + 80, "route rig meter subscribed error preset")
    c.chain(parse, ptrim, top)
    slots = c.obj(450, y + 120, "route " + " ".join(SLOTS))
    c.wire(top, slots)
    by_slot: dict[str, list] = {slot: [] for slot in SLOTS}
    for fader in FADERS:
        by_slot[fader.slot].append(fader)
    yy = y + 160
    for index, slot in enumerate(SLOTS):
        params = [f.param for f in by_slot[slot]]
        route = c.obj(450, yy, "route bypass " + " ".join(params))
        c.wire(slots, route, outlet=index)
        bypass = c.msg(900, yy, esc("; nr-" + slot + "-bypass-set set $1"))
        c.wire(route, bypass)
        yy += 30
        for p, fader in enumerate(by_slot[slot]):
            split = c.obj(470, yy, "t f f")
            c.wire(route, split, outlet=p + 1)
            value = c.obj(540, yy + 30, f"s nr-{fader.name}-value")
            c.wire(split, value, outlet=1)
            if fader.curve == "log":  # norm = log(v / min) / log(max / min)
                steps = [f"/ {fader.minimum:g}", "log",
                         f"/ {math.log(fader.maximum / fader.minimum):.9g}"]
            else:  # norm = (v - min) / (max - min)
                steps = [f"- {fader.minimum:g}", f"/ {fader.maximum - fader.minimum:g}"]
            boxes = [c.obj(700 + 90 * k, yy, step) for k, step in enumerate(steps)]
            clip = c.obj(700 + 90 * len(steps), yy, "clip 0 1")
            show = c.msg(990, yy, esc(f"; nr-{fader.name}-set set $1"))
            c.wire(split, boxes[0])
            c.chain(*boxes, clip, show)
            yy += 60
    meters = c.obj(20, 600, "route input output")
    c.wire(top, meters, outlet=1)
    for k, where in enumerate(("input", "output")):
        first = c.obj(20 + 150 * k, 630, "list split 1")
        peak = c.obj(20 + 150 * k, 660, f"s nr-meter-{where}")
        c.wire(meters, first, outlet=k)
        c.chain(first, peak)
    subscribed = c.obj(20, 700, "t f f")
    c.wire(top, subscribed, outlet=2)
    c.wire(subscribed, c.obj(20, 730, "s nr-subscribed"))
    c.wire(subscribed, c.obj(120, 730, "print neuralrig-subscribed"), outlet=1)
    c.wire(top, c.obj(300, 600, "print neuralrig-error"), outlet=3)
    loaded = c.obj(300, 640, "route loaded saved")
    c.wire(top, loaded, outlet=4)
    loaded_split = c.obj(300, 670, "t b a")
    c.wire(loaded, loaded_split)
    c.wire(loaded_split, c.obj(380, 700, "print neuralrig-preset"), outlet=1)
    c.wire(loaded_split, reload)  # someone loaded a preset: fetch every value again
    return c


def front() -> list[str]:
    c = Canvas("#N canvas 40 40 980 560 12;")
    c.text(20, 10, "neuralrig: the default rig over OSC (vanilla Pd). Sliders send 0..1 to "
           "/rig/<slot>/<param>/norm \\; the number boxes show the daemon's echo in the "
           "parameter's unit.")
    c.msg(20, 60, esc("; nr-connect connect 127.0.0.1 9000"))
    c.msg(300, 60, esc("; nr-listen listen 9002"))
    c.msg(500, 60, esc("; nr-subscribe bang"))
    c.text(20, 95, "click to point the patch at another daemon (host port) or to listen "
           "elsewhere \\; it subscribes again every 5 s")
    x = 20
    for fader in FADERS:
        c.raw(f"#X obj {x + 20} 160 vsl 20 160 0 1 0 0 nr-{fader.name} nr-{fader.name}-set "
              f"{fader.slot} 0 -28 0 12 {BG} {FG} {LBL} 0 1;")
        c.text(x, 130 + 14, fader.param)
        c.floatatom(x, 330, 7, "-", f"nr-{fader.name}-value")
        if fader.unit:
            c.text(x + 70, 330, fader.unit)
        x += 100
    c.text(20, 370, "bypass:")
    for k, slot in enumerate(SLOTS):
        c.raw(f"#X obj {100 + 90 * k} 370 tgl 20 0 nr-{slot}-bypass nr-{slot}-bypass-set "
              f"{slot} 24 10 0 12 {BG} {FG} {LBL} 0 1;")
    c.text(20, 420, "presets:")
    for k, name in enumerate(PRESETS):
        c.msg(100 + 140 * k, 420, esc(f"; nr-preset load {name}"))
        c.msg(100 + 140 * k, 455, esc(f"; nr-preset save {name}"))
    c.text(20, 505, "meters (peak dBFS):")
    for k, where in enumerate(("input", "output")):
        c.raw(f"#X obj {200 + 260 * k} 505 hsl 160 20 -60 0 0 0 empty nr-meter-{where} "
              f"{where} 0 -10 0 12 {BG} {FG} {LBL} 0 1;")
        c.floatatom(370 + 260 * k, 505, 6, "-", f"nr-meter-{where}")
    c.text(720, 370, "subscription timeout (s):")
    c.floatatom(900, 370, 4, "-", "nr-subscribed")
    # The subpatch is the front canvas's last box; the front canvas has no wires.
    return c.render() + osc_logic().render("#X restore 720 420 pd osc;")


def main() -> None:
    out = HERE / "neuralrig.pd"
    out.write_text("\n".join(front()) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
