"""A mapping file: its declaration, its recorded examples and its trained regressor.

One safetensors file per mapping (``NAME.mapping.safetensors``): the examples
``x`` (n, input dims) and ``y`` (n, outputs) and the regressor's arrays as
float64 tensors, and everything else (inputs, outputs, regressor settings,
validation error) as JSON in the header's metadata. No pickle; written
atomically, so a crash mid-save leaves the previous file whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralrig.server.errors import NeuralrigError

from .regressors import Regressor, RegressorError

FORMAT = "neuralrig-mapping"
VERSION = 1
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class MappingFileError(NeuralrigError, ValueError):
    """A mapping file that cannot be used; the message names the file and the problem."""


MAX_SMOOTHING = 10.0  # seconds


def check_smoothing(seconds: float) -> float:
    if not 0.0 <= seconds <= MAX_SMOOTHING:  # NaN fails too
        raise MappingFileError(f"smoothing {seconds!r}: 0 (none) to {MAX_SMOOTHING:g} "
                               "seconds")
    return float(seconds)


@dataclass
class MappingData:
    name: str
    inputs: list[str]  # gesture sources: an OSC address, midi/cc/CH/N, midi/bend/CH, ...
    input_dims: list[int]  # numbers each source contributes
    outputs: list[str]  # "slot/param"
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    y: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    regressor_kind: str = "auto"
    regressor: Regressor | None = None
    validation_error: float | None = None  # RMSE as a share of each output's range, worst
    running: bool = False  # maps gestures as they come (resumes after a restart)
    smoothing: float = 0.0  # seconds: the outputs' glide time constant (0: none)

    def __post_init__(self) -> None:
        check_smoothing(self.smoothing)
        if not NAME.fullmatch(self.name):
            raise MappingFileError(f"mapping name {self.name!r}: use 1-64 letters, digits, "
                                   "- or _")
        if len(self.inputs) != len(self.input_dims):
            raise MappingFileError(f"mapping {self.name}: {len(self.inputs)} inputs but "
                                   f"{len(self.input_dims)} input sizes")
        width = sum(self.input_dims)
        if self.x.size == 0:
            self.x = np.zeros((0, width))
            self.y = np.zeros((0, len(self.outputs)))
        if self.x.shape[1:] != (width,) or self.y.shape[1:] != (len(self.outputs),) \
                or len(self.x) != len(self.y):
            raise MappingFileError(
                f"mapping {self.name}: examples {self.x.shape} -> {self.y.shape} do not fit "
                f"{width} input numbers and {len(self.outputs)} outputs")

    @property
    def count(self) -> int:
        return len(self.x)

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = np.vstack([self.x, np.asarray(x, np.float64).reshape(1, -1)])
        self.y = np.vstack([self.y, np.asarray(y, np.float64).reshape(1, -1)])


def save(path: str | Path, data: MappingData) -> None:
    from safetensors.numpy import save_file

    from neuralrig.server.atomic import write_atomic

    tensors = {"examples.x": np.ascontiguousarray(data.x, np.float64),
               "examples.y": np.ascontiguousarray(data.y, np.float64)}
    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": data.name,
                            "inputs": data.inputs, "input_dims": data.input_dims,
                            "outputs": data.outputs, "regressor_kind": data.regressor_kind,
                            "validation_error": data.validation_error,
                            "running": data.running, "smoothing": data.smoothing}
    if data.regressor is not None:
        settings, arrays = data.regressor.state()
        meta["regressor"] = settings
        tensors.update({f"regressor.{k}": np.ascontiguousarray(v, np.float64)
                        for k, v in arrays.items()})
    write_atomic(path, lambda tmp: save_file(tensors, tmp,
                                             metadata={"neuralrig": json.dumps(meta)}))


def load(path: str | Path) -> MappingData:
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            header = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise MappingFileError(f"{path}: no such mapping file") from None
    except Exception as exc:  # safetensors raises several types for a bad file
        raise MappingFileError(f"{path}: not a readable mapping file ({exc})") from None
    try:
        meta = json.loads(header["neuralrig"])
        if meta.get("format") != FORMAT:
            raise MappingFileError(f"{path}: not a neuralrig mapping file")
        if int(meta.get("version", 0)) > VERSION:
            raise MappingFileError(f"{path}: mapping format {meta['version']} is newer than "
                                   f"this neuralrig ({VERSION})")
        data = MappingData(
            name=str(meta["name"]), inputs=[str(i) for i in meta["inputs"]],
            input_dims=[int(d) for d in meta["input_dims"]],
            outputs=[str(o) for o in meta["outputs"]], x=tensors["examples.x"],
            y=tensors["examples.y"], regressor_kind=str(meta.get("regressor_kind", "auto")),
            validation_error=meta.get("validation_error"),
            running=bool(meta.get("running", False)),
            smoothing=check_smoothing(float(meta.get("smoothing", 0.0))))
        if "regressor" in meta:
            arrays = {k[len("regressor."):]: v for k, v in tensors.items()
                      if k.startswith("regressor.")}
            data.regressor = Regressor.from_state(meta["regressor"], arrays)
    except MappingFileError:
        raise
    except (KeyError, TypeError, ValueError, RegressorError, json.JSONDecodeError) as exc:
        raise MappingFileError(f"{path}: bad mapping file ({type(exc).__name__}: {exc})") \
            from None
    return data
