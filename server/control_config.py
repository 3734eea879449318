"""The control sections of a rig config: [osc], [oscquery], [discovery], [midi].

Parsed and validated here (called by ``config.parse_config``), so every
frontend receives settings it can trust. Defaults give a rig that TouchOSC
finds on the network and an expression pedal that works out of the box.

    [osc]
    port = 9000              # UDP; 0 turns OSC off
    host = "0.0.0.0"         # address to listen on
    reply_port = 0           # 0: reply to the port a packet came from
    subscription_timeout = 30.0   # seconds a silent subscriber is kept

    [oscquery]
    port = 9001              # HTTP + WebSocket; 0 turns OSCQuery off

    [discovery]
    enabled = true
    name = ""                # advertised name; "" means "neuralrig on <host>"
    interfaces = []          # addresses to advertise on; [] means all

    [midi]
    enabled = true
    api = "auto"             # auto (JACK when a JACK server runs, else ALSA), jack, alsa
    port_name = "neuralrig"
    connect = ["*"]          # fnmatch patterns of hardware ports to connect to
    feedback = ["*"]         # patterns of output ports that get parameter echoes
    program_channel = "omni" # omni, 1-16 or none
    note_channel = "omni"
    expression = true        # CC 11 -> level.gain, CC 4 -> the first neural slot's first control

    [[midi.cc]]
    cc = 7
    channel = "omni"
    slot = "level"
    param = "gain"
    min = -40.0              # optional: part of the parameter's range
    max = 0.0
    curve = "linear"         # linear, log, exp, or the parameter's own (default)
    mode = "absolute"        # absolute or relative (two's complement)
    lsb = 39                 # optional: 14-bit pair (cc is the MSB)

    [[midi.switch]]
    cc = 80
    slot = "drive"
    action = "bypass"        # bypass or tap (tap tempo for a delay's time)
    mode = "latching"        # latching: each press toggles; momentary: held = active

    [[midi.switch]]          # a gesture mapping's loop from the floor
    cc = 81
    mapping = "pad"
    action = "record"        # record, example, train or run
    mode = "momentary"       # record and run: held (momentary) or toggled (latching)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

Channel = int | None  # 1-16, or None for omni

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,62}$")
CURVES = ("param", "linear", "log", "exp")
MODES = ("absolute", "relative")
SLOT_ACTIONS = ("bypass", "tap")
MAPPING_ACTIONS = ("record", "example", "train", "run")  # on a gesture mapping
ACTIONS = SLOT_ACTIONS + MAPPING_ACTIONS
SWITCH_MODES = ("latching", "momentary")
MIDI_APIS = ("auto", "jack", "alsa")


@dataclass(frozen=True)
class OscSettings:
    port: int = 9000
    host: str = "0.0.0.0"
    reply_port: int = 0
    subscription_timeout: float = 30.0


@dataclass(frozen=True)
class DiscoverySettings:
    enabled: bool = True
    name: str = ""
    interfaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class CCMapping:
    """A controller number (and channel) driving one slot parameter."""

    cc: int
    slot: str
    param: str
    channel: Channel = None
    minimum: float | None = None
    maximum: float | None = None
    curve: str = "param"
    mode: str = "absolute"
    lsb: int | None = None

    def as_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cc": self.cc, "channel": channel_text(self.channel),
                               "slot": self.slot, "param": self.param}
        if self.minimum is not None:
            out["min"] = self.minimum
        if self.maximum is not None:
            out["max"] = self.maximum
        out["curve"] = self.curve
        out["mode"] = self.mode
        if self.lsb is not None:
            out["lsb"] = self.lsb
        return out


@dataclass(frozen=True)
class SwitchMapping:
    """A footswitch: a CC whose value >= 64 means pressed. It acts on a slot (bypass,
    tap) or on a gesture mapping (record, example, train, run); ``slot`` or
    ``mapping`` names it, the other is empty."""

    cc: int
    slot: str
    action: str = "bypass"
    mode: str = "latching"
    channel: Channel = None
    mapping: str = ""

    def as_toml(self) -> dict[str, Any]:
        target = {"mapping": self.mapping} if self.mapping else {"slot": self.slot}
        return {"cc": self.cc, "channel": channel_text(self.channel), **target,
                "action": self.action, "mode": self.mode}


@dataclass(frozen=True)
class MidiSettings:
    enabled: bool = True
    api: str = "auto"
    port_name: str = "neuralrig"
    connect: tuple[str, ...] = ("*",)
    feedback: tuple[str, ...] = ("*",)
    program_channel: Channel | str = None  # None: omni; "none": ignore program changes
    note_channel: Channel | str = None
    expression: bool = True
    cc: tuple[CCMapping, ...] = ()
    switches: tuple[SwitchMapping, ...] = ()


@dataclass(frozen=True)
class ControlSettings:
    osc: OscSettings = field(default_factory=OscSettings)
    oscquery_port: int = 9001
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    midi: MidiSettings = field(default_factory=MidiSettings)


def channel_text(channel: Channel | str) -> int | str:
    return "omni" if channel is None else channel


def parse_control(data: dict[str, Any], source: str) -> ControlSettings:
    osc = _section(data, "osc", source, {"port", "host", "reply_port", "subscription_timeout"})
    oscquery = _section(data, "oscquery", source, {"port"})
    disc = _section(data, "discovery", source, {"enabled", "name", "interfaces"})
    midi = _section(data, "midi", source, {
        "enabled", "api", "port_name", "connect", "feedback", "program_channel",
        "note_channel", "expression", "cc", "switch"})
    where = f"{source}: [osc]"
    osc_settings = OscSettings(
        port=_port(osc, "port", 9000, where),
        host=_string(osc, "host", "0.0.0.0", where),
        reply_port=_port(osc, "reply_port", 0, where),
        subscription_timeout=_positive(osc, "subscription_timeout", 30.0, where),
    )
    where = f"{source}: [discovery]"
    name = _string(disc, "name", "", where)
    if name and not NAME_PATTERN.match(name):
        raise ConfigError(f"{where} name {name!r}: use letters, digits, spaces and ._()- "
                          "(at most 63 characters)")
    discovery = DiscoverySettings(
        enabled=_bool(disc, "enabled", True, where), name=name,
        interfaces=_strings(disc, "interfaces", (), where))
    return ControlSettings(
        osc=osc_settings,
        oscquery_port=_port(oscquery, "port", 9001, f"{source}: [oscquery]"),
        discovery=discovery,
        midi=_parse_midi(midi, source),
    )


def _parse_midi(midi: dict[str, Any], source: str) -> MidiSettings:
    where = f"{source}: [midi]"
    api = _string(midi, "api", "auto", where)
    if api not in MIDI_APIS:
        raise ConfigError(f"{where} api must be one of {', '.join(MIDI_APIS)}, got {api!r}")
    port_name = _string(midi, "port_name", "neuralrig", where)
    if not NAME_PATTERN.match(port_name):
        raise ConfigError(f"{where} port_name {port_name!r}: use letters, digits and ._()-")
    cc_raw = midi.get("cc", [])
    switch_raw = midi.get("switch", [])
    if not isinstance(cc_raw, list) or not all(isinstance(t, dict) for t in cc_raw):
        raise ConfigError(f"{where} 'cc' must be an array of tables ([[midi.cc]])")
    if not isinstance(switch_raw, list) or not all(isinstance(t, dict) for t in switch_raw):
        raise ConfigError(f"{where} 'switch' must be an array of tables ([[midi.switch]])")
    return MidiSettings(
        enabled=_bool(midi, "enabled", True, where),
        api=api,
        port_name=port_name,
        connect=_strings(midi, "connect", ("*",), where),
        feedback=_strings(midi, "feedback", ("*",), where),
        program_channel=_channel(midi.get("program_channel", "omni"), f"{where} program_channel",
                                 allow_none=True),
        note_channel=_channel(midi.get("note_channel", "omni"), f"{where} note_channel",
                              allow_none=True),
        expression=_bool(midi, "expression", True, where),
        cc=tuple(parse_cc_mapping(t, f"{source}: [[midi.cc]] #{i + 1}")
                 for i, t in enumerate(cc_raw)),
        switches=tuple(_parse_switch(t, f"{source}: [[midi.switch]] #{i + 1}")
                       for i, t in enumerate(switch_raw)),
    )


def parse_cc_mapping(table: dict[str, Any], where: str) -> CCMapping:
    """One [[midi.cc]] table (also used for presets and MIDI learn)."""
    _known(table, {"cc", "channel", "slot", "param", "min", "max", "curve", "mode", "lsb"}, where)
    cc = _cc(table, "cc", where, required=True)
    lsb = _cc(table, "lsb", where) if "lsb" in table else None
    if lsb is not None and (cc > 31 or lsb != cc + 32):
        raise ConfigError(f"{where}: a 14-bit pair is an MSB 0-31 with its LSB 32 higher "
                          f"(cc {cc} needs lsb {cc + 32})" if cc <= 31 else
                          f"{where}: 14-bit pairs use MSB controllers 0-31, not {cc}")
    minimum = _optional_number(table, "min", where)
    maximum = _optional_number(table, "max", where)
    curve = _choice(table, "curve", "param", CURVES, where)
    mode = _choice(table, "mode", "absolute", MODES, where)
    if mode == "relative" and lsb is not None:
        raise ConfigError(f"{where}: relative mode has no 14-bit form; drop 'lsb'")
    return CCMapping(cc=cc, slot=_required_string(table, "slot", where),
                     param=_required_string(table, "param", where),
                     channel=_channel(table.get("channel", "omni"), f"{where} channel"),
                     minimum=minimum, maximum=maximum, curve=curve, mode=mode, lsb=lsb)


def _parse_switch(table: dict[str, Any], where: str) -> SwitchMapping:
    _known(table, {"cc", "channel", "slot", "mapping", "action", "mode"}, where)
    action = _choice(table, "action", "bypass", ACTIONS, where)
    if action in MAPPING_ACTIONS:
        if "slot" in table:
            raise ConfigError(f"{where}: action '{action}' acts on a gesture mapping: name "
                              "it with 'mapping', not 'slot'")
        slot, mapping = "", _required_string(table, "mapping", where)
    else:
        if "mapping" in table:
            raise ConfigError(f"{where}: action '{action}' acts on a slot: name it with "
                              "'slot', not 'mapping'")
        slot, mapping = _required_string(table, "slot", where), ""
    return SwitchMapping(cc=_cc(table, "cc", where, required=True), slot=slot,
                         action=action,
                         mode=_choice(table, "mode", "latching", SWITCH_MODES, where),
                         channel=_channel(table.get("channel", "omni"), f"{where} channel"),
                         mapping=mapping)


# -- small validators ---------------------------------------------------------
def _section(data: dict[str, Any], name: str, source: str, keys: set[str]) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    _known(value, keys, f"{source}: [{name}]")
    return value


def _known(table: dict[str, Any], keys: set[str], where: str) -> None:
    extra = set(table) - keys
    if extra:
        raise ConfigError(f"{where} has unknown key(s) {sorted(extra)} "
                          f"(known: {', '.join(sorted(keys))})")


def _port(table: dict[str, Any], key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"{where} {key} must be a port number 0-65535 (0: off), got {value!r}")
    return value


def _positive(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{where} {key} must be a positive number, got {value!r}")
    return float(value)


def _string(table: dict[str, Any], key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where} {key} must be a string, got {value!r}")
    return value


def _required_string(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' is required (a name), got {value!r}")
    return value


def _strings(table: dict[str, Any], key: str, default: tuple[str, ...], where: str
             ) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} {key} must be a list of strings")
    return tuple(value)


def _bool(table: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {key} must be true or false, got {value!r}")
    return value


def _cc(table: dict[str, Any], key: str, where: str, required: bool = False) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127:
        raise ConfigError(f"{where}: '{key}' must be a controller number 0-127, got {value!r}")
    return value


def _optional_number(table: dict[str, Any], key: str, where: str) -> float | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}")
    return float(value)


def _choice(table: dict[str, Any], key: str, default: str, choices: tuple[str, ...],
            where: str) -> str:
    value = table.get(key, default)
    if value not in choices:
        raise ConfigError(f"{where}: '{key}' must be one of {', '.join(choices)}, got {value!r}")
    return value


def _channel(value: Any, where: str, allow_none: bool = False) -> Channel | str:
    """'omni' -> None; 1-16 -> int; 'none' (where allowed) -> 'none'."""
    if value == "omni":
        return None
    if allow_none and value == "none":
        return "none"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16:
        allowed = "omni, 1-16" + (" or none" if allow_none else "")
        raise ConfigError(f"{where} must be {allowed}, got {value!r}")
    return value
