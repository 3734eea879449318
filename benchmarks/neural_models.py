"""NAM-style models against the issue's speed targets, side by side with the reference.

Makes the models with the neural-amp-modeler package (a test dependency), then
runs ``neuralrig bench --model FILE --block N --json`` for each, which times
neuralrig's kernels and the package's own PyTorch model in the same run.
Writes a markdown table. Usage:

    python benchmarks/neural_models.py [--seconds 10] [--out benchmarks/results/neural.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # nam_reference: builds .nam files

# (label, factory, block, target real-time factor)
CASES = [
    ("NAM WaveNet standard (13,802 w)", "wavenet standard", 128, 8.0),
    ("NAM WaveNet standard (13,802 w)", "wavenet standard", 64, 4.0),
    ("NAM WaveNet nano (842 w)", "wavenet nano", 128, None),
    ("NAM LSTM 1x24 (standard)", "lstm 24", 128, 30.0),
    ("LSTM 1x40 (Proteus size)", "lstm 40", 128, 30.0),
]


def make(kind: str, folder: Path) -> Path:
    from nam_reference import lstm_nam, wavenet_nam

    arch, size = kind.split()
    document = wavenet_nam(size, seed=1) if arch == "wavenet" else lstm_nam(int(size), seed=1)
    path = folder / f"{arch}-{size}.nam"
    path.write_text(json.dumps(document))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "neural.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, kind, block, target in CASES:
            path = make(kind, Path(tmp))
            run = subprocess.run(
                ["neuralrig", "bench", "--model", str(path), "--block", str(block),
                 "--seconds", str(args.seconds), "--json"],
                capture_output=True, text=True, check=True)
            result = json.loads(run.stdout)
            model = result["model"]
            # Judged on the slower of the two: the kernel alone and the whole engine.
            worst = min(model["neuralrig_rtf"], result["realtime_factor"])
            verdict = "" if target is None else ("meets" if worst >= target else "MISSES")
            rows.append(f"| {label} | {block} | {model['neuralrig_rtf']:.1f}x | "
                        f"{result['realtime_factor']:.1f}x | "
                        f"{'' if target is None else f'{target:g}x'} {verdict} | "
                        f"{model.get('reference_rtf', float('nan')):.2f}x | "
                        f"{model.get('speedup', float('nan')):.0f}x |")
            print(rows[-1], flush=True)
    header = [
        f"# Neural model speed ({platform.machine()}, one thread, 48 kHz, "
        f"{args.seconds:g} s of guitar-like audio)",
        "",
        "`python benchmarks/neural_models.py` — every row is one `neuralrig bench --model FILE "
        "--block N --json` run; the reference ran in the same process right after ours. "
        "A target is met when both the kernel alone and the engine reach it.",
        "",
        "| model | block | neuralrig kernels | through the pyo engine | target | "
        "reference (neural-amp-modeler, torch) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    args.out.write_text("\n".join(header + rows) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
