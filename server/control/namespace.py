"""The OSC address space: every address the daemon answers, with types, ranges and units.

One description serves the README table, OSCQuery's JSON tree, and the
tests that check client layouts (TouchOSC, Pure Data, Max) against it.
The OSC frontend's dispatcher handles exactly these addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .controller import RigController, SlotView

READ, WRITE = 1, 2  # OSCQuery ACCESS bits
OPTION_TYPES = {str: "s", bool: "i", int: "i", float: "f"}


def option_value(view: SlotView, name: str) -> Any:
    """An option as OSC sends it: booleans as 0/1, unset (None) as an empty string."""
    value = view.option(name)
    if value is None:
        return ""
    return int(value) if isinstance(value, bool) else value


@dataclass(frozen=True)
class Entry:
    address: str
    types: str  # OSC type tags of the arguments; "" for none
    description: str
    access: int = READ | WRITE
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    value: Callable[[], tuple[Any, ...]] | None = None
    reply: str = ""  # what a message to this address sends back, if anything


# Addresses that do not depend on the rig: (address, types, description, reply).
GLOBAL_ADDRESSES: tuple[tuple[str, str, str, str], ...] = (
    ("/status", "", "engine state, per-block timing, CPU load, xruns and latency",
     "/status with name, value pairs"),
    ("/meters", "", "peak and RMS levels (dBFS) of input, output and every slot",
     "/meter/<where> f f per meter"),
    ("/subscribe", "i", "send parameter changes and meters (10 Hz) to this port on the "
     "sender's host; no argument: the sender's own port. Renew within the timeout",
     "/subscribed i (the timeout in seconds)"),
    ("/unsubscribe", "i", "stop sending to this port (no argument: the sender's port)",
     "/unsubscribed i"),
    ("/preset/save", "s", "save the whole rig state as a preset", "/preset/saved s"),
    ("/preset/load", "s", "load a preset by name (or by number, i: the sorted list's index)",
     "/preset/loaded s"),
    ("/preset/list", "", "the preset names, in program-change order", "/preset/list s..."),
    ("/midi/learn", "ss", "map the next MIDI CC that arrives to slot, parameter",
     "/midi/learning s s; then /midi/mapped s s i i (slot, parameter, cc, channel; 0 = omni) "
     "to subscribers"),
    ("/midi/forget", "ss", "remove the MIDI mapping of slot, parameter", "/midi/forgot s s"),
    ("/rig/get", "", "every slot, as /rig/<slot>/get does", "a bundle of slot replies"),
    ("/map/list", "", "the gesture mappings' names", "/map/list s..."),
)


def entries(controller: RigController) -> list[Entry]:
    """The full namespace of the running rig."""
    out = [Entry(a, t, d, access=WRITE, reply=r) for a, t, d, r in GLOBAL_ADDRESSES]
    for which in ("input_gain", "output_gain"):
        out.append(Entry(f"/rig/{which}", "f", f"rig {which.replace('_', ' ')}",
                         minimum=-60.0, maximum=24.0, unit="dB",
                         value=lambda w=which: (controller.gains()[w],),
                         reply=f"/rig/{which} f on /get"))
    for slot_id in controller.slot_ids():
        out.extend(slot_entries(controller, slot_id))
    return out


def slot_entries(controller: RigController, slot_id: str) -> list[Entry]:
    view = controller.slot(slot_id)
    base = f"/rig/{slot_id}"
    out = [
        Entry(f"{base}/bypass", "i", f"bypass {slot_id} (1) or run it (0); crossfaded",
              minimum=0, maximum=1, value=lambda: (int(view.bypass),)),
        Entry(f"{base}/mix", "f", f"dry/wet mix of {slot_id}", minimum=0.0, maximum=1.0,
              value=lambda: (view.mix,)),
        Entry(f"{base}/get", "", f"every parameter of {slot_id}", access=WRITE,
              reply=f"a bundle: each {base}/... address with its value"),
    ]
    for option in view.option_specs.values():
        out.append(Entry(f"{base}/{option.name}", OPTION_TYPES[option.kind],
                         f"{option.description or option.name} (rebuilds the slot, "
                         "crossfaded)",
                         value=lambda o=option.name: (option_value(view, o),)))
    if view.accepts_notes:
        out.append(Entry(f"{base}/note", "ii", "note number, velocity (0 = off)",
                         access=WRITE))
    for name, spec in view.specs.items():
        out.append(Entry(f"{base}/{name}", "f", spec.description or name,
                         minimum=spec.minimum, maximum=spec.maximum, unit=spec.unit,
                         value=lambda n=name: (view.values[n],),
                         reply=f"{base}/{name} f on /get"))
        out.append(Entry(f"{base}/{name}/norm", "f",
                         f"{name} from 0..1 ({spec.curve} curve over its range)",
                         minimum=0.0, maximum=1.0,
                         value=lambda n=name, s=spec: (s.to_norm(view.values[n]),)))
    return out
