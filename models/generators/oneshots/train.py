"""Train the one-shot autoencoder on a folder of WAVs and write the model, report and plots.

Runs in the calling process (the CLI's), never in the daemon. Holds out a stratified
10 % of each pack with at least 10 files to measure reconstruction on unseen sounds;
the latent map (points, PCA, feature estimators) covers every file.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralrig.server.errors import NeuralrigError

from . import features as feat
from . import latent, modelfile
from .dataset import PackSet, load_pack
from .losses import LossConfig, attack_envelope, mrstft, reconstruction_loss, total_loss
from .net import NetConfig, OneShotAutoencoder

log = logging.getLogger("neuralrig.oneshots")
SAMPLE_RATE = 22050
SECONDS = 0.3


class SampleTrainingError(NeuralrigError):
    """Training on a sample folder cannot start or finish."""


@dataclass
class TrainSettings:
    epochs: int = 200
    latent: int = 16
    seed: int = 0
    threads: int = 0           # 0: leave torch's thread count alone
    batch: int = 32
    lr: float = 2e-3
    holdout: float = 0.1
    sample_rate: int = SAMPLE_RATE
    seconds: float = SECONDS
    channels: tuple[int, ...] = (16, 32, 48, 64)
    hidden: int = 256
    loss: LossConfig = field(default_factory=LossConfig)
    plots: bool = True
    bar: bool = False


@dataclass
class TrainOutcome:
    net: OneShotAutoencoder
    data: PackSet
    features: np.ndarray        # (N, F) true features
    points: np.ndarray          # (N, latent)
    fits: latent.LatentFits
    train_idx: np.ndarray
    held_idx: np.ndarray
    history: list[dict[str, float]]
    seconds: float


def split(pack_of: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified hold-out: ``fraction`` of each pack with >= 10 files (train, held-out)."""
    rng = np.random.default_rng(seed)
    held = []
    for p in np.unique(pack_of):
        members = np.flatnonzero(pack_of == p)
        k = round(fraction * members.size) if members.size >= 10 else 0
        held.extend(rng.choice(members, k, replace=False).tolist())
    held_idx = np.array(sorted(held), dtype=np.int64)
    return np.setdiff1d(np.arange(pack_of.size), held_idx), held_idx


def _bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="train-samples", unit="epoch", dynamic_ncols=True)


def fit(data: PackSet, settings: TrainSettings) -> TrainOutcome:
    """Train the network on ``data``; encode every file and fit the latent map."""
    s = settings
    cfg = NetConfig(data.audio.shape[1], s.latent, tuple(s.channels), 4, s.hidden,
                    len(feat.FEATURE_NAMES))
    true_features = feat.extract_all(data.audio, data.sample_rate)
    train_idx, held_idx = split(data.pack_of, s.holdout, s.seed)
    mean = true_features[train_idx].mean(axis=0)
    std = np.maximum(true_features[train_idx].std(axis=0), 1e-6)
    audio = torch.from_numpy(data.audio)
    target_f = torch.from_numpy(((true_features - mean) / std).astype(np.float32))
    weight = attack_envelope(cfg.length, data.sample_rate, s.loss.attack_k, s.loss.attack_tau)
    rng = np.random.default_rng(s.seed)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        net = OneShotAutoencoder(cfg)
        opt = torch.optim.Adam(net.parameters(), lr=s.lr)
        steps_per_epoch = max(1, -(-train_idx.size // s.batch))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=s.lr, total_steps=s.epochs * steps_per_epoch, pct_start=0.05,
            final_div_factor=50.0)
        bar = _bar(s.epochs, s.bar)
        try:
            for epoch in range(1, s.epochs + 1):
                net.train()
                order = rng.permutation(train_idx)
                sums = np.zeros(3)
                for b in range(steps_per_epoch):
                    idx = torch.from_numpy(order[b * s.batch:(b + 1) * s.batch])
                    x = audio[idx]
                    pred, _, head = net(x)
                    loss, recon, fl = total_loss(pred, x, head, target_f[idx], s.loss, weight)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 20.0)
                    opt.step()
                    sched.step()
                    sums += (loss.item(), recon.item(), fl.item())
                entry = {"epoch": epoch, "loss": sums[0] / steps_per_epoch,
                         "recon": sums[1] / steps_per_epoch, "feature": sums[2] / steps_per_epoch}
                if held_idx.size:
                    entry["heldout_recon"] = float(evaluate(
                        net, audio[held_idx], s.loss, weight, data.sample_rate)["weighted"].mean())
                history.append(entry)
                heldout = entry.get("heldout_recon", float("nan"))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{entry['loss']:.3f}", heldout=f"{heldout:.3f}")
                elif epoch % 10 == 0 or epoch == s.epochs:
                    log.info("epoch %d/%d: loss %.3f, held-out reconstruction %.3f (%.0f s)",
                             epoch, s.epochs, entry["loss"], heldout,
                             time.perf_counter() - start)
        finally:
            if bar is not None:
                bar.close()
    seconds = time.perf_counter() - start
    net.eval()
    points = encode(net, audio)
    fits = latent.fit_latent(points, true_features)
    return TrainOutcome(net, data, true_features, points, fits, train_idx, held_idx, history,
                        seconds)


