"""RAVE slots: the nn~ contract loader, streaming through the engine, latent edits, lateness."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from generator_fixtures import (
    Cached,
    Delayed,
    Interleave,
    NoContract,
    OldExport,
    WrongShape,
    load_scripted,
    script,
)

from conftest import offline_controller
from neuralrig.models.generators.torchscript import MethodSpec, load_generator
from neuralrig.server.config import parse_config
from neuralrig.server.engine.chunk_streamer import ChunkStreamer
from neuralrig.server.errors import ConfigError, ModelError
from neuralrig.server.render import render_array

RATIO = 8


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    script(Interleave(RATIO), tmp_path / "interleave.ts")
    return tmp_path


def rig(folder: Path, mode: str, block: int = 16, buffer: int = 64,
        **params: float | str) -> str:
    lines = [f'[paths]\nmodels = ["{folder}"]\n', "[engine]", f"block = {block}",
             "[[slot]]", 'id = "gen"', 'type = "rave"', 'model = "interleave.ts"',
             f'mode = "{mode}"', f"buffer = {buffer}"]
    lines += [f"{k} = {v}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def render(folder: Path, x: np.ndarray, mode: str, block: int = 16, buffer: int = 64,
           **params: float | str) -> np.ndarray:
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


def test_a_rave_v1_export_gives_its_rate_in_a_sampling_rate_buffer(tmp_path: Path) -> None:
    path = script(OldExport(RATIO, sample_rate=44100), tmp_path / "v1.ts")
    assert not hasattr(load_scripted(path), "get_sample_rate")  # the buffer is all
    assert load_generator(path).sample_rate == 44100
    # The file's own rate wins over the slot's setting (that is only for files without one).
    assert load_generator(path, sample_rate=48000).sample_rate == 44100


def test_without_get_methods_the_methods_are_those_with_a_params_buffer(tmp_path: Path) -> None:
    path = script(OldExport(RATIO), tmp_path / "v1.ts")
    assert not hasattr(load_scripted(path), "get_methods")
    gen = load_generator(path)
    # forward exists but has no forward_params; prior_params names no method.
    assert set(gen.methods) == {"encode", "decode"}
    assert gen.methods["encode"] == MethodSpec("encode", 1, 1, RATIO, RATIO)
    assert gen.methods["decode"] == MethodSpec("decode", RATIO, RATIO, 1, 1)
    assert (gen.ratio, gen.latent_size, gen.audio_channels) == (RATIO, RATIO, 1)


def test_a_models_own_latency_is_declared_and_compensated(tmp_path: Path) -> None:
    """A model 13 samples late that says so: the slot and the engine declare the chunk,
    the budget and those 13 samples, and with all of it removed the output is the input."""
    script(Delayed(RATIO, latency=13), tmp_path / "interleave.ts")
    assert load_generator(tmp_path / "interleave.ts").latency == 13
    controller = offline_controller(tmp_path, rig(tmp_path, "reconstruct", 16, 64))
    try:
        assert controller.engine.slot("gen").processor.latency_samples == 64 + 64 + 13
        assert controller.engine.latency_samples == 64 + 64 + 13
        assert controller.status()["latency_samples"] == 64 + 64 + 13
    finally:
        controller.engine.stop()
    x = np.random.default_rng(7).uniform(-0.9, 0.9, 1000).astype(np.float32)
    np.testing.assert_array_equal(render(tmp_path, x, "reconstruct"), x)


def test_reconstruct_without_a_forward_method_decodes_what_it_encodes(tmp_path: Path) -> None:
    """OldExport's forward is unlisted (and silent); its decode is not encode's inverse:
    reconstruct through the slot is decode(encode(x)), whatever the chunking."""
    path = script(OldExport(RATIO, sample_rate=48000), tmp_path / "interleave.ts")
    x = np.random.default_rng(8).uniform(-0.9, 0.9, 1000).astype(np.float32)
    module = load_scripted(path)
    with torch.inference_mode():
        want = module.decode(module.encode(torch.from_numpy(x).view(1, 1, -1)))[0, 0].numpy()
    np.testing.assert_allclose(want, 0.5 * x + 0.125, atol=1e-7)  # not x, not silence
    y = render(tmp_path, x, "reconstruct")
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-7)


def test_cuda_is_refused_clearly_without_a_gpu(model_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load_generator(model_dir / "interleave.ts", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU here")
def test_cuda_renders_what_the_cpu_renders(model_dir: Path) -> None:
    assert load_generator(model_dir / "interleave.ts", device="cuda").device.type == "cuda"
    x = np.random.default_rng(9).uniform(-0.9, 0.9, 1024).astype(np.float32)
    for mode, params in (("reconstruct", {}), ("style", {"z1_offset": 0.5, "z3_scale": -1.0}),
                         ("generate", {"z1": 0.25, "z4": -0.5}),
                         ("prior", {"temperature": 0.3, "z2_offset": 0.1})):
        cpu = render(model_dir, x, mode, device='"cpu"', **params)
        cuda = render(model_dir, x, mode, device='"cuda"', **params)
        assert np.any(cpu != 0.0)
        np.testing.assert_allclose(cuda, cpu, rtol=0, atol=1e-6, err_msg=mode)


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


def test_hold_switched_on_mid_stream_freezes_the_last_value_not_zero(model_dir: Path) -> None:
    """Style mode, z2 = input + 0.25 (well above zero); hold goes on mid-stream, then the
    input swings negative and z2's offset moves: z2 stays at the value of the last frame
    before the hold, exactly, chunk after chunk, while the other dimensions go on."""
    controller = offline_controller(model_dir, rig(model_dir, "style", 16, 64)
                                    + "z2_offset = 0.25\n")
    engine = controller.engine
    rng = np.random.default_rng(10)
    x = np.concatenate([rng.uniform(0.2, 0.8, 12 * 16),  # three chunks, before the hold
                        rng.uniform(-0.8, -0.2, 28 * 16)]).astype(np.float32)
    out = []
    try:
        latency = engine.latency_samples
        for i, block in enumerate(x.reshape(-1, 16)):
            if i == 12:
                controller.set_param("gen", "z2_hold", 1.0)
            elif i == 20:
                controller.set_param("gen", "z2_offset", -1.0)
            out.append(engine.backend.process_block(block[:, None])[:, 0].copy())
    finally:
        engine.stop()
    y = np.concatenate(out)[latency:]
    frames, inputs = y.reshape(-1, RATIO), x[:len(y)].reshape(-1, RATIO)
    z2, followed = frames[:, 1], inputs[:, 1] + np.float32(0.25)
    # 1e-6: the slot's dry/wet Interp (dry + (wet - dry) * 1) can move the wet by an ulp.
    k = int(np.argmax(~np.isclose(z2, followed, rtol=0, atol=1e-6)))  # first held frame
    assert k >= 12 * 16 // RATIO and k % (64 // RATIO) == 0  # after the switch, at a chunk
    np.testing.assert_allclose(z2[:k], followed[:k], rtol=0, atol=1e-6)
    held = followed[k - 1]  # the last value before the hold
    assert held >= 0.45  # input-driven, far from zero and from the moved input (<= 0.05)
    assert len(z2) - k >= 3 * (64 // RATIO)  # several chunks held, the offset moved in them
    np.testing.assert_allclose(z2[k:], held, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(np.delete(frames, 1, axis=1), np.delete(inputs, 1, axis=1))


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
    started, gate = threading.Event(), threading.Event()

    def infer(x: np.ndarray, number: int, out: np.ndarray) -> None:
        if number == 3:
            started.set()
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
            if t_end == 4 * chunk:  # the worker must take chunk 3 before 4 queues behind it
                assert started.wait(5.0)
            elif t_end == 5 * chunk + block:  # chunk 3's first block has played (silence)
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


def _live_worker(controller, late_chunk: int):  # -> (processor, streamer, started, gate)
    """Give the rig's generator slot a real worker thread, as a live rig has (offline,
    inference runs inline), whose inference of chunk ``late_chunk`` sets ``started``
    and then waits for ``gate``."""
    processor = controller.engine.slot("gen").processor
    started, gate = threading.Event(), threading.Event()
    infer = processor._infer

    def slow(x: np.ndarray, number: int, out: np.ndarray) -> None:
        if number == late_chunk:
            started.set()
            assert gate.wait(5.0)
        infer(x, number, out)

    processor._streamer = ChunkStreamer(processor.ctx.block, processor.chunk,
                                        processor.budget, slow, realtime=True,
                                        on_submit=processor._snapshot, name="rave-test")
    return processor, processor._streamer, started, gate


def test_a_worker_more_than_a_chunk_behind_drops_to_the_newest(model_dir: Path) -> None:
    """Chunk 2's inference is held while chunks 3 and 4 are queued behind it: the worker
    finishes 2, skips 3 (dropped), computes 4. Chunks 2 and 3 play as silence (late), the
    output stays finite and within the input's range, and from chunk 4 on it is the input
    again, sample for sample."""
    block, chunk = 16, 64
    controller = offline_controller(model_dir, rig(model_dir, "style", block, chunk))
    engine = controller.engine
    processor, streamer, started, gate = _live_worker(controller, late_chunk=2)
    done = streamer._done
    x = np.random.default_rng(11).uniform(-0.9, 0.9, 40 * block).astype(np.float32)
    out = []
    try:
        latency = engine.latency_samples
        assert latency == 2 * chunk
        for i, piece in enumerate(x.reshape(-1, block)):
            out.append(engine.backend.process_block(piece[:, None])[:, 0].copy())
            t_end = (i + 1) * block
            if t_end == 3 * chunk:  # the worker took chunk 2 alone (nothing queued yet)
                assert started.wait(5.0)
            elif t_end == 5 * chunk:  # chunks 3 and 4 are queued behind the held chunk 2
                gate.set()
                _wait_for(lambda: done[4 % 4] == 4)
            elif t_end % chunk == 0 and (gate.is_set() or t_end < 3 * chunk):
                n = t_end // chunk - 1
                _wait_for(lambda n=n: done[n % 4] == n)
        report = processor.report()
        status = controller.status()
    finally:
        gate.set()
        engine.stop()
        assert streamer.join()
    y = np.concatenate(out)
    assert streamer.dropped == 1 and streamer.late == 2
    assert report["dropped_chunks"] == 1 and report["late_chunks"] == 2
    assert status["dropped_chunks"] == 1 and status["late_chunks"] == 2
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= np.max(np.abs(x))
    played = lambda n: slice(n * chunk + latency, (n + 1) * chunk + latency)  # noqa: E731
    assert np.all(y[played(2).start:played(3).stop] == 0.0)
    first = played(4).start + block  # chunk 4's first block fades in, then it plays as is
    np.testing.assert_array_equal(y[first:], x[first - latency:len(y) - latency])
    np.testing.assert_array_equal(y[latency:played(1).stop - block],
                                  x[:played(1).stop - block - latency])


def test_late_chunks_reach_the_controllers_status(model_dir: Path) -> None:
    """What /status reports: the generator slots' late and dropped chunks, summed."""
    block, chunk = 16, 64
    controller = offline_controller(model_dir, rig(model_dir, "generate", block, chunk)
                                    + "z1 = 0.5\n")
    engine = controller.engine
    _, streamer, started, gate = _live_worker(controller, late_chunk=2)
    silence = np.zeros((block, 1), np.float32)
    try:
        for i in range(32):
            engine.backend.process_block(silence)
            t_end = (i + 1) * block
            if t_end == 2 * chunk:
                assert controller.status()["late_chunks"] == 0
            if t_end == 3 * chunk:  # the worker took chunk 2 before chunk 3 was queued
                assert started.wait(5.0)
            elif t_end == 4 * chunk + block:  # chunk 2's first block has played, as silence
                status = controller.status()
                assert (status["late_chunks"], status["dropped_chunks"]) == (1, 0)
                gate.set()
                _wait_for(lambda: streamer._done[3] == 3)  # 2, then 3 (queued behind it)
            elif t_end % chunk == 0 and (gate.is_set() or t_end < 3 * chunk):
                n = t_end // chunk - 1
                _wait_for(lambda n=n: streamer._done[n % 4] == n)
        status = controller.status()
    finally:
        gate.set()
        engine.stop()
        assert streamer.join()
    assert (status["late_chunks"], status["dropped_chunks"]) == (1, 0)
    assert streamer.chunks == 8


def test_the_load_time_probe_leaves_no_state_behind(tmp_path: Path) -> None:
    """The loader runs every method once on silence, on a copy: in a streaming model
    without reset_state() (RAVE's exports have none) probing the module itself would leave
    the silence's activations in its caches, and the first chunk the slot plays would not
    be what a fresh model's first call gives (here 0.0 instead of -0.5 first)."""
    path = script(Cached(), tmp_path / "interleave.ts")
    x = np.random.default_rng(12).uniform(-0.9, 0.9, 512).astype(np.float32)
    fresh = load_scripted(path)
    with torch.inference_mode():
        want = fresh(torch.from_numpy(x).view(1, 1, -1))[0, 0].numpy()
    assert want[0] == -0.5  # a fresh cache is zero
    np.testing.assert_allclose(want[1:], x[:-1], atol=1e-6)
    y = render(tmp_path, x, "reconstruct")
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-6)


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
