"""Gain: a level change in dB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...engine.params import ParamSpec
from ...engine.processor import Processor
from ...engine.pyo_env import pyo
from ..registry import register


@register
class Gain(Processor):
    kind = "gain"
    summary = "Level change in dB."
    params = (ParamSpec("gain", -60.0, 24.0, 0.0, "dB", description="level change"),)

    def build(self, source: Any, controls: Mapping[str, Any]) -> Any:
        return source * pyo.DBToA(controls["gain"])
