"""WaveNet in NAM's "A1" form: layer arrays of dilated convolutions with a condition mixer.

Config (neuralrig's normalised form, which the NAM loader produces too)::

    {"layers": [{"input_size", "condition_size", "channels", "head_size",
                 "kernel_sizes": [...], "dilations": [...], "activation",
                 "gated", "head_bias"}, ...],
     "head_scale": 0.02}

Tensors per array ``a`` and layer ``l``: ``a{a}.rechannel.weight`` (C, Cin),
``a{a}.l{l}.conv.weight`` (Z, C, K) and ``.conv.bias`` (Z), ``.mixer.weight``
(Z, Ccond), ``.out.weight`` (C, C) and ``.out.bias`` (C), ``a{a}.head.weight``
(H, C) and ``a{a}.head.bias`` (H) when ``head_bias``; Z = 2C when gated.
The condition is [x, controls...], so knobs condition every layer.

Optional ``"knob_weights": [L_0, L_1, ...]`` (one lattice per control: a count of evenly
spread points, or a list of positions from 0 to 1): the weights follow the knobs as
well. Every tensor gains a leading axis of weight sets, one per point of the lattice over
the controls' normalised range (``runtime.knob_blend``), and each block runs with the
sets blended at the block's control values. A block costs what the
plain WaveNet's does; only the blend (when a knob moves) and the file grow.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .base import StreamingModel, as_f32
from .recurrent import check_tensors
from .runtime.activations import ACTIVATION_CODES
from .runtime.blas import gemm_args, sgemm_address
from .runtime.knob_blend import blend_weights, lattice_arrays, lattice_size, lattice_text
from .runtime.wavenet import wavenet_array_block

MAX_CHANNELS = 256
MAX_LAYERS_PER_ARRAY = 64
MAX_DILATION = 1 << 16
MAX_KNOB_POINTS = 17  # per control
MAX_WEIGHT_SETS = 256


def knob_points(config: Mapping[str, Any]) -> tuple[int | tuple[float, ...], ...]:
    """The lattice of weight sets (``knob_weights``), or () for one set of weights."""
    return tuple(e if isinstance(e, int) else tuple(float(v) for v in e)
                 for e in config.get("knob_weights") or ())


def _lattice_problem(entry: Any) -> str | None:
    """Why one control's lattice is not valid, or None."""
    if isinstance(entry, bool) or not isinstance(entry, (int, list, tuple)):
        return f"{entry!r} is neither a count nor a list of positions"
    if isinstance(entry, int):
        return None if 1 <= entry <= MAX_KNOB_POINTS else \
            f"{entry} points is outside 1..{MAX_KNOB_POINTS}"
    if not 2 <= len(entry) <= MAX_KNOB_POINTS or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) for v in entry):
        return f"{entry!r} is not a list of 2..{MAX_KNOB_POINTS} numbers"
    if entry[0] != 0 or entry[-1] != 1 or any(b <= a for a, b in itertools.pairwise(entry)):
        return f"{list(entry)} does not rise from 0 to 1"
    return None


def wavenet_tensor_shapes(config: Mapping[str, Any]) -> dict[str, tuple]:
    shapes: dict[str, tuple] = {}
    for a, arr in enumerate(config["layers"]):
        c, z = arr["channels"], arr["channels"] * (2 if arr["gated"] else 1)
        shapes[f"a{a}.rechannel.weight"] = (c, arr["input_size"])
        for n, k in enumerate(arr["kernel_sizes"]):
            shapes[f"a{a}.l{n}.conv.weight"] = (z, c, k)
            shapes[f"a{a}.l{n}.conv.bias"] = (z,)
            shapes[f"a{a}.l{n}.mixer.weight"] = (z, arr["condition_size"])
            shapes[f"a{a}.l{n}.out.weight"] = (c, c)
            shapes[f"a{a}.l{n}.out.bias"] = (c,)
        shapes[f"a{a}.head.weight"] = (arr["head_size"], c)
        if arr["head_bias"]:
            shapes[f"a{a}.head.bias"] = (arr["head_size"],)
    lattice = knob_points(config)
    if lattice:
        shapes = {k: (lattice_size(lattice), *v) for k, v in shapes.items()}
    return shapes


