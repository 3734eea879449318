"""A small Transformer encoder over a sliding window of samples (the seed's, "for comparison").

Design: the model is a causal FIR-like map of the last W inputs. Each output
sample y[t] is the linear decoder applied to the last position of a
Transformer encoder run over the window [x[t-W+1], ..., x[t]] (each row is
[audio, control 1, ...]; rows before the signal starts are zeros). The
streaming state is that window, one per channel; every sample the window
slides by one and is re-encoded in full (positional encodings are tied to
window positions, so nothing carries over), which costs O(layers x W x
(W + FF) x d_model) per sample: slow, and meant for comparison, not for live
use at large sizes.

Config::

    {"window": 16, "d_model": 8, "nhead": 2, "num_layers": 2, "dim_feedforward": 32,
     "activation": "ReLU", "layer_norm_eps": 1e-5}

Tensors in PyTorch names (models/nets/transformer.py's ``state_dict``):
``encoder.weight`` (D, 1 + K), ``encoder.bias`` (D,), per layer l
``layers.{l}.self_attn.in_proj_weight`` (3D, D), ``...in_proj_bias`` (3D,),
``...self_attn.out_proj.weight`` (D, D), ``...out_proj.bias`` (D,),
``layers.{l}.linear1.weight`` (FF, D), ``.linear1.bias``, ``.linear2.weight`` (D, FF),
``.linear2.bias``, ``.norm1.weight``/``.bias``, ``.norm2.weight``/``.bias`` (D,),
``decoder.weight`` (1, D), ``decoder.bias`` (1,). Encoder layers are post-norm
(``norm_first=False``) with ReLU feed-forward, as torch's TransformerEncoderLayer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import ModelError

from .base import StreamingModel, as_f32
from .formats.native import register_architecture
from .recurrent import check_tensors
from .runtime.transformer import transformer_block

LIMITS = {"window": (1, 256), "d_model": (1, 256), "nhead": (1, 64), "num_layers": (1, 16),
          "dim_feedforward": (1, 4096)}


def sinusoidal_encoding(length: int, d_model: int) -> np.ndarray:
    """pe[p, 2i] = sin(p / 10000^(2i/d)), pe[p, 2i+1] = cos(p / 10000^(2i/d)); float32."""
    pe = np.zeros((length, d_model), np.float64)
    position = np.arange(length, dtype=np.float64)[:, None]
    div = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = np.sin(position * div)
    pe[:, 1::2] = np.cos(position * div)[:, : d_model // 2]
    return pe.astype(np.float32)


def validate_transformer_config(config: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, (low, high) in LIMITS.items():
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ModelError(f"Transformer: '{key}' must be an integer {low}..{high}, "
                             f"got {value!r}")
        clean[key] = value
    if clean["d_model"] % clean["nhead"]:
        raise ModelError(f"Transformer: d_model {clean['d_model']} is not divisible by "
                         f"nhead {clean['nhead']}")
    activation = config.get("activation", "ReLU")
    if activation != "ReLU":
        raise ModelError(f"Transformer: unsupported activation {activation!r} (only ReLU)")
    eps = config.get("layer_norm_eps", 1e-5)
    if (not isinstance(eps, (int, float)) or isinstance(eps, bool) or not math.isfinite(eps)
            or not 0 < eps < 1):
        raise ModelError(f"Transformer: 'layer_norm_eps' must be in (0, 1), got {eps!r}")
    clean["activation"] = activation
    clean["layer_norm_eps"] = float(eps)
    return clean


def transformer_shapes(config: Mapping[str, Any], inputs: int) -> dict[str, tuple]:
    d, ff = config["d_model"], config["dim_feedforward"]
    shapes: dict[str, tuple] = {"encoder.weight": (d, inputs), "encoder.bias": (d,)}
    for layer in range(config["num_layers"]):
        p = f"layers.{layer}."
        shapes.update({
            p + "self_attn.in_proj_weight": (3 * d, d), p + "self_attn.in_proj_bias": (3 * d,),
            p + "self_attn.out_proj.weight": (d, d), p + "self_attn.out_proj.bias": (d,),
            p + "linear1.weight": (ff, d), p + "linear1.bias": (ff,),
            p + "linear2.weight": (d, ff), p + "linear2.bias": (d,),
            p + "norm1.weight": (d,), p + "norm1.bias": (d,),
            p + "norm2.weight": (d,), p + "norm2.bias": (d,),
        })
    shapes["decoder.weight"] = (1, d)
    shapes["decoder.bias"] = (1,)
    return shapes


class TransformerModel(StreamingModel):
    architecture = "transformer"

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *,
                 controls: Sequence[ParamSpec] = ()) -> None:
        self.controls = tuple(controls)
        self.config = validate_transformer_config(config)
        self.inputs = 1 + len(self.controls)
        check_tensors(transformer_shapes(self.config, self.inputs), tensors)
        self.tensors = {k: as_f32(v) for k, v in tensors.items()}
        c, t = self.config, self.tensors
        self.window, self.d_model = c["window"], c["d_model"]
        self.nhead = c["nhead"]
        self.eps = np.float32(c["layer_norm_eps"])
        self._pe = sinusoidal_encoding(self.window, self.d_model)
        self._enc_w, self._enc_b = t["encoder.weight"], t["encoder.bias"]

        def stack(name: str) -> np.ndarray:
            return np.ascontiguousarray(np.stack(
                [t[f"layers.{k}.{name}"] for k in range(c["num_layers"])]))

        self._in_w, self._in_b = stack("self_attn.in_proj_weight"), stack("self_attn.in_proj_bias")
        self._out_w = stack("self_attn.out_proj.weight")
        self._out_b = stack("self_attn.out_proj.bias")
        self._l1_w, self._l1_b = stack("linear1.weight"), stack("linear1.bias")
        self._l2_w, self._l2_b = stack("linear2.weight"), stack("linear2.bias")
        self._n1_w, self._n1_b = stack("norm1.weight"), stack("norm1.bias")
        self._n2_w, self._n2_b = stack("norm2.weight"), stack("norm2.bias")
        self._dec_w = t["decoder.weight"][0].copy()
        self._dec_b = np.float32(t["decoder.bias"][0])
        self.weight_count = int(sum(v.size for v in t.values()))

    def allocate(self, channels: int, max_block: int) -> None:
        w, d = self.window, self.d_model
        self._hist = np.zeros((channels, w, self.inputs), np.float32)
        self._h = np.zeros((w, d), np.float32)
        self._qkv = np.zeros((w, 3 * d), np.float32)
        self._att = np.zeros(d, np.float32)
        self._tmp = np.zeros(d, np.float32)
        self._ff = np.zeros(self.config["dim_feedforward"], np.float32)
        self._scores = np.zeros(w, np.float32)

    def clear_state(self) -> None:
        self._hist.fill(0.0)

    def run(self, x: np.ndarray, ctrl: np.ndarray, out: np.ndarray) -> None:
        transformer_block(x, ctrl, out, self._hist, self._enc_w, self._enc_b, self._pe,
                          self._in_w, self._in_b, self._out_w, self._out_b, self._l1_w,
                          self._l1_b, self._l2_w, self._l2_b, self._n1_w, self._n1_b,
                          self._n2_w, self._n2_b, self._dec_w, self._dec_b, self.nhead,
                          self.eps, self._h, self._qkv, self._att, self._tmp, self._ff,
                          self._scores)

    def export_native(self) -> tuple[str, dict, dict]:
        return "transformer", dict(self.config), dict(self.tensors)

    def describe(self) -> str:
        c = self.config
        return (f"Transformer {c['num_layers']} layers, d_model {c['d_model']}, "
                f"{c['nhead']} heads, window {c['window']}; " + super().describe())


@register_architecture("transformer")
def _transformer(config, tensors, controls) -> TransformerModel:
    return TransformerModel(config, tensors, controls=controls)
