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
    nr-xy-x-set, nr-xy-y-set  the XY pad's two sliders (0..1), sent together to /xy
    nr-map                  "declare", "example" or "train": the gesture mapping 'pad'
    nr-map-record, nr-map-run  0/1 toggles: record examples, run the trained mapping
    nr-map-progress, nr-map-trained  training progress (0..1) and its held-out error

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
    MAPPING,
    MAPPING_OUTPUTS,
    PRESETS,
    RENEW_SECONDS,
    SLOTS,
    XY_ADDRESS,
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
    c = Canvas("#N canvas 60 60 1700 900 osc 0;")
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

    mapping_logic(c, 1150, 20)

    # -- the daemon to the controls --------------------------------------------------
    parse = c.obj(450, y + 20, "oscparse")
    c.wire(netreceive, parse)
    ptrim = c.obj(450, y + 50, "list trim")
    top = c.obj(450, y + 80, "route rig meter subscribed error preset map")
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
    # Training news goes to every subscriber: /map/pad/progress f, /map/pad/trained f.
    mapped = c.obj(300, 740, f"route {MAPPING}")
    c.wire(top, mapped, outlet=5)
    news = c.obj(300, 770, "route progress trained error")
    c.wire(mapped, news)
    c.wire(news, c.obj(300, 800, "s nr-map-progress"))
    trained = c.obj(420, 800, "t f f")
    c.wire(news, trained, outlet=1)
    c.wire(trained, c.obj(420, 830, "s nr-map-trained"))
    c.wire(trained, c.obj(520, 830, "print neuralrig-map-trained"), outlet=1)
    c.wire(news, c.obj(620, 800, "print neuralrig-map-error"), outlet=2)
    return c


def mapping_logic(c: Canvas, x: int, y: int) -> None:
    """The XY pad to /xy, and the gesture mapping's loop (/map/pad/...)."""
    xy_x = c.obj(x, y, "r nr-xy-x")
    xy_y = c.obj(x + 120, y, "r nr-xy-y")
    both = c.obj(x + 120, y + 30, "t b f")  # y stored first, then the pair goes out
    pair = c.obj(x, y + 60, "pack f f")
    c.wire(xy_x, pair)
    c.wire(xy_y, both)
    c.wire(both, pair, outlet=1, inlet=1)
    c.wire(both, pair, outlet=0)
    c.chain(pair, c.obj(x, y + 90, "oscformat " + XY_ADDRESS.strip("/").replace("/", " ")),
            c.obj(x, y + 120, "s nr-tx"))
    base = f"map {MAPPING}"
    command = c.obj(x, y + 170, "r nr-map")
    kind = c.obj(x, y + 200, "route declare example train")
    c.wire(command, kind)
    declare = c.obj(x, y + 230, "t b b")  # right to left: inputs, then outputs
    c.wire(kind, declare)
    inputs = c.msg(x + 100, y + 260, f"list {XY_ADDRESS}:2")
    outputs = c.msg(x, y + 290, "list " + " ".join(MAPPING_OUTPUTS))
    c.wire(declare, inputs, outlet=1)
    c.wire(declare, outputs, outlet=0)
    c.chain(inputs, c.obj(x + 100, y + 320, f"oscformat {base} inputs"),
            c.obj(x + 100, y + 350, "s nr-tx"))
    c.chain(outputs, c.obj(x, y + 380, f"oscformat {base} outputs"),
            c.obj(x, y + 410, "s nr-tx"))
    for k, action in enumerate(("example", "train")):
        bang = c.msg(x + 250 + 120 * k, y + 230, "list")  # an OSC message without arguments
        c.wire(kind, bang, outlet=k + 1)
        c.chain(bang, c.obj(x + 250 + 120 * k, y + 260, f"oscformat {base} {action}"),
                c.obj(x + 250 + 120 * k, y + 290, "s nr-tx"))
    for k, action in enumerate(("record", "run")):
        toggle = c.obj(x + 250 + 120 * k, y + 340, f"r nr-map-{action}")
        c.chain(toggle, c.obj(x + 250 + 120 * k, y + 370, f"oscformat -f i {base} {action}"),
                c.obj(x + 250 + 120 * k, y + 400, "s nr-tx"))


def front() -> list[str]:
    c = Canvas("#N canvas 40 40 980 820 12;")
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
    outputs = " ".join(o.replace("/", ".") for o in MAPPING_OUTPUTS)
    c.text(20, 560, f"gesture mapping '{MAPPING}': the XY pad to {outputs}. Click "
           "declare once \\; set the sliders above to a sound then move the pad to where it "
           "belongs and click example (or hold record while you move) \\; repeat \\; "
           "train \\; run.")
    c.raw(f"#X obj 40 620 hsl 160 20 0 1 0 0 nr-xy-x nr-xy-x-set x 0 -10 0 12 {BG} {FG} "
          f"{LBL} 0 1;")
    c.raw(f"#X obj 220 620 vsl 20 160 0 1 0 0 nr-xy-y nr-xy-y-set y 0 -10 0 12 {BG} {FG} "
          f"{LBL} 0 1;")
    c.msg(300, 620, esc("; nr-map declare"))
    c.msg(300, 660, esc("; nr-map example"))
    c.msg(300, 700, esc("; nr-map train"))
    c.raw(f"#X obj 480 620 tgl 20 0 nr-map-record nr-map-record-set record 24 10 0 12 {BG} "
          f"{FG} {LBL} 0 1;")
    c.raw(f"#X obj 480 660 tgl 20 0 nr-map-run nr-map-run-set run 24 10 0 12 {BG} {FG} "
          f"{LBL} 0 1;")
    c.text(600, 620, "progress:")
    c.floatatom(700, 620, 5, "-", "nr-map-progress")
    c.text(600, 660, "held-out error:")
    c.floatatom(740, 660, 7, "-", "nr-map-trained")
    # The subpatch is the front canvas's last box; the front canvas has no wires.
    return c.render() + osc_logic().render("#X restore 720 420 pd osc;")


def main() -> None:
    out = HERE / "neuralrig.pd"
    out.write_text("\n".join(front()) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