def validate_wavenet_config(config: Mapping[str, Any], n_controls: int) -> None:
    arrays = config.get("layers")
    if not isinstance(arrays, list) or not arrays:
        raise ModelError("WaveNet config needs a non-empty 'layers' list")
    previous_channels = previous_head = None
    for a, arr in enumerate(arrays):
        where = f"WaveNet layer array {a}"
        for key in ("input_size", "condition_size", "channels", "head_size"):
            value = arr.get(key)
            if not isinstance(value, int) or not 1 <= value <= MAX_CHANNELS:
                raise ModelError(f"{where}: '{key}' must be an integer 1..{MAX_CHANNELS}, "
                                 f"got {value!r}")
        ks, ds = arr.get("kernel_sizes"), arr.get("dilations")
        if not isinstance(ds, list) or not 1 <= len(ds) <= MAX_LAYERS_PER_ARRAY:
            raise ModelError(f"{where}: 'dilations' must list 1..{MAX_LAYERS_PER_ARRAY} layers")
        if not isinstance(ks, list) or len(ks) != len(ds):
            raise ModelError(f"{where}: 'kernel_sizes' must match 'dilations' in length")
        for k, d in zip(ks, ds, strict=True):
            if not isinstance(k, int) or not 1 <= k <= 64:
                raise ModelError(f"{where}: kernel size {k!r} outside 1..64")
            if not isinstance(d, int) or not 1 <= d <= MAX_DILATION:
                raise ModelError(f"{where}: dilation {d!r} outside 1..{MAX_DILATION}")
        if arr.get("activation") not in ACTIVATION_CODES:
            raise ModelError(f"{where}: unsupported activation {arr.get('activation')!r} "
                             f"(supported: {', '.join(ACTIVATION_CODES)})")
        if a == 0 and arr["input_size"] != 1:
            raise ModelError(f"{where}: the first array's input_size must be 1 (mono audio)")
        if arr["condition_size"] != 1 + n_controls:
            raise ModelError(f"{where}: condition_size {arr['condition_size']} must be "
                             f"1 + {n_controls} controls")
        if previous_channels is not None and arr["input_size"] != previous_channels:
            raise ModelError(f"{where}: input_size {arr['input_size']} must equal the "
                             f"previous array's channels ({previous_channels})")
        if previous_head is not None and previous_head != arr["channels"]:
            raise ModelError(f"{where}: channels {arr['channels']} must equal the previous "
                             f"array's head_size ({previous_head}) to sum head outputs")
        previous_channels, previous_head = arr["channels"], arr["head_size"]
    if arrays[-1]["head_size"] != 1:
        raise ModelError("WaveNet: the last array's head_size must be 1 (mono output)")
    scale = config.get("head_scale")
    if not isinstance(scale, (int, float)) or not np.isfinite(scale):
        raise ModelError(f"WaveNet: head_scale must be a finite number, got {scale!r}")
    lattice = config.get("knob_weights")
    if lattice is not None:
        if not isinstance(lattice, list) or len(lattice) != n_controls or not n_controls:
            raise ModelError(f"WaveNet: knob_weights must give one lattice per control "
                             f"({n_controls}), got {lattice!r}")
        for name, entry in enumerate(lattice):
            problem = _lattice_problem(entry)
            if problem:
                raise ModelError(f"WaveNet: knob_weights for control {name}: {problem}")
        if lattice_size(lattice) > MAX_WEIGHT_SETS:
            raise ModelError(f"WaveNet: knob_weights {lattice} make {lattice_size(lattice)} "
                             f"weight sets, more than {MAX_WEIGHT_SETS}")


