"""Reproduce the seed's LACTOSE experiment: a piecewise-linear static nonlinearity,
a 4x4 LACTOSE model against 8x8 and 4x4 MLPs, accuracy and realtime score.

    python benchmarks/lactose.py [--epochs 10] [--seed 0] [--save-model lactose.safetensors]

Data: 720,000 samples of x uniform in [-1, 1], y = the seed's five-piece linear
function; the first 80% train, the last 20% (144,000 samples, 3 s at 48 kHz) test.
Models (ReLU throughout): LACTOSE with 5 regions at the function's own breakpoints
(the seed's conditions) and with 8 regions at quantiles of the training inputs
(conditions taken from the data), each region a 1-4-4-1 MLP; MLPs 1-8-8-1 and 1-4-4-1.
All train with Adam on MSE, batch 1024, learning rate 1e-2 decaying to 1e-4.

Accuracy is measured on the test set through neuralrig's numba kernels (the
StreamingModel each trained net becomes). Speed: the test set through
``StreamingModel.process`` in blocks of 128 (what a slot does), and through the kernel
in one call (the pure per-sample cost, no per-block Python), all models interleaved
in the same run, best of ``--repeats``. Realtime score = seconds of 48 kHz audio
processed per second of compute. Writes benchmarks/results/lactose.md (and .png).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from neuralrig.models.formats.native import save_model
from neuralrig.models.nets.lactose import LactoseNet, quantile_thresholds
from neuralrig.models.nets.mlp import MLPNet
from neuralrig.models.nets.static_data import PIECEWISE_BREAKPOINTS, fit, make_dataset

RATE = 48000
BLOCK = 128
RESULTS = Path(__file__).resolve().parent / "results"

SEED_TABLE = """| Model   | Total Duration   | Mean Duration/Samp. | Realtime Score   |
|---------|------------------|---------------------|------------------|
| LACTOSE | 1.87e-2 seconds  | 1.62e-10 seconds    | 535.48×          |
| MLP     | 3.80e-2 seconds  | 3.3e-10 seconds     | 263.00×          |"""


def through_blocks(model, x: np.ndarray, out: np.ndarray) -> float:
    model.reset()
    start = time.perf_counter()
    for s in range(0, x.shape[1], BLOCK):
        model.process(x[:, s:s + BLOCK], out[:, s:s + BLOCK])
    return time.perf_counter() - start


def kernel_once(model, x: np.ndarray, out: np.ndarray) -> float:
    start = time.perf_counter()
    model.kernel_only(x, out)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=720_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--save-model", type=Path, default=None,
                        help="write the trained 5-region LACTOSE model here (native format)")
    parser.add_argument("--results", type=Path, default=RESULTS / "lactose.md")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    x_train, y_train, x_test, y_test = make_dataset(args.samples, seed=args.seed)
    print(f"{len(x_train)} training, {len(x_test)} test samples", flush=True)

    specs = {
        "LACTOSE 4x4, 5 regions (seed's breakpoints)":
            lambda: LactoseNet(list(PIECEWISE_BREAKPOINTS), (4, 4)),
        "LACTOSE 4x4, 8 regions (quantiles)":
            lambda: LactoseNet(quantile_thresholds(x_train, 8), (4, 4)),
        "MLP 8x8": lambda: MLPNet((8, 8)),
        "MLP 4x4": lambda: MLPNet((4, 4)),
    }
    rows = []
    for name, make in specs.items():
        torch.manual_seed(args.seed)
        net = make()
        if isinstance(net, LactoseNet):
            net.fit_ranges(torch.from_numpy(x_train))
        start = time.perf_counter()
        history = fit(net, x_train, y_train, epochs=args.epochs, seed=args.seed)
        train_s = time.perf_counter() - start
        model = net.to_streaming()
        model.sample_rate = RATE
        model.prepare(1, BLOCK)
        pred = np.zeros((1, len(x_test)), np.float32)
        through_blocks(model, x_test[None], pred)
        with torch.no_grad():
            ref = net(torch.from_numpy(x_test[:, None]))[:, 0].numpy()
        err = pred[0].astype(np.float64) - y_test
        rows.append({"name": name, "net": net, "model": model, "pred": pred[0],
                     "mse": float(np.mean(err ** 2)), "max": float(np.max(np.abs(err))),
                     "torch_gap": float(np.max(np.abs(pred[0] - ref))),
                     "train_s": train_s, "final_loss": history[-1],
                     "weights": model.weight_count, "blocks": [], "kernel": []})
        print(f"{name}: test MSE {rows[-1]['mse']:.3e}, max |err| {rows[-1]['max']:.3e}, "
              f"trained in {train_s:.0f} s", flush=True)

    x = np.ascontiguousarray(x_test[None])
    sink = np.zeros_like(x)
    for row in rows:  # compile and warm caches before timing
        through_blocks(row["model"], x, sink)
        kernel_once(row["model"], x, sink)
    for _ in range(args.repeats):  # interleaved, so load changes hit every model alike
        for row in rows:
            row["blocks"].append(through_blocks(row["model"], x, sink))
            row["kernel"].append(kernel_once(row["model"], x, sink))

    seconds = x.shape[1] / RATE
    lines = [
        "# LACTOSE reproduction",
        "",
        "Reproduce (about 2 minutes on one core):",
        "",
        "```sh",
        "/tmp/venv/bin/python benchmarks/lactose.py --epochs "
        f"{args.epochs} --seed {args.seed}" + (" --save-model FILE" if args.save_model else ""),
        "```",
        "",
        "(`--save-model FILE` also writes the trained 5-region LACTOSE model in neuralrig's "
        "native format; `lactose.png` beside this file plots the learned transfer functions.)",
        "",
        f"Data: {args.samples:,} samples, x uniform in [-1, 1], the seed's piecewise-linear "
        f"function; {len(x_train):,} train / {len(x_test):,} test ({seconds:g} s at 48 kHz). "
        f"ReLU everywhere; Adam, MSE, batch 1024, lr 1e-2 to 1e-4, {args.epochs} epochs, "
        f"seed {args.seed}, `torch.set_num_threads(1)`. LACTOSE sub-models are 1-4-4-1 MLPs; "
        "the 5-region model uses the function's breakpoints (-0.5, -0.25, 0.25, 0.5) as its "
        "conditions, the 8-region model thresholds at the octiles of the training inputs.",
        "",
        "## Accuracy (test set, through neuralrig's numba kernels)",
        "",
        "| Model | weights (stored) | weights used per sample | test MSE | max abs error "
        "| kernel vs torch | training |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        per_sample = row["weights"] // getattr(row["model"], "regions", 1)
        lines.append(f"| {row['name']} | {row['weights']} | {per_sample} | {row['mse']:.2e} "
                     f"| {row['max']:.2e} "
                     f"| {row['torch_gap']:.1e} | {row['train_s']:.0f} s |")
    lines += [
        "",
        "## Speed (test set, best of "
        f"{args.repeats}, interleaved in one run, one core)",
        "",
        "`process` = `StreamingModel.process` in blocks of 128 (what a slot runs, per-block "
        "Python included); `kernel` = the numba kernel over the whole test set in one call "
        "(per-sample cost only). Realtime score = audio seconds at 48 kHz per compute second.",
        "",
        "| Model | process total | process /sample | process realtime | kernel total "
        "| kernel /sample | kernel realtime |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        b, k = min(row["blocks"]), min(row["kernel"])
        row["b"], row["k"] = b, k
        lines.append(f"| {row['name']} | {b:.2e} s | {b / x.shape[1]:.2e} s | "
                     f"{seconds / b:.0f}x | {k:.2e} s | {k / x.shape[1]:.2e} s | "
                     f"{seconds / k:.0f}x |")
    lac, mlp = rows[0], rows[2]
    lines += [
        "",
        "## Against the seed",
        "",
        "The seed's table (RTNeural, C++, 2018 Mac Mini, 3.2 GHz 6-core Core i7, AVX):",
        "",
        SEED_TABLE,
        "",
        "Absolute figures are not comparable (another machine, C++ against numba), so "
        "compare ratios. The seed's own columns also disagree: total duration x realtime "
        "score = 1.87e-2 s x 535.48 = 10.0 s of audio (480,000 samples at 48 kHz, not the "
        "144,000-sample test set), and 1.87e-2 s / 480,000 = 3.9e-8 s per sample, not the "
        "1.62e-10 s listed. The ratios agree, though: 3.80e-2 / 1.87e-2 = 2.03 and "
        "535.48 / 263.00 = 2.04. "
        "LACTOSE (4x4) over MLP (8x8) speed:",
        "",
        "| | seed | here, `process` (blocks of 128) | here, kernel only |",
        "|---|---|---|---|",
        f"| LACTOSE / MLP 8x8 realtime | {535.48 / 263.00:.2f}x | "
        f"{mlp['b'] / lac['b']:.2f}x | {mlp['k'] / lac['k']:.2f}x |",
        f"| LACTOSE 8 regions / MLP 8x8 | – | {mlp['b'] / rows[1]['b']:.2f}x | "
        f"{mlp['k'] / rows[1]['k']:.2f}x |",
        f"| MLP 4x4 / MLP 8x8 | – | {mlp['b'] / rows[3]['b']:.2f}x | "
        f"{mlp['k'] / rows[3]['k']:.2f}x |",
        "",
        "Reading the ratios: `process` adds the same per-block Python cost (control ramps, "
        "the call) to every model, which narrows the ratios; the kernel column isolates the "
        "per-sample cost. LACTOSE 4x4 and MLP 4x4 run the same 33 weights per sample, so "
        "the gap between those rows is what routing (the threshold search and the "
        "per-region weight lookup) costs. The kernel is generic (widths known only at run "
        "time); RTNeural's compile-time sizes would shave fixed per-sample overhead that "
        "here weighs on the small models more than on the 8x8.",
        "",
        "The seed notes that a 4x4 MLP \"was not able to train\". Here, same data and "
        f"recipe: MLP 4x4 test MSE {rows[3]['mse']:.1e} (max error {rows[3]['max']:.1e}) "
        f"against {lac['mse']:.1e} ({lac['max']:.1e}) for LACTOSE 4x4 and "
        f"{mlp['mse']:.1e} ({mlp['max']:.1e}) for MLP 8x8.",
        "",
        f"Machine: {platform.machine()}, {platform.processor() or 'unknown CPU'}, Python "
        f"{platform.python_version()}, torch {torch.__version__}. The machine was shared "
        "with other jobs while this ran; timings are best-of to damp that.",
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if not args.no_plot:
        try:
            plot = args.results.with_suffix(".png")
            _plot(rows, plot)
            lines += ["", f"![transfer functions]({plot.name})"]
        except ImportError:
            pass
    args.results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.save_model:
        save_model(args.save_model, lac["model"],
                   provenance={"made_by": "benchmarks/lactose.py", "seed": args.seed},
                   training={"epochs": args.epochs, "test_mse": lac["mse"],
                             "test_max_abs_error": lac["max"]})
        print(f"saved {args.save_model}")
    return 0


def _plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralrig.models.nets.static_data import piecewise_linear

    grid = np.linspace(-1.0, 1.0, 2001, dtype=np.float32)
    target = piecewise_linear(grid.astype(np.float64))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(grid, target, "k", lw=3, alpha=0.3, label="target")
    for row in rows:
        out = np.zeros((1, grid.size), np.float32)
        row["model"].reset()
        row["model"].kernel_only(grid[None], out)
        top.plot(grid, out[0], lw=1, label=row["name"])
        bottom.plot(grid, out[0] - target, lw=1, label=row["name"])
    top.set_ylabel("y")
    top.legend(fontsize=8)
    top.set_title("Piecewise-linear transfer function: target and trained models")
    bottom.set_ylabel("error")
    bottom.set_xlabel("x")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
