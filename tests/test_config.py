"""Rig config parsing: valid rigs load, every kind of mistake is named."""

from __future__ import annotations

import pytest

from neuralrig.server.config import load_config, parse_config
from neuralrig.server.errors import ConfigError


def test_default_rig_loads() -> None:
    config = load_config(None)
    assert config.slots, "the shipped default rig has slots"
    assert config.sample_rate == 48000 and config.channels in (1, 2)


def test_slots_keep_order_settings_bypass_and_mix() -> None:
    config = parse_config(
        """
[engine]
sample_rate = 44100
block = 64
channels = 2
input_gain = -3.0
[[slot]]
id = "a"
type = "gain"
gain = -6.0
[[slot]]
id = "b-2"
type = "gain"
bypass = true
mix = 0.25
"""
    )
    assert [s.id for s in config.slots] == ["a", "b-2"]
    assert config.slots[0].settings == {"gain": -6.0}
    assert config.slots[1].bypass and config.slots[1].mix == 0.25
    assert (config.sample_rate, config.block, config.channels) == (44100, 64, 2)
    assert config.input_gain == -3.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[engine]\nblock = 100\n", "power of two"),
        ("[engine]\nsample_rate = 12345\n", "sample_rate 12345 unsupported"),
        ("[engine]\nchannels = 6\n", "channels must be 1"),
        ("[engine]\nbufsize = 64\n", "unknown key(s) ['bufsize']"),
        ("[engin]\n", "unknown section(s) ['engin']"),
        ('[[slot]]\nid = "1bad"\ntype = "gain"\n', "needs an 'id'"),
        ('[[slot]]\nid = "a"\n', "needs a 'type'"),
        ('[[slot]]\nid = "a"\ntype = "gain"\n[[slot]]\nid = "a"\ntype = "gain"\n', "used twice"),
        ('[[slot]]\nid = "a"\ntype = "gain"\nmix = 2.0\n', "mix must be"),
        ('[[slot]]\nid = "a"\ntype = "gain"\nbypass = "yes"\n', "bypass must be"),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="rig.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("rig.toml")


def test_invalid_toml_reports_its_line() -> None:
    text = '[engine]\nblock = 128\n\n[[slot]]\nid = "a"\ntype = gain\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="rig.toml")
    assert "line 6" in str(info.value)


def test_slot_errors_name_the_line(tmp_path) -> None:
    text = '[[slot]]\nid = "a"\ntype = "gain"\n\n[[slot]]\nid = "b"\ntype = "gain"\nmix = -1\n'
    path = tmp_path / "rig.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:5" in str(info.value)


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
