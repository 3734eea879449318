"""Training: nets equal their streaming models, the loop learns, runs resume, inputs checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import run_cli
from neuralrig.models.capture import capture_signal
from neuralrig.models.capture.align import CAUSAL_MARGIN
from neuralrig.models.circuits import CIRCUITS
from neuralrig.models.formats import load_model
from neuralrig.models.nets.recurrent import RecurrentNet
from neuralrig.models.nets.wavenet import WaveNetNet
from neuralrig.models.training.dataset import SegmentSampler, load_pairs
from neuralrig.models.training.pipeline import run_training
from neuralrig.models.training.recipes import build_recipe, wavenet_config
from neuralrig.models.training.trainer import (
    TrainingError,
    TrainOptions,
    _validation_esr,
    checkpoint_path,
    train,
)
from neuralrig.server.audiofile import write_audio
from neuralrig.server.config import builtin_data_dir
from neuralrig.server.engine.params import ParamSpec
from neuralrig.server.errors import CaptureError
from neuralrig.server.render import model_rig, render_array

RATE = 48000
KNOBS = (ParamSpec("drive", 0, 1, 0.5), ParamSpec("tone", 0, 1, 0.5))
SETTINGS = ((0.2, 0.3, False), (0.8, 0.7, False), (0.5, 0.5, True))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short capture through the overdrive circuit at three settings (one held out)."""
    folder = tmp_path_factory.mktemp("pairs")
    x, _ = capture_signal(RATE, seconds_scale=0.1)
    write_audio(folder / "dry.wav", x[:, None], RATE, "FLOAT")
    lines = ['dry = "dry.wav"', '[[control]]\nname = "drive"', '[[control]]\nname = "tone"']
    for drive, tone, holdout in SETTINGS:
        wet = CIRCUITS["overdrive"].render(x, RATE, drive=drive, tone=tone, level=-6.0)
        name = f"d{drive}-t{tone}.wav"
        write_audio(folder / name, np.concatenate([np.zeros(40), wet])[:, None]
                    .astype(np.float32), RATE, "FLOAT")
        lines += ["[[pair]]", f'wet = "{name}"', f"drive = {drive}", f"tone = {tone}"]
        lines += ["holdout = true"] if holdout else []
    (folder / "pairs.toml").write_text("\n".join(lines) + "\n")
    return folder / "pairs.toml"


def _pairs_with_delays(folder: Path, delays: tuple[int, ...]) -> Path:
    """One device (tanh) recorded at len(delays) 'drive' settings, each `delay` samples late."""
    x, _ = capture_signal(RATE, seconds_scale=0.1)
    write_audio(folder / "dry.wav", x[:, None], RATE, "FLOAT")
    lines = ['dry = "dry.wav"', '[[control]]\nname = "drive"']
    for i, delay in enumerate(delays):
        wet = np.concatenate([np.zeros(delay), 0.5 * np.tanh(3 * x)]).astype(np.float32)
        write_audio(folder / f"w{i}.wav", wet[:, None], RATE, "FLOAT")
        lines += ["[[pair]]", f'wet = "w{i}.wav"', f"drive = {i / len(delays)}"]
    (folder / "pairs.toml").write_text("\n".join(lines) + "\n")
    return folder / "pairs.toml"


def test_recordings_of_one_device_share_the_earliest_latency(tmp_path: Path) -> None:
    """Knob settings move a click's onset by a sample or two; aligned each on its own, the
    target would jump by whole samples between settings."""
    captures = load_pairs(_pairs_with_delays(tmp_path, (41, 40, 42)))
    assert [r.capture.latency_samples for r in captures.recordings] == [41, 40, 42]
    assert captures.shared_latency == 40 and captures.warnings() == []
    assert {r.capture.shift for r in captures.recordings} == {40 - CAUSAL_MARGIN}
    first, _, last = (r.capture.wet for r in captures.recordings)
    np.testing.assert_array_equal(last[1:], first[:-1])  # 41 vs 42: one sample apart


def test_recordings_through_different_paths_keep_their_own_latency(tmp_path: Path) -> None:
    captures = load_pairs(_pairs_with_delays(tmp_path, (40, 400)))
    assert captures.shared_latency is None
    assert [r.capture.shift for r in captures.recordings] == [36, 396]
    (warning,) = captures.warnings()
    assert "latencies differ by 7.50 ms (40..400 samples)" in warning


