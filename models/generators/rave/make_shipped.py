"""Remake the shipped RAVE-style generator from nothing (`make rave-model`).

1. Synthesise the corpus (``corpus.py``): TRAIN_SECONDS of training audio and
   VALIDATION_SECONDS of validation audio, from fixed seeds.
2. Train ``RaveVAE`` (``train.py``) for a fixed number of steps on random windows.
3. Fit the exported latent space (posterior-mean PCA over the training corpus).
4. Write, each atomically, into ``--out``: ``rave-synth.safetensors`` (weights, the
   config in its metadata), ``rave-synth.ts`` (TorchScript in nn~'s contract),
   ``rave-synth.report.json`` and ``rave-synth.loss.png``.

    python -m neuralrig.models.generators.rave.make_shipped [--out models/data] [--quick]

The report compares the streaming model's reconstruction of the validation audio
with three trivial baselines under two distances: ``distance`` (the training
loss's) and ``mrstft`` (``neuralrig.models.training.losses.mrstft``, the one the
effect models report). Baselines: silence; the input low-passed (2nd-order
Butterworth at 2 kHz); white noise at each 2048-sample block's RMS (as much as a
loudness-only coder at the latent rate could send). Lower is better.

``--quick`` trains a few steps on seconds of audio (checks the pipeline; not for
shipping). Training uses ``--threads`` threads (1; torch's two threads ran several
times slower whenever anything else was busy on a two-core machine); the realtime
factor is measured on one thread at 2048-sample blocks.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import signal

from neuralrig.server.atomic import write_atomic, write_text_atomic

from . import corpus as corpus_module
from .export import export_torchscript, save_weights
from .model import LATENCY, Config, RaveVAE, parameter_count
from .rtf import measure
from .train import TrainOptions, distance, posterior_means, reconstruct, train

NAME = "rave-synth"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data"
TRAIN_SECONDS, VALIDATION_SECONDS = 300.0, 40.0
OPTIONS = TrainOptions()
QUICK_OPTIONS = TrainOptions(steps=3, batch=2, segment=8192, validate_every=2, warmup=1)
QUICK_SECONDS = (12.0, 6.0)


def _baselines(audio: np.ndarray, ratio: int, seed: int) -> dict[str, np.ndarray]:
    sos = signal.butter(2, 2000, "lowpass", fs=corpus_module.RATE, output="sos")
    blocks = audio.reshape(-1, ratio)
    rms = np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1, keepdims=True))
    noise = np.random.default_rng(seed).standard_normal(blocks.shape) * rms
    return {"silence": np.zeros_like(audio),
            "lowpass_2khz": signal.sosfilt(sos, audio).astype(np.float32),
            "block_rms_noise": noise.reshape(-1).astype(np.float32)}


def _distances(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    from neuralrig.models.training.losses import mrstft

    p, t = torch.from_numpy(pred)[None], torch.from_numpy(target)[None]
    with torch.no_grad():
        return {"distance": round(float(distance(p, t)), 4),
                "mrstft": round(float(mrstft(p, t)), 4)}


@torch.no_grad()
def _pitch(model: RaveVAE, audio: np.ndarray) -> np.ndarray:
    """The encoder's pitch tracker over a whole signal: (2, frames) log2(f0 / 220 Hz) and
    confidence per latent frame."""
    tracker = copy.deepcopy(model.encoder.pitch)
    x = torch.from_numpy(audio[: len(audio) - len(audio) % model.cfg.ratio])[None, None]
    return tracker(x)[0].numpy()


def pitch_tracking(model: RaveVAE, recon: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """How well the reconstruction keeps pitch: on latent frames where the target is
    pitched (tracker confidence > 0.8, RMS above -40 dBFS), the pitch tracker's estimate
    on the reconstruction against the target's, in semitones."""
    ref, got = _pitch(model, target), _pitch(model, recon)
    rms = np.sqrt(np.mean(target.reshape(-1, model.cfg.ratio).astype(np.float64) ** 2, 1))
    pitched = (ref[1] > 0.8) & (rms > 10 ** (-40 / 20))
    error = np.abs(12 * (got[0] - ref[0]))[pitched]
    if not error.size:
        return {"frames": 0}
    return {"frames": int(error.size), "median_semitones": round(float(np.median(error)), 2),
            "within_1_semitone": round(float(np.mean(error <= 1.0)), 3),
            "octave_errors": round(float(np.mean(np.abs(error - 12) <= 1.0)), 3)}


