"""The `neuralrig` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import NeuralrigError

log = logging.getLogger("neuralrig")

EPILOG = """examples:
  neuralrig serve                                  run the shipped default rig
  neuralrig serve --config rig.toml --audio jack
  neuralrig render di.wav out.wav --config rig.toml --set drive.drive=0.8
  neuralrig render di.wav out.wav --model amp.safetensors
  neuralrig bench --config rig.toml --block 64 --json
  neuralrig doctor
  neuralrig capture-signal capture.wav --sr 48000
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuralrig",
        description="Headless daemon for neural and classic audio effects, "
        "controlled over OSC and MIDI.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"neuralrig {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log detail (and tracebacks on internal errors)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the daemon in the foreground",
                           description="Run the rig on live audio until SIGTERM or SIGINT.")
    serve.add_argument("--config", metavar="FILE", help="rig config (TOML); default: shipped rig")
    serve.add_argument("--audio", choices=("jack", "portaudio", "offline"),
                       help="audio backend (default: jack if a JACK server runs, else "
                       "portaudio; offline runs the rig on silence, for testing)")
    serve.add_argument("--sr", type=_positive_int, metavar="N", help="sample rate in Hz")
    serve.add_argument("--block", type=_positive_int, metavar="N", help="block size in samples")

    render = sub.add_parser("render", help="run the rig offline on a file",
                            description="Render IN through the rig into OUT. OUT keeps IN's "
                            "sample rate, channel count, length and sample format.")
    render.add_argument("input", metavar="IN.wav")
    render.add_argument("output", metavar="OUT.wav")
    _rig_source_args(render)
    render.add_argument("--set", action="append", default=[], metavar="SLOT.PARAM=VALUE",
                        help="override a slot parameter (repeatable); PARAM may be bypass or mix")
    render.add_argument("--block", type=_positive_int, metavar="N", help="block size in samples")

    doctor = sub.add_parser("doctor", help="check audio, MIDI, config and models",
                            description="Print audio backends, JACK status, devices, MIDI "
                            "ports, the config in effect and the models found.")
    doctor.add_argument("--config", metavar="FILE", help="rig config to check")

    bench = sub.add_parser("bench", help="measure the rig's speed in process",
                           description="Push synthetic audio through the rig offline and "
                           "report the realtime factor and per-block times.")
    _rig_source_args(bench)
    bench.add_argument("--block", type=_positive_int, metavar="N", help="block size in samples")
    bench.add_argument("--seconds", type=_positive_float, default=10.0, metavar="S",
                       help="seconds of audio to process (default 10)")
    bench.add_argument("--sr", type=_positive_int, metavar="N", help="sample rate in Hz")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--no-reference", action="store_true",
                       help="with --model FILE.nam: skip the side-by-side run of the "
                       "neural-amp-modeler package")

    capture = sub.add_parser(
        "capture-signal", help="write the reamping signal for capturing a pedal or amp",
        description="Write neuralrig's capture signal (about 3 minutes, mono, 32-bit float WAV): "
        "silence, alignment clicks, sine sweeps, noise bursts, synthesised guitar playing, level "
        "steps, a held-out validation section and trailing clicks. Play it through the device "
        "and record the device's output at the same rate, whole and unnormalised; the layout "
        "is printed.")
    capture.add_argument("output", metavar="OUT.wav")
    capture.add_argument("--sr", type=_positive_int, default=48000, metavar="N",
                         help="sample rate in Hz (default 48000; 44100 works too)")
    return parser


def _rig_source_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", metavar="FILE", help="rig config (TOML); default: shipped rig")
    group.add_argument("--model", metavar="FILE",
                       help="shorthand for a one-slot rig (slot id 'model') holding this model")


def _rig(args: argparse.Namespace):
    from .config import load_config
    from .render import model_rig

    if getattr(args, "model", None):
        return model_rig(args.model)
    return load_config(args.config)


def run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from .config import load_config
        from .daemon import serve

        return serve(load_config(args.config), args.audio, args.sr, args.block)
    if args.command == "render":
        from .render import apply_overrides, render_file

        config = apply_overrides(_rig(args), args.set)
        result = render_file(args.input, args.output, config, args.block)
        log.info("wrote %s: %d frames, %d channel(s), %d Hz, peak %.2f dBFS", args.output,
                 result["frames"], result["channels"], result["sample_rate"],
                 _db(result["peak"]))
        return 0
    if args.command == "doctor":
        from .config import load_config
        from .doctor import run_doctor

        return run_doctor(load_config(args.config))
    if args.command == "bench":
        from .bench import run_bench

        config = _rig(args)
        if args.model and not args.sr:  # run the engine at the model's own rate
            from neuralrig.models.formats import load_model

            rate = load_model(args.model).sample_rate
            config = config.with_engine(sample_rate=int(rate) if rate else None)
        else:
            config = config.with_engine(sample_rate=args.sr)
        result = run_bench(config, args.block, args.seconds)
        if args.model:
            from .model_bench import bench_model

            result["model"] = bench_model(args.model, args.block or config.block, args.seconds,
                                          reference=not args.no_reference)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"rig: {', '.join(result['slots']) or '(empty)'}; {result['sample_rate']} Hz, "
                  f"block {result['block']}, {result['seconds']:g} s of audio")
            print(f"realtime factor  {result['realtime_factor']:.1f}x")
            print(f"block time       mean {result['block_us_mean']:.1f} us, "
                  f"p99 {result['block_us_p99']:.1f} us, max {result['block_us_max']:.1f} us "
                  f"(budget {result['block_budget_us']:.0f} us)")
            print(f"latency          {result['latency_samples']} samples")
            print(f"peak RSS         {result['peak_rss_mb']:.0f} MB")
            if "model" in result:
                _print_model_bench(result["model"])
        return 0
    if args.command == "capture-signal":
        from neuralrig.models.capture import capture_signal

        from .audiofile import write_audio

        signal, layout = capture_signal(args.sr)
        write_audio(args.output, signal[:, None], layout.sample_rate, "FLOAT")
        print(f"wrote {args.output}: 32-bit float WAV, {layout.summary()}")
        return 0
    raise AssertionError(args.command)


def _print_model_bench(m: dict) -> None:
    print(f"model            {m['description']}")
    print(f"model alone      {m['neuralrig_rtf']:.1f}x real time "
          f"(neuralrig kernels, block {m['block']}, one thread)")
    if "reference_rtf" in m:
        print(f"reference        {m['reference_rtf']:.2f}x real time ({m['reference']})")
        print(f"ratio            {m['speedup']:.1f}x faster than the reference, same run")
    elif "reference" in m:
        print(f"reference        {m['reference']}")


def _db(value: float) -> float:
    import math

    return 20 * math.log10(value) if value > 0 else -math.inf


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .logs import setup_logging

    setup_logging(args.verbose)
    try:
        return run(args)
    except NeuralrigError as exc:
        print(f"neuralrig: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error: one line, the traceback on -v
        if args.verbose:
            raise
        print(f"neuralrig: internal error: {type(exc).__name__}: {exc} "
              "(run with -v for the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
