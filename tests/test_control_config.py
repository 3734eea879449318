"""The [osc], [oscquery], [discovery] and [midi] sections: defaults and clear errors."""

from __future__ import annotations

import pytest

from neuralrig.server.config import parse_config
from neuralrig.server.control_config import CCMapping, SwitchMapping
from neuralrig.server.errors import ConfigError


def test_defaults_listen_on_9000_advertise_and_open_midi() -> None:
    control = parse_config("").control
    assert (control.osc.port, control.osc.host, control.oscquery_port) == (9000, "0.0.0.0", 9001)
    assert control.discovery.enabled and control.discovery.interfaces == ()
    assert control.midi.enabled and control.midi.api == "auto" and control.midi.expression
    assert control.midi.program_channel is None  # omni


def test_mappings_parse_with_their_channels_and_pairs() -> None:
    config = parse_config("""
[[slot]]
id = "level"
type = "gain"
[[slot]]
id = "delay"
type = "delay"
[midi]
program_channel = 16
note_channel = "none"
[[midi.cc]]
cc = 1
lsb = 33
channel = 2
slot = "level"
param = "gain"
min = -20
max = 0
curve = "log"
[[midi.switch]]
cc = 80
slot = "delay"
action = "tap"
mode = "momentary"
[[midi.switch]]
cc = 81
mapping = "pad"
action = "record"
""")
    midi = config.control.midi
    assert midi.program_channel == 16 and midi.note_channel == "none"
    assert midi.cc == (CCMapping(cc=1, slot="level", param="gain", channel=2, minimum=-20.0,
                                 maximum=0.0, curve="log", lsb=33),)
    assert midi.switches == (SwitchMapping(cc=80, slot="delay", action="tap",
                                           mode="momentary"),
                             SwitchMapping(cc=81, slot="", action="record", mapping="pad"))
    assert midi.switches[1].as_toml() == {"cc": 81, "channel": "omni", "mapping": "pad",
                                          "action": "record", "mode": "latching"}


@pytest.mark.parametrize("text, message", [
    ("[osc]\nport = 70000", "port number"),
    ("[osc]\nport = 'x'", "port number"),
    ("[osc]\nsubscription_timeout = 0", "positive"),
    ("[osc]\nbogus = 1", "unknown key"),
    ("[oscquery]\nport = -1", "port number"),
    ("[discovery]\nname = 'a/b'", "name"),
    ("[discovery]\ninterfaces = 3", "list of strings"),
    ("[midi]\napi = 'coreaudio'", "api must be one of"),
    ("[midi]\nprogram_channel = 17", "omni, 1-16 or none"),
    ("[[midi.cc]]\ncc = 128\nslot = 'a'\nparam = 'b'", "0-127"),
    ("[[midi.cc]]\ncc = 7\nparam = 'b'", "'slot' is required"),
    ("[[midi.cc]]\ncc = 7\nslot = 'a'\nparam = 'b'\nchannel = 0", "omni, 1-16"),
    ("[[midi.cc]]\ncc = 7\nslot = 'a'\nparam = 'b'\ncurve = 'cubic'", "'curve' must be"),
    ("[[midi.cc]]\ncc = 7\nslot = 'a'\nparam = 'b'\nlsb = 40", "cc 7 needs lsb 39"),
    ("[[midi.cc]]\ncc = 40\nslot = 'a'\nparam = 'b'\nlsb = 72", "MSB controllers 0-31"),
    ("[[midi.cc]]\ncc = 7\nslot = 'a'\nparam = 'b'\nlsb = 39\nmode = 'relative'",
     "no 14-bit form"),
    ("[[midi.switch]]\ncc = 80\nslot = 'a'\naction = 'launch'", "'action' must be"),
    ("[[midi.switch]]\ncc = 80\nslot = 'a'\naction = 'train'", "name it with 'mapping'"),
    ("[[midi.switch]]\ncc = 80\nmapping = 'a'", "name it with 'slot'"),
    ("[[midi.switch]]\ncc = 80\naction = 'run'", "'mapping' is required"),
    ("[paths]\npresets = 3", "presets must be a folder"),
    ("[[midi.cc]]\ncc = 7\nslot = 'amp'\nparam = 'b'", "slot 'amp', which is not in the rig"),
])
def test_bad_control_settings_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, source="rig.toml")