def latent_axes(model: RaveVAE, audio: np.ndarray) -> dict[str, Any]:
    """Correlation of each exported latent dimension with features of its 2048-sample
    block, over blocks above -50 dBFS: loudness (dB), brightness (log spectral centroid),
    noisiness (spectral flatness) and, on pitched blocks (tracker confidence > 0.8),
    pitch (log f0)."""
    usable = len(audio) - len(audio) % model.cfg.ratio
    blocks = audio[:usable].reshape(-1, model.cfg.ratio).astype(np.float64)
    means = posterior_means(model, audio)
    z = torch.matmul(model.latent_pca, means - model.latent_mean[:, None]).numpy()
    spectrum = np.abs(np.fft.rfft(blocks * np.hanning(blocks.shape[1]), axis=1)) + 1e-9
    hz = np.fft.rfftfreq(blocks.shape[1], 1 / model.cfg.sample_rate)
    features = {
        "loudness": 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-10),
        "brightness": np.log2((spectrum * hz).sum(1) / spectrum.sum(1) + 1),
        "noisiness": np.exp(np.mean(np.log(spectrum), 1)) / np.mean(spectrum, 1),
    }
    pitch = _pitch(model, audio)
    loud = features["loudness"] > -50
    pitched = loud & (pitch[1] > 0.8)
    features["pitch"] = pitch[0]

    def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
        if a.size < 3 or a.std() == 0 or b.std() == 0:
            return None
        return round(float(np.corrcoef(a, b)[0, 1]), 3)

    result: dict[str, Any] = {
        name: [correlation(z[d, mask], values[mask]) for d in range(z.shape[0])]
        for (name, values), mask in zip(features.items(), (loud, loud, loud, pitched),
                                        strict=True)}
    result["blocks"] = {"loud": int(loud.sum()), "pitched": int(pitched.sum())}
    return result


def envelope_lag(pred: np.ndarray, target: np.ndarray, hop: int = 64,
                 max_lag: int = 4096) -> int:
    """The shift (samples, a multiple of ``hop``) that best aligns the RMS envelope of
    ``pred`` with that of ``target``: pred[t + lag] follows target[t]."""
    def env(x: np.ndarray) -> np.ndarray:
        frames = x[: len(x) - len(x) % hop].reshape(-1, hop).astype(np.float64)
        e = np.log(np.sqrt(np.mean(frames**2, axis=1)) + 1e-4)
        return e - e.mean()

    ep, et = env(pred), env(target)
    lags = range(-max_lag // hop, max_lag // hop + 1)

    def score(k: int) -> float:
        a, b = (ep[k:], et[:len(et) - k]) if k >= 0 else (ep[:k], et[-k:])
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))

    return max(lags, key=score) * hop


