"""A model exported by nn~'s own Python exporter (nn_tilde + cached_conv), not by us.

nn_tilde's wheel pins torch 2.5, so `make test` installs it and cached_conv with
--no-deps: their code runs on our torch. The model is stateful (cached causal
convolutions), so the slot's chunked, threaded streaming must match one call on
the whole signal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neuralrig.models.generators.torchscript import load_generator
from neuralrig.server.config import parse_config
from neuralrig.server.render import render_array

nn_tilde = pytest.importorskip("nn_tilde")
cc = pytest.importorskip("cached_conv")

RATIO = 16
LATENT = 4


class Tiny(nn_tilde.Module):
    """Causal cached convolutions around a ratio-16 fold, exported by nn_tilde."""

    def __init__(self) -> None:
        super().__init__(sr=48000)
        self.ratio = RATIO
        self.enc = cc.Conv1d(1, LATENT, 9, padding=cc.get_padding(9, mode="causal"))
        self.dec = cc.Conv1d(LATENT, 1, 9, padding=cc.get_padding(9, mode="causal"))
        self.register_method("encode", 1, 1, LATENT, RATIO)
        self.register_method("decode", LATENT, RATIO, 1, 1)
        self.register_method("forward", 1, 1, 1, 1)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.enc(x))[..., self.ratio - 1::self.ratio]

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z.repeat_interleave(self.ratio, dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def export(path: Path) -> Path:
    cc.use_cached_conv(True)
    torch.manual_seed(0)
    Tiny().export_to_ts(str(path))
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("nn_tilde") / "tiny.ts")


def test_the_loader_reads_an_nn_tilde_export(exported: Path) -> None:
    gen = load_generator(exported)
    assert set(gen.methods) >= {"encode", "decode", "forward"}
    assert (gen.sample_rate, gen.ratio, gen.latent_size) == (48000, RATIO, LATENT)


@pytest.mark.parametrize("mode", ["reconstruct", "style"])
def test_an_nn_tilde_export_streams_like_one_call_on_the_whole_signal(exported: Path,
                                                                     mode: str) -> None:
    x = np.random.default_rng(5).uniform(-0.8, 0.8, 16 * 256).astype(np.float32)
    reference = load_generator(exported)  # its own caches, fresh
    with torch.inference_mode():
        whole = reference.call("forward", torch.from_numpy(x).view(1, 1, -1))[0, 0].numpy()
    rig = (f'[paths]\nmodels = ["{exported.parent}"]\n[engine]\nblock = 64\n'
           f'[[slot]]\nid = "gen"\ntype = "rave"\nmodel = "tiny.ts"\nmode = "{mode}"\n'
           "buffer = 256\n")
    y = render_array(parse_config(rig), x[:, None], 48000, 64)[:, 0]
    np.testing.assert_allclose(y, whole, atol=1e-5)