class _Array:
    """One layer array's weights, stacked for the kernel."""

    def __init__(self, index: int, arr: Mapping[str, Any], tensors: Mapping[str, np.ndarray]):
        c = arr["channels"]
        z = c * (2 if arr["gated"] else 1)
        n = len(arr["dilations"])
        kmax = max(arr["kernel_sizes"])
        self.channels, self.head_size = c, arr["head_size"]
        self.act = ACTIVATION_CODES[arr["activation"]]
        self.slope = np.float32(arr.get("negative_slope", 0.01))
        self.gated = bool(arr["gated"])
        self.dilations = np.asarray(arr["dilations"], np.int64)
        self.kernel_sizes = np.asarray(arr["kernel_sizes"], np.int64)
        self.reach = int(np.max((self.kernel_sizes - 1) * self.dilations))
        p = f"a{index}."
        self.rechannel = as_f32(tensors[p + "rechannel.weight"])
        conv_w = np.zeros((n, z, c, kmax), np.float32)
        self.conv_b = np.zeros((n, z), np.float32)
        self.mix_w = np.zeros((n, z, arr["condition_size"]), np.float32)
        self.out_w = np.zeros((n, c, c), np.float32)
        self.out_b = np.zeros((n, c), np.float32)
        for layer, k in enumerate(arr["kernel_sizes"]):
            q = f"{p}l{layer}."
            conv_w[layer, :, :, :k] = tensors[q + "conv.weight"]
            self.conv_b[layer] = tensors[q + "conv.bias"]
            self.mix_w[layer] = tensors[q + "mixer.weight"]
            self.out_w[layer] = tensors[q + "out.weight"]
            self.out_b[layer] = tensors[q + "out.bias"]
        # Per tap, contiguous (Z, C): each tap is one matrix product in the kernel.
        self.conv_wk = np.ascontiguousarray(conv_w.transpose(0, 3, 1, 2))
        self.z_channels = z
        self.head_w = as_f32(tensors[p + "head.weight"])
        head_b = tensors.get(p + "head.bias")
        self.head_b = as_f32(head_b) if head_b is not None else np.zeros(self.head_size,
                                                                          np.float32)
        self.layers = n
        self.receptive_field = 1 + int(np.sum((self.kernel_sizes - 1) * self.dilations))

    WEIGHTS = ("rechannel", "conv_wk", "conv_b", "mix_w", "out_w", "out_b", "head_w", "head_b")

    def weights(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.WEIGHTS]

    def rebind(self, flat: np.ndarray, offset: int) -> int:
        """Make every weight a view of ``flat`` from ``offset`` on (values copied in);
        returns the offset after them."""
        for name in self.WEIGHTS:
            w = getattr(self, name)
            view = flat[offset:offset + w.size].reshape(w.shape)
            view[...] = w
            setattr(self, name, view)
            offset += w.size
        return offset


class _KnobWeights:
    """The weight sets of a ``knob_weights`` WaveNet, blended into the live arrays'."""

    def __init__(self, lattice: tuple, config: Mapping[str, Any],
                 tensors: Mapping[str, np.ndarray], live: list[_Array]) -> None:
        self.lattice = lattice
        self.counts, self.positions = lattice_arrays(lattice)
        sets = lattice_size(lattice)
        size = sum(w.size for arr in live for w in arr.weights())
        self.anchors = np.zeros((sets, size), np.float32)
        for row in range(sets):
            one = {k: v[row] for k, v in tensors.items()}
            arrays = [_Array(i, arr, one) for i, arr in enumerate(config["layers"])]
            self.anchors[row] = np.concatenate([w.ravel() for a in arrays for w in a.weights()])
        self.live = np.zeros(size, np.float32)
        offset = 0
        for arr in live:
            offset = arr.rebind(self.live, offset)
        self.coeffs = np.zeros(sets, np.float32)
        self.last = np.full(len(lattice), np.nan, np.float32)  # NaN: never blended yet

    def follow(self, values: np.ndarray) -> None:
        """Blend the live weights at ``values`` (normalised) if they moved; no allocation."""
        blend_weights(values, self.last, self.counts, self.positions, self.coeffs,
                      self.anchors, self.live)