def encode(net: OneShotAutoencoder, audio: torch.Tensor, batch: int = 64) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([net.encoder(audio[i:i + batch]).double().numpy()
                               for i in range(0, audio.shape[0], batch)])


def evaluate(net: OneShotAutoencoder, audio: torch.Tensor, cfg: LossConfig,
             weight: torch.Tensor, sample_rate: int, batch: int = 64) -> dict[str, np.ndarray]:
    """Per-example losses of the reconstructions: weighted (the training objective's
    reconstruction part), unweighted, plain MSE, MRSTFT, and MSE in/after the first 100 ms."""
    rate_100ms = round(0.1 * sample_rate)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "weighted", "unweighted", "mse", "mrstft", "mse_attack", "mse_tail")}
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        for i in range(0, audio.shape[0], batch):
            x = audio[i:i + batch]
            y = net.decoder(net.encoder(x))
            err = (y - x).pow(2)
            for key, value in (
                    ("weighted", reconstruction_loss(y, x, cfg, weight)),
                    ("unweighted", reconstruction_loss(y, x, cfg, None)),
                    ("mse", err.mean(dim=1)), ("mrstft", mrstft(y, x, cfg.resolutions)),
                    ("mse_attack", err[:, :rate_100ms].mean(dim=1)),
                    ("mse_tail", err[:, rate_100ms:].mean(dim=1))):
                parts[key].append(value.double().numpy())
    net.train(was_training)
    return {k: np.concatenate(v) for k, v in parts.items()}


def build_report(out: TrainOutcome, settings: TrainSettings) -> dict[str, Any]:
    net, data, s = out.net, out.data, settings
    weight = attack_envelope(net.cfg.length, data.sample_rate, s.loss.attack_k, s.loss.attack_tau)
    losses = evaluate(net, torch.from_numpy(data.audio), s.loss, weight, data.sample_rate)
    held = np.zeros(len(data.names), dtype=bool)
    held[out.held_idx] = True

    def summary(mask: np.ndarray) -> dict[str, float] | None:
        if not mask.any():
            return None
        return {k: round(float(v[mask].mean()), 6) for k, v in losses.items()} | \
            {"count": int(mask.sum())}

    per_pack = {pack: {"train": summary((data.pack_of == p) & ~held),
                       "heldout": summary((data.pack_of == p) & held)}
                for p, pack in enumerate(data.packs)}
    r2_fit = latent.r_squared(out.features, out.points @ out.fits.feature_A.T
                              + out.fits.feature_c)
    r2 = {"fit_all": dict(zip(feat.FEATURE_NAMES, np.round(r2_fit, 4).tolist(), strict=True))}
    if out.held_idx.size >= 4:
        A, c = latent.fit_linear(out.points[out.train_idx], out.features[out.train_idx])
        r2_held = latent.r_squared(out.features[out.held_idx], out.points[out.held_idx] @ A.T + c)
        r2["heldout"] = dict(zip(feat.FEATURE_NAMES, np.round(r2_held, 4).tolist(), strict=True))
    return {
        "kind": "oneshot-autoencoder",
        "files": len(data.names),
        "packs": {pack: int((data.pack_of == p).sum()) for p, pack in enumerate(data.packs)},
        "heldout_files": int(out.held_idx.size),
        "sample_rate": data.sample_rate,
        "length": net.cfg.length,
        "latent": net.cfg.latent,
        "weights": sum(p.numel() for p in net.parameters()),
        "decoder_weights": sum(p.numel() for p in net.decoder.parameters()),
        "epochs": s.epochs,
        "batch": s.batch,
        "lr": s.lr,
        "seed": s.seed,
        "threads": s.threads or torch.get_num_threads(),
        "train_seconds": round(out.seconds, 1),
        "loss": {**s.loss.to_json(), "objective": (
            "mean over the batch of [MRSTFT + alpha*MSE] of e(t)*reconstruction vs "
            "e(t)*original, e(t) = 1 + K*exp(-t/tau), + beta*MSE(linear head(z), "
            "standardised features)")},
        "reconstruction": {
            "train": summary(~held), "heldout": summary(held), "per_pack": per_pack,
            "note": "weighted: MRSTFT + alpha*MSE of attack-weighted signals (the training "
                    "objective); unweighted: the same without e(t); mse_attack / mse_tail: "
                    "plain MSE in / after the first 100 ms"},
        "feature_r2": r2,
        "feature_names": list(feat.FEATURE_NAMES),
        "feature_units": list(feat.FEATURE_UNITS),
        "feature_range": {n: np.round(out.fits.feature_range[i], 4).tolist()
                          for i, n in enumerate(feat.FEATURE_NAMES)},
        "pca_explained_variance": np.round(out.fits.explained, 4).tolist(),
        "history": [{k: round(v, 6) if isinstance(v, float) else v for k, v in h.items()}
                    for h in out.history],
    }


