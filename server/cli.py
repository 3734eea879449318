"""The `neuralrig` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from neuralrig.models.capture.scales import STANDARD_SCALES
from neuralrig.models.training.choices import ARCHITECTURES, LOSSES, SIZES

from . import __version__
from .errors import ConfigError, NeuralrigError

log = logging.getLogger("neuralrig")

EPILOG = """examples:
  neuralrig serve                                  run the shipped default rig
  neuralrig serve --config rig.toml --audio jack
  neuralrig render di.wav out.wav --config rig.toml --set drive.drive=0.8
  neuralrig render di.wav out.wav --model amp.safetensors
  neuralrig render silence.wav out.wav --config shots.toml --note shots:0.5:60:110
  neuralrig bench --config rig.toml --block 64 --json
  neuralrig doctor
  neuralrig capture-signal capture.wav --sr 48000
  neuralrig train capture.wav pedal.wav -o pedal.safetensors --arch lstm --size lite
  neuralrig train-samples packs/ -o oneshots.safetensors --epochs 200
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def _decay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"'{text}' must be between 0 and 1 (e.g. 0.99)")
    return value


def _latency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of samples") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: a latency cannot be negative")
    return value


def _knob_points(text: str) -> tuple[int | tuple[float, ...], ...]:
    """``3,3`` or ``3,0/0.125/0.5/1``: per control, a count or slash-separated positions."""
    lattice: list[int | tuple[float, ...]] = []
    for part in text.split(","):
        try:
            entry = tuple(float(v) for v in part.split("/")) if "/" in part else int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: give each control a count of points or slash-separated positions "
                "from 0 to 1, controls separated by commas (e.g. 3,3 or 3,0/0.125/0.5/1)") \
                from None
        if isinstance(entry, int) and entry < 2:
            raise argparse.ArgumentTypeError(f"{text}: each control needs at least 2 points")
        lattice.append(entry)
    return tuple(lattice)


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (1-65535)")
    return value


