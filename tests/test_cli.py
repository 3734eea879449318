"""The `neuralrig` command: render, bench, doctor, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import run_cli, write_rig

CLASSIC_RIG = """
[engine]
sample_rate = 48000
block = 128

[[slot]]
id = "gate"
type = "gate"
[[slot]]
id = "comp"
type = "compressor"
[[slot]]
id = "drive"
type = "overdrive"
[[slot]]
id = "eq"
type = "eq"
[[slot]]
id = "cab"
type = "cabinet"
[[slot]]
id = "chorus"
type = "chorus"
[[slot]]
id = "phaser"
type = "phaser"
[[slot]]
id = "delay"
type = "delay"
[[slot]]
id = "verb"
type = "reverb"
[[slot]]
id = "level"
type = "gain"
gain = -6.0
"""


def _one_line_error(result, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("neuralrig: error:")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_render_a_real_wav_through_a_rig_of_classic_slots(tmp_path: Path, guitar_wav: Path) -> None:
    rig = write_rig(tmp_path, CLASSIC_RIG)
    out = tmp_path / "out.wav"
    result = run_cli("render", str(guitar_wav), str(out), "--config", str(rig),
                     "--set", "level.gain=-3", "--set", "verb.mix=0.5")
    assert result.returncode == 0, result.stderr
    src_info, out_info = sf.info(guitar_wav), sf.info(out)
    assert (out_info.samplerate, out_info.channels, out_info.frames, out_info.subtype) == (
        src_info.samplerate, src_info.channels, src_info.frames, src_info.subtype)
    x, _ = sf.read(guitar_wav, always_2d=True)
    y, _ = sf.read(out, always_2d=True)
    assert np.isfinite(y).all()
    assert np.sqrt(np.mean(y**2)) > 1e-3  # something came out
    assert np.max(np.abs(y - x)) > 0.01  # and the rig changed it
    assert not np.allclose(y[:, 0], y[:, 1])  # the channels were processed separately


def test_render_with_model_shorthand_is_exact_for_a_pass_through(
    tmp_path: Path, guitar_wav: Path
) -> None:
    out = tmp_path / "out.flac"
    result = run_cli("render", str(guitar_wav), str(out), "--model", "identity", "--block", "64")
    assert result.returncode == 0, result.stderr
    x, _ = sf.read(guitar_wav, always_2d=True, dtype="int32")
    y, _ = sf.read(out, always_2d=True, dtype="int32")
    np.testing.assert_array_equal(x, y)


def test_render_errors_are_one_line(tmp_path: Path, guitar_wav: Path) -> None:
    out = str(tmp_path / "o.wav")
    _one_line_error(run_cli("render", str(tmp_path / "missing.wav"), out), "missing.wav",
                    "not found")
    fake = tmp_path / "fake.wav"
    fake.write_text("this is not audio")
    _one_line_error(run_cli("render", str(fake), out), "fake.wav", "unsupported")
    _one_line_error(run_cli("render", str(guitar_wav), str(tmp_path / "o.xyz")),
                    "unsupported output format")
    rig = write_rig(tmp_path, '[[slot]]\nid = "g"\ntype = "gain"\n')
    _one_line_error(run_cli("render", str(guitar_wav), out, "--config", str(rig),
                            "--set", "nope.gain=1"), "no slot 'nope'")
    _one_line_error(run_cli("render", str(guitar_wav), out, "--config", str(rig),
                            "--set", "g.volume=1"), "no parameter 'volume'")
    bad = write_rig(tmp_path, '[engine]\nblock = 128\n[[slot]]\nid = "g"\ntype = gain\n',
                    "bad.toml")
    _one_line_error(run_cli("render", str(guitar_wav), out, "--config", str(bad)), "line 5")
    _one_line_error(run_cli("render", str(guitar_wav), out, "--model",
                            str(tmp_path / "none.safetensors")), "none.safetensors")
    assert not Path(out).exists()  # nothing half-written


def test_bench_json_for_a_pass_through_and_a_classic_rig(tmp_path: Path) -> None:
    rig = write_rig(tmp_path, CLASSIC_RIG)
    for args in (["--model", "identity"], ["--config", str(rig)]):
        result = run_cli("bench", *args, "--block", "64", "--seconds", "1", "--json")
        assert result.returncode == 0, result.stderr
        figures = json.loads(result.stdout)
        for key in ("realtime_factor", "block", "sample_rate", "block_us_mean", "block_us_p99",
                    "block_us_max", "peak_rss_mb"):
            assert key in figures
        assert figures["block"] == 64 and figures["sample_rate"] == 48000
        assert figures["realtime_factor"] > 0
        # Not mean <= p99: one long stall on a loaded machine can lift the mean above it.
        assert figures["block_us_mean"] <= figures["block_us_max"]
        assert figures["block_us_p99"] <= figures["block_us_max"]


def test_bench_human_output() -> None:
    result = run_cli("bench", "--seconds", "0.5")
    assert result.returncode == 0, result.stderr
    assert "realtime factor" in result.stdout and "p99" in result.stdout


def test_doctor_reports_what_a_user_needs(tmp_path: Path) -> None:
    result = run_cli("doctor")
    assert "Traceback" not in result.stderr
    for section in ("JACK", "PortAudio devices", "MIDI ports", "Config in effect", "Models"):
        assert section in result.stdout
    assert "rig builds and runs" in result.stdout
    broken = write_rig(tmp_path, '[[slot]]\nid = "c"\ntype = "cabinet"\nir = "nope.wav"\n')
    result = run_cli("doctor", "--config", str(broken))
    assert result.returncode == 1
    assert "PROBLEM" in result.stdout and "nope.wav" in result.stdout


def test_doctor_describes_model_files_and_names_refused_ones(tmp_path: Path) -> None:
    from neuralrig.models.builtin import tiny_lstm
    from neuralrig.models.formats.native import save_model

    models = tmp_path / "models"
    models.mkdir()
    save_model(models / "tiny.safetensors", tiny_lstm())
    (models / "broken.nam").write_text('{"architecture": "WaveNet", "config": {}, '
                                       '"weights": [1.0], "version": "0.5.4"}')
    rig = write_rig(tmp_path, f'[paths]\nmodels = ["{models}"]\n'
                    '[[slot]]\nid = "g"\ntype = "gain"\n')
    result = run_cli("doctor", "--config", str(rig))
    assert "tiny.safetensors: neuralrig: LSTM 1x8" in result.stdout
    assert "broken.nam: REFUSED: NAM WaveNet: config needs a non-empty 'layers' list" \
        in result.stdout
    assert result.returncode == 1


def test_doctor_probes_generators_and_names_the_shipped_ones(tmp_path: Path) -> None:
    from generator_fixtures import Interleave, NoContract, script

    models = tmp_path / "models"
    models.mkdir()
    script(Interleave(8), models / "exact.ts")
    script(NoContract(), models / "plain.ts")
    rig = write_rig(tmp_path, f'[paths]\nmodels = ["{models}"]\n'
                    '[[slot]]\nid = "g"\ntype = "gain"\n')
    result = run_cli("doctor", "--config", str(rig))
    assert "exact.ts: generator (rave slot): encode, decode, forward, prior; 48000 Hz, " \
        "ratio 8" in result.stdout
    assert "plain.ts: REFUSED: TorchScript module without nn~'s contract" in result.stdout
    assert "oneshots.safetensors: generator (oneshots slot): one-shot autoencoder" \
        in result.stdout
    assert result.returncode == 1  # plain.ts


@pytest.mark.parametrize("command", ["serve", "render", "doctor", "bench", "map",
                                     "train-samples"])
def test_every_command_has_help(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0 and "usage: neuralrig" in result.stdout


def test_usage_errors_do_not_trace() -> None:
    result = run_cli("bench", "--block", "zero")
    assert result.returncode == 2 and "Traceback" not in result.stderr
