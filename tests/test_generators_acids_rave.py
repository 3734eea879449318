"""A model exported by the real acids-rave package (RAVE v2), not by us.

The model is built the way RAVE's ``scripts/train.py`` builds one (RAVE's own gin
configs, shrunk with bindings; the operative config saved as ``config.gin`` beside a
checkpoint), then exported by RAVE's own ``scripts/export.py --streaming``: the
scripted, cached-convolution module that nn~ loads. It is untrained; the file format,
the nn~ contract and the streaming behaviour are what is tested. It runs in a child
process: gin's and absl's global state, and the shims below, stay out of this one.

Two models: v2 + causal + wasserstein (a deterministic encoder, so the slot's chunked
``reconstruct`` and ``style`` output must match one call on the whole signal), and
plain v2 (variational, non-causal: its encoder samples, so only ``generate``, which
decodes alone, is compared exactly; ``style`` is checked for sound).

What stands in for training, in the checkpoint: ``fidelity`` (the PCA's cumulative
explained variance, zeros before training) gets a curve that keeps every latent
dimension at export, as a trained model's does (so decode adds no noise dims); the
weight-norm gains of encoder and decoder are doubled, so the untrained net makes a
signal near full scale instead of about 1e-6.

acids-rave 2.3.1 pins scipy==1.10.0 and pytorch-lightning==1.9.0; ``make test``
installs it with --no-deps, on our scipy and pytorch-lightning. Three shims, all in
the PQMF filter design and only in the child process, keep scipy 1.10's arithmetic:

* ``scipy.signal.kaiser`` (removed in scipy 1.13; ``rave.pqmf`` imports the name and
  never uses it): aliased to ``scipy.signal.windows.kaiser``, the same function.
* ``rave.pqmf.firwin``: RAVE passes ``nyq=np.pi``, removed in scipy 1.14; the wrapper
  passes ``fs=2 * nyq``, which scipy defines as the same thing.
* ``rave.pqmf.kaiserord``: ``scipy.optimize.fmin`` hands RAVE's objective a 1-element
  array, which numpy 2 no longer turns into a scalar inside ``kaiserord``; the
  wrapper passes the element.

torchaudio: RAVE imports it for its training losses and discriminators (built with
the model, not in the exported module). PyPI's only Linux torchaudio wheels are CUDA
builds; on our CPU torch, ``make test`` installs one with --no-deps and deletes its
compiled extensions, so it loads in its pure-Python mode (the one it has for a
missing library), which is all ``torchaudio.transforms.Spectrogram`` needs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralrig.models.generators.torchscript import load_generator
from neuralrig.server.config import parse_config
from neuralrig.server.render import render_array

# Not pytest.importorskip: `import rave` swaps cached_conv's Conv1d, ConvTranspose1d and
# get_padding for gin-wrapped ones, process-wide. The child process tells whether it
# imports (exit 77, below); here only whether it is installed.
if importlib.util.find_spec("rave") is None:
    pytest.skip("acids-rave is not installed", allow_module_level=True)
CANNOT_IMPORT = 77  # the child's exit status when `import rave` fails

RATE = 44100  # RAVE v2's SAMPLING_RATE
RATIO = 16 * 4 * 4 * 4 * 2  # 16 PQMF bands times v2's RATIOS

BUILD_AND_EXPORT = """
import os
import runpy
import sys

import numpy as np
import scipy.signal
import scipy.signal.windows
import torch

torch.set_num_threads(1)
if not hasattr(scipy.signal, "kaiser"):
    scipy.signal.kaiser = scipy.signal.windows.kaiser
try:
    import gin
    import rave
    import rave.pqmf
except (ImportError, OSError) as exc:  # OSError: a torchaudio extension that cannot load
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(77)  # CANNOT_IMPORT

_kaiserord, _firwin = rave.pqmf.kaiserord, rave.pqmf.firwin


def kaiserord(ripple, width):
    return _kaiserord(ripple, float(np.asarray(width).reshape(-1)[0]))


def firwin(*args, nyq=None, **kwargs):
    if nyq is not None:
        kwargs["fs"] = 2 * nyq
    return _firwin(*args, **kwargs)


rave.pqmf.kaiserord, rave.pqmf.firwin = kaiserord, firwin

out, configs, bindings = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
gin.parse_config_files_and_bindings([c + ".gin" for c in configs], bindings)
torch.manual_seed(0)
model = rave.RAVE(n_channels=1)
run = os.path.join(out, "run")
os.makedirs(os.path.join(run, "version_0", "checkpoints"))
with open(os.path.join(run, "config.gin"), "w") as f:
    f.write(gin.operative_config_str())
