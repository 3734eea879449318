"""One-shot trigger-to-sound latency on a dummy JACK server (a benchmark, not a test).

Runs `neuralrig serve` on a one-slot rig (the shipped one-shot generator, or
--model) with silence in, and measures, in JACK blocks, the time from a note
leaving the client to the first output block that sounds:

* MIDI: note on over a JACK MIDI port (python-rtmidi's JACK API);
* OSC: ``/rig/shots/note`` over UDP on loopback.

Between notes a control (``pc1``) moves, so the worker decodes a new one-shot
each time, as when someone plays and turns a knob; the decode time is reported
by the slot in ``/status`` (``generate_ms``) and printed here from the log.

    python benchmarks/trigger_latency.py --notes 300 [--model FILE.safetensors]
"""

from __future__ import annotations

import argparse
import json
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
from control_latency import free_port  # benchmarks/ is the script's folder
from live_jack import start_jack
from pythonosc.osc_message_builder import OscMessageBuilder

SERVER = "neuralrig-bench-trigger"
RATE, BLOCK = 48000, 128
RIG = """
[paths]
models = [{models}]
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
[[slot]]
id = "shots"
type = "oneshots"
model = "{model}"
voices = 2
"""


def message(address: str, *args: float | int) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg, "i" if isinstance(arg, int) else "f")
    return builder.build().dgram


class Watch:
    """A JACK client watching the daemon's output for the first sounding block."""

    def __init__(self) -> None:
        import jack

        self.client = jack.Client("trigger-watch", servername=SERVER, no_start_server=True)
        self.inp = self.client.inports.register("watch")
        self.armed: int | None = None
        self.seen: int | None = None

        @self.client.set_process_callback
        def _process(frames: int) -> None:
            if self.armed is not None and self.seen is None \
                    and np.max(np.abs(self.inp.get_array())) > 1e-6:
                self.seen = self.client.last_frame_time

        self.client.activate()
        self.client.connect("neuralrig:output_1", self.inp)

    def measure(self, send, timeout: float = 1.0) -> tuple[int, float] | None:
        self.seen = None
        self.armed = start = self.client.frame_time
        send()
        deadline = time.monotonic() + timeout
        while self.seen is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        seen, self.armed = self.seen, None
        if seen is None:
            return None
        return (round((seen - (start - start % BLOCK)) / BLOCK),
                (seen + BLOCK - start) / RATE * 1000.0)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def series(watch: Watch, send_note, move, notes: int) -> list[tuple[int, float]]:
    out = []
    for i in range(notes):
        move(i)
        time.sleep(0.05)  # the decode of the new point (a few ms) is done by then
        result = watch.measure(send_note)
        if result is not None:
            out.append(result)
        time.sleep(0.4)  # the one-shot ends before the next
    return out


def summary(values: list[tuple[int, float]], notes: int) -> dict[str, float]:
    if not values:
        return {"notes": notes, "measured": 0}
    blocks = np.asarray([v[0] for v in values])
    ms = np.asarray([v[1] for v in values])
    return {"notes": notes, "measured": len(values),
            "in_next_block": round(float(np.mean(blocks <= 1)), 4),
            "p50_blocks": int(np.percentile(blocks, 50, method="higher")),
            "p99_blocks": int(np.percentile(blocks, 99, method="higher")),
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def main() -> None:
    from neuralrig.server.config import builtin_data_dir

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--model", type=Path, default=builtin_data_dir() / "oneshots.safetensors")
    parser.add_argument("--realtime", action="store_true", help="jackd -R (needs root)")
    args = parser.parse_args()
    os.environ["JACK_DEFAULT_SERVER"] = SERVER
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    port = free_port()
    rig = Path(tempfile.mkdtemp(prefix="trigger-bench-")) / "rig.toml"
    model = args.model.resolve()
    rig.write_text(RIG.format(port=port, models=json.dumps(str(model.parent)),
                              model=model.name))
    jackd = start_jack(RATE, BLOCK, SERVER, realtime=args.realtime)
    exe = Path(sys.executable).parent / "neuralrig"
    daemon = subprocess.Popen([str(exe), "serve", "--audio", "jack", "--config", str(rig)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    midi_out = None
    try:
        assert daemon.stdout is not None
        for line in daemon.stdout:
            lines.append(line)
            if "audio running" in line:
                break
        else:
            sys.exit("daemon failed:\n" + "".join(lines))
        threading.Thread(target=lambda: lines.extend(daemon.stdout), daemon=True).start()
        time.sleep(1.0)
        watch = Watch()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = ("127.0.0.1", port)

        def move(i: int) -> None:
            sock.sendto(message("/rig/shots/pc1", float(np.sin(i) * 0.8)), target)

        result: dict[str, object] = {}
        result["osc"] = summary(series(
            watch, lambda: sock.sendto(message("/rig/shots/note", 60, 100), target),
            move, args.notes), args.notes)

        import jack
        import rtmidi

        midi_out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="trigger-bench")
        midi_out.open_virtual_port("notes")
        helper = jack.Client("trigger-bench-connect", servername=SERVER, no_start_server=True)
        src = [p.name for p in helper.get_ports("trigger-bench", is_midi=True, is_output=True)]
        dst = [p.name for p in helper.get_ports("neuralrig", is_midi=True, is_input=True)]
        helper.connect(src[0], dst[0])
        helper.close()
        time.sleep(0.5)
        result["midi"] = summary(series(
            watch, lambda: midi_out.send_message([0x90, 60, 100]), move, args.notes),
            args.notes)
        watch.close()
        sock.sendto(message("/status"), target)
    finally:
        if midi_out is not None:
            midi_out.close_port()
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        jackd.terminate()
        jackd.wait(timeout=10)
    result["block"], result["sample_rate"] = BLOCK, RATE
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
