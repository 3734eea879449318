"""Control latency and flood tolerance on a dummy JACK server (a benchmark, not a test).

Runs `neuralrig serve` on a one-slot rig (a gain) fed with DC by a JACK client,
and measures, in JACK frames, the time from a control message leaving the
client to the first output block that reflects it:

* OSC: ``/rig/level/gain`` over UDP on loopback;
* MIDI: CC 7 (mapped to the same gain) on a JACK MIDI port (python-rtmidi's JACK API);
* a mapped gesture: ``/g f`` through a trained gesture mapping (``/map/g``) whose output
  is the same gain: gesture to audible change.

Each change alternates the gain between 0 dB and -20 dB, spaced so the 30 ms
smoothing ramp settles in between. Then xruns: an idle stretch, then a client
flooding OSC at --flood-rate messages per second, in the same run.

    python benchmarks/control_latency.py --changes 1000 --flood-seconds 20
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from live_jack import start_jack  # benchmarks/ is the script's folder
from pythonosc.osc_message_builder import OscMessageBuilder

from neuralrig.server.audio.jack_client import JackMonitor

SERVER = "neuralrig-bench-control"
RATE, BLOCK = 48000, 128
RIG = """
[paths]
mappings = "{mappings}"
[osc]
host = "127.0.0.1"
port = {port}
subscription_timeout = 3600.0
[discovery]
enabled = false
[midi]
api = "jack"
connect = []
feedback = []
expression = false
[[midi.cc]]
cc = 7
slot = "level"
param = "gain"
min = -20.0
max = 0.0
curve = "linear"
[[slot]]
id = "level"
type = "gain"
gain = 0.0
"""
DC = 0.5
LEVELS = (0.0, -20.0)  # dB, alternating


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Probe:
    """JACK clients: DC into the daemon, its output watched block by block.

    Two clients, not one: a client that both feeds and watches the daemon
    forms a loop, and JACK would run it before the daemon in each cycle, so
    it would see the daemon's output one block late.
    """

    def __init__(self) -> None:
        import jack

        self.source = jack.Client("control-source", servername=SERVER, no_start_server=True)
        self.client = jack.Client("control-watch", servername=SERVER, no_start_server=True)
        self.out = self.source.outports.register("dc")
        self.inp = self.client.inports.register("watch")
        self.armed_after: int | None = None  # frame time at send
        self.expect: float = DC
        self.seen: int | None = None
        self.xruns = 0

        @self.source.set_process_callback
        def _feed(frames: int) -> None:
            self.out.get_array()[:] = DC

        @self.client.set_process_callback
        def _process(frames: int) -> None:
            block = self.inp.get_array()
            # A block reflects the change once its end moved toward the new level.
            if (self.armed_after is not None and self.seen is None
                    and abs(block[-1] - self.expect) < abs(self.previous - self.expect) - 1e-4):
                self.seen = self.client.last_frame_time
            self.previous = float(block[-1])

        @self.client.set_xrun_callback
        def _xrun(delay: float) -> None:
            self.xruns += 1

        self.previous = DC

    def start(self) -> None:
        self.source.activate()
        self.client.activate()
        self.source.connect(self.out, "neuralrig:input_1")
        self.client.connect("neuralrig:output_1", self.inp)

    def measure(self, send, target_db: float, timeout: float = 1.0
                ) -> tuple[int, float] | None:
        """(blocks late, ms) from ``send()`` to the first output block that reflects it.

        Blocks late counts cycles after the one the message was sent in: 1 is the very
        next block. The time runs from the send to the end of the reflecting block,
        when its audio is complete.
        """
        self.seen = None
        self.expect = DC * 10 ** (target_db / 20)
        self.armed_after = self.client.frame_time
        send()
        deadline = time.monotonic() + timeout
        while self.seen is None and time.monotonic() < deadline:
            time.sleep(0.001)
        seen, start = self.seen, self.armed_after
        self.armed_after = None
        if seen is None:
            return None
        sent_cycle = start - start % BLOCK
        return (round((seen - sent_cycle) / BLOCK),
                (seen + BLOCK - start) / RATE * 1000.0)

    def close(self) -> None:
        for client in (self.source, self.client):
            client.deactivate()
            client.close()


def osc_message(address: str, value: float) -> bytes:
    builder = OscMessageBuilder(address)
    builder.add_arg(float(value), "f")
    return builder.build().dgram


def latency_series(probe: Probe, send_level, changes: int) -> list[tuple[int, float]]:
    results = []
    for i in range(changes):
        target = LEVELS[(i + 1) % 2]
        blocks = probe.measure(lambda t=target: send_level(t), target)
        if blocks is not None:
            results.append(blocks)
        time.sleep(0.06)  # let the 30 ms ramp settle
    return results


def summary(values: list[tuple[int, float]], changes: int) -> dict[str, float]:
    if not values:
        return {"measured": 0, "changes": changes}
    blocks = np.asarray([v[0] for v in values])
    ms = np.asarray([v[1] for v in values])
    return {"changes": changes, "measured": len(values),
            "in_next_block": round(float(np.mean(blocks <= 1)), 4),
            "p50_blocks": int(np.percentile(blocks, 50, method="higher")),
            "p99_blocks": int(np.percentile(blocks, 99, method="higher")),
            "max_blocks": int(blocks.max()),
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def mapped_gesture_series(probe: Probe, sock: socket.socket, target: tuple[str, int],
                          changes: int) -> dict[str, float]:
    """Train a two-example mapping /g -> level/gain over OSC, then time gestures."""
    def send(address: str, *args: object) -> None:
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        sock.sendto(builder.build().dgram, target)
        time.sleep(0.05)

    send("/map/g/inputs", "/g:1")
    send("/map/g/outputs", "level/gain")
    for gesture, db in ((0.0, LEVELS[1]), (1.0, LEVELS[0])):
        send("/rig/level/gain", float(db))
        send("/g", gesture)
        send("/map/g/example")
    send("/map/g/train")
    time.sleep(3.0)  # a spawned interpreter, then a fit of two examples
    send("/map/g/run", 1)
    values = latency_series(
        probe, lambda db: sock.sendto(osc_message("/g", 1.0 if db == LEVELS[0] else 0.0),
                                      target), changes)
    return summary(values, changes)


def flood(target: tuple[str, int], rate: int, seconds: float, nice: bool = True) -> None:
    """Send ``rate`` gain changes a second for ``seconds`` (run in a process of its own).

    The sender stands in for a tablet on the network: at ``nice`` 19 its own CPU time
    competes as little as possible with the daemon on this machine's two cores.
    """
    if nice:
        os.nice(19)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    period = 1.0 / rate
    start = time.monotonic()
    for sent in range(int(rate * seconds)):
        sock.sendto(osc_message("/rig/level/gain", -10.0 + 5.0 * np.sin(sent * 0.01)), target)
        ahead = (sent + 1) * period - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)


def midi_sender():
    """A JACK MIDI output connected to the daemon's input; returns send(level_db)."""
    import jack
    import rtmidi

    out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="control-bench")
    out.open_virtual_port("cc")
    helper = jack.Client("control-bench-connect", servername=SERVER, no_start_server=True)
    sources = [p.name for p in helper.get_ports("control-bench", is_midi=True, is_output=True)]
    sinks = [p.name for p in helper.get_ports("neuralrig", is_midi=True, is_input=True)]
    if not sources or not sinks:
        helper.close()
        return None, out
    helper.connect(sources[0], sinks[0])
    helper.close()

    def send(level_db: float) -> None:
        value = round((level_db + 20.0) / 20.0 * 127)
        out.send_message([0xB0, 7, value])

    return send, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--flood-rate", type=int, default=2000, help="messages per second")
    parser.add_argument("--flood-seconds", type=float, default=20.0)
    parser.add_argument("--realtime", action="store_true",
                        help="JACK with SCHED_FIFO threads, as on a Pi (needs root or rtprio)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    os.environ["JACK_DEFAULT_SERVER"] = SERVER
    # SIGTERM (e.g. from `timeout`) unwinds through the finally that stops jackd and the daemon.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="control-bench-"))
    rig = work / "rig.toml"
    rig.write_text(RIG.format(port=port, mappings=work / "mappings"))
    jackd = start_jack(RATE, BLOCK, SERVER, realtime=args.realtime)
    exe = Path(sys.executable).parent / "neuralrig"
    daemon = subprocess.Popen([str(exe), "serve", "--audio", "jack", "--config", str(rig)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log_lines: list[str] = []
    try:
        assert daemon.stdout is not None
        for line in daemon.stdout:
            log_lines.append(line)
            if "audio running" in line:
                break
        else:
            sys.exit("daemon failed:\n" + "".join(log_lines))
        threading.Thread(target=lambda: log_lines.extend(daemon.stdout), daemon=True).start()
        time.sleep(1.0)
        probe = Probe()
        probe.start()
        time.sleep(0.5)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = ("127.0.0.1", port)
        osc = latency_series(
            probe, lambda db: sock.sendto(osc_message("/rig/level/gain", db), target),
            args.changes)
        result: dict[str, object] = {"osc": summary(osc, args.changes)}
        send_cc, midi_out = midi_sender()
        if send_cc is None:
            result["midi"] = {"error": "no daemon MIDI input port on JACK"}
        else:
            time.sleep(0.5)
            result["midi"] = summary(latency_series(probe, send_cc, args.changes), args.changes)
        midi_out.close_port()
        result["mapped"] = mapped_gesture_series(probe, sock, target, args.changes)

        # Xruns: idle, then a flood of OSC changes, same length, same run. Our Python
        # JACK clients leave first (their callbacks would compete with the flood for this
        # process's GIL and be late themselves); a passive ctypes client counts the
        # xruns, and the flood comes from a process of its own.
        probe.close()
        with JackMonitor("control-bench-xruns", SERVER) as monitor:
            time.sleep(1.0)
            before = monitor.xruns
            time.sleep(args.flood_seconds)
            idle = monitor.xruns - before
            sender = multiprocessing.Process(target=flood, args=(
                target, args.flood_rate, args.flood_seconds))
            before = monitor.xruns
            sender.start()
            sender.join()
            flooded = monitor.xruns - before
        result["flood"] = {"seconds": args.flood_seconds,
                           "messages": int(args.flood_rate * args.flood_seconds),
                           "rate": args.flood_rate, "xruns_idle": idle,
                           "xruns_flood": flooded}
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        jackd.terminate()
        jackd.wait(timeout=10)
    result["block"], result["sample_rate"] = BLOCK, RATE
    result["scheduling"] = "SCHED_FIFO (jackd -R)" if args.realtime else "normal (--no-realtime)"
    print(json.dumps(result, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "control.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, args.out / "control.md")


def write_markdown(result: dict, path: Path) -> None:
    lines = ["# Control latency (benchmarks/control_latency.py)", "",
             f"Dummy JACK server, {BLOCK}-sample blocks at {RATE} Hz, JACK threads "
             f"scheduled {result['scheduling']}. Blocks late: the "
             "first output block that reflects a change, counted from the block the message "
             "was sent in (1 = the very next block; 'in next block' is that share). Time: "
             "from the send to the end of that block, when its audio is complete. "
             "Target: p99 at most 2 blocks.", "",
             "| path | changes measured | in next block | blocks late p50 | p99 | max | "
             "ms p50 | ms p99 | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in ("osc", "midi", "mapped"):
        row = result.get(name, {})
        if "p99_blocks" in row:
            verdict = "meets" if row["p99_blocks"] <= 2 else "MISSES"
            lines.append(f"| {name.upper()} | {row['measured']}/{row['changes']} | "
                         f"{100 * row['in_next_block']:.1f}% | "
                         f"{row['p50_blocks']} | {row['p99_blocks']} | {row['max_blocks']} | "
                         f"{row['p50_ms']} | {row['p99_ms']} | {verdict} |")
        else:
            lines.append(f"| {name.upper()} | {row} | | | | | | | |")
    flood = result["flood"]
    lines += ["", "MIDI: JACK hands a software sender's event (python-rtmidi here) to the "
              "daemon in the cycle after the one it was sent in. The daemon's MIDI input is "
              "a port of its audio client, read at the start of that cycle, and a mapped CC "
              "is applied by the audio thread before the block is computed, so it is heard "
              "in that block.", "",
              "Xruns are counted by a passive client while the flood comes from a process "
              "of its own; the dummy driver without realtime scheduling has xruns even idle, "
              "so compare the two counts, not either with zero.", "",
              f"Flood: {flood['messages']} OSC messages in {flood['seconds']} s "
              f"({flood['rate']}/s): {flood['xruns_flood']} xrun(s); idle baseline over the "
              f"same time: {flood['xruns_idle']}.", ""]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
