"""Write neuralrig.tosc, a TouchOSC layout for the shipped default rig.

    python3 examples/touchosc/make_layout.py        # rewrites examples/touchosc/neuralrig.tosc
    python3 examples/touchosc/make_layout.py --xml  # also writes neuralrig.xml to read

The format, as far as it is publicly described (there is no official
specification): a .tosc file is zlib-compressed XML; the root <lexml version='3'>
holds one GROUP <node>, and every node has <properties> (<property type='b|i|f|s|c|r'>
with <key> and <value>), <values> (the control's value keys: x, touch, text),
<messages> (<osc> entries with send/receive flags, triggers, a path and argument
<partial>s whose scaleMin/scaleMax map the control's 0..1 value) and <children>.
This generator writes only a subset of each node's properties and relies on
TouchOSC's defaults for the rest; it was written without a TouchOSC at hand, so
open the result once in the TouchOSC editor (and save it there) if anything looks off.

What the layout does:
- faders send 0..1 to /rig/<slot>/<param>/norm; each also receives the daemon's
  echo on /rig/<slot>/<param> (in the parameter's unit) scaled back to 0..1
  (the log-curve delay time is mapped by the root script instead);
- bypass toggles send and receive /rig/<slot>/bypass (i 0/1);
- preset buttons send /preset/load s and /preset/save s;
- an XY pad sends /xy x y, and the buttons beside it run the gesture mapping 'pad'
  (/map/pad/inputs and /outputs to declare it, /example, /record i, /train, /run i),
  the loop the README's "Mapping gestures" describes;
- the root script subscribes (/subscribe i CLIENT_PORT) on start, every
  RENEW_SECONDS and after a preset load, and shows the output meter and a status line.
Set TouchOSC's OSC connection 1 to UDP, host = the neuralrig machine (or pick it in
the browser: it is advertised over zeroconf), send port 9000, receive port CLIENT_PORT.
"""

from __future__ import annotations

import argparse
import math
import sys
import uuid
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from default_rig import (  # noqa: E402
    CLIENT_PORT,
    FADERS,
    MAPPING,
    MAPPING_OUTPUTS,
    PRESETS,
    RENEW_SECONDS,
    SLOTS,
    XY_ADDRESS,
)

WIDTH, HEIGHT = 1180, 1200
ALL_CONNECTIONS = "1111111111"  # the connection mask: all ten OSC connections
DARK = (0.12, 0.12, 0.14, 1.0)
FADER = (0.95, 0.55, 0.15, 1.0)
TOGGLE = (0.85, 0.2, 0.2, 1.0)
PRESET = (0.25, 0.55, 0.9, 1.0)
METER = (0.3, 0.8, 0.4, 1.0)
TEXT = (1.0, 1.0, 1.0, 1.0)


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def num(value: float) -> str:
    return f"{value:.6g}"


def prop(kind: str, key: str, value: str) -> str:
    return f"<property type='{kind}'><key>{cdata(key)}</key><value>{value}</value></property>"


def frame(x: int, y: int, w: int, h: int) -> str:
    return prop("r", "frame", f"<x>{x}</x><y>{y}</y><w>{w}</w><h>{h}</h>")


def colour(rgba: tuple[float, float, float, float], key: str = "color") -> str:
    r, g, b, a = rgba
    return prop("c", key, f"<r>{num(r)}</r><g>{num(g)}</g><b>{num(b)}</b><a>{num(a)}</a>")


def common(name: str, box: tuple[int, int, int, int], rgba, interactive: bool = True) -> str:
    return "".join((
        prop("b", "background", "1"), colour(rgba), prop("f", "cornerRadius", "1"),
        frame(*box), prop("b", "grabFocus", "1" if interactive else "0"),
        prop("b", "interactive", "1" if interactive else "0"), prop("b", "locked", "0"),
        prop("s", "name", cdata(name)), prop("i", "orientation", "0"),
        prop("b", "outline", "1"), prop("i", "outlineStyle", "0"),
        prop("i", "pointerPriority", "0"), prop("i", "shape", "1"), prop("b", "visible", "1"),
    ))


def value(key: str, default: str) -> str:
    return (f"<value><key>{cdata(key)}</key><locked>0</locked>"
            f"<lockedDefaultCurrent>0</lockedDefaultCurrent><default>{cdata(default)}</default>"
            "<defaultPull>0</defaultPull></value>")


def partial(kind: str, conversion: str, val: str, lo: float = 0.0, hi: float = 1.0) -> str:
    return (f"<partial><type>{kind}</type><conversion>{conversion}</conversion>"
            f"<value>{cdata(val)}</value><scaleMin>{num(lo)}</scaleMin>"
            f"<scaleMax>{num(hi)}</scaleMax></partial>")


