"""neuralrig's own model file: round trip, and refusal of malformed files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from neuralrig.models.builtin import tiny_lstm
from neuralrig.models.formats import load_model
from neuralrig.models.formats.native import save_model
from neuralrig.server.errors import ModelError
from neuralrig.server.render import model_rig, render_array


def test_saved_lstm_renders_like_the_built_in(tmp_path) -> None:
    path = tmp_path / "tiny.safetensors"
    model = tiny_lstm()
    model.sample_rate = 48000
    save_model(path, model, provenance={"made_by": "test"})
    x = (0.2 * np.random.default_rng(0).standard_normal((2000, 1))).astype(np.float32)
    a = render_array(model_rig(path), x, 48000)
    b = render_array(model_rig("tiny-lstm"), x, 48000)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert load_model(path).metadata["provenance"] == {"made_by": "test"}
    # Readable by the daemon's own user, not just the one who trained it.
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.safetensors"]  # no temp file left


def _write(path, tensors, meta) -> None:
    save_file(tensors, str(path), metadata={"neuralrig": json.dumps(meta)} if meta else None)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("nan", "NaN or Inf"),
        ("shape", "has shape"),
        ("arch", "unsupported architecture"),
        ("size", "outside"),
        ("nometa", "without neuralrig metadata"),
        ("rate", "sample_rate"),
        ("json", "not valid JSON"),
    ],
)
def test_malformed_files_are_refused(tmp_path, case: str, message: str) -> None:
    tensors = {k: v.copy() for k, v in tiny_lstm().tensors.items()}
    meta = {"format": 1, "architecture": "lstm", "config": {"hidden_size": 8}}
    if case == "nan":
        tensors["head.bias"][0] = float("nan")
    elif case == "shape":
        tensors["head.weight"] = np.zeros((1, 9), np.float32)
    elif case == "arch":
        meta["architecture"] = "transformer-xxl"
    elif case == "size":
        meta["config"] = {"hidden_size": 100000}
    elif case == "nometa":
        meta = None
    elif case == "rate":
        meta["sample_rate"] = -5
    path = tmp_path / f"{case}.safetensors"
    if case == "json":
        path = tmp_path / "broken.nam"
        path.write_text('{"version": "0.5.4", "architecture": ')
    else:
        _write(path, tensors, meta)
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)
