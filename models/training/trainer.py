"""The training loop behind `neuralrig train`.

Each epoch draws ``steps`` random batches from the training sections,
minimises pre-emphasised ESR + 2e-4 MRSTFT (``losses.EffectLoss``), then
measures the plain ESR on every trained recording's validation section. A new
run's learning rate ramps up over its first ``WARMUP_STEPS`` steps. The
learning rate halves when the mean validation ESR stops improving; training
stops early after ``patience`` epochs without a new best, and the best epoch's
weights are the ones exported. With ``focus``, examples are drawn from each
recording in proportion to its last validation ESR, and the best epoch is the
one whose worst setting is best. After every epoch the run is checkpointed beside the
model (``NAME.checkpoint.pt``: weights, optimiser, sampler state and history,
loaded back with ``weights_only=True``), so an interrupted run continues with
``--resume``; a finished run removes its checkpoint.

The exported streaming model (numba kernels, the code the rig runs) is then
evaluated on every recording's validation section, including held-out knob
settings it never trained on; those figures go into the report.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralrig.server.atomic import write_atomic
from neuralrig.server.errors import ModelError, NeuralrigError

from ..base import StreamingModel
from ..runtime.knob_blend import lattice_text
from ..wavenet import knob_points
from .dataset import CaptureSet, Recording, SegmentSampler, validation_batch
from .losses import EffectLoss, esr
from .recipes import Recipe, build_recipe

log = logging.getLogger("neuralrig.train")


VALIDATION_SAMPLES_PER_PASS = 8_000_000
# A new run's learning rate ramps up over its first steps. Adam's first steps move every
# weight by about the learning rate, whatever its gradient: a model started from --init
# was knocked from validation ESR 0.031 to 0.067 in one epoch at lr 0.0015 without it.
WARMUP_STEPS = 100
# Set from a signal handler (`request_stop`); the loop stops at the next step boundary, so
# no exception ever lands inside torch or a checkpoint write.
_STOP = threading.Event()


def request_stop() -> None:
    _STOP.set()


class TrainingError(NeuralrigError):
    pass


@dataclass
class TrainOptions:
    arch: str = "lstm"
    size: str = "standard"
    epochs: int = 100
    steps: int = 0  # batches per epoch; 0: one pass over the training audio, at most 200
    batch: int = 0  # 0: the recipe's
    lr: float = 0.0  # 0: the recipe's
    patience: int = 10
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads; 0: every core
    mrstft_weight: float = 2e-4
    loss: str = "pre"  # pre | balanced | plain (see losses.EffectLoss)
    init: str = ""  # a neuralrig model of the same architecture to start from
    gated: bool = False  # WaveNet: gated activations (recipes.wavenet_config)
    focus: bool = False  # draw examples in proportion to each recording's validation ESR
    average: float = 0.0  # decay per step of the weights' moving average (0: none)
    # WaveNet: a weight set per point of this lattice (per control: a count or positions)
    knob_weights: tuple[int | tuple[float, ...], ...] = ()


@dataclass
class TrainResult:
    model: StreamingModel
    recipe: Recipe
    history: list[dict[str, float]]
    grid: list[dict[str, Any]]
    heldout_esr: float
    validation_esr: float
    best_epoch: int
    epochs_run: int
    train_seconds: float
    device: str
    stopped: str


def pick_device(choice: str) -> tuple[torch.device, str]:
    """The torch device and a sentence saying which one and why."""
    if choice not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"unknown device {choice!r} (auto, cpu or cuda)")
    if choice in ("auto", "cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        return torch.device("cuda"), f"CUDA ({name})"
    if choice == "cuda":
        raise TrainingError("--device cuda: torch sees no CUDA GPU (is this torch build a CPU "
                            "one? `python -c 'import torch; print(torch.version.cuda)'`)")
    return torch.device("cpu"), f"CPU ({torch.get_num_threads()} threads; no CUDA GPU seen)"


def checkpoint_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + ".checkpoint.pt")


def _fingerprint(captures: CaptureSet, options: TrainOptions) -> dict[str, Any]:
    # "gated", "focus" and "average" only when set: a checkpoint from before the option
    # still resumes.
    extra: dict[str, Any] = {key: True for key in ("gated", "focus") if getattr(options, key)}
    if options.average:
        extra["average"] = options.average
    if captures.forced_latency is not None:
        extra["latency"] = captures.forced_latency
    if options.knob_weights:
        extra["knob_weights"] = lattice_text(options.knob_weights)
    return {"arch": options.arch, "size": options.size, **extra,
            "controls": [c.name for c in captures.controls],
            "sources": list(captures.sources), "sample_rate": captures.sample_rate,
            "init": options.init, "loss": options.loss}


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: say so, never unpickle it
        raise TrainingError(f"{path}: not a readable neuralrig checkpoint ({exc})") from None


def _tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)


def _validation_esr(recipe: Recipe, recordings: list[Recording], device: torch.device,
                    net: torch.nn.Module | None = None) -> list[float]:
    """Each recording's ESR on its validation section, by ``net`` (default the recipe's)."""
    dry, wet, ctrl = validation_batch(recordings, recipe.warmup)
    skip = dry.shape[1] - (recordings[0].capture.validation[1] -
                           recordings[0].capture.validation[0])
    net = net if net is not None else recipe.net
    net.eval()
    out = []
    group = max(1, VALIDATION_SAMPLES_PER_PASS // dry.shape[1])  # bounded memory
    with torch.no_grad():
        for i in range(0, len(recordings), group):
            pred = recipe.forward(_tensor(dry[i:i + group], device),
                                  _tensor(ctrl[i:i + group], device), net)[:, 0, skip:]
            target = _tensor(wet[i:i + group, skip:], device)
            out += [float(esr(p, t)) for p, t in zip(pred, target, strict=True)]
    net.train()
    return out


def _averaged(net: torch.nn.Module, decay: float
              ) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``net``'s weights (``decay`` per step), or None.

    Validating and keeping the average instead of the last step's weights smooths out the
    swings from one batch's knob settings to the next (large under ``--focus``).
    """
    if not decay:
        return None
    if not 0.0 < decay < 1.0:
        raise TrainingError(f"--average {decay:g}: the decay per step must be between 0 and 1 "
                            "(e.g. 0.99: about the last 100 steps)")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay))