def plot_history(history: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = np.asarray(history["step"]) + 1
    dist = np.asarray(history["distance"])
    width = max(1, min(50, len(dist) // 10))
    smooth = np.convolve(dist, np.ones(width) / width, mode="valid")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(steps, dist, color="0.8", lw=0.5, label="training distance (per step)")
    ax.plot(steps[width - 1:], smooth, color="C0", label=f"training distance ({width}-step mean)")
    ax.plot(history["validation_step"], history["validation_distance"], "o-", color="C1",
            ms=3, label="validation distance")
    ax.set_xlabel("step")
    ax.set_ylabel("multi-resolution STFT distance")
    ax.set_ylim(0, max(2.5, float(np.percentile(dist, 99)) * 1.05))
    ax.grid(alpha=0.3)
    kl_ax = ax.twinx()
    kl_ax.plot(steps, history["kl"], color="C2", lw=0.6, alpha=0.6, label="KL (nats/frame)")
    kl_ax.set_ylabel("KL per latent frame (nats)")
    lines = ax.get_legend_handles_labels()
    kl_lines = kl_ax.get_legend_handles_labels()
    ax.legend(lines[0] + kl_lines[0], lines[1] + kl_lines[1], loc="upper right", fontsize=8)
    ax.set_title(f"{NAME}: training ({history['seconds']:.0f} s)")
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def make(out: Path, quick: bool = False, threads: int = 1, steps: int | None = None,
         progress: bool = True) -> dict[str, Any]:
    """Synthesise, train, export and report; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    options = QUICK_OPTIONS if quick else OPTIONS
    overrides: dict[str, Any] = {"threads": threads}
    if steps is not None:
        overrides["steps"] = steps
    options = TrainOptions(**{**options.to_dict(), **overrides})
    train_seconds, val_seconds = QUICK_SECONDS if quick else (TRAIN_SECONDS,
                                                              VALIDATION_SECONDS)
    started = time.perf_counter()
    train_audio = corpus_module.synthesise(train_seconds, corpus_module.TRAIN_SEED)
    val_audio = corpus_module.synthesise(val_seconds, corpus_module.VALIDATION_SEED)
    synth_seconds = time.perf_counter() - started

    torch.manual_seed(options.seed)
    model = RaveVAE(Config())
    history = train(model, train_audio, val_audio, options, progress=progress)
    model.fit_latent_pca(posterior_means(model, train_audio))

    paths = {key: out / f"{NAME}.{ext}" for key, ext in (
        ("weights", "safetensors"), ("torchscript", "ts"), ("report", "report.json"),
        ("loss", "loss.png"))}
    save_weights(model, paths["weights"], extra={"train_options": options.to_dict()})
    export_torchscript(model, paths["torchscript"])

    ratio = model.cfg.ratio
    target = val_audio[: len(val_audio) - len(val_audio) % ratio]
    recon = reconstruct(model, target)
    validation = {"model": _distances(recon, target)}
    for name, baseline in _baselines(target, ratio, seed=1).items():
        validation[name] = _distances(baseline, target)
    stds = posterior_means(model, val_audio)
    latent_std = torch.matmul(model.latent_pca, stds - model.latent_mean[:, None]).std(dim=1)
    rtf = measure(paths["torchscript"], block=2048, seconds=4.0 if quick else 60.0,
                  threads=1, audio=val_audio)

    report: dict[str, Any] = {
        "name": NAME,
        "format": "TorchScript, nn~ contract (encode/decode/forward); see export.py",
        "sample_rate": model.cfg.sample_rate,
        "compression_ratio": ratio,
        "latent_size": model.cfg.latent,
        "latency_samples": LATENCY,
        "latency_note": ("output block j reconstructs input block j (2048 samples, "
                         "aligned); a host adds the time it takes to gather a block"),
        "measured_envelope_lag_samples": envelope_lag(recon, target),
        "parameters": parameter_count(model),
        "torchscript_bytes": paths["torchscript"].stat().st_size,
        "safetensors_bytes": paths["weights"].stat().st_size,
        "config": model.cfg.to_dict(),
        "quick": quick,
        "corpus": {"train_seconds": train_seconds, "validation_seconds": val_seconds,
                   "train_seed": corpus_module.TRAIN_SEED,
                   "validation_seed": corpus_module.VALIDATION_SEED,
                   "synthesis_seconds": round(synth_seconds, 1)},
        "training": {"options": options.to_dict(), "seconds": round(history["seconds"], 1),
                     "final_kl_nats_per_frame": round(float(np.mean(history["kl"][-50:])), 3),
                     "final_train_distance": round(float(np.mean(history["distance"][-50:])),
                                                   4)},
        "validation": validation,
        "validation_note": ("whole validation corpus, streaming model from reset; "
                            "'distance' = training loss's STFT term, 'mrstft' = "
                            "neuralrig.models.training.losses.mrstft; lower is better"),
        "latent_fidelity": [round(float(v), 4) for v in model.fidelity],
        "latent_std_validation": [round(float(v), 4) for v in latent_std],
        "latent_correlations_validation": latent_axes(model, val_audio),
        "pitch_tracking_validation": pitch_tracking(model, recon, target),
        "realtime": {**rtf, "command": ("python -m neuralrig.models.generators.rave.rtf "
                                        f"{paths['torchscript'].name} --block 2048 "
                                        "--threads 1"),
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"},
        "history": {"validation_step": history["validation_step"],
                    "validation_distance": [round(v, 4)
                                            for v in history["validation_distance"]]},
    }
    plot_history(history, paths["loss"])
    write_text_atomic(paths["report"], json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--quick", action="store_true", help="a few steps (pipeline check)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None, help="override the step count")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    report = make(args.out, quick=args.quick, threads=args.threads, steps=args.steps,
                  progress=not args.no_progress)
    print(json.dumps({k: report[k] for k in ("parameters", "latency_samples", "validation",
                                             "realtime")}, indent=2))


if __name__ == "__main__":
    main()
