"""`neuralrig train` end to end: captures in, model file, report and plots out."""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from neuralrig.server.errors import NeuralrigError

from ..formats.native import save_model
from .dataset import CaptureSet, load_pairs, single_capture
from .report import build_report, grade, write_plots, write_report
from .trainer import TrainOptions, TrainResult, finish, streaming_esr, train

log = logging.getLogger("neuralrig.train")


def load_captures(dry: str | None, wet: str | None, pairs: str | None,
                  latency: int | None = None) -> CaptureSet:
    """The recordings to train on, aligned (at ``latency`` samples when it is given)."""
    if pairs:
        if dry or wet:
            raise NeuralrigError("give either DRY.wav WET.wav or --pairs PAIRS.toml, not both")
        return load_pairs(pairs, latency)
    if not (dry and wet):
        raise NeuralrigError("give DRY.wav and WET.wav (or --pairs PAIRS.toml)")
    return single_capture(dry, wet, latency)


def _aligned_at(captures: CaptureSet) -> int | None:
    """The latency every recording is aligned at (None: each at its own)."""
    if captures.shared_latency is not None or len(captures.recordings) != 1:
        return captures.shared_latency
    return captures.recordings[0].capture.latency_samples


def _trained_latency(init: str) -> int | None:
    """The latency the model ``init`` was trained aligned at: from its metadata, or from
    the report beside it (models saved before the metadata kept it)."""
    from ..formats import load_model

    try:
        value = (getattr(load_model(init), "metadata", {}).get("training") or {}) \
            .get("aligned_at_latency")
    except NeuralrigError:
        return None  # the run's own --init check names the problem
    if value is None:
        report = Path(init).with_name(Path(init).stem + ".report.json")
        try:
            value = json.loads(report.read_text(encoding="utf-8"))["capture"][
                "aligned_at_latency"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def init_latency_warning(init: str, captures: CaptureSet) -> str | None:
    """Why a run continuing ``init`` should pass --latency, when it should."""
    trained, ours = _trained_latency(init), _aligned_at(captures)
    if captures.forced_latency is not None or trained is None or ours is None \
            or trained == ours:
        return None
    late = "late" if ours > trained else "early"
    return (f"--init {init} was trained aligned at {trained} samples, these recordings at "
            f"{ours}: its output starts {abs(ours - trained)} sample(s) {late} against them, "
            f"and training spends epochs moving it; add --latency {trained} to keep its "
            "alignment")


def _capture_info(captures: CaptureSet) -> dict[str, Any]:
    first = captures.recordings[0].capture
    return {"recordings": len(captures.recordings),
            "held_out": len(captures.heldout),
            "latency_samples": sorted({r.capture.latency_samples for r in captures.recordings}),
            "aligned_at_latency": _aligned_at(captures),
            "latency_given": captures.forced_latency is not None,
            "train_seconds_of_audio": round(
                sum(r.capture.train[1] - r.capture.train[0] for r in captures.trained)
                / captures.sample_rate, 1),
            "validation_section": [first.validation[0], first.validation[1]],
            "warnings": captures.warnings()}


def run_training(captures: CaptureSet, output: str | Path, options: TrainOptions, *,
                 resume: bool = False, bar: bool = True, plots: bool = True
                 ) -> tuple[TrainResult, dict[str, Any]]:
    output = Path(output)
    if output.suffix != ".safetensors":
        raise NeuralrigError(f"{output}: a model file name ends in .safetensors")
    if not output.parent.is_dir():
        raise NeuralrigError(f"{output}: folder {output.parent} does not exist")
    for warning in captures.warnings():
        log.warning("%s", warning)
    for rec in captures.recordings:
        log.info("%s: latency %d samples (%.2f ms)%s", rec.label or "capture",
                 rec.capture.latency_samples,
                 1000.0 * rec.capture.latency_samples / captures.sample_rate,
                 " [held out]" if rec.holdout else "")
    if captures.forced_latency is not None:
        log.info("aligned at %d samples, as --latency asks", captures.forced_latency)
    elif captures.shared_latency is not None and len(captures.recordings) > 1:
        log.info("all %d recordings aligned at the earliest latency, %d samples: one device "
                 "through one path, whose knobs move a click's onset but not its latency",
                 len(captures.recordings), captures.shared_latency)

    if options.init:
        warning = init_latency_warning(options.init, captures)
        if warning:
            log.warning("%s", warning)

    def progress(_: str, entry: dict[str, float]) -> None:
        log.info("epoch %d: loss %.4f, validation ESR %.5f, worst setting %.5f (best %s "
                 "%.5f), lr %.2g, %.0f s", entry["epoch"], entry["train_loss"],
                 entry["validation_esr"], entry["validation_worst_esr"],
                 "worst" if options.focus else "mean", entry["best_esr"], entry["lr"],
                 entry["seconds"])

    result = train(captures, output, options, resume=resume, progress=progress, bar=bar)
    report = build_report(result, captures, options, _capture_info(captures))
    default = captures.recordings[0]
    _, pred, _ = streaming_esr(result.model, default, max(result.recipe.warmup, 4096))
    loudness = float(10 * np.log10(np.mean(pred.astype(np.float64) ** 2) + 1e-20))
    save_model(output, result.model, loudness=loudness, provenance={
        "trained_by": "neuralrig train",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sources": list(captures.sources)},
        training={k: report[k] for k in ("heldout_esr", "validation_esr", "train_seconds",
                                         "arch", "size", "epochs_run", "best_epoch", "device")}
        | {"aligned_at_latency": report["capture"]["aligned_at_latency"]}
        | ({"grid": report["grid"]} if "grid" in report else {}))
    write_report(output, report)
    if plots:
        write_plots(output, result, captures)
    finish(output)
    log.info("wrote %s: held-out ESR %.5f (%s), %s, %.0f s of training on %s", output,
             result.heldout_esr, grade(result.heldout_esr), result.stopped,
             result.train_seconds, result.device)
    return result, report