def test_latency_aligns_every_recording_where_asked(tmp_path: Path) -> None:
    """--latency: a model continued on new recordings keeps the alignment it was trained at."""
    from neuralrig.models.training.pipeline import load_captures
    from neuralrig.models.training.trainer import _fingerprint

    pairs = _pairs_with_delays(tmp_path, (41, 40, 42))
    captures = load_captures(None, None, str(pairs), latency=43)
    assert [r.capture.latency_samples for r in captures.recordings] == [41, 40, 42]
    assert captures.shared_latency == captures.forced_latency == 43
    assert {r.capture.shift for r in captures.recordings} == {43 - CAUSAL_MARGIN}
    assert captures.warnings() == []
    detected = load_pairs(pairs)
    np.testing.assert_array_equal(captures.recordings[1].capture.wet[:-3],
                                  detected.recordings[1].capture.wet[3:])
    options = TrainOptions(arch="lstm", size="nano")
    assert _fingerprint(captures, options) != _fingerprint(detected, options)
    # One recording far from the latency asked for is aligned there, with a warning.
    (tmp_path / "far").mkdir()
    far = load_pairs(_pairs_with_delays(tmp_path / "far", (40, 400)), latency=40)
    assert [r.capture.shift for r in far.recordings] == [40 - CAUSAL_MARGIN] * 2
    (warning,) = far.warnings()
    assert "aligned at 40 samples as --latency asks, but its clicks give 400" in warning
    single = load_captures(str(tmp_path / "dry.wav"), str(tmp_path / "w0.wav"), None, 39)
    assert single.recordings[0].capture.shift == 39 - CAUSAL_MARGIN
    with pytest.raises(CaptureError, match=r"w0.wav: cannot align at a latency of 5000 "
                                           r"samples \(0..2400 at 48000 Hz\)"):
        load_pairs(pairs, latency=5000)
    refused = run_cli("train", "--pairs", str(pairs), "-o", str(tmp_path / "m.safetensors"),
                      "--latency", "-3")
    assert refused.returncode == 2 and "a latency cannot be negative" in refused.stderr


def test_continuing_a_model_at_another_alignment_says_which_latency_keeps_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = tmp_path / "first.safetensors"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    run_training(load_pairs(_pairs_with_delays(tmp_path / "a", (41, 40, 42))), first,
                 TrainOptions(arch="lstm", size="nano", epochs=1, steps=1), bar=False,
                 plots=False)
    assert load_model(first).metadata["training"]["aligned_at_latency"] == 40
    later = _pairs_with_delays(tmp_path / "b", (45, 44))
    options = TrainOptions(arch="lstm", size="nano", epochs=1, steps=1, init=str(first))
    with caplog.at_level("WARNING", logger="neuralrig.train"):
        run_training(load_pairs(later), tmp_path / "second.safetensors", options, bar=False,
                     plots=False)
    assert ("was trained aligned at 40 samples, these recordings at 44: its output starts "
            "4 sample(s) late against them") in caplog.text
    assert "add --latency 40" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="neuralrig.train"):
        _, report = run_training(load_pairs(later, latency=40), tmp_path / "third.safetensors",
                                 options, bar=False, plots=False)
    assert "trained aligned" not in caplog.text
    assert report["capture"]["aligned_at_latency"] == 40 and report["capture"]["latency_given"]
    # A model saved without it in its metadata: the report beside it says it.
    from neuralrig.models.training.pipeline import init_latency_warning

    assert "aligned at 29 samples" in init_latency_warning(
        str(builtin_data_dir() / "overdrive-lstm.safetensors"), load_pairs(later))


def _stream(model, x: np.ndarray, drive: float, tone: float, block: int = 256) -> np.ndarray:
    model.prepare(1, block)
    model.set_control("drive", drive)
    model.set_control("tone", tone)
    model.reset()
    out = np.zeros((1, x.size), np.float32)
    for i in range(0, x.size, block):
        model.process(x[None, i:i + block], out[:, i:i + block])
    return out[0]