def osc(path: str, arguments: list[str], send: bool, receive: bool,
        trigger: str = "ANY", variables: tuple[str, ...] = ("x",)) -> str:
    triggers = "".join(f"<trigger><var>{cdata(v)}</var><condition>{trigger}</condition>"
                       "</trigger>" for v in variables)
    return (f"<osc><enabled>1</enabled><send>{int(send)}</send><receive>{int(receive)}</receive>"
            f"<feedback>0</feedback><noDuplicates>0</noDuplicates>"
            f"<connections>{ALL_CONNECTIONS}</connections>"
            f"<triggers>{triggers}</triggers>"
            f"<path>{partial('CONSTANT', 'STRING', path)}</path>"
            f"<arguments>{''.join(arguments)}</arguments></osc>")


def node(kind: str, name: str, properties: str, values: str = "", messages: str = "",
         children: str = "") -> str:
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"neuralrig/touchosc/{name}")
    return (f"<node ID='{ident}' type='{kind}'><properties>{properties}</properties>"
            f"<values>{values}</values><messages>{messages}</messages>"
            f"<children>{children}</children></node>")


def label(name: str, box, text: str, size: int = 14, rgba=DARK) -> str:
    props = common(name, box, rgba, interactive=False) + "".join((
        prop("s", "text", cdata(text)), prop("i", "textSize", str(size)),
        colour(TEXT, "textColor"), prop("i", "textAlignH", "2"),
    ))
    return node("LABEL", name, props, value("text", text) + value("touch", "false"))


def fader(f) -> str:
    box = (20 + 110 * FADERS.index(f), 80, 90, 380)
    messages = [osc(f.norm_address, [partial("VALUE", "FLOAT", "x", 0.0, 1.0)],
                    send=True, receive=False)]
    if f.curve == "linear":  # the echo in the parameter's unit, scaled back to 0..1
        messages.append(osc(f.address, [partial("VALUE", "FLOAT", "x", f.minimum, f.maximum)],
                            send=False, receive=True))
    props = common(f.name, box, FADER) + prop("b", "bar", "1") + prop("b", "cursor", "1")
    out = node("FADER", f.name, props, value("x", "0") + value("touch", "false"),
               "".join(messages))
    unit = f" ({f.unit})" if f.unit else ""
    return out + label(f"{f.name}-label", (box[0], 470, 90, 44), f"{f.slot}\n{f.param}{unit}")


def toggle(slot: str, index: int) -> str:
    box = (20 + 125 * index, 540, 110, 60)
    props = common(f"{slot}-bypass", box, TOGGLE) + prop("i", "buttonType", "1")
    message = osc(f"/rig/{slot}/bypass", [partial("VALUE", "INTEGER", "x", 0, 1)],
                  send=True, receive=True)
    out = node("BUTTON", f"{slot}-bypass", props, value("x", "0") + value("touch", "false"),
               message)
    return out + label(f"{slot}-bypass-label", (box[0], 605, 110, 24), f"bypass {slot}")


def preset_button(action: str, name: str, index: int) -> str:
    row = 0 if action == "load" else 1
    box = (20 + 125 * index + 520 * row, 660, 110, 60)
    props = common(f"preset-{action}-{name}", box, PRESET) + prop("i", "buttonType", "0")
    message = osc(f"/preset/{action}", [partial("CONSTANT", "STRING", name)],
                  send=True, receive=False, trigger="RISE")
    out = node("BUTTON", f"preset-{action}-{name}", props,
               value("x", "0") + value("touch", "false"), message)
    return out + label(f"preset-{action}-{name}-label", (box[0], 725, 110, 24),
                       f"{action} {name}")


def xy_pad() -> str:
    """The gesture: both coordinates (0..1) in one /xy message whenever either moves."""
    box = (20, 820, 360, 360)
    message = osc(XY_ADDRESS, [partial("VALUE", "FLOAT", "x"), partial("VALUE", "FLOAT", "y")],
                  send=True, receive=False, variables=("x", "y"))
    out = node("XY", "xy", common("xy", box, FADER), value("x", "0.5") + value("y", "0.5")
               + value("touch", "false"), message)
    return out + label("xy-label", (20, 1180, 360, 20), f"{XY_ADDRESS}: the gesture")


