"""neuralrig's RAVE-style VAE: nn~'s TorchScript contract, streaming, latency, weights,
the make_shipped pipeline and the shipped model."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import neuralrig.models.data
from neuralrig.models.generators.rave.corpus import VALIDATION_SEED, synthesise
from neuralrig.models.generators.rave.export import (
    export_torchscript,
    load_torchscript,
    load_weights,
    save_weights,
)
from neuralrig.models.generators.rave.make_shipped import envelope_lag, make
from neuralrig.models.generators.rave.model import LATENCY, RaveVAE, hash_noise
from neuralrig.models.generators.torchscript import load_generator

RATIO, LATENT, RATE = 2048, 8, 48000
LENGTH = 30 * RATIO  # divisible by every block size below
DATA = Path(neuralrig.models.data.__file__).parent
SHIPPED_TS, SHIPPED_WEIGHTS = DATA / "rave-synth.ts", DATA / "rave-synth.safetensors"


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread, as nn~ hosts run these models (and no oversubscription when the
    machine is busy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_model(seed: int = 0) -> RaveVAE:
    """An untrained model with louder synthesis controls that follow the latents, and a
    random latent rotation, so every path (PCA, partials, noise, waveform) shows in the
    output."""
    torch.manual_seed(seed)
    model = RaveVAE()
    with torch.no_grad():
        synth = model.decoder.synth
        synth.level.weight.mul_(10.0)
        synth.level.bias[:synth.amplitudes] = -1.5
        # A signed, non-symmetric permutation: exactly orthogonal, so decode(encode(x))
        # can be compared with forward(x) closely (a float32 rotation is orthogonal to
        # 1e-7 only, which the oscillator phase integrates).
        rotation = torch.eye(LATENT).roll(1, dims=0) * torch.tensor([1.0, -1.0] * (LATENT // 2))
        model.latent_pca.copy_(rotation)
        model.latent_mean.copy_(torch.randn(LATENT) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> RaveVAE:
    return _random_model()


@pytest.fixture(scope="module")
def ts_path(model: RaveVAE, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_torchscript(model, tmp_path_factory.mktemp("rave") / "random.ts")


@pytest.fixture(scope="module")
def ts(ts_path: Path) -> torch.jit.ScriptModule:
    """One loaded instance for the module (TorchScript optimises a method on its first
    calls); each test starts from reset_state, or from a batch size change."""
    return load_torchscript(ts_path)


@pytest.fixture(scope="module")
def ts64(ts_path: Path) -> torch.jit.ScriptModule:
    """The same file in float64: streaming must match whole-signal processing to float64
    precision (in float32 the oscillator phases drift apart slowly, see below)."""
    return load_torchscript(ts_path).double()


@pytest.fixture(scope="module")
def audio() -> torch.Tensor:
    """(1, 1, LENGTH) of the validation corpus, louder (an untrained encoder)."""
    x = synthesise(LENGTH / RATE + 0.1, VALIDATION_SEED)[:LENGTH]
    return torch.from_numpy(x / np.max(np.abs(x)))[None, None]


def _inputs(method: str, audio: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The whole-signal input of ``method`` and the input length per ratio block."""
    if method == "decode":
        generator = torch.Generator().manual_seed(3)
        return torch.randn(1, LATENT, LENGTH // RATIO, generator=generator), 1
    return audio, RATIO


def _whole_and_blockwise(ts: torch.jit.ScriptModule, method: str, x: torch.Tensor,
                         block: int) -> tuple[torch.Tensor, torch.Tensor]:
    run = getattr(ts, method)
    with torch.inference_mode():
        ts.reset_state()
        whole = run(x)
        ts.reset_state()
        parts = torch.cat([run(part) for part in x.split(block, dim=-1)], dim=-1)
    assert parts.shape == whole.shape
    assert whole.abs().max() > 1e-2  # not trivially silent
    return whole, parts


@pytest.mark.parametrize("method", ["encode", "decode", "forward"])
@pytest.mark.parametrize("blocks", [1, 2, 3, 5])  # x 2048 samples: 2048, 4096, 6144, 10240
def test_blockwise_equals_whole(ts64: torch.jit.ScriptModule, audio: torch.Tensor,
                                method: str, blocks: int) -> None:
    """Exact streaming (to float64 rounding) through the exported file, in float64."""
    x, per_block = _inputs(method, audio)
    whole, parts = _whole_and_blockwise(ts64, method, x.double(), blocks * per_block)
    torch.testing.assert_close(parts, whole, rtol=0, atol=0)


@pytest.mark.parametrize("method", ["encode", "decode", "forward"])
@pytest.mark.parametrize("blocks", [1, 3])
def test_blockwise_float32(ts: torch.jit.ScriptModule, audio: torch.Tensor, method: str,
                           blocks: int) -> None:
    """The file as shipped (float32) streams bit for bit: it runs one latent frame per
    network call whatever the call's length."""
    x, per_block = _inputs(method, audio)
    whole, parts = _whole_and_blockwise(ts, method, x, blocks * per_block)
    torch.testing.assert_close(parts, whole, rtol=0, atol=0)


def test_streaming_continues_state(ts: torch.jit.ScriptModule, audio: torch.Tensor) -> None:
    """Without reset_state, a second pass over the same audio differs (the caches carry
    the first pass's end); after reset_state it repeats exactly."""
    x = audio[..., :4 * RATIO]
    with torch.inference_mode():
        ts.reset_state()
        first = ts.forward(x)
        second = ts.forward(x)
        ts.reset_state()
        again = ts.forward(x)
    assert not torch.allclose(first, second)
    torch.testing.assert_close(again, first, rtol=0, atol=0)


def test_batch_streams_are_independent_and_batch_change_resets(
        ts64: torch.jit.ScriptModule, audio: torch.Tensor) -> None:
    ts = ts64
    audio = audio.double()
    signals = torch.cat([audio[..., i * 8 * RATIO:(i + 1) * 8 * RATIO] for i in range(3)]
                        + [audio[..., :8 * RATIO] * 0.3])
    with torch.inference_mode():
        ts.reset_state()
        singles = []
        for item in signals:
            ts.reset_state()
            singles.append(torch.cat([ts.forward(b) for b in item[None].split(RATIO, -1)], -1))
        ts.forward(audio[..., :RATIO])  # batch 1 state ...
        # ... is dropped when the batch size changes: the stream starts from reset.
        batched = torch.cat([ts.forward(b) for b in signals.split(RATIO, -1)], -1)
    torch.testing.assert_close(batched, torch.cat(singles), rtol=0, atol=1e-7)


def test_matches_the_eager_model(model: RaveVAE, ts64: torch.jit.ScriptModule,
                                 audio: torch.Tensor) -> None:
    """The export computes what the training model does (in float64: the eager model runs
    whole-length convolutions, the export frame by frame)."""
    eager_model = copy.deepcopy(model).double()
    with torch.no_grad():
        eager = eager_model(audio.double(), sample=False)[0]
        ts64.reset_state()
        scripted = ts64.forward(audio.double())
    torch.testing.assert_close(scripted, eager, rtol=0, atol=1e-7)


@pytest.mark.parametrize("batch", [1, 4])
def test_nn_tilde_contract(ts: torch.jit.ScriptModule, batch: int) -> None:
    assert ts.get_methods() == ["encode", "decode", "forward"]
    assert ts.get_attributes() == []
    assert ts.get_sample_rate() == RATE and int(ts.sampling_rate) == RATE
    expected = {"encode": [1, 1, LATENT, RATIO], "decode": [LATENT, RATIO, 1, 1],
                "forward": [1, 1, 1, 1]}
    for method, params in expected.items():
        buffer = getattr(ts, f"{method}_params")
        assert buffer.dtype == torch.int64 and buffer.tolist() == params
    names = {name for name, _ in ts.named_buffers()}
    assert {"encode_params", "decode_params", "forward_params", "sampling_rate",
            "latent_mean", "latent_pca", "fidelity"} <= names
    assert ts.latent_mean.shape == (LATENT,) and ts.fidelity.shape == (LATENT,)
    # Each method: one 3-D float tensor in, one out, L * in_ratio / out_ratio frames.
    n = 8192
    with torch.inference_mode():
        for method, (cin, rin, cout, rout) in expected.items():
            x = torch.randn(batch, cin, n // rin) * 0.1
            y = getattr(ts, method)(x)
            assert y.dtype == torch.float32 and y.dim() == 3
            assert y.shape == (batch, cout, x.shape[-1] * rin // rout)
            assert torch.isfinite(y).all()
            if cout == 1:
                assert y.abs().max() <= 1  # tanh output


def test_rejects_lengths_off_the_ratio(ts: torch.jit.ScriptModule) -> None:
    with pytest.raises(Exception, match="multiple of 2048"):
        ts.forward(torch.zeros(1, 1, RATIO + 16))


def test_latency_is_block_aligned(ts: torch.jit.ScriptModule, audio: torch.Tensor) -> None:
    """get_latency() == 0: output block j is the reconstruction of input block j. A change
    at input sample t reaches the output from the start of t's block on, never before."""
    assert ts.get_latency() == LATENCY == 0
    x = audio[..., :6 * RATIO]
    block, offset = 3, 1500
    changed = x.clone()
    changed[..., block * RATIO + offset:] += 0.5 * torch.randn_like(
        changed[..., block * RATIO + offset:])
    with torch.inference_mode():
        ts.reset_state()
        before = ts.forward(x)
        ts.reset_state()
        after = ts.forward(changed)
    start = block * RATIO
    torch.testing.assert_close(after[..., :start], before[..., :start], rtol=0, atol=0)
    # Already the part of the block before the changed sample differs.
    assert not torch.allclose(after[..., start:start + offset], before[..., start:start + offset])


def test_decode_is_deterministic(ts: torch.jit.ScriptModule) -> None:
    z = torch.randn(2, LATENT, 6)
    with torch.inference_mode():
        ts.reset_state()
        first = ts.decode(z)
        ts.reset_state()
        second = ts.decode(z)
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_hash_noise_is_a_function_of_the_index() -> None:
    whole = hash_noise(-100, 5000)
    torch.testing.assert_close(torch.cat([hash_noise(-100, 1234), hash_noise(1134, 3766)]),
                               whole)
    assert -1 <= whole.min() < -0.9 and 0.9 < whole.max() < 1
    assert abs(float(whole.mean())) < 0.05 and abs(float(whole.std()) - 1 / math.sqrt(3)) < 0.02


def test_pca_round_trip(ts64: torch.jit.ScriptModule) -> None:
    """decode's latent inverse undoes encode's rotation: same audio through forward and
    through decode(encode(.))."""
    ts = ts64
    x = torch.randn(1, 1, 4 * RATIO, dtype=torch.float64) * 0.2
    with torch.inference_mode():
        ts.reset_state()
        direct = ts.forward(x)
        ts.reset_state()
        via_latents = ts.decode(ts.encode(x))  # shares one cache set: encoder, then decoder
    # (m - latent_mean) + latent_mean is m to a float64 rounding, which the phase
    # integrates.
    torch.testing.assert_close(via_latents, direct, rtol=0, atol=1e-9)


def test_safetensors_round_trip(model: RaveVAE, tmp_path: Path, audio: torch.Tensor) -> None:
    path = save_weights(model, tmp_path / "m.safetensors")
    header = path.read_bytes()
    assert header[8:9] == b"{"  # safetensors: length + JSON header, no pickle
    loaded = load_weights(path)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)
    assert loaded.cfg == model.cfg
    with torch.no_grad():
        torch.testing.assert_close(loaded(audio, sample=False)[0], model(audio, sample=False)[0])
    (tmp_path / "bad.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(Exception):  # noqa: B017 (safetensors' own error type)
        load_weights(tmp_path / "bad.safetensors")


def test_quick_make_shipped_writes_every_file(tmp_path: Path) -> None:
    report = make(tmp_path, quick=True, threads=1, progress=False)
    assert torch.get_num_threads() == 1  # restored after training
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["rave-synth.loss.png", "rave-synth.report.json", "rave-synth.safetensors",
                     "rave-synth.ts"]  # no temporary files left
    assert (tmp_path / "rave-synth.loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads((tmp_path / "rave-synth.report.json").read_text())
    assert on_disk["parameters"] == report["parameters"] > 0
    assert on_disk["compression_ratio"] == RATIO and on_disk["latent_size"] == LATENT
    assert on_disk["sample_rate"] == RATE and on_disk["latency_samples"] == 0
    for key in ("model", "silence", "lowpass_2khz", "block_rms_noise"):
        assert set(on_disk["validation"][key]) == {"distance", "mrstft"}
    assert on_disk["realtime"]["realtime_factor_total"] > 0
    ts = load_torchscript(tmp_path / "rave-synth.ts")
    with torch.inference_mode():
        assert ts.forward(torch.zeros(1, 1, RATIO)).shape == (1, 1, RATIO)
    # The rave slot's loader (nn~'s contract, probed on silence) takes it.
    assert load_generator(tmp_path / "rave-synth.ts").latency == 0
    fidelity = ts.fidelity
    assert torch.all(fidelity[1:] >= fidelity[:-1] - 1e-6) and abs(float(fidelity[-1]) - 1) < 1e-4


def test_envelope_lag_finds_a_shift() -> None:
    x = synthesise(3.0, 5)
    shifted = np.concatenate([np.zeros(640, np.float32), x[:-640]])
    assert envelope_lag(shifted, x) == 640
    assert envelope_lag(x, x) == 0


def test_shipped_model_matches_its_weights(tmp_path: Path) -> None:
    """The shipped .ts is the export of the shipped .safetensors, loads through the rave
    slot's loader, and reconstructs the validation corpus aligned with its input (the
    envelope lag is get_latency())."""
    assert SHIPPED_TS.exists() and SHIPPED_WEIGHTS.exists()
    generator = load_generator(SHIPPED_TS)
    assert (generator.sample_rate, generator.ratio, generator.latent_size,
            generator.latency) == (RATE, RATIO, LATENT, 0)
    report = json.loads((DATA / "rave-synth.report.json").read_text())
    assert report["latency_samples"] == 0 and not report["quick"]
    shipped = load_torchscript(SHIPPED_TS)
    weights = load_weights(SHIPPED_WEIGHTS)
    fresh = load_torchscript(export_torchscript(weights, tmp_path / "fresh.ts"))
    shipped_buffers = dict(shipped.named_buffers())
    for name, tensor in fresh.state_dict().items():
        torch.testing.assert_close(shipped.state_dict()[name], tensor, rtol=0, atol=0)
    assert set(shipped_buffers) == set(dict(fresh.named_buffers()))
    x = synthesise(4.5, VALIDATION_SEED)[:2 * 2048 * 50]
    audio = torch.from_numpy(x)[None, None]
    with torch.inference_mode():
        a, b = shipped.forward(audio), fresh.forward(audio)
        z = shipped.encode(audio)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert z.shape == (1, LATENT, x.size // RATIO)
    lag = envelope_lag(a[0, 0].numpy(), x)
    assert abs(lag - shipped.get_latency()) <= 128


@pytest.mark.parametrize("mode", ["reconstruct", "style"])
def test_the_shipped_model_streams_through_the_rave_slot(mode: str) -> None:
    """`rave-synth.ts` in the rig, as a user runs it: rendered with two chunk sizes (two
    streaming splits, two declared latencies) the outputs agree sample for sample after
    latency compensation, and they are what the model gives on the whole signal, so
    nothing happens at chunk edges. Style mode with an edit: z1 offset."""
    from neuralrig.server.config import parse_config
    from neuralrig.server.render import render_array

    x = synthesise(2.0, VALIDATION_SEED)[: 2048 * 40].astype(np.float32)
    edit = "z1_offset = 0.5\n" if mode == "style" else ""
    outputs = []
    for buffer in (2048, 8192):
        config = parse_config(f'[paths]\nmodels = ["{DATA}"]\n[[slot]]\nid = "gen"\n'
                              f'type = "rave"\nmodel = "rave-synth.ts"\nmode = "{mode}"\n'
                              f"buffer = {buffer}\n{edit}")
        outputs.append(render_array(config, x, RATE, block=128)[:, 0])
    short, long = outputs
    assert np.sqrt(np.mean(short ** 2)) > 1e-3
    np.testing.assert_allclose(short, long, rtol=0, atol=1e-5)
    if mode == "reconstruct":
        with torch.inference_mode():
            whole = load_torchscript(SHIPPED_TS).forward(torch.from_numpy(x)[None, None])
        np.testing.assert_allclose(short, whole[0, 0].numpy(), rtol=0, atol=1e-5)
