"""Mapping files: examples and trained regressors survive a save and load; `neuralrig map`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from neuralrig.mappings import examples
from neuralrig.mappings.examples import MappingData, MappingFileError
from neuralrig.mappings.training import train


def xy_pad_examples(n: int, seed: int = 0) -> MappingData:
    u = np.random.default_rng(seed).uniform(0, 1, (n, 2))
    y = np.stack([np.sin(3 * u[:, 0]) * 0.5 + 0.5, u[:, 0] * u[:, 1], 2 * u[:, 1] - 1], 1)
    return MappingData("pad", ["/xy"], [2], ["drive/drive", "rave/z1", "rave/z2"], u, y)


def test_examples_and_a_trained_regressor_reload_to_the_same_outputs(tmp_path: Path) -> None:
    data = xy_pad_examples(120)
    data.smoothing, data.running = 0.3, True
    outcome = train(data.x, data.y)
    data.regressor, data.validation_error = outcome.regressor, outcome.validation_error
    path = tmp_path / "pad.mapping.safetensors"
    examples.save(path, data)
    again = examples.load(path)
    assert (again.name, again.inputs, again.outputs) == (data.name, data.inputs, data.outputs)
    assert (again.smoothing, again.running) == (0.3, True)
    np.testing.assert_array_equal(again.x, data.x)
    probe = np.random.default_rng(9).uniform(0, 1, (50, 2))
    assert again.regressor is not None
    np.testing.assert_array_equal(again.regressor.predict(probe), outcome.regressor.predict(probe))
    assert again.validation_error == pytest.approx(outcome.validation_error)
    assert outcome.kind == "spline" and outcome.validation_error < 0.02


def test_a_bad_mapping_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.mapping.safetensors"
    path.write_bytes(b"not safetensors at all")
    with pytest.raises(MappingFileError, match=r"bad\.mapping\.safetensors: not a readable"):
        examples.load(path)
    with pytest.raises(MappingFileError, match="no such mapping file"):
        examples.load(tmp_path / "missing.mapping.safetensors")
    with pytest.raises(MappingFileError, match="mapping name"):
        MappingData("../etc", ["/xy"], [2], ["a/b"])
    with pytest.raises(MappingFileError, match=r"smoothing nan: 0 \(none\) to 10 seconds"):
        MappingData("pad", ["/xy"], [2], ["a/b"], smoothing=float("nan"))


def test_examples_must_fit_the_declaration() -> None:
    with pytest.raises(MappingFileError, match="do not fit"):
        MappingData("pad", ["/xy"], [2], ["a/b"], np.zeros((3, 3)), np.zeros((3, 1)))


def test_map_train_and_eval_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "pad.mapping.safetensors"
    examples.save(path, xy_pad_examples(200))
    done = run_cli("map", "train", str(path))
    assert done.returncode == 0, done.stderr
    trained = json.loads(done.stdout)
    assert trained["regressor"] == "spline" and trained["validation_error"] < 0.02
    assert examples.load(path).regressor is not None
    done = run_cli("map", "eval", str(path), "--folds", "4")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cv_error_worst"] < 0.02 and set(report["per_output"]) == {
        "drive/drive", "rave/z1", "rave/z2"}
    bad = run_cli("map", "train", str(tmp_path / "nothing.mapping.safetensors"))
    assert bad.returncode != 0 and "no such mapping file" in bad.stderr
    assert "Traceback" not in bad.stderr