def _control_overrides(config, args: argparse.Namespace):  # RigConfig -> RigConfig
    """Apply serve's --listen/--osc-port/--oscquery-port/--no-discovery/--no-midi."""
    from dataclasses import replace

    control = config.control
    osc, discovery, midi = control.osc, control.discovery, control.midi
    if args.listen:
        osc = replace(osc, host=args.listen)
        discovery = replace(discovery, interfaces=(args.listen,))
    if args.osc_port:
        osc = replace(osc, port=args.osc_port)
    if args.no_discovery:
        discovery = replace(discovery, enabled=False)
    if args.no_midi:
        midi = replace(midi, enabled=False)
    control = replace(control, osc=osc, discovery=discovery, midi=midi,
                      oscquery_port=args.oscquery_port or control.oscquery_port)
    return replace(config, control=control)


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
    serve.add_argument("--listen", metavar="ADDR",
                       help="serve OSC and OSCQuery on this address only and advertise on it "
                       "(e.g. 127.0.0.1); default: the config's [osc] host and [discovery]")
    serve.add_argument("--osc-port", type=_port, metavar="N",
                       help="OSC UDP port (default: the config's [osc] port, 9000)")
    serve.add_argument("--oscquery-port", type=_port, metavar="N",
                       help="OSCQuery HTTP port (default: the config's [oscquery] port, 9001)")
    serve.add_argument("--no-discovery", action="store_true",
                       help="do not advertise on the network (zeroconf)")
    serve.add_argument("--no-midi", action="store_true", help="open no MIDI ports")

    render = sub.add_parser("render", help="run the rig offline on a file",
                            description="Render IN through the rig into OUT. OUT keeps IN's "
                            "sample rate, channel count, length and sample format.")
    render.add_argument("input", metavar="IN.wav")
    render.add_argument("output", metavar="OUT.wav")
    _rig_source_args(render)
    render.add_argument("--set", action="append", default=[], metavar="SLOT.PARAM=VALUE",
                        help="override a slot parameter (repeatable); PARAM may be bypass or mix")
    render.add_argument("--block", type=_positive_int, metavar="N", help="block size in samples")
    render.add_argument("--note", action="append", default=[],
                        metavar="SLOT:SECONDS:NOTE[:VELOCITY]",
                        help="play a note on a slot that plays notes (one-shots, synth) at "
                        "a time in IN (repeatable; velocity 100 if left out, 0 is a note "
                        "off); it sounds from the block that time falls in")
    render.add_argument("--midi", action="append", default=[], metavar="FILE.mid:SLOT",
                        help="play a standard MIDI file's notes (all tracks, in time) on a "
                        "slot (repeatable)")

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
    capture.add_argument("--length", type=float, default=1.0, choices=STANDARD_SCALES,
                         metavar="F", help="fraction of the full length: 1 (default), 0.5, "
                         "0.25 or 0.1 for a quick try (less material, a weaker model)")

    trainer = sub.add_parser(
        "train", help="train a model from a capture (DRY.wav WET.wav) or knob captures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a neural model of a pedal or amp from a recording of the capture "
        "signal (see capture-signal). The recording is checked and aligned first; training "
        "minimises pre-emphasised ESR plus a multi-resolution STFT loss and stops early when "
        "the held-out validation section stops improving. Writes MODEL.safetensors, "
        "MODEL.report.json and PNG plots (loss curves, waveform and spectrum against the "
        "target). Checkpoints after each epoch: an interrupted run continues with --resume.",
        epilog="examples:\n"
        "  neuralrig train capture.wav pedal.wav -o pedal.safetensors\n"
        "  neuralrig train capture.wav amp.wav -o amp.safetensors --arch wavenet --size lite\n"
        "  neuralrig train --pairs knobs.toml -o od.safetensors --arch lstm --size standard\n"
        "\nPAIRS.toml: dry = \"capture.wav\", one [[control]] (name, min, max) per knob, one "
        "[[pair]] (wet = \"...\", the knob values, optional holdout = true) per recording.")
    trainer.add_argument("dry", nargs="?", metavar="DRY.wav", help="the capture signal as played")
    trainer.add_argument("wet", nargs="?", metavar="WET.wav", help="the device's recorded output")
    trainer.add_argument("-o", "--output", required=True, metavar="MODEL.safetensors")
    trainer.add_argument("--pairs", metavar="PAIRS.toml",
                         help="several recordings at known knob settings: one conditioned model")
    trainer.add_argument("--arch", default="lstm", choices=ARCHITECTURES,
                         help="network (default lstm)")
    trainer.add_argument("--size", default="standard", choices=SIZES,
                         help="network size (default standard)")
    trainer.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                         help="at most N epochs (default 100; early stopping may end sooner)")
    trainer.add_argument("--steps", type=_positive_int, default=None, metavar="N",
                         help="batches per epoch (default: one pass over the audio, <= 200)")
    trainer.add_argument("--patience", type=_positive_int, default=10, metavar="N",
                         help="stop after N epochs without a better validation ESR")
    trainer.add_argument("--lr", type=_positive_float, default=None, help="learning rate")
    trainer.add_argument("--batch", type=_positive_int, default=None, metavar="N")
    trainer.add_argument("--seed", type=int, default=0)
    trainer.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                         help="auto uses CUDA when torch sees a GPU (Jetson), else the CPU")
    trainer.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                         help="CPU threads for torch (default: all cores)")
    trainer.add_argument("--resume", action="store_true",
                         help="continue the interrupted run checkpointed beside the output")
    trainer.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    trainer.add_argument("--loss", choices=LOSSES, default="pre",
                         help="pre: NAM's pre-emphasised ESR (default); balanced: per-example "
                         "ESR, pre-emphasised plus plain, which weighs dark or quiet knob "
                         "settings as much as bright ones; plain: per-example plain ESR "
                         "alone, the figure the report's held-out grid gives")
    trainer.add_argument("--gated", action="store_true",
                         help="wavenet: gated activations, tanh(z) x sigmoid(z') (NAM A1's "
                         "gated option; twice the convolution weights), so knobs can scale "
                         "a channel's signal; --init from an ungated model of the same size "
                         "starts with its output")
    trainer.add_argument("--knob-weights", type=_knob_points, default=(), metavar="L[,L...]",
                         help="wavenet: a weight set per point of a lattice over the knobs, "
                         "blended as the knobs move: each setting plays a WaveNet of its own, "
                         "at one WaveNet's cost per block, the file holding one set per point. "
                         "L per control (or one for all): a count of points evenly spread "
                         "over its range, or positions from 0 to 1 joined by '/' (3,0/0.125/"
                         "0.5/1); put a recording at every point. --init from a plain WaveNet "
                         "starts every point as it, from one with another lattice resamples "
                         "it")
    trainer.add_argument("--focus", action="store_true",
                         help="after each epoch, draw examples from each recording in "
                         "proportion to its validation ESR, so training spends its steps on "
                         "the knob settings the model plays worst (the held-out figure is "
                         "the worst setting's)")
    trainer.add_argument("--average", type=_decay, default=0.0, metavar="DECAY",
                         help="validate and keep a moving average of the weights, updated "
                         "after each step with this decay (e.g. 0.99: about the last 100 "
                         "steps), not the last step's weights: steadier when the validation "
                         "ESR swings from epoch to epoch, as it does with --focus")
    trainer.add_argument("--latency", type=_latency, default=None, metavar="SAMPLES",
                         help="align every recording at this latency instead of the one its "
                         "clicks give (still checked and logged): continue a model with "
                         "--init on new recordings at the latency it was trained at (its "
                         "report's capture.aligned_at_latency), so its output does not start "
                         "a sample early or late; or override a detection you know is wrong")
    trainer.add_argument("--init", metavar="MODEL.safetensors", default="",
                         help="start from this model's weights (same --arch; the same --size, or "
                         "a larger one, which widens it with the same output): fine-tune "
                         "it on new or more captures")

    samples = sub.add_parser(
        "train-samples", help="train the one-shot generator on a folder of WAV one-shots",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a 1-D convolutional autoencoder on every WAV below FOLDER (subfolders\n"
        "are packs: kicks/, snares/...). Files are mixed to mono, resampled to 22050 Hz,\n"
        "trimmed or padded to 0.3 s and peak-normalised; the loss weights the attack (the\n"
        "first ~100 ms) more. Then every file's latent point, two PCA axes and linear\n"
        "estimators of pitch, attack, release and brightness are fitted: the `oneshots`\n"
        "slot steers them. Writes MODEL.safetensors, MODEL.report.json and PNG plots (loss\n"
        "curve, PCA map by pack, reconstructions). Training runs here, not in the daemon.",
        epilog="examples:\n"
        "  neuralrig train-samples packs/ -o oneshots.safetensors\n"
        "  neuralrig train-samples packs/ -o quick.safetensors --epochs 20 --latent 8 "
        "--threads 2 --no-plots")
    samples.add_argument("folder", metavar="FOLDER", help="WAV one-shots, one subfolder per pack")
    samples.add_argument("-o", "--output", required=True, metavar="MODEL.safetensors")
    samples.add_argument("--epochs", type=_positive_int, default=200, metavar="N",
                         help="passes over the files (default 200)")
    samples.add_argument("--latent", type=_positive_int, default=16, metavar="N",
                         help="latent size (default 16)")
    samples.add_argument("--seed", type=int, default=0)
    samples.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                         help="CPU threads for torch (default: all cores)")
    samples.add_argument("--no-plots", action="store_true", help="skip the PNG plots")

    mapper = sub.add_parser(
        "map", help="train or evaluate a saved mapping (gesture examples) offline",
        description="Work on a mapping file (NAME.mapping.safetensors: a mapping's gesture "
        "sources, output parameters and recorded examples) without the daemon.")
    map_sub = mapper.add_subparsers(dest="map_command", metavar="ACTION", required=True)
    map_train = map_sub.add_parser(
        "train", help="train the mapping's regressor and save it into the file",
        description="Hold out a fifth of the examples to measure the error between examples "
        "(RMSE as a share of each output's range), then fit on all of them and save the "
        "regressor into FILE (atomically).")
    map_train.add_argument("file", metavar="FILE")
    map_train.add_argument("--regressor", default=None, type=_regressor_kind, metavar="KIND",
                           help="auto, spline, mlp, mlp:LAYERS (e.g. mlp:64x32), nearest or "
                           "linear; default: the file's setting (auto: nearest for a handful "
                           "of examples, spline up to 1,000, MLP beyond)")
    map_train.add_argument("--seed", type=int, default=0)
    map_eval = map_sub.add_parser(
        "eval", help="cross-validate the mapping's regressor and time one prediction",
        description="K-fold cross-validation of the file's regressor kind on its examples "
        "(RMSE per output as a share of its range) and the time one gesture takes to map.")
    map_eval.add_argument("file", metavar="FILE")
    map_eval.add_argument("--folds", type=_positive_int, default=5, metavar="K")
    return parser


