"""The one-shot slot in the engine: notes play the current latent point, controls move it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import offline_controller
from neuralrig.models.generators.oneshots.model import OneShotModel
from neuralrig.models.generators.oneshots.synth import write_pack
from neuralrig.models.generators.oneshots.train import TrainSettings, train_samples
from neuralrig.server.errors import ConfigError

BLOCK = 128


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("oneshots")
    write_pack(folder / "pack", per_pack=6)
    settings = TrainSettings(epochs=2, latent=8, channels=(4, 8), hidden=32, plots=False,
                             threads=1)
    train_samples(folder / "pack", folder / "tiny.safetensors", settings)
    return folder


def rig(folder: Path, **params: float) -> str:
    text = (f'[paths]\nmodels = ["{folder}"]\n[engine]\nblock = {BLOCK}\n'
            '[[slot]]\nid = "shots"\ntype = "oneshots"\nmodel = "tiny.safetensors"\n')
    return text + "".join(f"{k} = {v}\n" for k, v in params.items())


def run(controller, blocks: int) -> np.ndarray:
    silence = np.zeros((BLOCK, 1), np.float32)
    backend = controller.engine.backend
    return np.concatenate([backend.process_block(silence)[:, 0].copy() for _ in range(blocks)])


def expected(folder: Path, controller, velocity: int) -> np.ndarray:
    """The one-shot the slot's parameters describe, decoded here, at the engine's rate."""
    from scipy.signal import resample_poly

    processor = controller.engine.slot("shots").processor
    model = OneShotModel.load(folder / "tiny.safetensors")
    values = dict(controller.engine.slot("shots").values)
    audio = model.generate(processor.latent_point(values))
    g = np.gcd(48000, model.sample_rate)
    audio = resample_poly(audio, 48000 // g, model.sample_rate // g)[: processor.length]
    return audio * velocity / 127.0


def test_a_note_plays_the_current_point_in_the_next_block(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir, sample_a=3, sample_b=9, morph=0.4))
    try:
        assert not run(controller, 4).any()  # silent until a note
        controller.note("shots", 60, 100)
        y = run(controller, 120)
        want = expected(model_dir, controller, 100)
    finally:
        controller.engine.stop()
    assert np.any(y[:BLOCK] != 0.0)  # the note sounds in the block it is applied in
    np.testing.assert_allclose(y[: len(want)], want, atol=1e-5)
    assert not y[len(want):].any()  # a one-shot ends: note offs are not needed


def test_moving_a_control_changes_the_next_note(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir))
    try:
        controller.note("shots", 60, 127)
        first = run(controller, 120)
        controller.set_param("shots", "pitch", 12.0)
        controller.set_param("shots", "pc1", 0.5)
        run(controller, 1)
        controller.note("shots", 60, 127)
        second = run(controller, 120)
        want = expected(model_dir, controller, 127)
    finally:
        controller.engine.stop()
    assert not np.allclose(first, second, atol=1e-4)
    np.testing.assert_allclose(second[: len(want)], want, atol=1e-5)


def test_feature_shifts_reach_their_targets_with_the_smallest_move(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir, sample_a=2))
    try:
        processor = controller.engine.slot("shots").processor
        model = processor.model
        base = dict(controller.engine.slot("shots").values)
        z0 = processor.latent_point(base)
        z1 = processor.latent_point({**base, "pitch": 5.0, "brightness": -3.0})
    finally:
        controller.engine.stop()
    f0, f1 = model.features(z0), model.features(z1)
    names = model.feature_names
    assert f1[names.index("pitch")] - f0[names.index("pitch")] == pytest.approx(5.0, abs=1e-6)
    assert f1[names.index("brightness")] - f0[names.index("brightness")] == pytest.approx(
        -3.0, abs=1e-6)
    rows = model.feature_A[[names.index("pitch"), names.index("brightness")]]
    move = z1 - z0  # in the row space of the constrained estimators: nothing wasted
    projected = rows.T @ np.linalg.lstsq(rows.T, move, rcond=None)[0]
    np.testing.assert_allclose(projected, move, atol=1e-8)


def test_two_notes_sound_together(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir))
    try:
        controller.note("shots", 60, 127)
        controller.note("shots", 62, 127)
        both = run(controller, 120)
        want = expected(model_dir, controller, 127)
    finally:
        controller.engine.stop()
    np.testing.assert_allclose(both[: len(want)], 2 * want, atol=1e-5)


def test_a_stolen_voice_fades_out_over_one_block(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir) + "voices = 1\n")
    try:
        controller.note("shots", 60, 127)
        first = run(controller, 10)
        controller.note("shots", 64, 127)  # the only voice is busy: steal it
        after = run(controller, 120)
        want = expected(model_dir, controller, 127)
    finally:
        controller.engine.stop()
    b = BLOCK
    np.testing.assert_allclose(first, want[: 10 * b], atol=1e-5)
    fade = np.arange(b, 0, -1) / b
    np.testing.assert_allclose(after[:b], want[10 * b:11 * b] * fade + want[:b], atol=1e-5)
    np.testing.assert_allclose(after[b:len(want)], want[b:], atol=1e-5)


def test_parameters_and_notes_are_part_of_the_rig(model_dir: Path) -> None:
    controller = offline_controller(model_dir, rig(model_dir))
    try:
        view = controller.slot("shots")
        assert view.accepts_notes
        assert {"sample_a", "sample_b", "morph", "pc1", "pc2", "pitch", "attack", "release",
                "brightness", "level"} <= set(view.specs)
        assert controller.set_param("shots", "morph", 0.5, norm=True) == 0.5
    finally:
        controller.engine.stop()


def test_a_file_that_is_not_a_one_shot_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tiny.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(ConfigError, match=r"tiny\.safetensors"):
        offline_controller(tmp_path, rig(tmp_path))


def test_the_buffer_pool_never_runs_dry(model_dir: Path) -> None:
    """One voice: a note, three moves (each a decode), then a note that steals the voice
    while a fourth move decodes in the same block. Busy then: the stolen voice's fading
    tail, the new voice, the newest decode and the two before it (which a note racing
    the worker may still take). Every move must reach the next note."""
    controller = offline_controller(model_dir, rig(model_dir, voices=1))
    try:
        controller.note("shots", 60, 100)
        run(controller, 1)
        for value in (0.2, 0.4, 0.6):
            controller.set_param("shots", "pc1", value)
            run(controller, 1)
        controller.note("shots", 60, 100)
        controller.set_param("shots", "pc1", 0.8)
        run(controller, 1)  # steals the voice (a tail) and decodes pc1 = 0.8
        run(controller, 200)
        controller.note("shots", 60, 100)
        y = run(controller, 120)
        want = expected(model_dir, controller, 100)
        assert controller.engine.slot("shots").values["pc1"] == pytest.approx(0.8)
    finally:
        controller.engine.stop()
    np.testing.assert_allclose(y[: len(want)], want, atol=1e-5)


def test_the_latent_point_is_the_morph_moved_along_the_pca_axes(model_dir: Path) -> None:
    """The slot's point, from its parameters, against the model's own formulas worked
    out here: (1 - m) points[a] + m points[b], then moved along the PCA axes until its
    PCA coordinates have moved by (pc1, pc2)."""
    model = OneShotModel.load(model_dir / "tiny.safetensors")
    controller = offline_controller(model_dir, rig(model_dir, sample_a=3, sample_b=9,
                                                   morph=0.4, pc1=0.3, pc2=-0.2))
    try:
        processor = controller.engine.slot("shots").processor
        got = processor.latent_point(dict(controller.engine.slot("shots").values))
    finally:
        controller.engine.stop()
    z = 0.6 * model.points[3] + 0.4 * model.points[9]
    np.testing.assert_allclose(model.pca_coords(got), model.pca_coords(z) + np.array([0.3, -0.2]),
                               atol=1e-9)
    rest = got - z  # the move lies along the two PCA axes only
    np.testing.assert_allclose(rest, model.pca_axes.T @ (model.pca_axes @ rest), atol=1e-9)
    assert np.linalg.norm(rest) > 1e-3


def test_render_plays_notes_from_the_command_line_and_a_midi_file(model_dir: Path,
                                                                   tmp_path: Path) -> None:
    """`neuralrig render --note` and `--midi` play one-shots offline: each sounds from the
    start of the block its time falls in, scaled by its velocity, as live."""
    import mido

    from conftest import run_cli, write_rig
    from neuralrig.server.audiofile import read_audio, write_audio

    config = write_rig(tmp_path, rig(model_dir, sample_a=2))
    silence = tmp_path / "silence.wav"
    write_audio(silence, np.zeros((48000, 1), np.float32), 48000, "FLOAT")
    controller = offline_controller(model_dir, rig(model_dir, sample_a=2))
    try:
        one = expected(model_dir, controller, 127)
    finally:
        controller.engine.stop()
    start = (int(0.25 * 48000) // BLOCK) * BLOCK  # the block 0.25 s falls in

    out = tmp_path / "notes.wav"
    result = run_cli("render", str(silence), str(out), "--config", str(config),
                     "--note", "shots:0.25:60:127", "--note", "shots:0.5:60:64")
    assert result.returncode == 0, result.stderr
    y = read_audio(out).data[:, 0]
    assert not y[:start].any()
    second = (int(0.5 * 48000) // BLOCK) * BLOCK
    want = np.zeros_like(y)
    want[start:start + len(one)] += one
    want[second:second + len(one)] += one[: len(y) - second] * 64 / 127
    np.testing.assert_allclose(y, want, atol=1e-5)

    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))  # 120 bpm: a beat is 0.5 s
    track.append(mido.Message("note_on", note=60, velocity=127, time=240))  # at 0.25 s
    track.append(mido.Message("note_off", note=60, velocity=0, time=240))
    track.append(mido.Message("note_on", note=62, velocity=64, time=0))  # at 0.5 s
    song.save(tmp_path / "song.mid")
    from_midi = tmp_path / "midi.wav"
    result = run_cli("render", str(silence), str(from_midi), "--config", str(config),
                     "--midi", f"{tmp_path / 'song.mid'}:shots")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(read_audio(from_midi).data[:, 0], y, atol=1e-6)

    for bad, reason in ((["--note", "shots:soon:60"], "SECONDS is a number"),
                        (["--note", "nope:0.1:60"], "no slot 'nope'"),
                        (["--midi", f"{silence}:shots"], "not a readable MIDI file")):
        result = run_cli("render", str(silence), str(tmp_path / "x.wav"), "--config",
                         str(config), *bad)
        assert result.returncode != 0 and reason in result.stderr, result.stderr


def test_osc_and_midi_reach_the_one_shots(model_dir: Path) -> None:
    """The slot's parameters and notes over real UDP OSC (/rig/shots/<param>,
    /rig/shots/note i i), a CC mapped onto pc1 and a MIDI note through the MIDI mapper:
    the same parameter system as the effects'."""
    import mido
    from test_osc import Client

    from neuralrig.server.control.midi_map import MidiMapper
    from neuralrig.server.control.osc import OscFrontend
    from neuralrig.server.control_config import OscSettings

    text = rig(model_dir) + ('[midi]\nexpression = false\n[[midi.cc]]\ncc = 21\n'
                             'slot = "shots"\nparam = "pc1"\n')
    controller = offline_controller(model_dir, text)
    osc = OscFrontend(controller, OscSettings(port=0, host="127.0.0.1"))
    osc.start()
    client = Client(osc.port)
    midi = MidiMapper(controller, controller.engine.config.control.midi, send=lambda m: None)
    try:
        client.send("/rig/shots/sample_a", 4)
        client.send("/rig/shots/brightness", 0.5)
        assert client.ask("/rig/shots/sample_a/get") == [4.0]
        midi.handle(mido.Message("control_change", control=21, value=127))
        assert controller.value("shots", "pc1") == pytest.approx(2.0)
        run(controller, 1)  # the decode of the new point (inline, offline)
        client.send("/rig/shots/note", 60, 90)
        client.ask("/rig/shots/level/get")  # handled: the note is posted for the next block
        by_osc = run(controller, 120)
        want = expected(model_dir, controller, 90)
        np.testing.assert_allclose(by_osc[: len(want)], want, atol=1e-5)
        midi.handle(mido.Message("note_on", note=60, velocity=45))
        by_midi = run(controller, 120)
        np.testing.assert_allclose(by_midi[: len(want)], want * 45 / 90, atol=1e-5)
        assert osc.errors == 0
    finally:
        midi.close()
        client.close()
        osc.stop()
        controller.engine.stop()