class WaveNetModel(StreamingModel):
    architecture = "wavenet"

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *,
                 controls: Sequence[ParamSpec] = ()) -> None:
        self.controls = tuple(controls)
        validate_wavenet_config(config, len(self.controls))
        check_tensors(wavenet_tensor_shapes(config), tensors)
        self.config = dict(config)
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        points = knob_points(config)
        first = {k: v[0] for k, v in self.tensors.items()} if points else self.tensors
        self._arrays = [_Array(i, arr, first) for i, arr in enumerate(config["layers"])]
        self._knobs = _KnobWeights(points, config, self.tensors, self._arrays) if points \
            else None
        self.head_scale = np.float32(config["head_scale"])
        self.receptive_field = 1 + sum(a.receptive_field - 1 for a in self._arrays)
        self.prewarm_samples = self.receptive_field - 1
        self.weight_count = int(sum(v.size for v in self.tensors.values())) + 1
        # What one block runs with: the whole count, or one weight set's share of it.
        sets = lattice_size(points) if points else 1
        self.weights_per_setting = (self.weight_count - 1) // sets + 1

    def allocate(self, channels: int, max_block: int) -> None:
        self._state = []
        for _ in range(channels):
            per_array = []
            for arr in self._arrays:
                length = arr.reach + max(64 * max_block, 4096)
                hist = np.zeros((arr.layers, arr.channels, length), np.float32)
                per_array.append((hist, np.array([arr.reach], np.int64)))
            self._state.append(per_array)
        width = max(a.channels for a in self._arrays)
        zmax = max(a.z_channels for a in self._arrays)
        self._z = np.zeros((zmax, max_block), np.float32)
        self._a = np.zeros((width, max_block), np.float32)
        self._head_acc = np.zeros((width, max_block), np.float32)
        self._resid = [np.zeros((a.channels, max_block), np.float32) for a in self._arrays]
        self._heads = [np.zeros((a.head_size, max_block), np.float32) for a in self._arrays]
        self._cond = np.zeros((1 + len(self.controls), max_block), np.float32)
        self._no_head = np.zeros((0, max_block), np.float32)
        self._ints, self._floats = gemm_args()
        self._sgemm = sgemm_address()

    def clear_state(self) -> None:
        for per_array in self._state:
            for (hist, pos), arr in zip(per_array, self._arrays, strict=True):
                hist.fill(0.0)
                pos[0] = arr.reach

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        frames = x.shape[1]
        if self._knobs is not None and frames:  # the block's weights: blended at its end
            self._knobs.follow(ctrl[:, frames - 1])
        cond = self._cond[:, :frames]
        cond[1:] = ctrl
        for ch in range(x.shape[0]):
            cond[0] = x[ch]
            layer_in = x[ch : ch + 1]
            head_prev = self._no_head[:, :frames]
            for arr, (hist, pos), resid, head in zip(
                self._arrays, self._state[ch], self._resid, self._heads, strict=True
            ):
                c = arr.channels
                wavenet_array_block(
                    layer_in, cond, head_prev, arr.rechannel, arr.conv_wk, arr.conv_b,
                    arr.mix_w, arr.out_w, arr.out_b, arr.dilations, arr.kernel_sizes,
                    arr.act, arr.slope, arr.gated, hist, pos, arr.reach, arr.head_w,
                    arr.head_b, self._z[: arr.z_channels, :frames], self._a[:c, :frames],
                    self._head_acc[:c, :frames], resid[:, :frames], head[:, :frames],
                    self._sgemm, self._ints, self._floats,
                )
                layer_in, head_prev = resid[:, :frames], head[:, :frames]
            np.multiply(head_prev[0], self.head_scale, out=out[ch])

    def export_native(self) -> tuple[str, dict, dict]:
        return "wavenet", dict(self.config), dict(self.tensors)

    def describe(self) -> str:
        arrays = " -> ".join(f"{a.channels}ch x{a.layers}" + (" gated" if a.gated else "")
                             for a in self._arrays)
        weights = f"{self.weight_count} weights"
        if self._knobs is not None:
            lattice = lattice_text(self._knobs.lattice).replace(",", "x")
            weights = (f"{self.weights_per_setting} weights per setting, blended from "
                       f"{lattice} knob points ({self.weight_count} in all)")
        return (f"WaveNet {arrays}, {weights}, receptive field "
                f"{self.receptive_field}; " + super().describe())