def save_model(path: Path, out: TrainOutcome, settings: TrainSettings,
               report: dict[str, Any]) -> None:
    net, fits = out.net, out.fits
    tensors = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    tensors |= {"latent.points": out.points, "latent.features": out.features,
                "latent.feature_A": fits.feature_A, "latent.feature_c": fits.feature_c,
                "latent.feature_range": fits.feature_range, "latent.pca_axes": fits.pca_axes,
                "latent.pca_mean": fits.pca_mean, "latent.pca_range": fits.pca_range}
    training = {k: report[k] for k in ("files", "packs", "epochs", "train_seconds", "seed",
                                       "feature_r2", "pca_explained_variance")}
    training["reconstruction"] = {k: report["reconstruction"][k] for k in ("train", "heldout")}
    meta = {"sample_rate": out.data.sample_rate, "length": net.cfg.length,
            "net": net.cfg.to_json(), "loss": settings.loss.to_json(),
            "feature_names": list(feat.FEATURE_NAMES), "feature_units": list(feat.FEATURE_UNITS),
            "names": out.data.names, "packs": out.data.packs,
            "pack_of": out.data.pack_of.tolist(), "heldout": out.held_idx.tolist(),
            "training": training}
    modelfile.save(path, tensors, meta)


def train_samples(folder: str | Path, output: str | Path,
                  settings: TrainSettings) -> tuple[dict[str, Any], list[Path]]:
    """Load the folder, train, write MODEL.safetensors, MODEL.report.json and the PNGs.

    Returns the report and the paths written. torch's thread count is set to
    ``settings.threads`` for the run and restored afterwards.
    """
    from .report import write_plots, write_report

    output = Path(output)
    if output.is_dir() or not (output.parent if str(output.parent) else Path(".")).is_dir():
        raise SampleTrainingError(f"{output}: not a writable model path (its folder must exist)")
    length = round(settings.seconds * settings.sample_rate)
    data = load_pack(folder, settings.sample_rate, length)
    saved_threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        out = fit(data, settings)
        report = build_report(out, settings)
    finally:
        torch.set_num_threads(saved_threads)
    save_model(output, out, settings, report)
    written = [output, write_report(output, report)]
    if settings.plots:
        written += write_plots(output, out)
    return report, written


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report's headline figures (what the CLI prints)."""
    recon = report["reconstruction"]
    return {"files": report["files"], "packs": report["packs"],
            "train_seconds": report["train_seconds"],
            "train_loss": recon["train"]["weighted"] if recon["train"] else None,
            "heldout_loss": recon["heldout"]["weighted"] if recon["heldout"] else None,
            "feature_r2": report["feature_r2"]["fit_all"],
            "pca_explained_variance": report["pca_explained_variance"]}