@pytest.mark.parametrize("make", [
    lambda: RecurrentNet("lstm", 12, 1, 2, skip=True),
    lambda: RecurrentNet("gru", 8, 2, 2),
    lambda: WaveNetNet(wavenet_config("nano", 2), 2),
    lambda: WaveNetNet(wavenet_config("nano", 2, gated=True), 2),
], ids=["lstm", "gru", "wavenet", "wavenet-gated"])
def test_trained_networks_export_to_streaming_models_that_compute_the_same(make) -> None:
    torch.manual_seed(0)
    net = make()
    with torch.no_grad():  # a trained-looking WaveNet: its output is not buried in the head scale
        for p in net.parameters():
            p.mul_(3.0)
    x = (0.3 * np.random.default_rng(0).standard_normal(6000)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)[None], torch.tensor([[0.3, 0.8]]))[0, 0].numpy()
    y = _stream(net.to_model(KNOBS), x, 0.3, 0.8)
    settled = getattr(net, "receptive_field", 1)  # torch pads with zeros, the stream prewarms
    assert np.abs(ref[settled:]).max() > 1e-3
    # fast_tanh (error < 2e-6) compounds through 20 layers of scaled-up weights
    np.testing.assert_allclose(y[settled:], ref[settled:], atol=2e-4 * np.abs(ref).max())