def mapping_button(action: str, index: int) -> str:
    """One step of the mapping's loop: declare, example and train are pushes; record and
    run are toggles (i 1 on, 0 off)."""
    base = f"/map/{MAPPING}"
    box = (420 + 150 * (index % 3), 840 + 120 * (index // 3), 130, 80)
    toggle = action in ("record", "run")
    if action == "declare":
        messages = [osc(f"{base}/inputs", [partial("CONSTANT", "STRING", f"{XY_ADDRESS}:2")],
                        send=True, receive=False, trigger="RISE"),
                    osc(f"{base}/outputs", [partial("CONSTANT", "STRING", o)
                                            for o in MAPPING_OUTPUTS],
                        send=True, receive=False, trigger="RISE")]
    elif toggle:
        messages = [osc(f"{base}/{action}", [partial("VALUE", "INTEGER", "x", 0, 1)],
                        send=True, receive=False)]
    else:
        messages = [osc(f"{base}/{action}", [], send=True, receive=False, trigger="RISE")]
    name = f"map-{action}"
    props = common(name, box, TOGGLE if toggle else PRESET) + prop(
        "i", "buttonType", "1" if toggle else "0")
    out = node("BUTTON", name, props, value("x", "0") + value("touch", "false"),
               "".join(messages))
    return out + label(f"{name}-label", (box[0], box[1] + 85, 130, 24), action)


def root_script() -> str:
    """Lua for the root group: subscription, the log fader, the meter and the status line."""
    logs = "\n".join(
        f"  ['{f.address}'] = {{'{f.name}', {num(f.minimum)}, "
        f"{math.log(f.maximum / f.minimum):.12g}}},"
        for f in FADERS if f.curve == "log")
    return f"""-- neuralrig (generated by examples/touchosc/make_layout.py)
local CLIENT_PORT = {CLIENT_PORT} -- must be connection 1's receive port
local RENEW_MS = {RENEW_SECONDS * 1000}
local last = nil
-- faders on a log curve: echo address -> fader name, minimum, log(maximum / minimum)
local LOG_FADERS = {{
{logs}
}}

local function status(text)
  self:findByName('status', true).values.text = text
end

local function subscribe()
  sendOSC({{'/subscribe', {{{{tag = 'i', value = CLIENT_PORT}}}}}})
  last = getMillis()
end

function init()
  subscribe()
end

function update()
  if last == nil or getMillis() - last >= RENEW_MS then subscribe() end
end

function onReceiveOSC(message, connections)
  local path, args = message[1], message[2]
  local log_fader = LOG_FADERS[path]
  if log_fader then
    local norm = math.log(args[1].value / log_fader[2]) / log_fader[3]
    self:findByName(log_fader[1], true).values.x = math.max(0, math.min(1, norm))
  elseif path == '/meter/output' then
    local db = args[1].value
    self:findByName('meter-output', true).values.x = math.max(0, math.min(1, (db + 60) / 60))
  elseif path == '/subscribed' then
    status('connected (subscription renewed every ' .. RENEW_MS / 1000 .. ' s)')
  elseif path == '/preset/loaded' then
    status('preset ' .. tostring(args[1].value) .. ' loaded')
    subscribe() -- the daemon answers with every value of the new preset
  elseif path == '/preset/saved' then
    status('preset ' .. tostring(args[1].value) .. ' saved')
  elseif path == '/error' then
    status('error: ' .. tostring(args[1].value) .. ': ' .. tostring(args[2].value))
  end
  return false -- the controls' own receive messages still apply
end
"""


def layout() -> str:
    children = [label("title", (20, 10, 500, 50), "neuralrig: default rig", 24)]
    children.append(label("status", (540, 10, 620, 50), "waiting for the daemon", 14))
    children += [fader(f) for f in FADERS]
    meter = (1020, 80, 60, 380)
    children.append(node("FADER", "meter-output",
                         common("meter-output", meter, METER, interactive=False)
                         + prop("b", "bar", "1") + prop("b", "cursor", "0"),
                         value("x", "0") + value("touch", "false")))
    children.append(label("meter-output-label", (1000, 470, 100, 44), "output\npeak (-60..0 dB)",
                          11))
    children += [toggle(slot, k) for k, slot in enumerate(SLOTS)]
    for action in ("load", "save"):
        children += [preset_button(action, name, k) for k, name in enumerate(PRESETS)]
    children.append(xy_pad())
    children += [mapping_button(a, k) for k, a in enumerate(("declare", "example", "train",
                                                                 "record", "run"))]
    outputs = ", ".join(o.replace("/", " ") for o in MAPPING_OUTPUTS)
    children.append(label("map-help", (420, 1090, 740, 90),
                          f"mapping '{MAPPING}': {XY_ADDRESS} -> {outputs}. Declare once; set "
                          "the faders to a sound, put the pad where it belongs, press example "
                          "(or hold record on while moving); repeat; train; run.", 12))
    root_props = common("neuralrig", (0, 0, WIDTH, HEIGHT), DARK, interactive=False)
    root_props += prop("s", "script", cdata(root_script()))
    root = node("GROUP", "neuralrig", root_props, value("touch", "false"),
                children="".join(children))
    return f"<?xml version='1.0' encoding='UTF-8'?><lexml version='3'>{root}</lexml>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xml", action="store_true", help="also write the plain XML")
    args = parser.parse_args()
    xml = layout().encode("utf-8")
    out = HERE / "neuralrig.tosc"
    out.write_bytes(zlib.compress(xml, 9))
    print(f"wrote {out}")
    if args.xml:
        (HERE / "neuralrig.xml").write_bytes(xml)
        print(f"wrote {HERE / 'neuralrig.xml'}")


if __name__ == "__main__":
    main()
