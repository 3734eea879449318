"""Live figures on a dummy JACK server, measured side by side in one run.

For each rig: the daemon's time from launch to running audio, its resident
memory, and the xruns JACK reports while it runs for --seconds.

    python benchmarks/live_jack.py --seconds 60 benchmarks/rigs/empty.toml default
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from neuralrig.server.audio.jack_client import JackMonitor, server_running

SERVER = "neuralrig-bench"


def start_jack(rate: int, block: int, name: str = SERVER, realtime: bool = False
               ) -> subprocess.Popen:
    """A dummy-driver JACK server called ``name``; exits the script if it does not come up.

    ``realtime`` runs JACK's threads (and its clients' process threads) with SCHED_FIFO,
    as the systemd unit does on a Pi; it needs root or an rtprio limit.
    """
    if server_running(name):
        sys.exit(f"a JACK server named {name} already runs (left by an interrupted run?); "
                 f"stop it first: pkill -f 'jackd -n {name}'")
    proc = subprocess.Popen(
        ["jackd", "-n", name, *(["-R", "-P", "70"] if realtime else ["--no-realtime"]),
         "-d", "dummy", "-r", str(rate), "-p", str(block)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not server_running(name):
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("jackd did not start")
        time.sleep(0.1)
    return proc


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(rig: str, seconds: float) -> dict[str, object]:
    exe = Path(sys.executable).parent / "neuralrig"
    args = [str(exe), "serve", "--audio", "jack", "--no-discovery"]
    if rig != "default":
        args += ["--config", rig]
    launched = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "audio running" in line:
            break
    else:
        sys.exit(f"daemon failed for {rig}")
    start_s = time.monotonic() - launched
    with JackMonitor(name="neuralrig-bench-monitor") as monitor:
        time.sleep(seconds)
        xruns, load = monitor.xruns, monitor.cpu_load()
    rss = rss_mb(proc.pid)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    return {"rig": rig, "start_s": round(start_s, 2), "rss_mb": round(rss, 1), "xruns": xruns,
            "jack_dsp_load_pct": round(load, 1), "seconds": seconds, "exit_code": code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rigs", nargs="+", help="rig config files, or 'default'")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--block", type=int, default=128)
    args = parser.parse_args()
    os.environ["JACK_DEFAULT_SERVER"] = SERVER
    jack = start_jack(args.rate, args.block)
    try:
        results = [measure(rig, args.seconds) for rig in args.rigs]
    finally:
        jack.terminate()
        jack.wait(timeout=10)
    for r in results:
        print(f"{r['rig']:<40} start {r['start_s']:5.2f} s  RSS {r['rss_mb']:6.1f} MB  "
              f"xruns {r['xruns']:3d} in {r['seconds']:g} s  "
              f"JACK DSP load {r['jack_dsp_load_pct']}%")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