def test_a_tiny_conditioned_model_learns_and_the_result_loads_and_renders(
        pairs: Path, tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    # 40 samples of silence were added; the circuit's decimator rings a little ahead
    assert all(36 <= r.capture.latency_samples <= 40 for r in captures.recordings)
    out = tmp_path / "od.safetensors"
    result, _ = run_training(captures, out, TrainOptions(
        arch="lstm", size="nano", epochs=4, steps=6, patience=10), bar=False)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 4 and losses[-1] < 0.7 * losses[0]
    for suffix in (".report.json", ".loss.png", ".compare.png", ".grid.png"):
        assert out.with_name("od" + suffix).stat().st_size > 1000
    assert not checkpoint_path(out).exists()  # a finished run cleans up
    saved = json.loads(out.with_name("od.report.json").read_text())
    assert saved["arch"] == "lstm" and saved["size"] == "nano" and saved["train_seconds"] > 0
    grid = {(g["controls"]["drive"], g["controls"]["tone"]): g for g in saved["grid"]}
    assert set(grid) == {(d, t) for d, t, _ in SETTINGS}
    assert not grid[(0.5, 0.5)]["seen"] and grid[(0.2, 0.3)]["seen"]
    assert saved["heldout_esr"] == pytest.approx(grid[(0.5, 0.5)]["esr"])
    model = load_model(out)
    assert [c.name for c in model.controls] == ["drive", "tone"]
    assert model.sample_rate == RATE
    assert model.metadata["training"]["heldout_esr"] == pytest.approx(saved["heldout_esr"])
    x = (0.3 * np.random.default_rng(1).standard_normal((4096, 1))).astype(np.float32)
    y = render_array(model_rig(str(out)), x, RATE, 128)
    assert np.isfinite(y).all() and np.abs(y).max() > 1e-3


def _interrupt_in_epoch_2(_: str, entry: dict) -> None:
    """Stops a run before epoch 2 is checkpointed: the checkpoint holds epoch 1."""
    if entry["epoch"] == 2:
        raise KeyboardInterrupt


def test_an_interrupted_run_resumes_from_its_last_epoch(pairs: Path, tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    out = tmp_path / "od.safetensors"
    options = TrainOptions(arch="wavenet", size="nano", epochs=3, steps=2)
    with pytest.raises(TrainingError, match="--resume"):
        train(captures, out, options, progress=_interrupt_in_epoch_2)
    assert checkpoint_path(out).exists() and not out.exists()
    with pytest.raises(TrainingError, match="unfinished run"):
        train(captures, out, options)
    with pytest.raises(TrainingError, match="different run"):
        train(captures, out, TrainOptions(arch="lstm", size="nano", epochs=3, steps=2),
              resume=True)
    seen: list[int] = []
    result = train(captures, out, options, resume=True,
                   progress=lambda _, entry: seen.append(entry["epoch"]))
    assert seen == [2, 3] and [h["epoch"] for h in result.history] == [1, 2, 3]


@pytest.mark.parametrize("text, needle", [
    ('dry = "dry.wav"\n[[pair]]\nwet = "d0.2-t0.3.wav"\n', "[[control]]"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\n', "no [[pair]]"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\n[[pair]]\nwet = "d0.2-t0.3.wav"\n',
     "'drive' must be given"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\n[[pair]]\nwet = "d0.2-t0.3.wav"\n'
     'drive = 1.5\n', "outside 0..1"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\n[[pair]]\nwet = "d0.2-t0.3.wav"\n'
     'drive = 0.2\nvolume = 3\n', "unknown key(s) volume"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\n[[pair]]\nwet = "missing.wav"\n'
     'drive = 0.2\n', "missing.wav does not exist"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\n[[pair]]\nwet = "d0.2-t0.3.wav"\n'
     'drive = 0.2\nholdout = true\n', "nothing is left to train on"),
    ('dry = "dry.wav"\n[[control]]\nname = "drive"\nmaximum = 2\n', "unknown key(s) maximum"),
    ('dry = \n', "not valid TOML"),
])
def test_pairs_file_errors_name_the_problem(pairs: Path, text: str, needle: str) -> None:
    bad = pairs.with_name("bad.toml")
    bad.write_text(text)
    with pytest.raises(CaptureError) as info:
        load_pairs(bad)
    assert needle in str(info.value)


def test_cli_refuses_a_dry_file_that_is_not_the_capture_signal(pairs: Path, tmp_path: Path):
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (RATE * 3, 1)).astype(np.float32)
    write_audio(tmp_path / "dry.wav", noise, RATE)
    result = run_cli("train", str(tmp_path / "dry.wav"), str(pairs.with_name("d0.2-t0.3.wav")),
                     "-o", str(tmp_path / "m.safetensors"))
    assert result.returncode != 0
    assert "not neuralrig's capture signal" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("value", ["1.5", "0", "fast"])
def test_cli_refuses_an_average_decay_outside_0_to_1(pairs: Path, tmp_path: Path,
                                                     value: str) -> None:
    result = run_cli("train", "--pairs", str(pairs), "-o", str(tmp_path / "m.safetensors"),
                     "--average", value)
    assert result.returncode == 2 and "--average" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m.safetensors").exists()


def test_cli_train_help_names_every_architecture_and_size() -> None:
    result = run_cli("train", "--help")
    assert result.returncode == 0
    for word in ("lstm", "gru", "wavenet", "tcn", "stn", "lactose", "nano", "standard",
                 "--pairs", "--resume", "CUDA", "report.json"):
        assert word in result.stdout


@pytest.mark.parametrize("arch", ["gru", "tcn", "stn", "lactose"])
def test_every_architecture_trains_exports_and_loads(pairs: Path, tmp_path: Path,
                                                      arch: str) -> None:
    out = tmp_path / f"{arch}.safetensors"
    result, report = run_training(load_pairs(pairs), out, TrainOptions(
        arch=arch, size="nano", epochs=1, steps=2, batch=4), bar=False, plots=False)
    assert report["arch"] == arch and np.isfinite(report["heldout_esr"])
    model = load_model(out)
    assert model.architecture == result.model.architecture
    assert [c.name for c in model.controls] == ["drive", "tone"]


def test_doctor_lists_trained_models_and_ignores_their_reports(pairs: Path,
                                                               tmp_path: Path) -> None:
    run_training(load_pairs(pairs), tmp_path / "od.safetensors", TrainOptions(
        arch="lstm", size="nano", epochs=1, steps=1), bar=False, plots=False)
    rig = tmp_path / "rig.toml"
    rig.write_text(f'[paths]\nmodels = ["{tmp_path}"]\n[[slot]]\nid = "od"\ntype = "neural"\n'
                   'model = "od.safetensors"\ndrive = 0.7\ntone = 0.4\n')
    result = run_cli("doctor", "--config", str(rig))
    assert "od.safetensors: neuralrig: LSTM 1x8" in result.stdout
    assert "report.json" not in result.stdout
    assert "controls drive, tone" in result.stdout


def test_cli_training_stopped_by_sigterm_resumes_with_resume(pairs: Path, tmp_path: Path):
    import signal
    import subprocess

    from conftest import neuralrig_exe

    out = tmp_path / "od.safetensors"
    args = [neuralrig_exe(), "train", "--pairs", str(pairs), "-o", str(out), "--arch", "lstm",
            "--size", "nano", "--epochs", "4", "--steps", "3", "--no-plots"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "epoch 1:" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)[1], None
    log = "".join(lines) + rest
    assert proc.returncode != 0 and "saved" in log and "continue with --resume" in log, log
    assert "Traceback" not in log and checkpoint_path(out).exists() and not out.exists()
    again = run_cli(*args[1:], "--resume", timeout=300)
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stderr and "epoch 1:" not in again.stderr
    assert json.loads(out.with_name("od.report.json").read_text())["epochs_run"] == 4


def test_init_starts_from_a_trained_model_and_refuses_another_architecture(
        pairs: Path, tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    first = tmp_path / "first.safetensors"
    trained, _ = run_training(captures, first, TrainOptions(
        arch="lstm", size="nano", epochs=3, steps=4), bar=False, plots=False)
    best = min(h["validation_esr"] for h in trained.history)
    tuned, report = run_training(captures, tmp_path / "tuned.safetensors", TrainOptions(
        arch="lstm", size="nano", epochs=1, steps=1, lr=1e-5, init=str(first)),
        bar=False, plots=False)
    # A tiny learning rate: the run begins where the first one ended, not from scratch.
    assert tuned.history[0]["validation_esr"] == pytest.approx(best, rel=0.05)
    assert report["initialised_from"] == str(first)
    with pytest.raises(TrainingError, match="cannot start a wavenet"):
        run_training(captures, tmp_path / "w.safetensors", TrainOptions(
            arch="wavenet", size="nano", epochs=1, steps=1, init=str(first)), bar=False)
    # A wider LSTM starts from a narrower one (widened: the same output to begin with).
    wide, report = run_training(captures, tmp_path / "wide.safetensors", TrainOptions(
        arch="lstm", size="lite", epochs=1, steps=1, lr=1e-5, init=str(first)),
        bar=False, plots=False)
    assert wide.history[0]["validation_esr"] == pytest.approx(best, rel=0.05)
    assert report["model"].startswith("LSTM 1x16")
    with pytest.raises(TrainingError, match="cannot narrow a 16-unit model to 8"):
        run_training(captures, tmp_path / "n.safetensors", TrainOptions(
            arch="lstm", size="nano", epochs=1, steps=1, init=str(tmp_path / "wide.safetensors")),
            bar=False)


def test_widening_keeps_the_output_and_large_is_recurrent_only() -> None:
    import torch

    from neuralrig.models.nets.recurrent import RecurrentNet, widen
    from neuralrig.server.errors import ModelError

    for cell in ("lstm", "gru"):
        torch.manual_seed(0)
        small = RecurrentNet(cell, 8, 1, 2)
        _, tensors = small.export()
        big = RecurrentNet(cell, 32, 1, 2)
        big.load_exported(widen(cell, tensors, 32))
        x, c = torch.randn(2, 1, 3000) * 0.5, torch.rand(2, 2)
        with torch.no_grad():
            torch.testing.assert_close(big(x, c), small(x, c), rtol=0, atol=1e-6)
            assert big.rnn.weight_hh_l0[:, 8:].abs().sum() > 0  # the new units are alive
    assert build_recipe("lstm", "large", 2).net.hidden_size == 32
    with pytest.raises(ModelError, match="size 'large' is for lstm and gru"):
        build_recipe("wavenet", "large", 2)


def test_gating_a_wavenet_keeps_its_output_and_its_gates_learn() -> None:
    from neuralrig.models.nets.wavenet import gate_tensors
    from neuralrig.server.errors import ModelError

    torch.manual_seed(0)
    config, gated_config = wavenet_config("nano", 2), wavenet_config("nano", 2, gated=True)
    for cfg in (config, gated_config):  # a head bias before the last array: scaled too
        cfg["layers"][0]["head_bias"] = True
    plain = WaveNetNet(config, 2)
    with torch.no_grad():
        for p in plain.parameters():
            p.mul_(3.0)
    gated = WaveNetNet(gated_config, 2)
    gated.load_exported(gate_tensors(gated.config, plain.export()[1]))
    x, c = torch.randn(2, 1, 6000) * 0.3, torch.rand(2, 2)
    with torch.no_grad():
        ref = plain(x, c)
        assert ref.abs().max() > 1e-3
        torch.testing.assert_close(gated(x, c), ref, rtol=0, atol=1e-5 * float(ref.abs().max()))
    # The gate halves start at zero weights, and they get gradients.
    layer = gated.arrays[0].layers[3]
    assert layer.conv.weight[4:].abs().sum() == 0
    gated(x, c).pow(2).mean().backward()
    assert layer.conv.weight.grad[4:].abs().sum() > 0
    assert layer.mixer.weight.grad[4:].abs().sum() > 0
    with pytest.raises(ModelError, match="not the 4 of an ungated layer"):
        gate_tensors(gated.config, gated.export()[1])
    with pytest.raises(ModelError, match="WaveNet option, not lstm"):
        build_recipe("lstm", "nano", 2, gated=True)


def test_widening_a_wavenet_keeps_its_output_and_the_new_channels_learn() -> None:
    from neuralrig.models.nets.wavenet import widen_tensors
    from neuralrig.server.errors import ModelError

    for gated in (False, True):
        torch.manual_seed(1)
        small = WaveNetNet(wavenet_config("nano", 2, gated=gated), 2)
        with torch.no_grad():
            for p in small.parameters():
                p.mul_(3.0)
        big = WaveNetNet(wavenet_config("feather", 2, gated=gated), 2)
        big.load_exported(widen_tensors(big.config, small.export()[1]))
        x, c = torch.randn(2, 1, 6000) * 0.3, torch.rand(2, 2)
        ref = small(x, c).detach()
        assert ref.abs().max() > 1e-3
        out = big(x, c)
        torch.testing.assert_close(out.detach(), ref, rtol=0, atol=1e-6 * float(ref.abs().max()))
        # The weights reading the new channels start at zero and get gradients.
        layer = big.arrays[1].layers[5]
        assert layer.out.weight[:2, 2:].abs().sum() == 0
        assert big.arrays[1].head.weight[:, 2:].abs().sum() == 0
        (out - 0.5 * ref).pow(2).mean().backward()
        assert layer.out.weight.grad[:2, 2:].abs().sum() > 0
        assert big.arrays[1].head.weight.grad[:, 2:].abs().sum() > 0
    with pytest.raises(ModelError, match="8 channels, more than 4"):
        widen_tensors(wavenet_config("nano", 2), big.export()[1])
    with pytest.raises(ModelError, match="not a plain layer"):
        widen_tensors(wavenet_config("feather", 2), small.export()[1])  # gated into plain
    with pytest.raises(ModelError, match="layers, not 10"):
        widen_tensors(wavenet_config("standard", 2, gated=True), small.export()[1])


def test_a_gated_run_starts_from_an_ungated_wavenet(pairs: Path, tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    first = tmp_path / "plain.safetensors"
    trained, _ = run_training(captures, first, TrainOptions(
        arch="wavenet", size="nano", epochs=2, steps=3), bar=False, plots=False)
    best = min(h["validation_esr"] for h in trained.history)
    gated, report = run_training(captures, tmp_path / "gated.safetensors", TrainOptions(
        arch="wavenet", size="nano", epochs=1, steps=1, lr=1e-6, init=str(first), gated=True),
        bar=False, plots=False)
    assert gated.history[0]["validation_esr"] == pytest.approx(best, rel=0.02)
    assert report["gated"] is True and "4ch x7 gated -> 2ch x13 gated" in report["model"]
    assert report["weights"] > 1.5 * trained.model.weight_count - 10
    loaded = load_model(tmp_path / "gated.safetensors")
    assert "gated" in loaded.describe()
    # A wider WaveNet starts from the gated nano, with its output.
    wide, report = run_training(captures, tmp_path / "wide.safetensors", TrainOptions(
        arch="wavenet", size="feather", epochs=1, steps=1, lr=1e-6,
        init=str(tmp_path / "gated.safetensors"), gated=True), bar=False, plots=False)
    assert wide.history[0]["validation_esr"] == pytest.approx(
        gated.history[0]["validation_esr"], rel=0.02)
    assert "8ch x7 gated -> 4ch x13 gated" in report["model"]


@pytest.mark.parametrize("loss, text", [("balanced", "per-example ESR, pre-emphasised"),
                                        ("plain", "per-example plain ESR")])
def test_the_per_example_losses_train_and_are_reported(pairs: Path, tmp_path: Path,
                                                       loss: str, text: str) -> None:
    captures = load_pairs(pairs)
    trained, report = run_training(captures, tmp_path / "bal.safetensors", TrainOptions(
        arch="lstm", size="nano", epochs=3, steps=6, loss=loss), bar=False, plots=False)
    esr = [h["validation_esr"] for h in trained.history]
    assert min(esr[1:]) < esr[0] and all(np.isfinite(esr))
    assert report["loss"].startswith(text)


def test_focus_draws_each_recording_in_proportion_to_its_score(pairs: Path) -> None:
    trained = load_pairs(pairs).trained  # two recordings, equally long
    sampler = SegmentSampler(trained, 256, 64, seed=3)
    assert sampler.weights == pytest.approx([0.5, 0.5])
    sampler.focus([0.03, 0.01])
    assert sampler.weights == pytest.approx([0.75, 0.25])
    sampler.batch(4000)
    assert np.mean(sampler.last_recordings == 0) == pytest.approx(0.75, abs=0.03)
    for bad in ([0.1], [0.0, 0.0], [np.nan, 0.1], [-0.1, 0.2]):
        with pytest.raises(ValueError, match="focus"):
            sampler.focus(bad)
    assert sampler.weights == pytest.approx([0.75, 0.25])  # a refused score changes nothing


def test_a_focused_run_draws_by_validation_esr_and_resumes_with_it(pairs: Path,
                                                                   tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    out = tmp_path / "focus.safetensors"
    options = TrainOptions(arch="lstm", size="nano", epochs=3, steps=2, focus=True)
    with pytest.raises(TrainingError, match="--resume"):
        train(captures, out, options, progress=_interrupt_in_epoch_2)
    state = torch.load(checkpoint_path(out), weights_only=True)
    recipe = build_recipe("lstm", "nano", 2)
    recipe.net.load_state_dict(state["net"])
    val = np.array(_validation_esr(recipe, captures.trained, torch.device("cpu")))
    assert abs(val[0] - val[1]) > 0.01 * val.max()  # the settings are played unequally well
    assert state["sampler_weights"] == pytest.approx(val / val.sum(), rel=1e-4)
    with pytest.raises(TrainingError, match="different run"):
        train(captures, out, TrainOptions(arch="lstm", size="nano", epochs=3, steps=2),
              resume=True)
    result, report = run_training(captures, out, options, resume=True, bar=False, plots=False)
    assert [h["epoch"] for h in result.history] == [1, 2, 3] and report["focus"] is True
    # the epoch kept is the one whose worst setting was best, the figure focus aims at
    worst = [h["validation_worst_esr"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmin(worst))
    assert all(h["validation_worst_esr"] >= h["validation_esr"] for h in result.history)


def test_a_new_run_ramps_its_learning_rate_up_and_a_resumed_one_does_not(
        pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[float] = []

    class RecordingAdam(torch.optim.Adam):
        def step(self, closure=None):  # type: ignore[override]
            steps.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "Adam", RecordingAdam)
    captures = load_pairs(pairs)
    out = tmp_path / "warm.safetensors"
    options = TrainOptions(arch="lstm", size="nano", epochs=3, steps=4, lr=0.004)
    with pytest.raises(TrainingError, match="--resume"):
        train(captures, out, options, progress=_interrupt_in_epoch_2)
    assert steps == pytest.approx([0.001, 0.002, 0.003, 0.004] + [0.004] * 4)
    steps.clear()
    train(captures, out, options, resume=True)  # epochs 2 and 3, from epoch 1's checkpoint
    assert steps == pytest.approx([0.004] * 8)


def test_an_averaged_run_keeps_the_moving_average_of_its_weights(
        pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshots: list[list[torch.Tensor]] = []

    class RecordingAdam(torch.optim.Adam):
        def step(self, closure=None):  # type: ignore[override]
            result = super().step(closure)
            snapshots.append([p.detach().clone() for p in self.param_groups[0]["params"]])
            return result

    monkeypatch.setattr(torch.optim, "Adam", RecordingAdam)
    captures = load_pairs(pairs)
    options = TrainOptions(arch="lstm", size="nano", epochs=1, steps=3, lr=0.01, average=0.5)
    result = train(captures, tmp_path / "avg.safetensors", options)
    expected = snapshots[0]
    for step in snapshots[1:]:
        expected = [0.5 * e + 0.5 * p for e, p in zip(expected, step, strict=True)]
    kept = list(result.recipe.net.parameters())
    for e, k in zip(expected, kept, strict=True):
        torch.testing.assert_close(k, e, rtol=0, atol=1e-6)
    assert any(not torch.equal(k, last) for k, last in zip(kept, snapshots[-1], strict=True))
    with pytest.raises(TrainingError, match="between 0 and 1"):
        train(captures, tmp_path / "bad.safetensors",
              TrainOptions(arch="lstm", size="nano", epochs=1, steps=1, average=1.5))


def test_an_averaged_run_resumes_to_the_same_weights(pairs: Path, tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    options = TrainOptions(arch="lstm", size="nano", epochs=2, steps=2, average=0.9)
    whole = train(captures, tmp_path / "whole.safetensors", options)
    out = tmp_path / "parts.safetensors"
    with pytest.raises(TrainingError, match="--resume"):
        train(captures, out, options, progress=_interrupt_in_epoch_2)
    with pytest.raises(TrainingError, match="different run"):
        train(captures, out, TrainOptions(arch="lstm", size="nano", epochs=2, steps=2),
              resume=True)
    parts = train(captures, out, options, resume=True)
    assert [h["validation_esr"] for h in parts.history] == pytest.approx(
        [h["validation_esr"] for h in whole.history], rel=1e-5)
    for a, b in zip(whole.recipe.net.parameters(), parts.recipe.net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_knob_weights_start_from_a_plain_wavenet_and_continue_on_a_finer_lattice(
        pairs: Path, tmp_path: Path) -> None:
    captures = load_pairs(pairs)
    plain_path = tmp_path / "plain.safetensors"
    plain, _ = run_training(captures, plain_path, TrainOptions(
        arch="wavenet", size="nano", epochs=2, steps=3, gated=True), bar=False, plots=False)
    best = min(h["validation_esr"] for h in plain.history)
    # Every lattice point starts as the plain model: the same output to begin with.
    knob_path = tmp_path / "knob.safetensors"
    knob, report = run_training(captures, knob_path, TrainOptions(
        arch="wavenet", size="nano", epochs=1, steps=1, lr=1e-7, gated=True,
        init=str(plain_path), knob_weights=(2, 2)), bar=False, plots=False)
    assert knob.history[0]["validation_esr"] == pytest.approx(best, rel=0.02)
    assert report["knob_weights"] == [2, 2]
    assert report["weights_per_setting"] == plain.model.weight_count
    assert report["weights"] == 4 * (plain.model.weight_count - 1)  # head_scale is not a weight
    loaded = load_model(knob_path)
    assert "weights per setting, blended from 2x2 knob points" in loaded.describe()
    # A finer lattice resamples the coarse one: it plays the same to begin with.
    fine, report = run_training(captures, tmp_path / "fine.safetensors", TrainOptions(
        arch="wavenet", size="nano", epochs=1, steps=1, lr=1e-7, gated=True,
        init=str(knob_path), knob_weights=(3, 3)), bar=False, plots=False)
    assert fine.history[0]["validation_esr"] == pytest.approx(
        knob.history[0]["validation_esr"], rel=0.02)
    assert report["weights"] == 9 * (plain.model.weight_count - 1)
    with pytest.raises(TrainingError, match="continue it with --knob-weights 2,2"):
        run_training(captures, tmp_path / "x.safetensors", TrainOptions(
            arch="wavenet", size="nano", epochs=1, steps=1, gated=True, init=str(knob_path)),
            bar=False)
    with pytest.raises(TrainingError, match="same size and gating"):
        run_training(captures, tmp_path / "x.safetensors", TrainOptions(
            arch="wavenet", size="feather", epochs=1, steps=1, gated=True, init=str(knob_path),
            knob_weights=(2, 2)), bar=False)


def test_a_knob_weighted_wavenet_learns_from_scratch(pairs: Path, tmp_path: Path) -> None:
    result, report = run_training(load_pairs(pairs), tmp_path / "k.safetensors", TrainOptions(
        arch="wavenet", size="nano", epochs=4, steps=6, lr=0.01, knob_weights=(2, 2)),
        bar=False, plots=False)
    esr = [h["validation_esr"] for h in result.history]
    assert esr[-1] < 0.7 * esr[0]  # 0.99 -> 0.49 when written
    assert np.isfinite(report["heldout_esr"]) and report["knob_weights"] == [2, 2]


@pytest.mark.parametrize("args, needle", [
    (("--knob-weights", "1"), "at least 2 points"),
    (("--knob-weights", "3,x"), "give each control a count of points or slash-separated"),
    (("--knob-weights", "3", "--arch", "lstm"), "a WaveNet option, not lstm's"),
    (("--knob-weights", "3,3,3", "--arch", "wavenet"), "2 control(s), 3 lattice(s) given"),
    (("--knob-weights", "3,0/0.7/0.5/1", "--arch", "wavenet"), "does not rise from 0 to 1"),
])
def test_cli_refuses_knob_weights_it_cannot_build(pairs: Path, tmp_path: Path,
                                                  args: tuple[str, ...], needle: str) -> None:
    result = run_cli("train", "--pairs", str(pairs), "-o", str(tmp_path / "m.safetensors"),
                     "--epochs", "1", "--steps", "1", *args)
    assert result.returncode != 0 and needle in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m.safetensors").exists()


def test_cli_trains_knob_weights_on_a_lattice_of_positions(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "k.safetensors"
    result = run_cli("train", "--pairs", str(pairs), "-o", str(out), "--arch", "wavenet",
                     "--size", "nano", "--knob-weights", "2,0/0.25/1", "--epochs", "1",
                     "--steps", "1", "--no-plots", timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.with_name("k.report.json").read_text())
    assert report["knob_weights"] == [2, [0.0, 0.25, 1.0]]
    assert "blended from 2x0/0.25/1 knob points" in load_model(out).describe()
