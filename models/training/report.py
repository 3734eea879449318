"""The training report beside the model: ``NAME.report.json`` and PNG plots.

JSON keys: ``heldout_esr`` (plain ESR of the streaming model on the validation
section; with held-out knob settings, the worst of them), ``grade`` (NAM's:
below 0.01 "great", below 0.035 "not bad"), ``validation_esr`` (mean over the
trained settings), ``train_seconds``, ``arch``, ``size``, ``weights``,
``weights_per_setting`` (what one block runs with: fewer than ``weights`` when they
follow the knobs), ``knob_weights`` (the lattice, or null), ``device``,
``epochs_run``, ``best_epoch``, ``stopped``, ``history`` (per epoch) and, for
conditioned models, ``grid`` (one entry per knob setting: controls, ESR, whether it was
trained on).

Plots: ``NAME.loss.png`` (training loss and validation ESR per epoch) and
``NAME.compare.png`` (waveform and spectrum of the model against the target
on the validation section, at the worst setting), plus ``NAME.grid.png``
(ESR at each knob setting) for conditioned models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from neuralrig.server.atomic import write_atomic, write_text_atomic

from .dataset import CaptureSet
from .trainer import TrainOptions, TrainResult, streaming_esr

GREAT, NOT_BAD = 0.01, 0.035


def grade(value: float) -> str:
    return "great" if value < GREAT else "not bad" if value < NOT_BAD else "needs work"


def report_paths(model_path: Path) -> dict[str, Path]:
    stem = model_path.with_suffix("")
    return {key: stem.with_name(f"{stem.name}.{key}.{ext}") for key, ext in (
        ("report", "json"), ("loss", "png"), ("compare", "png"), ("grid", "png"))}


def build_report(result: TrainResult, captures: CaptureSet, options: TrainOptions,
                 aligned_info: dict[str, Any]) -> dict[str, Any]:
    weights = sum(p.numel() for p in result.recipe.net.parameters())
    report: dict[str, Any] = {
        "heldout_esr": result.heldout_esr,
        "grade": grade(result.heldout_esr),
        "validation_esr": result.validation_esr,
        "train_seconds": round(result.train_seconds, 1),
        "arch": options.arch,
        "size": options.size,
        "gated": options.gated,
        "focus": options.focus,
        "average": options.average or None,
        "weights": weights,
        # What a block runs with: all of them, or one knob point's set when they follow the
        # knobs (--knob-weights).
        "weights_per_setting": getattr(result.model, "weights_per_setting", weights),
        "knob_weights": list(options.knob_weights) or None,
        "model": result.model.describe(),
        "sample_rate": captures.sample_rate,
        "device": result.device,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped": result.stopped,
        "loss": {"pre": "pre-emphasised ESR", "balanced": "per-example ESR, pre-emphasised + plain",
                 "plain": "per-example plain ESR"}[options.loss]
                + f" + {options.mrstft_weight:g} x MRSTFT",
        "initialised_from": options.init or None,
        "capture": aligned_info,
        "history": result.history,
    }
    if captures.controls:
        report["controls"] = [c.name for c in captures.controls]
        report["grid"] = result.grid
    return report


def write_report(model_path: Path, report: dict[str, Any]) -> Path:
    path = report_paths(model_path)["report"]
    write_text_atomic(path, json.dumps(report, indent=2) + "\n")
    return path


def write_plots(model_path: Path, result: TrainResult, captures: CaptureSet) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    paths = report_paths(model_path)
    written = []

    def save(fig, key: str) -> None:
        write_atomic(paths[key], lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        plt.close(fig)
        written.append(paths[key])

    # Loss curves.
    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = [h["epoch"] for h in result.history]
    ax.semilogy(epochs, [h["train_loss"] for h in result.history], label="training loss")
    worst_curve = [h.get("validation_worst_esr") for h in result.history]
    several = len(captures.trained) > 1 and None not in worst_curve
    ax.semilogy(epochs, [h["validation_esr"] for h in result.history],
                label="validation ESR, mean" if several else "validation ESR")
    if several:
        ax.semilogy(epochs, worst_curve, label="validation ESR, worst setting")
    ax.axhline(GREAT, color="green", lw=0.8, ls="--", label="ESR 0.01 (great)")
    ax.axvline(result.best_epoch, color="grey", lw=0.8, ls=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_title(f"{result.recipe.describe()}: held-out ESR {result.heldout_esr:.4f}")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, "loss")

    # Waveform and spectrum at the worst setting.
    worst = max(range(len(result.grid)), key=lambda i: result.grid[i]["esr"])
    rec = captures.recordings[worst]
    err, pred, target = streaming_esr(result.model, rec, max(result.recipe.warmup, 4096))
    rate = captures.sample_rate
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6))
    loud = int(np.argmax(np.convolve(np.abs(target), np.ones(256), "same")))
    lo = max(0, loud - rate // 100)
    window = slice(lo, min(target.size, lo + rate // 50))
    t_ms = 1000.0 * np.arange(window.stop - window.start) / rate
    top.plot(t_ms, target[window], label="target (device)", lw=1.2)
    top.plot(t_ms, pred[window], label="model", lw=1.0, ls="--")
    top.set_xlabel("ms")
    top.set_title(f"{rec.label or 'validation'}: ESR {err:.4f}")
    top.legend()
    for signal, label in ((target, "target"), (pred, "model")):
        freqs, power = _spectrum(signal, rate)
        bottom.semilogx(freqs, 10 * np.log10(power + 1e-20), label=label)
    bottom.set_xlim(20, rate / 2)
    bottom.set_xlabel("Hz")
    bottom.set_ylabel("dB")
    bottom.legend()
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, "compare")

    if len(captures.controls) >= 1 and len(result.grid) > 1:
        fig, ax = plt.subplots(figsize=(6, 5))
        names = [c.name for c in captures.controls]
        xs = [g["controls"][names[0]] for g in result.grid]
        ys = [g["controls"][names[1]] if len(names) > 1 else 0.0 for g in result.grid]
        esrs = np.array([g["esr"] for g in result.grid])
        for seen, marker, label in ((True, "o", "trained"), (False, "s", "held out")):
            idx = [i for i, g in enumerate(result.grid) if g["seen"] == seen]
            if idx:
                sc = ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], c=esrs[idx],
                                marker=marker, s=160, cmap="viridis", vmin=0,
                                vmax=max(GREAT, float(esrs.max())), label=label)
        for x, y, e in zip(xs, ys, esrs, strict=True):
            ax.annotate(f"{e:.4f}", (x, y), textcoords="offset points", xytext=(0, 10),
                        ha="center", fontsize=7)
        fig.colorbar(sc, ax=ax, label="ESR")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1] if len(names) > 1 else "")
        ax.set_title("ESR at each knob setting")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
        fig.tight_layout()
        save(fig, "grid")
    return written


def _spectrum(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectrum, Hann windows of 4096 with half overlap."""
    n = 4096
    win = np.hanning(n)
    frames = [x[i:i + n] * win for i in range(0, x.size - n, n // 2)]
    power = np.mean([np.abs(np.fft.rfft(f)) ** 2 for f in frames], axis=0)
    return np.fft.rfftfreq(n, 1.0 / rate)[1:], power[1:]
