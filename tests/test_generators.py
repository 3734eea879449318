"""RAVE slots: the nn~ contract loader, streaming through the engine, latent edits, lateness."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from generator_fixtures import Interleave, NoContract, WrongShape, script

from conftest import offline_controller
from neuralrig.models.generators.torchscript import load_generator
from neuralrig.server.config import parse_config
from neuralrig.server.engine.chunk_streamer import ChunkStreamer
from neuralrig.server.errors import ConfigError, ModelError
from neuralrig.server.render import render_array

RATIO = 8


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    script(Interleave(RATIO), tmp_path / "interleave.ts")
    return tmp_path


def rig(folder: Path, mode: str, block: int = 16, buffer: int = 64, **params: float) -> str:
    lines = [f'[paths]\nmodels = ["{folder}"]\n', "[engine]", f"block = {block}",
             "[[slot]]", 'id = "gen"', 'type = "rave"', 'model = "interleave.ts"',
             f'mode = "{mode}"', f"buffer = {buffer}"]
    lines += [f"{k} = {v}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def render(folder: Path, x: np.ndarray, mode: str, block: int = 16, buffer: int = 64,
           **params: float) -> np.ndarray:
    config = parse_config(rig(folder, mode, block, buffer, **params))
    return render_array(config, x[:, None], 48000, block)[:, 0]


# -- the contract loader --------------------------------------------------------------
def test_loader_reads_methods_rate_ratio_and_latent_size(model_dir: Path) -> None:
    gen = load_generator(model_dir / "interleave.ts")
    assert set(gen.methods) == {"encode", "decode", "forward", "prior"}
    assert (gen.sample_rate, gen.ratio, gen.latent_size, gen.latency) == (48000, RATIO, RATIO, 0)
    assert gen.methods["encode"].out_ratio == RATIO


def test_loader_refuses_a_torchscript_file_without_the_contract(tmp_path: Path) -> None:
    path = script(NoContract(), tmp_path / "plain.ts")
    with pytest.raises(ModelError, match=r"plain\.ts.*without nn~'s contract.*_params"):
        load_generator(path)


def test_loader_refuses_a_method_that_breaks_its_declared_shape(tmp_path: Path) -> None:
    path = script(WrongShape(RATIO), tmp_path / "wrong.ts")
    with pytest.raises(ModelError, match=r"method decode returned \(1, 1, \d+\).*promise"):
        load_generator(path)


def test_loader_refuses_a_file_that_is_not_torchscript(tmp_path: Path) -> None:
    path = tmp_path / "junk.ts"
    path.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(ModelError, match=r"junk\.ts: not a TorchScript file"):
        load_generator(path)


def test_sample_rate_falls_back_to_the_slot_setting(tmp_path: Path) -> None:
    path = script(Interleave(RATIO, declare_rate=False), tmp_path / "norate.ts")
    with pytest.raises(ModelError, match=r"no sample rate.*sample_rate option"):
        load_generator(path)
    assert load_generator(path, sample_rate=44100).sample_rate == 44100


def test_cuda_is_refused_clearly_without_a_gpu(model_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load_generator(model_dir / "interleave.ts", device="cuda")


def test_a_rig_with_a_bad_generator_is_refused_with_the_reason(tmp_path: Path) -> None:
    script(NoContract(), tmp_path / "interleave.ts")
    with pytest.raises(ConfigError, match="contract"):
        render(tmp_path, np.zeros(256, np.float32), "style")


def test_a_mode_the_model_cannot_do_is_refused(tmp_path: Path) -> None:
    script(Interleave(RATIO, with_prior=False), tmp_path / "interleave.ts")
    with pytest.raises(ConfigError, match="no prior method for prior mode"):
        render(tmp_path, np.zeros(256, np.float32), "prior")


@pytest.mark.parametrize(("block", "buffer"), [(16, 64), (128, 2048)])
def test_a_model_at_another_rate_is_resampled_with_its_latency_declared(
        tmp_path: Path, block: int, buffer: int) -> None:
    """An exact model at 44.1 kHz in a 48 kHz rig: resampled there and back on the
    inference thread, the output is the input again (it is band-limited below both
    Nyquists), aligned by the declared latency, with no seam at chunk edges."""
    script(Interleave(RATIO, sample_rate=44100), tmp_path / "interleave.ts")
    t = np.arange(8 * buffer + 4000) / 48000
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3111 * t + 1)
         + 0.1 * np.sin(2 * np.pi * 9000 * t)).astype(np.float32)
    y = render(tmp_path, x, "reconstruct", block, buffer)
    settled = slice(2000, len(x) - 2000)  # past the filters' start-up transient
    assert np.max(np.abs(y[settled] - x[settled])) < 2e-3


# -- streaming --------------------------------------------------------------------------
@pytest.mark.parametrize(("block", "buffer"), [(16, 64), (32, 64), (64, 256), (128, 2048)])
def test_reconstruction_streams_without_any_discontinuity(model_dir: Path, block: int,
                                                          buffer: int) -> None:
    """Chunked through the engine, with its latency removed, the exact model gives the input
    back sample for sample: nothing is lost or doubled at a block or chunk edge."""
    x = np.random.default_rng(1).uniform(-0.9, 0.9, 6 * buffer + 3 * block).astype(np.float32)
    y = render(model_dir, x, "reconstruct", block, buffer)
    np.testing.assert_array_equal(y, x)


def test_a_buffer_below_two_engine_blocks_is_raised_to_two(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir, "style", 128, 64))
    try:
        assert controller.engine.slot("gen").processor.chunk == 256
    finally:
        controller.engine.stop()


def test_the_declared_latency_is_buffer_plus_budget(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir, "style", 16, 64) + "budget = 0.5\n")
    try:
        assert controller.engine.latency_samples == 64 + 32
    finally:
        controller.engine.stop()


def test_a_latent_offset_applies_to_every_latent_frame(model_dir: Path) -> None:
    """The ADC24 app offset only frame 0 of each block; here every frame moves."""
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 1024).astype(np.float32)
    y = render(model_dir, x, "style", z1_offset=0.5, z3_scale=-1.0)
    settled = slice(None)
    d = (y - x)[settled].reshape(-1, RATIO)
    np.testing.assert_allclose(d[:, 0], 0.5, atol=1e-6)  # z1: sample 0 of every frame
    np.testing.assert_allclose(d[:, 2], -2 * x[settled].reshape(-1, RATIO)[:, 2], atol=1e-6)
    np.testing.assert_allclose(np.delete(d, [0, 2], axis=1), 0.0, atol=1e-7)


def test_a_latent_change_ramps_across_a_chunk_instead_of_stepping(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir, "style", 16, 64))
    engine = controller.engine
    silence = np.zeros((16, 1), np.float32)
    try:
        out = [engine.backend.process_block(silence).copy() for _ in range(8)]
        controller.set_param("gen", "z1_offset", 1.0)
        out += [engine.backend.process_block(silence).copy() for _ in range(28)]
    finally:
        engine.stop()
    frames = np.concatenate(out)[:, 0].reshape(-1, RATIO)[:, 0]
    assert np.all(frames[:16] == 0.0)  # two chunks before the change
    ramp = frames[frames > 0][:8]  # the chunk the change first reaches: 8 latent frames
    np.testing.assert_allclose(ramp, np.arange(1, 9) / 8, atol=1e-6)
    assert np.all(frames[-8:] == 1.0)


def test_hold_freezes_a_dimension(model_dir: Path) -> None:
    x = np.random.default_rng(3).uniform(-0.5, 0.5, 1024).astype(np.float32)
    y = render(model_dir, x, "style", z2_hold=1.0)
    frames = y.reshape(-1, RATIO)
    assert np.all(frames[:, 1] == 0.0)  # held at its value before the input started
    np.testing.assert_array_equal(np.delete(frames, 1, axis=1),
                                  np.delete(x.reshape(-1, RATIO), 1, axis=1))


def test_generate_mode_decodes_the_latent_coordinates(model_dir: Path) -> None:
    y = render(model_dir, np.zeros(512, np.float32), "generate", z1=0.25, z4=-0.5)
    frames = y[64:].reshape(-1, RATIO)
    np.testing.assert_allclose(frames[:, 0], 0.25, atol=1e-6)
    np.testing.assert_allclose(frames[:, 3], -0.5, atol=1e-6)
    np.testing.assert_allclose(np.delete(frames, [0, 3], axis=1), 0.0, atol=1e-7)


def test_prior_mode_feeds_the_temperature_then_edits(model_dir: Path) -> None:
    y = render(model_dir, np.zeros(512, np.float32), "prior", temperature=0.3, z2_offset=0.1)
    frames = y[64:].reshape(-1, RATIO)
    np.testing.assert_allclose(frames[:, 1], 0.4, atol=1e-6)
    np.testing.assert_allclose(np.delete(frames, 1, axis=1), 0.3, atol=1e-6)


# -- parameters like any other ------------------------------------------------------------
def test_latent_coordinates_are_parameters_of_the_rig(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir, "generate", 16, 64)
                                    + "latents = 3\n")
    try:
        view = controller.slot("gen")
        assert list(view.specs) == ["z1", "z2", "z3"]
        assert controller.set_param("gen", "z2", 9.0) == 4.0  # clamped to its range
        assert controller.set_param("gen", "z1", 0.75, norm=True) == pytest.approx(2.0)
    finally:
        controller.engine.stop()


# -- lateness -----------------------------------------------------------------------------
def test_a_late_chunk_fades_to_silence_and_is_counted() -> None:
    """A real worker thread whose inference of chunk 3 is held back past its due time:
    the block before it fades out, its first block is silent and counted late, and its
    result, arriving mid-chunk, fades in over one block. No step anywhere."""
    block, chunk = 8, 32
    gate = threading.Event()

    def infer(x: np.ndarray, number: int, out: np.ndarray) -> None:
        if number == 3:
            assert gate.wait(5.0)
        out[:] = x

    streamer = ChunkStreamer(block, chunk, chunk, infer, realtime=True)
    done = streamer._done
    y = np.zeros(block, np.float32)
    ones = np.ones(block, np.float32)
    played: list[np.ndarray] = []
    try:
        for i in range(48):
            streamer.process(ones, y)
            played.append(y.copy())
            t_end = (i + 1) * block
            if t_end == 5 * chunk + block:  # chunk 3's first block has played (silence)
                gate.set()
                _wait_for(lambda: done[3] == 3 and done[0] == 4)
            elif t_end % chunk == 0 and (gate.is_set() or t_end < 4 * chunk):
                n = t_end // chunk - 1
                _wait_for(lambda n=n: done[n % 4] == n)
    finally:
        gate.set()
        streamer.stop()
        assert streamer.join()
    out = np.concatenate(played)
    assert streamer.late == 1 and streamer.dropped == 0
    start = 5 * chunk  # chunk 3 plays from here (latency 2 chunks)
    assert np.all(out[start:start + block] == 0.0)
    np.testing.assert_allclose(out[start - block:start], np.arange(block, 0, -1) / block)
    np.testing.assert_allclose(out[start + block:start + 2 * block],
                               np.arange(1, block + 1) / block)
    # The input steps from silence to 1 at sample 0; that step arrives after the latency.
    assert np.all(out[:2 * chunk] == 0.0) and np.all(out[2 * chunk:start - block] == 1.0)
    assert np.max(np.abs(np.diff(out[2 * chunk:]))) <= 1.0 / block + 1e-6
    assert np.all(out[start + 2 * block:] == 1.0)


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.001)


def test_neuralrig_render_sets_latent_coordinates_from_the_command_line(model_dir: Path) -> None:
    from conftest import run_cli
    from neuralrig.server.audiofile import read_audio, write_audio

    write_audio(model_dir / "in.wav", np.zeros((4800, 1), np.float32), 48000, "FLOAT")
    (model_dir / "rig.toml").write_text(rig(model_dir, "generate", 16, 64))
    done = run_cli("render", str(model_dir / "in.wav"), str(model_dir / "out.wav"),
                   "--config", str(model_dir / "rig.toml"), "--set", "gen.z2=0.5")
    assert done.returncode == 0, done.stderr
    frames = read_audio(model_dir / "out.wav").data[:, 0].reshape(-1, RATIO)
    np.testing.assert_allclose(frames[:, 1], 0.5, atol=1e-6)
    np.testing.assert_allclose(np.delete(frames, 1, axis=1), 0.0, atol=1e-7)
