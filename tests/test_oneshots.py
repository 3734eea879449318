"""The one-shot sample-pack generator: constrained edit, attack-weighted loss, train-samples,
the model file and the shipped model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from neuralrig.models.generators.oneshots import dataset, features, synth
from neuralrig.models.generators.oneshots import train as train_module
from neuralrig.models.generators.oneshots.edit import constrained_edit
from neuralrig.models.generators.oneshots.losses import (
    LossConfig,
    attack_envelope,
    reconstruction_loss,
)
from neuralrig.models.generators.oneshots.model import OneShotModel
from neuralrig.server.cli import main
from neuralrig.server.config import builtin_data_dir
from neuralrig.server.errors import ModelError

SR = 22050
SHIPPED = builtin_data_dir() / "oneshots.safetensors"


# -- constrained edit ------------------------------------------------------------------------

def test_constrained_edit_reaches_the_targets_with_the_smallest_move() -> None:
    rng = np.random.default_rng(3)
    d = 16
    A, c, z = rng.standard_normal((4, d)), rng.standard_normal(4), rng.standard_normal(d)
    rows = [0, 2]
    targets = A[rows] @ z + c[rows] + np.array([1.5, -0.7])
    edited = constrained_edit(z, A[rows], c[rows], targets)
    np.testing.assert_allclose(A[rows] @ edited + c[rows], targets, atol=1e-10)
    move = edited - z
    # The move lies in the row space of the constrained estimators...
    coef = np.linalg.lstsq(A[rows].T, move, rcond=None)[0]
    np.testing.assert_allclose(A[rows].T @ coef, move, atol=1e-10)
    # ...so every other move that reaches the targets is longer.
    null = scipy.linalg.null_space(A[rows])
    for _ in range(50):
        other = move + null @ rng.standard_normal(null.shape[1])
        np.testing.assert_allclose(A[rows] @ (z + other) + c[rows], targets, atol=1e-9)
        assert np.linalg.norm(other) > np.linalg.norm(move)
    # A feature whose estimator is orthogonal to the constrained ones does not change.
    for direction in null.T:
        assert direction @ edited == pytest.approx(direction @ z, abs=1e-10)


def test_constrained_edit_without_targets_leaves_z_alone() -> None:
    z = np.arange(8.0)
    out = constrained_edit(z, np.zeros((0, 8)), np.zeros(0), np.zeros(0))
    np.testing.assert_array_equal(out, z)
    assert out is not z


def test_constrained_edit_with_repeated_constraints_uses_the_pseudo_inverse() -> None:
    rng = np.random.default_rng(4)
    row = rng.standard_normal(6)
    z = rng.standard_normal(6)
    A = np.stack([row, row])  # the same feature twice: singular A Aᵀ
    out = constrained_edit(z, A, np.zeros(2), np.array([2.0, 2.0]))
    assert row @ out == pytest.approx(2.0, abs=1e-9)


# -- attack weighting -------------------------------------------------------------------------

def test_attack_envelope_weights_the_first_100_ms_more() -> None:
    n = round(0.3 * SR)
    e = attack_envelope(n, SR).numpy()
    assert e[0] == pytest.approx(6.0)
    assert e[round(0.1 * SR)] == pytest.approx(1 + 5 / np.e, rel=1e-4)
    assert np.all(np.diff(e) < 0)
    assert e[: round(0.1 * SR)].mean() > 2 * e[round(0.1 * SR):].mean()


def test_the_loss_weights_an_error_in_the_attack_more_than_the_same_error_later() -> None:
    n = round(0.3 * SR)
    rng = np.random.default_rng(0)
    target = torch.from_numpy((0.3 * rng.standard_normal(n)).astype(np.float32))[None]
    error = torch.from_numpy((0.1 * rng.standard_normal(1100)).astype(np.float32))
    early, late = target.clone(), target.clone()
    early[0, 200:1300] += error  # 9-59 ms
    late[0, 4400:5500] += error  # 200-250 ms
    cfg, e = LossConfig(), attack_envelope(n, SR)
    plain_early = reconstruction_loss(early, target, cfg, None).item()
    plain_late = reconstruction_loss(late, target, cfg, None).item()
    weighted_early = reconstruction_loss(early, target, cfg, e).item()
    weighted_late = reconstruction_loss(late, target, cfg, e).item()
    assert plain_early == pytest.approx(plain_late, rel=0.2)  # unweighted: about the same
    assert weighted_early != pytest.approx(plain_early, rel=0.1)
    assert weighted_early > 3 * weighted_late  # weighted: the attack error costs far more


def test_training_applies_the_attack_envelope(tmp_path: Path, monkeypatch) -> None:
    """The weight reaches the signals the training loss compares (Latent Play computed it
    and never used it): watched at the innermost layer, the multi-resolution STFT
    distance that the reconstruction term is made of, whose inputs must be the batch's
    signals times the envelope."""
    from neuralrig.models.generators.oneshots import losses as losses_module

    inputs: list[tuple[torch.Tensor, torch.Tensor]] = []
    real = losses_module.mrstft

    def spy(pred, target, resolutions):
        inputs.append((pred.detach().clone(), target.detach().clone()))
        return real(pred, target, resolutions)

    monkeypatch.setattr(losses_module, "mrstft", spy)
    synth.write_pack(tmp_path / "pack", per_pack=2)
    data = dataset.load_pack(tmp_path / "pack", SR, round(0.3 * SR))
    train_module.fit(data, train_module.TrainSettings(epochs=1, latent=4, channels=(4, 8),
                                                      hidden=16, batch=8))
    assert inputs  # the STFT distance is part of the objective
    envelope = attack_envelope(data.audio.shape[1], SR)
    assert envelope[0] > 4.0 * envelope[-1]  # a real weighting: the attack counts most
    clips = torch.from_numpy(np.asarray(data.audio, np.float32))
    for _, target in inputs[:3]:  # each target is one of the pack's clips, weighted
        ratio = target / envelope
        matches = [torch.allclose(ratio[k], clip, atol=1e-5)
                   for k in range(len(target)) for clip in clips]
        assert sum(matches) >= len(target)


# -- features and the pack ----------------------------------------------------------------------

def test_features_measure_what_they_say() -> None:
    t = np.arange(round(0.3 * SR)) / SR
    tau = 0.03
    x = np.sin(2 * np.pi * 220.0 * t) * np.minimum(t / 0.02, 1) * np.exp(-np.maximum(t - 0.02,
                                                                                    0) / tau)
    pitch, attack, release, bright = features.extract(x, SR)
    assert pitch == pytest.approx(-12.0, abs=0.2)            # A3
    assert 10 ** attack == pytest.approx(0.016, rel=0.25)    # 10-90 % of a 20 ms ramp
    assert 10 ** release == pytest.approx(tau * np.log(10), rel=0.2)  # -20 dB after the peak
    assert bright == pytest.approx(-12.0, abs=3.0)           # a sine: centroid near it


def test_the_pack_is_reproducible_and_varied() -> None:
    a = synth.one_shot("plucks", 5, seed=1)
    np.testing.assert_array_equal(a, synth.one_shot("plucks", 5, seed=1))
    assert not np.array_equal(a, synth.one_shot("plucks", 6, seed=1))
    lengths = [synth.one_shot("kicks", i).size / SR for i in range(10)]
    assert all(0.3 <= s <= 0.5 for s in lengths) and np.ptp(lengths) > 0.05


# -- train-samples ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    folder = tmp_path_factory.mktemp("train-samples")
    synth.write_pack(folder / "pack", per_pack=3)
    threads = torch.get_num_threads()
    rc = main(["train-samples", str(folder / "pack"), "-o", str(folder / "tiny.safetensors"),
               "--epochs", "2", "--latent", "4", "--threads", "1"])
    return folder, rc, str(threads)


def test_train_samples_writes_model_report_and_plots(tiny_run) -> None:
    folder, rc, threads = tiny_run
    assert rc == 0
    assert str(torch.get_num_threads()) == threads  # --threads is undone afterwards
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["pack", "tiny.loss.png", "tiny.map.png", "tiny.recon.png",
                     "tiny.report.json", "tiny.safetensors"]  # no temporary files left
    for png in folder.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import json

    report = json.loads((folder / "tiny.report.json").read_text())
    assert set(report["reconstruction"]["per_pack"]) == {"hats", "kicks", "plucks", "snares"}
    assert set(report["feature_r2"]["fit_all"]) == {"pitch", "attack", "release", "brightness"}
    assert len(report["pca_explained_variance"]) == 2
    assert report["train_seconds"] > 0
    train = report["reconstruction"]["train"]
    assert train["weighted"] != pytest.approx(train["unweighted"], rel=0.05)


def test_the_trained_model_loads_and_generates(tiny_run) -> None:
    folder, _, _ = tiny_run
    model = OneShotModel.load(folder / "tiny.safetensors")
    assert model.packs == ["hats", "kicks", "plucks", "snares"]
    assert "kicks/kick_002" in model.names and len(model.names) == 12
    assert model.points.shape == (12, 4) and model.latent_size == 4
    assert model.sample_rate == SR and model.length == round(0.3 * SR)
    audio = model.generate(model.points[0])
    assert audio.shape == (model.length,) and audio.dtype == np.float32
    assert np.isfinite(audio).all()


def test_train_samples_refuses_an_empty_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty" / "kicks").mkdir(parents=True)
    rc = main(["train-samples", str(tmp_path / "empty"), "-o", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "no WAV files found" in err and str(tmp_path / "empty") in err
    assert not (tmp_path / "m.safetensors").exists()


def test_train_samples_refuses_a_corrupt_wav_by_name(tmp_path: Path, capsys) -> None:
    synth.write_pack(tmp_path / "pack", per_pack=2)
    (tmp_path / "pack" / "kicks" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    rc = main(["train-samples", str(tmp_path / "pack"), "-o", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "broken.wav" in err and "unreadable" in err
    assert not (tmp_path / "m.safetensors").exists()


def test_train_samples_help_has_an_example(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train-samples", "--help"])
    assert exit_info.value.code == 0
    assert "neuralrig train-samples packs/ -o oneshots.safetensors" in capsys.readouterr().out


# -- the model file ---------------------------------------------------------------------------

def test_load_refuses_files_that_are_not_one_shot_models(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": np.zeros(4, np.float32)}, str(plain))
    with pytest.raises(ModelError, match=r"plain\.safetensors: not a neuralrig one-shot model"):
        OneShotModel.load(plain)
    effect = builtin_data_dir() / "overdrive-lstm.safetensors"
    with pytest.raises(ModelError, match=r"overdrive-lstm\.safetensors: not a one-shot model"):
        OneShotModel.load(effect)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match=r"junk\.safetensors: not a readable safetensors"):
        OneShotModel.load(junk)
    with pytest.raises(ModelError, match=r"missing\.safetensors: model file not found"):
        OneShotModel.load(tmp_path / "missing.safetensors")


# -- the shipped model --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> OneShotModel:
    return OneShotModel.load(SHIPPED)


def test_the_shipped_model_generates_one_shots(shipped: OneShotModel) -> None:
    assert shipped.packs == ["hats", "kicks", "plucks", "snares"]
    assert shipped.feature_names == ("pitch", "attack", "release", "brightness")
    threads = torch.get_num_threads()
    audio = shipped.generate(shipped.points[0])
    assert torch.get_num_threads() == threads
    assert audio.shape == (shipped.length,) and audio.dtype == np.float32
    assert np.isfinite(audio).all() and 0.05 < np.abs(audio).max() <= 1.0
    out = np.empty(shipped.length, np.float32)
    shipped.generate_into(shipped.points[0], out)
    np.testing.assert_array_equal(out, audio)
    results: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: results.append(shipped.generate(shipped.points[0])))
    worker.start()
    worker.join()
    np.testing.assert_array_equal(results[0], audio)


def test_the_shipped_latent_map_is_consistent(shipped: OneShotModel) -> None:
    m = shipped
    coords = np.array([m.pca_coords(z) for z in m.points])
    np.testing.assert_allclose(coords.min(axis=0), [-1, -1], atol=1e-9)
    np.testing.assert_allclose(coords.max(axis=0), [1, 1], atol=1e-9)
    z = m.from_pca([0.3, -0.6], base=m.points[5])
    np.testing.assert_allclose(m.pca_coords(z), [0.3, -0.6], atol=1e-9)
    np.testing.assert_allclose(m.morph(1, 7, 0.0), m.points[1])
    np.testing.assert_allclose(m.morph(1, 7, 1.0), m.points[7])
    estimates = np.array([m.features(z) for z in m.points])
    truth = m.true_features
    r2 = 1 - ((truth - estimates) ** 2).sum(0) / ((truth - truth.mean(0)) ** 2).sum(0)
    assert (r2 > 0.5).all(), dict(zip(m.feature_names, r2, strict=True))
    assert np.all(m.feature_range[:, 0] <= truth.min(0) + 1e-6)
    base = m.points[10]
    before = m.features(base)
    targets = {"pitch": before[0] + 4.0, "brightness": before[3] - 2.0}
    edited = m.constrained_edit(base, targets)
    after = m.features(edited)
    assert after[0] == pytest.approx(targets["pitch"], abs=1e-5)
    assert after[3] == pytest.approx(targets["brightness"], abs=1e-5)
    np.testing.assert_array_equal(m.constrained_edit(base, {}), base)
    with pytest.raises(KeyError):
        m.constrained_edit(base, {"loudness": 1.0})


def _log_spectrogram(x: np.ndarray) -> np.ndarray:
    from scipy.signal import stft

    mag = np.abs(stft(x, nperseg=512, noverlap=256)[2])
    return 20 * np.log10(np.maximum(mag, 1e-4))


def test_shipped_reconstructions_are_closest_to_their_own_pack(shipped: OneShotModel) -> None:
    """Decoding a training point sounds more like its original than like the other packs'
    files (on average, in log-spectrogram distance); the pack is re-synthesised (seed 0)."""
    m = shipped
    chosen = [i for p in range(len(m.packs)) for i in np.flatnonzero(m.pack_of == p)[:6]]
    originals, decoded = {}, {}
    for i in chosen:
        pack, stem = m.names[i].split("/")
        x = synth.one_shot(pack, int(stem.rsplit("_", 1)[1]), seed=0)
        originals[i] = _log_spectrogram(dataset.prepare(x, SR, m.sample_rate, m.length))
        decoded[i] = _log_spectrogram(m.generate(m.points[i]))
    own, other = [], []
    for i in chosen:
        own.append(np.abs(decoded[i] - originals[i]).mean())
        other.append(np.mean([np.abs(decoded[i] - originals[j]).mean() for j in chosen
                              if m.pack_of[j] != m.pack_of[i]]))
    assert np.mean(own) < 0.8 * np.mean(other)
    assert np.mean(np.array(own) < np.array(other)) >= 0.75