state = model.state_dict()
n = state["fidelity"].numel()
state["fidelity"] = torch.linspace(1 / n, 1, n)
for key in state:
    if key.endswith("weight_g") and key.split(".")[0] in ("encoder", "decoder"):
        state[key] = 2 * state[key]
torch.save({"state_dict": state}, os.path.join(run, "version_0", "checkpoints", "last.ckpt"))
gin.clear_config()

sys.argv = ["export", "--run", run, "--streaming", "--output", out, "--name", "tiny"]
runpy.run_module("scripts.export", run_name="__main__")
"""


def export(folder: Path, configs: tuple[str, ...], *bindings: str) -> Path:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", BUILD_AND_EXPORT, str(folder),
                           ",".join(configs), *bindings],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=240)
    if done.returncode == CANNOT_IMPORT:
        pytest.skip(f"acids-rave does not import: {done.stderr.strip().splitlines()[-1]}")
    path = folder / "tiny_streaming.ts"
    assert done.returncode == 0 and path.exists(), done.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def deterministic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("rave_causal"), ("v2", "causal", "wasserstein"),
                  "CAPACITY=4", "LATENT_SIZE=4", "NOISE_AUGMENTATION=0")


@pytest.fixture(scope="module")
def variational(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("rave_v2"), ("v2",), "CAPACITY=4", "LATENT_SIZE=8")


def rig(model: Path, mode: str, **params: float) -> str:
    lines = [f'[paths]\nmodels = ["{model.parent}"]\n[engine]\nblock = 64\n[[slot]]',
             'id = "gen"', 'type = "rave"', f'model = "{model.name}"', f'mode = "{mode}"',
             f"buffer = {2 * RATIO}"]
    return "\n".join(lines + [f"{k} = {v}" for k, v in params.items()]) + "\n"


def test_the_loader_reads_rave_exports(deterministic: Path, variational: Path) -> None:
    for path, latent in ((deterministic, 4), (variational, 8)):
        gen = load_generator(path)
        assert set(gen.methods) == {"encode", "decode", "forward"}
        assert (gen.sample_rate, gen.ratio, gen.latent_size, gen.latency) == (RATE, RATIO,
                                                                              latent, 0)
        assert gen.methods["encode"].out_ratio == gen.methods["decode"].in_ratio == RATIO


@pytest.mark.parametrize("mode", ["reconstruct", "style"])
def test_a_rave_export_streams_like_one_call_on_the_whole_signal(deterministic: Path,
                                                                 mode: str) -> None:
    x = np.random.default_rng(5).uniform(-0.8, 0.8, 8 * RATIO).astype(np.float32)
    reference = load_generator(deterministic)  # its own caches, fresh
    with torch.inference_mode():
        whole = reference.call("forward", torch.from_numpy(x).view(1, 1, -1))[0, 0].numpy()
    assert np.sqrt(np.mean(whole ** 2)) > 0.1  # a signal, not a near-silence that passes
    y = render_array(parse_config(rig(deterministic, mode)), x[:, None], RATE, 64)[:, 0]
    np.testing.assert_allclose(y, whole, atol=1e-5)


def test_the_variational_v2_export_generates_like_one_decode_of_the_whole(
        variational: Path) -> None:
    z = np.array([1.5, -1.0, 0.5, 2.0, -2.5, 0.25, -0.75, 1.0], np.float32)
    # The loader probes every method on silence, and encode samples: the probe leaves
    # random latents in the decoder's caches (12 latent frames of this non-causal
    # decoder's output depend on them). The same seed before each load, so the same.
    torch.manual_seed(0)
    reference = load_generator(variational)
    with torch.inference_mode():
        latents = torch.from_numpy(z)[None, :, None].expand(1, 8, 8).contiguous()
        whole = reference.call("decode", latents)[0, 0].numpy()
    assert np.sqrt(np.mean(whole ** 2)) > 0.01
    params = {f"z{d}": float(v) for d, v in enumerate(z, 1)}
    config = parse_config(rig(variational, "generate", **params))
    torch.manual_seed(0)
    y = render_array(config, np.zeros((8 * RATIO, 1), np.float32), RATE, 64)[:, 0]
    np.testing.assert_allclose(y, whole, atol=1e-5)


def test_the_variational_v2_export_transfers_style(variational: Path) -> None:
    x = np.random.default_rng(6).uniform(-0.8, 0.8, 8 * RATIO).astype(np.float32)
    y = render_array(parse_config(rig(variational, "style")), x[:, None], RATE, 64)[:, 0]
    assert y.shape == x.shape and np.all(np.isfinite(y))
    assert np.sqrt(np.mean(y[2 * RATIO:] ** 2)) > 0.01  # sampled latents, decoded: sound
