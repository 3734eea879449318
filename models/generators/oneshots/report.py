"""The training report beside a one-shot model: ``MODEL.report.json`` and PNG plots.

Plots: ``MODEL.loss.png`` (loss per epoch), ``MODEL.map.png`` (the training points
on the two PCA axes, coloured by pack) and ``MODEL.recon.png`` (per pack a training
file and a held-out one: waveform and spectrogram of the original and the
reconstruction).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralrig.server.atomic import write_atomic, write_text_atomic

from . import latent

if TYPE_CHECKING:
    from .train import TrainOutcome


def report_paths(model_path: Path) -> dict[str, Path]:
    stem = Path(model_path).with_suffix("")
    return {key: stem.with_name(f"{stem.name}.{key}.{ext}") for key, ext in (
        ("report", "json"), ("loss", "png"), ("map", "png"), ("recon", "png"))}


def write_report(model_path: Path, report: dict[str, Any]) -> Path:
    path = report_paths(model_path)["report"]
    write_text_atomic(path, json.dumps(report, indent=2) + "\n")
    return path


def write_plots(model_path: Path, out: TrainOutcome) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import torch
    from matplotlib import pyplot as plt

    paths = report_paths(model_path)
    written: list[Path] = []

    def save(fig, key: str, dpi: int = 90) -> None:
        write_atomic(paths[key], lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
        plt.close(fig)
        written.append(paths[key])

    data, hist = out.data, out.history
    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = [h["epoch"] for h in hist]
    ax.semilogy(epochs, [h["loss"] for h in hist], label="training loss (total)")
    ax.semilogy(epochs, [h["recon"] for h in hist], label="training reconstruction")
    if hist and "heldout_recon" in hist[0]:
        ax.semilogy(epochs, [h["heldout_recon"] for h in hist], label="held-out reconstruction")
    ax.semilogy(epochs, [h["feature"] for h in hist], label="feature head MSE")
    ax.set_xlabel("epoch")
    ax.set_title(f"one-shot autoencoder: {len(data.names)} files, latent {out.points.shape[1]}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save(fig, "loss")

    coords = latent.to_unit((out.points - out.fits.pca_mean) @ out.fits.pca_axes.T,
                            out.fits.pca_range)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    for p, pack in enumerate(data.packs):
        mask = data.pack_of == p
        ax.scatter(coords[mask, 0], coords[mask, 1], s=12, label=pack, alpha=0.8)
    held = out.held_idx
    if held.size:
        ax.scatter(coords[held, 0], coords[held, 1], s=40, facecolors="none",
                   edgecolors="black", linewidths=0.6, label="held out")
    ev = out.fits.explained
    ax.set_xlabel(f"PCA 1 ({100 * ev[0]:.0f} % of latent variance)")
    ax.set_ylabel(f"PCA 2 ({100 * ev[1]:.0f} %)")
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("training points on the PCA map")
    fig.tight_layout()
    save(fig, "map")

    rows = []  # per pack, a training file and a held-out one
    for p in range(len(data.packs)):
        members = np.flatnonzero(data.pack_of == p)
        unseen = np.intersect1d(members, held)
        rows.append(int(np.setdiff1d(members, held)[0]))
        if unseen.size:
            rows.append(int(unseen[0]))
    rows = rows[:8]
    with torch.inference_mode():
        x = torch.from_numpy(data.audio[rows])
        y = out.net.decoder(out.net.encoder(x)).numpy()
    rate = data.sample_rate
    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 2.1 * len(rows)), squeeze=False)
    t_ms = 1000.0 * np.arange(data.audio.shape[1]) / rate
    for r, i in enumerate(rows):
        tag = " (held out)" if i in held else ""
        axes[r, 0].plot(t_ms, data.audio[i], lw=0.6, label="original")
        axes[r, 0].plot(t_ms, y[r], lw=0.6, alpha=0.8, label="reconstruction")
        axes[r, 0].set_title(f"{data.names[i]}{tag}", fontsize=9)
        axes[r, 0].set_xlabel("ms", fontsize=8)
        axes[r, 0].legend(fontsize=7, loc="upper right")
        for c, (sig, label) in enumerate(((data.audio[i], "original"),
                                          (y[r], "reconstruction")), start=1):
            axes[r, c].specgram(sig, NFFT=256, Fs=rate, noverlap=192, cmap="magma",
                                vmin=-120, vmax=-10)
            axes[r, c].set_title(f"{label} spectrogram", fontsize=9)
            axes[r, c].set_ylabel("Hz", fontsize=8)
            axes[r, c].set_xlabel("s", fontsize=8)
    fig.tight_layout()
    save(fig, "recon", dpi=65)  # spectrograms compress badly: keep the shipped PNG small
    return written
