"""The systemd units, sysusers and tmpfiles snippets parse and say what the Pi needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parent.parent / "systemd"
DAEMON = SYSTEMD_DIR / "neuralrig.service"
JACKD = SYSTEMD_DIR / "neuralrig-jackd.service"
SYSUSERS = SYSTEMD_DIR / "neuralrig.sysusers.conf"
TMPFILES = SYSTEMD_DIR / "neuralrig.tmpfiles.conf"

INSTALLED_NEURALRIG = "/opt/neuralrig/venv/bin/neuralrig"
INSTALLED_JACKD = "/usr/bin/jackd"


def _existing_neuralrig() -> str:
    """An executable that exists here, standing in for the Pi's installed entry point."""
    found = shutil.which("neuralrig") or str(Path(sys.executable).with_name("neuralrig"))
    return found if os.access(found, os.X_OK) else sys.executable


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install systemd)")
    return path


def test_units_verify(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    # `systemd-analyze verify` fails when ExecStart's binary does not exist. The units
    # name the Pi's install paths (/opt/neuralrig/venv, /usr/bin/jackd), so for this
    # check only, copies point ExecStart at executables that exist on this machine.
    for unit in (DAEMON, JACKD):
        text = unit.read_text().replace(INSTALLED_NEURALRIG, _existing_neuralrig())
        if not os.access(INSTALLED_JACKD, os.X_OK):
            text = text.replace(INSTALLED_JACKD, shutil.which("jackd") or sys.executable)
        (tmp_path / unit.name).write_text(text)
    units = [str(tmp_path / u.name) for u in (JACKD, DAEMON)]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # verify exits 0 on unknown keys and unparsable values; it only warns.
    ours = [line for line in output.splitlines() if "neuralrig" in line]
    assert ours == [], "\n".join(ours)


def test_daemon_unit_directives() -> None:
    text = DAEMON.read_text()
    for needle in (
        "Restart=on-failure",
        "LimitRTPRIO=95",
        "LimitMEMLOCK=infinity",
        "User=neuralrig",
        "Group=audio",
        "ExecStart=/opt/neuralrig/venv/bin/neuralrig serve --config /etc/neuralrig/rig.toml",
        "After=neuralrig-jackd.service",
        "Wants=neuralrig-jackd.service",
        "NoNewPrivileges=yes",
        "ReadWritePaths=/var/lib/neuralrig",
        "/etc/neuralrig/presets",
    ):
        assert needle in text, needle
    for breaks_realtime in ("RestrictRealtime=yes", "PrivateDevices=yes", "PrivateIPC=yes"):
        assert breaks_realtime not in text


def test_jackd_unit_directives() -> None:
    text = JACKD.read_text()
    for needle in (
        "Restart=on-failure",
        "LimitRTPRIO=95",
        "LimitMEMLOCK=infinity",
        "User=neuralrig",
        "EnvironmentFile=-/etc/neuralrig/jackd.env",
        "-d alsa -d ${JACK_DEVICE} -r ${JACK_RATE} -p ${JACK_PERIOD}",
    ):
        assert needle in text, needle
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert " -n " not in exec_start.split("-d alsa")[0], "must be the default JACK server"
    defaults = [ln for ln in text.splitlines() if ln.startswith("Environment=JACK_DEVICE=")]
    assert defaults, "defaults must not depend on jackd.env"


def test_sysusers_and_tmpfiles(tmp_path: Path) -> None:
    sysusers = _tool("systemd-sysusers")
    tmpfiles = _tool("systemd-tmpfiles")
    (tmp_path / "etc").mkdir()
    # Absolute config paths are read as given, not below --root.
    run = {"capture_output": True, "text": True, "timeout": 60}
    result = subprocess.run([sysusers, f"--root={tmp_path}", str(SYSUSERS)], **run)
    assert result.returncode == 0, result.stderr
    passwd = (tmp_path / "etc/passwd").read_text().splitlines()
    groups = {line.split(":")[0]: line.split(":")[2] for line in
              (tmp_path / "etc/group").read_text().splitlines()}  # fmt: skip
    user = next(line.split(":") for line in passwd if line.startswith("neuralrig:"))
    assert user[3] == groups["audio"], "primary group must be audio"
    assert user[5] == "/var/lib/neuralrig"
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles --create needs root to chown")
    result = subprocess.run([tmpfiles, f"--root={tmp_path}", "--create", str(TMPFILES)], **run)
    assert result.returncode == 0, result.stderr
    state = tmp_path / "var/lib/neuralrig"
    assert state.is_dir()
    assert str(state.stat().st_uid) == user[2]
    assert (tmp_path / "etc/neuralrig/presets").is_dir()
