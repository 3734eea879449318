"""Write neuralrig.maxpat, a Max patch for the shipped default rig.

    python3 examples/max/make_patch.py      # rewrites examples/max/neuralrig.maxpat

[udpsend] formats "/address value" messages as OSC; [udpreceive] turns the
daemon's packets back into messages that [route] sorts by address. Sliders
output 0..1 floats to /rig/<slot>/<param>/norm; the daemon's echoes (in the
parameter's unit) are mapped back to 0..1 with [scale] (linear) or [expr] (log)
and shown with "set", so they do not resend. The patch subscribes on load, every
RENEW_SECONDS and after a preset load. The bottom row trains the gesture mapping
'pad' from an XY pair of sliders (README: "Mapping gestures"). Written without Max at hand: the test
checks its structure (JSON, boxes, wires, addresses), not Max itself.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

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

# Inlets and outlets of the objects used, so Max draws the wires it is given.
OBJECTS: dict[str, tuple[int, list[str]]] = {
    "udpsend": (1, []),
    "udpreceive": (1, [""]),
    "route": (1, []),  # outlets: one per argument plus the reject outlet
    "prepend": (1, [""]),
    "scale": (6, [""]),
    "expr": (1, [""]),
    "clip": (3, [""]),
    "loadbang": (1, ["bang"]),
    "metro": (2, ["bang"]),
    "delay": (2, ["bang"]),
    "t": (1, []),
    "unpack": (1, []),
    "pak": (2, [""]),
    "print": (1, []),
}


class Patcher:
    def __init__(self) -> None:
        self.boxes: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []

    def _box(self, box: dict[str, Any]) -> str:
        box["id"] = f"obj-{len(self.boxes) + 1}"
        self.boxes.append({"box": box})
        return box["id"]

    def obj(self, x: float, y: float, text: str, width: float = 0) -> str:
        name, *args = text.split()
        inlets, outlets = OBJECTS[name]
        if name == "route":
            outlets = [""] * (len(args) + 1)
        elif name in ("t", "unpack"):
            outlets = [""] * len(args)
        return self._box({"maxclass": "newobj", "text": text, "numinlets": inlets,
                          "numoutlets": len(outlets), "outlettype": outlets,
                          "patching_rect": [x, y, width or 8 + 7 * len(text), 22.0]})

    def msg(self, x: float, y: float, text: str) -> str:
        return self._box({"maxclass": "message", "text": text, "numinlets": 2,
                          "numoutlets": 1, "outlettype": [""],
                          "patching_rect": [x, y, 8 + 7 * len(text), 22.0]})

    def comment(self, x: float, y: float, text: str, width: float = 200) -> str:
        return self._box({"maxclass": "comment", "text": text, "numinlets": 1,
                          "numoutlets": 0, "patching_rect": [x, y, width, 20.0]})

    def slider(self, x: float, y: float) -> str:
        return self._box({"maxclass": "slider", "floatoutput": 1, "size": 1.0, "min": 0.0,
                          "numinlets": 1, "numoutlets": 1, "outlettype": [""],
                          "parameter_enable": 0, "patching_rect": [x, y, 24.0, 140.0]})

    def toggle(self, x: float, y: float) -> str:
        return self._box({"maxclass": "toggle", "numinlets": 1, "numoutlets": 1,
                          "outlettype": ["int"], "parameter_enable": 0,
                          "patching_rect": [x, y, 24.0, 24.0]})

    def flonum(self, x: float, y: float) -> str:
        return self._box({"maxclass": "flonum", "format": 6, "numinlets": 1, "numoutlets": 2,
                          "outlettype": ["", "bang"], "parameter_enable": 0,
                          "patching_rect": [x, y, 60.0, 22.0]})

    def wire(self, a: str, b: str, outlet: int = 0, inlet: int = 0) -> None:
        self.lines.append({"patchline": {"source": [a, outlet], "destination": [b, inlet]}})

    def chain(self, *ids: str) -> None:
        for a, b in itertools.pairwise(ids):
            self.wire(a, b)

    def patch(self) -> dict[str, Any]:
        return {"patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 5, "revision": 0, "architecture": "x64",
                           "modernui": 1},
            "classnamespace": "box",
            "rect": [50.0, 80.0, 1240.0, 900.0],
            "default_fontsize": 12.0,
            "gridsize": [15.0, 15.0],
            "boxes": self.boxes,
            "lines": self.lines,
        }}


def build() -> dict[str, Any]:
    p = Patcher()
    p.comment(20, 10, "neuralrig: the default rig over OSC. Sliders send 0..1 to "
              "/rig/<slot>/<param>/norm; the number boxes show the daemon's echo.", 900)
    send = p.obj(20, 800, f"udpsend {DAEMON_HOST} {DAEMON_PORT}")
    receive = p.obj(600, 420, f"udpreceive {CLIENT_PORT}")
    p.wire(p.msg(20, 40, f"host {DAEMON_HOST}"), send)
    p.wire(p.msg(160, 40, f"port {DAEMON_PORT}"), send)
    p.comment(260, 40, "<- point the patch at another daemon", 260)

    # Subscribe on load, every RENEW_SECONDS and after a preset load.
    subscribe = p.msg(20, 740, f"/subscribe {CLIENT_PORT}")
    p.wire(subscribe, send)
    load = p.obj(20, 680, "loadbang")
    start = p.msg(100, 680, "1")
    metro = p.obj(140, 710, f"metro {RENEW_SECONDS * 1000}")
    p.chain(load, start, metro, subscribe)
    reload = p.obj(300, 710, "delay 200")
    p.wire(reload, subscribe)

    # Controls out.
    routes = " ".join([f.address for f in FADERS] + [f"/rig/{s}/bypass" for s in SLOTS]
                      + ["/meter/output", "/subscribed", "/error", "/preset/loaded"])
    router = p.obj(600, 460, f"route {routes}", width=600)
    p.wire(receive, router)
    for k, fader in enumerate(FADERS):
        x = 20 + 100 * k
        p.comment(x, 80, f"{fader.slot} {fader.param}", 95)
        slider = p.slider(x, 110)
        p.chain(slider, p.obj(x, 270, f"prepend {fader.norm_address}", 95), send)
        value = p.flonum(x, 300)
        if fader.curve == "log":  # norm = log(v / min) / log(max / min)
            to_norm = p.obj(x, 560, f"expr log($f1 / {fader.minimum:.1f}) / "
                                    f"{math.log(fader.maximum / fader.minimum):.9g}", 95)
        else:
            to_norm = p.obj(x, 560, f"scale {fader.minimum:.2f} {fader.maximum:.2f} 0. 1.", 95)
        clip = p.obj(x, 590, "clip 0. 1.", 95)
        show = p.obj(x, 620, "prepend set", 95)
        echo = p.obj(x, 530, "t f f", 95)
        p.wire(router, echo, outlet=k)
        p.wire(echo, to_norm, outlet=0)
        p.wire(echo, value, outlet=1)  # flonum "set" is implicit for a display-only number
        p.chain(to_norm, clip, show, slider)
    base = len(FADERS)
    p.comment(20, 340, "bypass:", 60)
    for k, slot in enumerate(SLOTS):
        x = 90 + 110 * k
        p.comment(x + 28, 340, slot, 80)
        toggle = p.toggle(x, 340)
        p.chain(toggle, p.obj(x, 375, f"prepend /rig/{slot}/bypass", 105), send)
        show = p.obj(x, 650, "prepend set", 100)
        p.wire(router, show, outlet=base + k)
        p.wire(show, toggle)
    base += len(SLOTS)
    meter = p.flonum(600, 500)
    peak = p.obj(680, 500, "unpack 0. 0.")
    p.wire(router, peak, outlet=base)
    p.wire(peak, meter)
    p.comment(600, 525, "output peak dBFS", 140)
    timeout = p.flonum(760, 500)
    p.wire(router, timeout, outlet=base + 1)
    p.comment(760, 525, "subscribed (timeout, s)", 170)
    p.wire(router, p.obj(940, 500, "print neuralrig-error"), outlet=base + 2)
    p.wire(router, reload, outlet=base + 3)  # someone loaded a preset: fetch every value

    p.comment(20, 420, "presets:", 60)
    for k, name in enumerate(PRESETS):
        x = 90 + 120 * k
        load_msg = p.msg(x, 420, f"/preset/load {name}")
        after = p.obj(x, 450, "t b a", 60)
        p.wire(load_msg, after)
        p.wire(after, send, outlet=1)
        p.wire(after, reload, outlet=0)
        p.wire(p.msg(x, 480, f"/preset/save {name}"), send)
    mapping_row(p, send, router, len(FADERS) + len(SLOTS) + 4)
    return p.patch()


def mapping_row(p: Patcher, send: str, router: str, outlet: int) -> None:
    """An XY pad (two sliders, sent together as /xy x y) and the mapping's loop."""
    base = f"/map/{MAPPING}"
    p.comment(20, 860, f"gesture mapping '{MAPPING}': declare once; set the sliders above to "
              "a sound, move x/y to where it belongs, click example (or record while "
              "moving); repeat; train; run.", 900)
    pair = p.obj(20, 1060, "pak 0. 0.")
    for k, axis in enumerate(("x", "y")):
        p.comment(20 + 40 * k, 890, axis, 30)
        p.wire(p.slider(20 + 40 * k, 910), pair, inlet=k)
    p.chain(pair, p.obj(20, 1090, f"prepend {XY_ADDRESS}"), send)
    declare = p.msg(120, 910, f"{base}/inputs {XY_ADDRESS}:2, {base}/outputs "
                    + " ".join(MAPPING_OUTPUTS))
    p.wire(declare, send)
    for k, action in enumerate(("example", "train")):
        p.wire(p.msg(120 + 160 * k, 950, f"{base}/{action}"), send)
    for k, action in enumerate(("record", "run")):
        p.comment(150 + 160 * k, 990, action, 60)
        toggle = p.toggle(120 + 160 * k, 990)
        p.chain(toggle, p.obj(120 + 160 * k, 1020, f"prepend {base}/{action}", 150), send)
    news = p.obj(600, 910, f"route {base}/progress {base}/trained {base}/error", 400)
    p.wire(router, news, outlet=outlet)  # the main router's reject outlet
    for k, what in enumerate(("progress", "held-out error")):
        p.wire(news, p.flonum(600 + 120 * k, 950), outlet=k)
        p.comment(600 + 120 * k, 975, what, 110)
    p.wire(news, p.obj(840, 950, "print neuralrig-map-error"), outlet=2)


def main() -> None:
    out = HERE / "neuralrig.maxpat"
    out.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
