"""What covering the knob range costs a small model: one setting alone against all of them.

    python benchmarks/conditioning_cost.py [--model overdrive-wavenet-nano]
        [--setting 0.125,0.25 --setting 1,0] [--epochs 7] [--threads 2]

The shipped knob-conditioned model spends its weights on every (drive, tone) setting at
once. For each setting given, this fine-tunes a copy of it on that setting alone (the
circuit rendered at it, one recording, aligned at the shipped model's latency;
``neuralrig train --init``, plain ESR, the weights' moving average, lr 0.001) and
prints, on the same validation section of the capture signal, the shipped model's ESR
there and the specialised copy's. The ratio is what sharing the weights across the knob
range costs at that setting; a specialised ESR above the bar says the architecture
cannot reach the bar there even alone (within the epochs given). The default settings
are the shipped model's worst held-out setting and its worst trained one. The epoch kept
is the one best on that validation section, as in any training run. A nano takes about
75 s an epoch on one thread; the renders and runs go to ``--work`` (about 70 MB a
setting).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from neuralrig.models.capture import capture_signal
from neuralrig.models.circuits import CIRCUITS
from neuralrig.models.make_shipped_models import LEVEL_DB, RATE
from neuralrig.models.runtime.knob_blend import lattice_text
from neuralrig.server.audiofile import write_audio
from neuralrig.server.config import builtin_data_dir


def _setting(text: str) -> tuple[float, float]:
    try:
        drive, tone = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give DRIVE,TONE, e.g. 0.125,0.25") \
            from None
    if not (0.0 <= drive <= 1.0 and 0.0 <= tone <= 1.0):
        raise argparse.ArgumentTypeError(f"{text!r}: drive and tone run from 0 to 1")
    return drive, tone


def _worst(report: dict, seen: bool) -> tuple[float, float]:
    entry = max((g for g in report["grid"] if g["seen"] is seen), key=lambda g: g["esr"])
    return entry["controls"]["drive"], entry["controls"]["tone"]


def _shipped_esr(report: dict, drive: float, tone: float) -> float | None:
    for g in report["grid"]:
        if (g["controls"]["drive"], g["controls"]["tone"]) == (drive, tone):
            return float(g["esr"])
    return None


def specialise(model: Path, report: dict, drive: float, tone: float, work: Path,
               epochs: int, threads: int) -> dict:
    """Fine-tune ``model`` on one setting; returns the run's report."""
    name = f"drive{drive:g}-tone{tone:g}"
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    dry, wet = work / "capture.wav", work / f"overdrive-{name}.wav"
    if not (dry.exists() and wet.exists()):
        signal, _ = capture_signal(RATE)
        write_audio(dry, signal[:, None], RATE, "FLOAT")
        out = CIRCUITS["overdrive"].render(signal, RATE, drive=drive, tone=tone,
                                           level=LEVEL_DB, compensate_latency=False)
        write_audio(wet, out[:, None].astype(np.float32), RATE, "FLOAT")
    pairs = work / f"pairs-{name}.toml"
    pairs.write_text(
        "# One setting of the overdrive circuit (benchmarks/conditioning_cost.py)\n"
        'dry = "capture.wav"\n[[control]]\nname = "drive"\ndefault = 0.5\n'
        '[[control]]\nname = "tone"\ndefault = 0.5\n'
        f'[[pair]]\nwet = "{wet.name}"\ndrive = {drive}\ntone = {tone}\n', encoding="utf-8")
    out_model = folder / "specialised.safetensors"
    cmd = [sys.executable, "-m", "neuralrig.server.cli", "train", "--pairs",
           str(pairs), "-o", str(out_model), "--arch", report["arch"],
           "--size", report["size"], "--init", str(model), "--loss", "plain",
           "--average", "0.99", "--lr", "0.001", "--epochs", str(epochs), "--steps", "100",
           "--patience", str(epochs), "--threads", str(threads), "--no-plots",
           "--latency", str(report["capture"]["aligned_at_latency"])]
    cmd += ["--gated"] if report.get("gated") else []
    if report.get("knob_weights"):  # the sets near the setting learn it
        cmd += ["--knob-weights", lattice_text(report["knob_weights"])]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(out_model.with_name("specialised.report.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="overdrive-wavenet-nano",
                        help="a shipped knob-conditioned overdrive model (default: %(default)s)")
    parser.add_argument("--setting", type=_setting, action="append", metavar="DRIVE,TONE",
                        help="a setting to specialise on (repeatable; default: the worst "
                        "held-out setting and the worst trained one)")
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("build/conditioning-cost"))
    args = parser.parse_args(argv)
    model = builtin_data_dir() / f"{args.model}.safetensors"
    report = json.loads(model.with_name(f"{args.model}.report.json").read_text())
    settings = args.setting or [_worst(report, seen=False), _worst(report, seen=True)]
    rows = []
    for drive, tone in settings:
        run = specialise(model, report, drive, tone, args.work, args.epochs, args.threads)
        shipped = _shipped_esr(report, drive, tone)
        rows.append((drive, tone, shipped, run["heldout_esr"], run["train_seconds"]))
    print(f"\n{args.model}: ESR on the capture signal's validation section\n")
    print("| drive | tone | shipped (all settings) | specialised (this setting) | ratio "
          "| fine-tuning |")
    print("|---|---|---|---|---|---|")
    for drive, tone, shipped, alone, seconds in rows:
        ratio = f"{shipped / alone:.1f}x" if shipped is not None else "-"
        shipped_text = f"{shipped:.4f}" if shipped is not None else "not on its grid"
        print(f"| {drive:g} | {tone:g} | {shipped_text} | {alone:.4f} | {ratio} | "
              f"{args.epochs} epochs, {seconds:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