def streaming_esr(model: StreamingModel, rec: Recording, warmup: int, block: int = 1024
                  ) -> tuple[float, np.ndarray, np.ndarray]:
    """ESR of the streaming model on ``rec``'s validation section, with its output and target."""
    lo, hi = rec.capture.validation
    start = max(0, lo - warmup)
    x = rec.capture.dry[start:hi]
    model.prepare(1, block)
    for spec, value in zip(model.controls, rec.normalised, strict=True):
        model.set_control(spec.name, spec.from_norm(float(value)))
    model.reset()  # controls land now: no ramp from the defaults
    y = np.zeros((1, x.size), np.float32)
    for i in range(0, x.size, block):
        model.process(x[None, i:i + block], y[:, i:i + block])
    pred, target = y[0, lo - start:], rec.capture.wet[lo:hi]
    err = float(np.mean((pred.astype(np.float64) - target) ** 2) /
                max(float(np.mean(target.astype(np.float64) ** 2)), 1e-20))
    return err, pred, target


def train(captures: CaptureSet, model_path: Path, options: TrainOptions, *,
          resume: bool = False, progress: Callable[[str, dict[str, float]], None] | None = None,
          bar: bool = False) -> TrainResult:
    """Train, checkpointing beside ``model_path``; returns the exported best model."""
    if options.threads:
        torch.set_num_threads(options.threads)
    device, device_text = pick_device(options.device)
    torch.manual_seed(options.seed)
    trained = captures.trained
    dry_sample = np.concatenate([r.capture.dry[r.capture.train[0]:r.capture.train[1]][::97]
                                 for r in trained])
    recipe = build_recipe(options.arch, options.size, len(captures.controls), dry_sample,
                          gated=options.gated, knob_weights=options.knob_weights)
    if options.init:
        _initialise(recipe, options, len(captures.controls))
    recipe.net.to(device)
    batch = options.batch or recipe.batch
    lr = options.lr or recipe.lr
    sampler = SegmentSampler(trained, recipe.segment, recipe.warmup, options.seed)
    steps = options.steps or max(1, min(200, sampler.train_samples // (batch * recipe.segment)))
    optimiser = torch.optim.Adam(recipe.net.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=2)
    averaged = _averaged(recipe.net, options.average)
    judged = averaged.module if averaged is not None else recipe.net  # validated, kept
    loss_fn = EffectLoss(options.mrstft_weight, skip=recipe.warmup,
                         balanced=options.loss in ("balanced", "plain"),
                         emphasis=options.loss != "plain")
    energies = sampler.energies(loss_fn.coef).astype(np.float32) if loss_fn.balanced else None
    ckpt = checkpoint_path(model_path)
    fingerprint = _fingerprint(captures, options)
    history: list[dict[str, float]] = []
    best_val, best_epoch, best_state, epoch0, elapsed = math.inf, 0, None, 0, 0.0
    if ckpt.exists() and not resume:
        raise TrainingError(f"{ckpt} holds an unfinished run; continue it with --resume, or "
                            "delete it to start over")
    if resume:
        if not ckpt.exists():
            raise TrainingError(f"--resume: no checkpoint at {ckpt}")
        state = _load_checkpoint(ckpt)
        if state.get("fingerprint") != fingerprint:
            raise TrainingError(f"--resume: {ckpt} is from a different run "
                                f"({state.get('fingerprint')}); use the same captures, "
                                "--arch and --size, or delete it")
        recipe.net.load_state_dict(state["net"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.restore(_restore_rng(state["sampler"]))
        if "sampler_weights" in state:
            sampler.weights = state["sampler_weights"]
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        history = [dict(h) for h in state["history"]]
        best_val, best_epoch = float(state["best_val"]), int(state["best_epoch"])
        best_state = state["best_net"]
        epoch0, elapsed = int(state["epoch"]), float(state["elapsed"])
        log.info("resuming %s at epoch %d (best validation ESR %.4g at epoch %d)", ckpt,
                 epoch0, best_val, best_epoch)
    log.info("training %s on %s: %d recording(s)%s, %d steps of %d x %d samples per epoch",
             recipe.describe(), device_text, len(trained),
             f", {len(captures.heldout)} held out" if captures.heldout else "", steps, batch,
             recipe.segment)
    stopped = f"ran all {options.epochs} epochs"
    epoch = epoch0
    warmup = min(steps, WARMUP_STEPS) if epoch0 == 0 else 0
    try:
        for epoch in range(epoch0 + 1, options.epochs + 1):
            started = time.perf_counter()
            losses = []
            ticker = _bar(steps, f"epoch {epoch}/{options.epochs}", bar)
            for step in range(steps):
                if _STOP.is_set():
                    raise KeyboardInterrupt
                if epoch == 1 and step < warmup:
                    for group in optimiser.param_groups:
                        group["lr"] = lr * (step + 1) / warmup
                dry, wet, ctrl = sampler.batch(batch)
                pred = recipe.forward(_tensor(dry, device), _tensor(ctrl, device))
                energy = (_tensor(energies[sampler.last_recordings], device)
                          if energies is not None else None)
                loss = loss_fn(pred[:, 0], _tensor(wet, device), energy)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(recipe.net.parameters(), 1.0)
                optimiser.step()
                if averaged is not None:
                    averaged.update_parameters(recipe.net)
                losses.append(loss.item())
                if ticker is not None:
                    ticker.update(1)
                    ticker.set_postfix(loss=f"{losses[-1]:.4f}",
                                       val_esr=f"{best_val:.4f}" if history else "-")
            if ticker is not None:
                ticker.close()
            val = _validation_esr(recipe, trained, device, judged)
            val_mean, val_worst = float(np.mean(val)), float(np.max(val))
            scheduler.step(val_mean)  # the mean: steadier than the worst setting's
            elapsed += time.perf_counter() - started
            entry = {"epoch": epoch, "train_loss": float(np.mean(losses)),
                     "validation_esr": val_mean, "validation_worst_esr": val_worst,
                     "lr": optimiser.param_groups[0]["lr"], "seconds": elapsed}
            history.append(entry)
            if not math.isfinite(val_mean):
                raise TrainingError(f"epoch {epoch}: the validation ESR is {val_mean}; training "
                                    "diverged (try a lower --lr)")
            # A focused run keeps the epoch whose worst setting is best: what it aims at.
            score = val_worst if options.focus else val_mean
            if options.focus:
                sampler.focus(val)
            if score < best_val:
                best_val, best_epoch = score, epoch
                best_state = copy.deepcopy(judged.state_dict())
            if progress is not None:
                progress(f"epoch {epoch}", entry | {"best_esr": best_val})
            _save_checkpoint(ckpt, {
                "fingerprint": fingerprint, "net": recipe.net.state_dict(),
                "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
                "sampler": _save_rng(sampler.state()), "history": history,
                "sampler_weights": sampler.weights.tolist(),
                "averaged": averaged.state_dict() if averaged is not None else None,
                "best_val": best_val, "best_epoch": best_epoch, "best_net": best_state,
                "epoch": epoch, "elapsed": elapsed, "options": asdict(options)})
            if epoch - best_epoch >= options.patience:
                stopped = f"early stop: no better validation ESR for {options.patience} epochs"
                break
    except KeyboardInterrupt:
        _STOP.clear()
        if not history:
            raise TrainingError(f"interrupted in epoch {epoch}, before any epoch finished; "
                                "nothing was saved") from None
        raise TrainingError(f"interrupted in epoch {epoch}; epoch {history[-1]['epoch']} is "
                            f"saved in {ckpt}: continue with --resume") from None
    if best_state is None:
        raise TrainingError("no epoch finished; nothing to export")
    recipe.net.load_state_dict(best_state)
    recipe.net.to("cpu").eval()
    model = recipe.export(captures.controls)
    model.sample_rate = captures.sample_rate
    grid = []
    for rec in captures.recordings:
        err, _, _ = streaming_esr(model, rec, max(recipe.warmup, 4096))
        grid.append({"label": rec.label, "controls": dict(rec.values), "esr": err,
                     "seen": not rec.holdout})
    held = [g["esr"] for g in grid if not g["seen"]]
    seen = [g["esr"] for g in grid if g["seen"]]
    heldout = max(held) if held else float(np.mean(seen))
    return TrainResult(model, recipe, history, grid, heldout, float(np.mean(seen)), best_epoch,
                       len(history), elapsed, device_text, stopped)


def _initialise(recipe: Recipe, options: TrainOptions, n_controls: int) -> None:
    """Load ``options.init``'s weights: fine-tuning a model on new or more captures."""
    from ..formats import load_model

    model = load_model(options.init)
    export = getattr(model, "export_native", None)
    arch, config, tensors = export() if export else (model.architecture, {}, {})
    loader = getattr(recipe.net, "load_exported", None)
    if loader is None or arch != options.arch or len(model.controls) != n_controls:
        raise TrainingError(f"--init {options.init}: a {arch} model with "
                            f"{len(model.controls)} controls cannot start a {options.arch} "
                            f"{options.size} run with {n_controls} (--init works for lstm, gru "
                            "and wavenet models of the same architecture and size, a "
                            "smaller one, which is widened, or an ungated wavenet "
                            "for a --gated run)")
    init_points = knob_points(config) if arch == "wavenet" else ()
    if init_points:
        if not options.knob_weights:
            raise TrainingError(f"--init {options.init}: its weights follow the knobs "
                                f"({lattice_text(init_points).replace(',', 'x')} points); "
                                f"continue it with --knob-weights {lattice_text(init_points)}")
        if config["layers"] != recipe.net.config["layers"]:
            raise TrainingError(f"--init {options.init}: a WaveNet with knob weights starts "
                                "only a run of the same size and gating (gate or widen the "
                                "plain WaveNet before giving it knob weights)")
        if lattice_text(init_points) != lattice_text(options.knob_weights):
            from ..nets.knob_wavenet import resample_knob_weights

            tensors = resample_knob_weights(tensors, init_points, options.knob_weights)
            log.info("resampled %s's knob weights from %s to %s points", options.init,
                     lattice_text(init_points), lattice_text(options.knob_weights))
    elif options.knob_weights and arch == "wavenet":
        log.info("every knob point of the new model starts as %s", options.init)
    if options.gated and arch == "wavenet" and not config["layers"][0]["gated"]:
        from ..nets.wavenet import gate_tensors

        try:
            tensors = gate_tensors(recipe.net.config, tensors)
        except (ModelError, KeyError) as exc:
            raise TrainingError(f"--init {options.init}: {exc}") from None
        log.info("gated %s's activations (the same output to start with)", options.init)
    if arch == "wavenet" and config["layers"][0]["channels"] \
            != recipe.net.config["layers"][0]["channels"]:
        from ..nets.wavenet import widen_tensors

        try:
            tensors = widen_tensors(recipe.net.config, tensors, options.seed)
        except (ModelError, KeyError) as exc:
            raise TrainingError(f"--init {options.init}: {exc}") from None
        log.info("widened %s from %s to %s channels (the same output to start with)",
                 options.init, "/".join(str(a["channels"]) for a in config["layers"]),
                 "/".join(str(a["channels"]) for a in recipe.net.config["layers"]))
    hidden = getattr(recipe.net, "hidden_size", None)
    if hidden is not None and "weight_hh_l0" in tensors \
            and tensors["weight_hh_l0"].shape[1] != hidden:
        from ..nets.recurrent import widen

        units = tensors["weight_hh_l0"].shape[1]
        try:
            tensors = widen(arch, tensors, hidden)
        except ModelError as exc:
            raise TrainingError(f"--init {options.init}: {exc}") from None
        log.info("widened %s from %d to %d units (the same output to start with)",
                 options.init, units, hidden)
    try:
        loader(tensors)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise TrainingError(f"--init {options.init}: its weights do not fit {options.arch} "
                            f"{options.size} ({str(exc).splitlines()[0]})") from None
    log.info("starting from the weights of %s (%s)", options.init, model.describe())


def finish(model_path: Path) -> None:
    """Remove a finished run's checkpoint."""
    ckpt = checkpoint_path(model_path)
    if ckpt.exists():
        os.unlink(ckpt)


def _save_rng(state: dict) -> dict:
    """numpy's generator state with its big integers as strings (weights_only loads it)."""
    inner = state["state"]
    return {"bit_generator": state["bit_generator"], "state": str(inner["state"]),
            "inc": str(inner["inc"]), "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"])}


def _restore_rng(saved: dict) -> dict:
    return {"bit_generator": saved["bit_generator"],
            "state": {"state": int(saved["state"]), "inc": int(saved["inc"])},
            "has_uint32": saved["has_uint32"], "uinteger": saved["uinteger"]}


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True)
