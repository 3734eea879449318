"""The gesture mapper over real UDP: declare, record, train (in a process), run, restart."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from generator_fixtures import Interleave, script
from test_osc import Client

from conftest import offline_controller
from neuralrig.server.control.osc import OscFrontend
from neuralrig.server.control_config import OscSettings

# A neural effect's knobs (the shipped LSTM overdrive) and a generator's latents.
RIG = """
[paths]
models = ["{folder}"]
[[slot]]
id = "amp"
type = "neural"
model = "overdrive-lstm.safetensors"
[[slot]]
id = "gen"
type = "rave"
model = "exact.ts"
mode = "generate"
buffer = 64
"""
OUTPUTS = ("amp/drive", "amp/tone", "gen/z1", "gen/z2")


def targets(x: float, y: float) -> tuple[float, float, float, float]:
    """The sound wanted at each pad position: a smooth function of it."""
    return (x, 1.0 - y, 2.0 * np.sin(3.0 * x) * y, x * y - 0.5)


class Daemonless:
    """A rig on the offline engine with its OSC frontend on a loopback port."""

    def __init__(self, folder: Path) -> None:
        script(Interleave(8), folder / "exact.ts")
        self.controller = offline_controller(folder, RIG.format(folder=folder))
        self.osc = OscFrontend(self.controller, OscSettings(port=0, host="127.0.0.1"))
        self.osc.start()
        self.client = Client(self.osc.port)

    def close(self) -> None:
        if self.osc is not None:
            self.osc.stop()
            self.controller.mapper.close()
            self.controller.engine.stop()
            self.osc = None


@pytest.fixture
def rig(tmp_path: Path):
    made: list[Daemonless] = []

    def make() -> Daemonless:
        made.append(Daemonless(tmp_path))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_record_train_run_and_restart_over_osc(rig, tmp_path: Path) -> None:
    r = rig()
    c = r.client
    reply = c.ask("/map/pad/inputs", "/xy", reply="/map/pad")
    assert reply[:2] == ["inputs", "/xy"]
    reply = c.ask("/map/pad/outputs", *OUTPUTS, reply="/map/pad")
    assert reply[reply.index("outputs") + 1:reply.index("examples")] == list(OUTPUTS)
    c.send("/xy", 0.0, 0.0)  # the pad's first message gives its size: two numbers
    # Examples pair the pad's position with the outputs set then; send position first.
    count = 0
    for x in np.linspace(0, 1, 6):
        for y in np.linspace(0, 1, 6):
            c.send("/xy", float(x * 800), float(y * 600))
            for target, value in zip(OUTPUTS, targets(x, y), strict=True):
                c.send(f"/rig/{target}", float(value))
            count = c.ask("/map/pad/example", reply="/map/pad/examples")[0]
    assert count == 36
    c.send("/map/pad/train")
    assert c.until("/map/pad/training").params[0] == 36
    error = c.until("/map/pad/trained", timeout=60).params[0]
    assert 0.0 <= error < 0.05
    info = c.ask("/map/pad/get")
    assert info[info.index("state") + 1] == "trained"
    c.ask("/map/pad/run", 1, reply="/map/pad")
    c.send("/xy", 0.3 * 800, 0.7 * 600)
    want = targets(0.3, 0.7)
    assert c.ask("/map/list") == ["pad"]
    got = [r.controller.value(*t.split("/")) for t in OUTPUTS]
    np.testing.assert_allclose(got, want, atol=0.05)
    r.close()

    again = rig()  # a restart: the mapping comes back from its file, running
    assert again.controller.mapper.get("pad").state == "running"
    again.client.send("/xy", 0.3 * 800, 0.7 * 600)
    again.client.ask("/map/list")  # the gesture was handled before this reply
    got_again = [again.controller.value(*t.split("/")) for t in OUTPUTS]
    assert got_again == got


def test_mapping_errors_are_answered(rig) -> None:
    r = rig()
    c = r.client
    c.send("/map/pad/outputs", "amp/nothing")
    assert "no parameter 'nothing'" in c.until("/error").params[1]
    c.send("/map/pad/inputs", "/rig/amp/drive")
    assert "neuralrig's own addresses" in c.until("/error").params[1]
    c.send("/map/pad/inputs", "midi/cc/17/1")
    assert "CH 1-16" in c.until("/error").params[1]
    c.send("/map/nope/train")
    assert "no mapping 'nope'" in c.until("/error").params[1]
    c.ask("/map/pad/inputs", "/xy:2", reply="/map/pad")
    c.ask("/map/pad/outputs", "amp/drive", reply="/map/pad")
    c.send("/map/pad/train")
    assert "no examples" in c.until("/error").params[1]
    c.send("/xy", 1.0)
    assert "expects 2 number(s), got 1" in c.until("/error").params[1]


def test_presets_carry_which_mappings_run(rig, tmp_path: Path) -> None:
    r = rig()
    c = r.client
    c.ask("/map/pad/inputs", "/xy:2", reply="/map/pad")
    c.ask("/map/pad/outputs", "amp/drive", reply="/map/pad")
    c.ask("/map/pad/run", 1, reply="/map/pad")
    c.ask("/preset/save", "on", reply="/preset/saved")
    c.ask("/map/pad/run", 0, reply="/map/pad")
    c.ask("/preset/save", "off", reply="/preset/saved")
    assert '[[mapping]]\nname = "pad"\nrun = true' in (tmp_path / "presets" / "on.toml").read_text()
    mapper = r.controller.mapper
    c.ask("/preset/load", "on", reply="/preset/loaded")
    assert mapper.get("pad").running and mapper.get("pad").state == "waiting"  # untrained
    c.ask("/preset/load", "off", reply="/preset/loaded")
    assert not mapper.get("pad").running
    assert (tmp_path / "mappings" / "pad.mapping.safetensors").is_file()


def test_a_mapping_declared_in_toml_is_there_at_start(tmp_path: Path, rig) -> None:
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "knobs.toml").write_text(
        'inputs = ["/fader:1", "midi/cc/omni/74"]\noutputs = ["amp/tone", "gen/z3"]\n'
        'regressor = "linear"\nrun = true\nsmooth = 0.25\n')
    (tmp_path / "mappings" / "bad.toml").write_text('inputs = "/x"\n')
    r = rig()
    info = r.client.ask("/map/knobs/get")
    assert info[:4] == ["inputs", "/fader:1", "midi/cc/omni/74", "outputs"]
    assert info[info.index("state") + 1] == "waiting"  # running once trained
    assert r.controller.mapper.get("knobs").data.regressor_kind == "linear"
    assert info[info.index("smooth") + 1] == pytest.approx(0.25)
    assert r.client.ask("/map/list") == ["knobs"]


def test_smoothing_glides_the_outputs_to_the_prediction(rig) -> None:
    """With ``smooth`` set, a gesture's prediction is reached by a glide: the first step
    lands at once, between where the outputs were and the target, and later steps
    arrive at the target. The setting survives a restart; bad values are refused."""
    r = rig()
    c = r.client
    c.ask("/map/fade/inputs", "/fader:1", reply="/map/fade")
    c.ask("/map/fade/outputs", "amp/drive", "gen/z1", reply="/map/fade")
    c.ask("/map/fade/regressor", "linear", reply="/map/fade")
    for x in (0.0, 1.0):
        c.send("/fader", x)
        c.send("/rig/amp/drive", x)
        c.send("/rig/gen/z1", -2.0 + 4.0 * x)
        c.ask("/map/fade/example", reply="/map/fade/examples")
    c.send("/map/fade/train")
    c.until("/map/fade/trained", timeout=60)
    c.ask("/map/fade/run", 1, reply="/map/fade")
    c.send("/fader", 0.0)
    c.ask("/map/list")
    assert [r.controller.value("amp", "drive"), r.controller.value("gen", "z1")] == \
        pytest.approx([0.0, -2.0], abs=1e-9)  # no smoothing: straight to the prediction

    info = c.ask("/map/fade/smooth", 0.5, reply="/map/fade")
    assert info[info.index("smooth") + 1] == pytest.approx(0.5)
    mapper = r.controller.mapper
    c.send("/fader", 1.0)
    c.ask("/map/list")  # the gesture has been handled: the first step is taken
    first = r.controller.value("amp", "drive")
    assert 0.0 < first < 1.0
    assert mapper._glide.gliding("fade")
    deadline = time.monotonic() + 30.0
    while mapper._glide.gliding("fade") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r.controller.value("amp", "drive"), r.controller.value("gen", "z1")] == \
        pytest.approx([1.0, 2.0], abs=1e-3)

    c.send("/map/fade/smooth", -1.0)
    assert "0 (none) to 10 seconds" in c.until("/error").params[1]
    c.send("/map/fade/smooth", "slow")
    assert "takes a number" in c.until("/error").params[1]
    r.close()
    again = rig()
    assert again.controller.mapper.get("fade").data.smoothing == pytest.approx(0.5)


def test_two_mappings_run_at_once_from_one_gesture(rig) -> None:
    """One pad drives the amp through one mapping and the latents through another, and
    a second source feeds only the mapping that names it."""
    r = rig()
    c = r.client
    c.ask("/map/tone/inputs", "/xy:2", reply="/map/tone")
    c.ask("/map/tone/outputs", "amp/drive", "amp/tone", reply="/map/tone")
    c.ask("/map/space/inputs", "/xy:2", "/fader:1", reply="/map/space")
    c.ask("/map/space/outputs", "gen/z1", "gen/z2", reply="/map/space")
    for name in ("tone", "space"):
        c.ask(f"/map/{name}/regressor", "linear", reply=f"/map/{name}")
    for x, y, f in ((0, 0, 0), (1, 0, 1), (0, 1, 0), (1, 1, 1), (0.5, 0.5, 0)):
        c.send("/xy", float(x), float(y))
        c.send("/fader", float(f))
        for target, value in (("amp/drive", x), ("amp/tone", y), ("gen/z1", x - y),
                              ("gen/z2", f)):
            c.send(f"/rig/{target}", float(value))
        c.ask("/map/tone/example", reply="/map/tone/examples")
        c.ask("/map/space/example", reply="/map/space/examples")
    for name in ("tone", "space"):
        c.send(f"/map/{name}/train")
        c.until(f"/map/{name}/trained", timeout=60)
        c.ask(f"/map/{name}/run", 1, reply=f"/map/{name}")
    c.send("/fader", 0.25)
    c.send("/xy", 0.75, 0.5)
    c.ask("/map/list")
    got = [r.controller.value(*t.split("/")) for t in ("amp/drive", "amp/tone", "gen/z1",
                                                       "gen/z2")]
    np.testing.assert_allclose(got, [0.75, 0.5, 0.25, 0.25], atol=1e-6)
    c.send("/fader", 0.5)  # only 'space' listens to the fader
    c.ask("/map/list")
    assert r.controller.value("gen", "z2") == pytest.approx(0.5)
    assert r.controller.value("amp", "drive") == pytest.approx(0.75)
