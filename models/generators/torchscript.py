"""Load a TorchScript generator that follows nn~'s contract (a RAVE export, or our own).

The contract, as nn~ reads it: every usable method ``m`` has a buffer
``m_params = [in_channels, in_ratio, out_channels, out_ratio]``; the module lists
its methods with ``get_methods()`` (older exports: any method with a ``_params``
buffer); each method maps one 3-D float tensor (batch, channels, frames) to
another, ``frames * in_ratio / out_ratio`` long. The sample rate comes from
``get_sample_rate()`` (``-1`` when unset), else a ``sampling_rate`` buffer (RAVE
v1), else the rig's setting. ``get_latency()`` is a neuralrig extension: the
model's own delay in samples, 0 when absent.

A TorchScript file is code, restricted to TorchScript's operators: load files
you trust, as with nn~. The loader only reads files the rig resolved inside
its model folders, and probes every method once on silence so a broken
export is refused here, not on the audio thread.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neuralrig.server.errors import ModelError

KNOWN_METHODS = ("encode", "decode", "forward", "prior")
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class MethodSpec:
    name: str
    in_channels: int
    in_ratio: int
    out_channels: int
    out_ratio: int


class ScriptedGenerator:
    """A loaded nn~-contract module with its methods, rate, ratio and latent size."""

    def __init__(self, path: Path, module: Any, methods: dict[str, MethodSpec],
                 sample_rate: int, latency: int, device: torch.device) -> None:
        self.path = path
        self.module = module
        self.methods = methods
        self.sample_rate = sample_rate
        self.latency = latency
        self.device = device

    # -- what the slot needs to know ------------------------------------------
    @property
    def ratio(self) -> int:
        """Samples per latent frame (the largest ratio of any method)."""
        return max(max(m.in_ratio, m.out_ratio) for m in self.methods.values())

    @property
    def latent_size(self) -> int:
        if "decode" in self.methods:
            return self.methods["decode"].in_channels
        if "encode" in self.methods:
            return self.methods["encode"].out_channels
        return 0

    @property
    def audio_channels(self) -> int:
        for name in ("forward", "encode"):
            if name in self.methods:
                return self.methods[name].in_channels
        return 1

    def has(self, method: str) -> bool:
        return method in self.methods

    def call(self, method: str, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.module, method)(x)

    def reset(self) -> None:
        """Clear streaming caches when the module offers a way to (our own models do)."""
        if _has_method(self.module, "reset_state"):
            self.module.reset_state()

    def describe(self) -> str:
        names = ", ".join(self.methods)
        return (f"{self.path.name}: {names}; {self.sample_rate} Hz, ratio {self.ratio}, "
                f"{self.latent_size} latent dims, latency {self.latency} samples")


def load_generator(path: str | Path, *, sample_rate: int | None = None,
                   device: str = "cpu") -> ScriptedGenerator:
    """Load and check ``path``; every refusal is a ModelError naming the file and problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ModelError(f"{path}: {size >> 20} MiB, above the {MAX_FILE_BYTES >> 20} MiB limit")
    dev = _device(device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=dev)
    except Exception as exc:  # torch raises RuntimeError, ValueError, zipfile errors...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a TorchScript file ({first[:200]})") from None
    module.eval()
    try:
        methods = _methods(module)
        rate = _sample_rate(module, sample_rate)
        latency = _latency(module)
        # Probed on a copy: a streaming model's caches (RAVE's have no reset_state) would
        # keep the probe's activations and colour the first real chunk.
        probe = copy.deepcopy(module)
        for spec in methods.values():
            _probe(probe, spec, dev)
        del probe
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    generator = ScriptedGenerator(path, module, methods, rate, latency, dev)
    generator.reset()
    return generator


def _device(name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ModelError("device 'cuda' asked for, but torch sees no CUDA GPU here "
                             "(set device = \"cpu\")")
        return torch.device("cuda")
    if name != "cpu":
        raise ModelError(f"unknown device {name!r} (cpu or cuda)")
    return torch.device("cpu")


def _has_method(module: Any, name: str) -> bool:
    try:
        return callable(getattr(module, name))
    except (AttributeError, RuntimeError):
        return False


def _buffers(module: Any) -> dict[str, torch.Tensor]:
    return dict(module.named_buffers(recurse=False))


def _methods(module: Any) -> dict[str, MethodSpec]:
    buffers = _buffers(module)
    if _has_method(module, "get_methods"):
        names = [str(n) for n in module.get_methods()]
    else:
        names = [k[: -len("_params")] for k in buffers if k.endswith("_params")]
    names = [n for n in names if _has_method(module, n) and f"{n}_params" in buffers]
    if not names:
        raise ModelError("TorchScript module without nn~'s contract: no method with a "
                         "<method>_params buffer (an nn~/RAVE export has encode_params, "
                         "decode_params...)")
    specs: dict[str, MethodSpec] = {}
    for name in names:
        params = buffers[f"{name}_params"]
        values = [int(v) for v in params.flatten().tolist()]
        if len(values) != 4 or min(values) < 1:
            raise ModelError(f"{name}_params must be 4 positive integers [in_channels, "
                             f"in_ratio, out_channels, out_ratio], got {values}")
        specs[name] = MethodSpec(name, *values)
    if not any(n in specs for n in ("decode", "forward")):
        raise ModelError(f"methods {sorted(specs)}: a generator needs decode or forward")
    return specs


def _sample_rate(module: Any, fallback: int | None) -> int:
    if _has_method(module, "get_sample_rate"):
        rate = int(module.get_sample_rate())
        if rate > 0:
            return rate
    buffers = _buffers(module)
    if "sampling_rate" in buffers:
        rate = int(buffers["sampling_rate"].flatten()[0].item())
        if rate > 0:
            return rate
    if fallback:
        return int(fallback)
    raise ModelError("the model declares no sample rate (no get_sample_rate(), no "
                     "sampling_rate buffer): set the slot's sample_rate option")


def _latency(module: Any) -> int:
    if _has_method(module, "get_latency"):
        latency = int(module.get_latency())
        if latency < 0:
            raise ModelError(f"get_latency() returned {latency}")
        return latency
    return 0


def _probe(module: Any, spec: MethodSpec, device: torch.device) -> None:
    """Run the method once on silence and check its output's shape, as nn~ does."""
    ratio = max(spec.in_ratio, spec.out_ratio)
    frames = max(8192, ratio) // spec.in_ratio
    x = torch.zeros(1, spec.in_channels, frames, device=device)
    try:
        with torch.inference_mode():
            y = getattr(module, spec.name)(x)
    except Exception as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"method {spec.name} fails on silence: {first[:200]}") from None
    want = (1, spec.out_channels, frames * spec.in_ratio // spec.out_ratio)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != want:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ModelError(f"method {spec.name} returned {got} for {tuple(x.shape)}; its "
                         f"_params promise {want}")
    if y.dtype != torch.float32:
        raise ModelError(f"method {spec.name} returned {y.dtype}, not float32")
