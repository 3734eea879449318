"""One slot of the chain: a processor between smoothed controls, bypass, mix and meters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import SlotConfig
from ..errors import ConfigError
from .params import ParamSpec
from .processor import BuildContext, Processor
from .pyo_env import pyo

BYPASS_FADE = 0.02  # seconds; bypass crossfades instead of switching
MIX_SMOOTHING = 0.03
METER_WINDOW = 4096  # samples a meter summarises (85 ms at 48 kHz)


class Meter:
    """Keeps the last METER_WINDOW samples of a signal; read off the audio thread."""

    def __init__(self, signal: Any, channels: int) -> None:
        self._tables = [pyo.DataTable(METER_WINDOW) for _ in range(channels)]
        self._fill = pyo.TableFill(signal, self._tables)

    def read(self) -> dict[str, list[float]]:
        """Peak and RMS per channel, in dBFS, over the last window."""
        peaks, rms = [], []
        for table in self._tables:
            # A copy: a view must never outlive its pyo table (pyo does not
            # keep a table alive for its buffer's users).
            block = np.array(table.getBuffer(), dtype=np.float64)
            peaks.append(_dbfs(float(np.max(np.abs(block)))))
            rms.append(_dbfs(float(np.sqrt(np.mean(block * block)))))
        return {"peak_db": peaks, "rms_db": rms}


def _dbfs(value: float) -> float:
    return round(float(20.0 * np.log10(value)), 2) if value > 1e-10 else -200.0


def split_settings(
    cls: type[Processor], settings: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate a slot's options (declared by the class) from its parameter values."""
    option_names = {o.name for o in cls.options}
    options = {k: v for k, v in settings.items() if k in option_names}
    params = {k: v for k, v in settings.items() if k not in option_names}
    return options, params


class SlotInstance:
    """A processor wired into the graph, with everything the engine controls at run time."""

    def __init__(self, config: SlotConfig, source: Any, ctx: BuildContext) -> None:
        from ..dsp.registry import processor_class

        self.id = config.id
        where = f"{config.id!r}" + (f" (line {config.line})" if config.line else "")
        cls = processor_class(config.type)
        options, param_values = split_settings(cls, config.settings)
        try:
            self.processor = cls(options, ctx)
        except ConfigError as exc:
            raise ConfigError(f"slot {where}: {exc}") from None
        self.values: dict[str, float] = {p.name: p.default for p in self.processor.params}
        for name, value in param_values.items():
            try:
                spec = self.processor.spec(name)
            except ConfigError as exc:
                raise type(exc)(f"slot {where}: {exc}") from None
            self.values[name] = self._checked(spec, value, where)

        self.controls = {
            spec.name: pyo.SigTo(
                self.values[spec.name], time=spec.smoothing, init=self.values[spec.name]
            )
            for spec in self.processor.params
        }
        self.bypass = config.bypass
        self.mix = config.mix
        enabled = 0.0 if config.bypass else 1.0
        self._enabled = pyo.SigTo(enabled, time=BYPASS_FADE, init=enabled)
        self._mix = pyo.SigTo(config.mix, time=MIX_SMOOTHING, init=config.mix)

        wet = self.processor.build(source, self.controls)
        latency = self.processor.latency_samples
        # The dry path is delayed by the processor's latency so mixing stays aligned.
        dry = source if latency == 0 else pyo.Delay(source, delay=latency / ctx.sample_rate)
        self._amount = self._mix * self._enabled
        self.output = pyo.Interp(dry, wet, interp=self._amount)
        self.meter = Meter(self.output, ctx.channels)
        self._keep = (wet, dry)

    @staticmethod
    def _checked(spec: ParamSpec, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"slot {where}: {spec.name} must be a number, got {value!r}")
        try:
            return spec.clamp(value)
        except ValueError as exc:
            raise ConfigError(f"slot {where}: {exc}") from None

    @property
    def latency_samples(self) -> int:
        return self.processor.latency_samples

    def release(self) -> None:
        self.processor.release()
        self._keep = ()

    # The setters below run on the audio thread at a block boundary (see Engine).
    def apply_param(self, name: str, value: float) -> None:
        self.values[name] = value
        self.controls[name].value = value

    def apply_bypass(self, bypass: bool) -> None:
        self.bypass = bypass
        self._enabled.value = 0.0 if bypass else 1.0

    def apply_mix(self, mix: float) -> None:
        self.mix = mix
        self._mix.value = mix

    def state(self) -> dict[str, Any]:
        state = {
            "id": self.id,
            "type": self.processor.kind,
            "bypass": self.bypass,
            "mix": self.mix,
            "params": dict(self.values),
            "latency_samples": self.latency_samples,
        }
        report = self.processor.report()
        if report:
            state["stats"] = report
        return state