def _regressor_kind(text: str) -> str:
    from neuralrig.mappings.regressors import RegressorError, valid_kind

    try:
        return valid_kind(text)
    except RegressorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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

        config = _control_overrides(load_config(args.config), args)
        return serve(config, args.audio, args.sr, args.block)
    if args.command == "render":
        from .render import apply_overrides, midi_file_notes, parse_note, render_file

        config = apply_overrides(_rig(args), args.set)
        notes = [parse_note(text) for text in args.note]
        for text in args.midi:
            path, sep, slot = text.rpartition(":")
            if not sep or not path or not slot:
                raise ConfigError(f"--midi '{text}': expected FILE.mid:SLOT")
            notes += midi_file_notes(path, slot)
        result = render_file(args.input, args.output, config, args.block, notes)
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

        signal, layout = capture_signal(args.sr, seconds_scale=args.length)
        write_audio(args.output, signal[:, None], layout.sample_rate, "FLOAT")
        print(f"wrote {args.output}: 32-bit float WAV, {layout.summary()}")
        return 0
    if args.command == "train":
        from neuralrig.models.training.pipeline import load_captures, run_training
        from neuralrig.models.training.trainer import TrainOptions

        captures = load_captures(args.dry, args.wet, args.pairs, args.latency)
        knob_weights = args.knob_weights
        if len(knob_weights) == 1:  # one count for every control
            knob_weights = knob_weights * max(1, len(captures.controls))
        options = TrainOptions(arch=args.arch, size=args.size, epochs=args.epochs,
                               steps=args.steps or 0, batch=args.batch or 0, lr=args.lr or 0.0,
                               patience=args.patience, seed=args.seed, device=args.device,
                               threads=args.threads or 0, init=args.init, loss=args.loss,
                               gated=args.gated, focus=args.focus, average=args.average,
                               knob_weights=knob_weights)
        _interrupt_on_signals()
        _, report = run_training(captures, args.output, options, resume=args.resume,
                                 bar=sys.stderr.isatty(), plots=not args.no_plots)
        print(json.dumps({k: report[k] for k in ("heldout_esr", "grade", "train_seconds",
                                                 "arch", "size", "device")}))
        return 0
    if args.command == "train-samples":
        from neuralrig.models.generators.oneshots.train import (
            TrainSettings,
            summary,
            train_samples,
        )

        settings = TrainSettings(epochs=args.epochs, latent=args.latent, seed=args.seed,
                                 threads=args.threads or 0, plots=not args.no_plots,
                                 bar=sys.stderr.isatty())
        report, _ = train_samples(args.folder, args.output, settings)
        print(json.dumps(summary(report)))
        return 0
    if args.command == "map":
        from neuralrig.mappings.offline import evaluate_file, train_file

        if args.map_command == "train":
            result = train_file(args.file, args.regressor, args.seed)
        else:
            result = evaluate_file(args.file, args.folds)
        print(json.dumps(result))
        return 0
    raise AssertionError(args.command)


def _interrupt_on_signals() -> None:
    """SIGTERM (systemd, kill) and SIGINT, even where a shell ignores it, stop training at
    the next step; the last finished epoch stays checkpointed for --resume. A second
    signal aborts at once."""
    import os
    import signal

    from neuralrig.models.training.trainer import request_stop

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(128 + signum))
        signal.signal(signal.SIGINT, lambda *_: os._exit(128 + signum))
        print("neuralrig: stopping after this training step (signal again to abort)",
              file=sys.stderr, flush=True)
        request_stop()

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


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
