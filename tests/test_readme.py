"""The README tells the truth: its quick start is what CI runs, and it lists every processor."""

from __future__ import annotations

from pathlib import Path

from neuralrig.server.cli import build_parser
from neuralrig.server.dsp.registry import all_processors

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_quick_start_is_what_ci_runs() -> None:
    assert "make run" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_processor_is_documented() -> None:
    for kind in all_processors():
        if kind.startswith("test-"):  # registered by other tests
            continue
        assert f"| `{kind}` |" in README, f"processor {kind} missing from the README table"


def test_every_command_is_documented() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"neuralrig {name}" in README


def test_every_osc_address_is_in_the_address_table() -> None:
    from neuralrig.server.control.namespace import GLOBAL_ADDRESSES

    for address, *_ in GLOBAL_ADDRESSES:
        assert f"| `{address}` |" in README, f"{address} missing from the OSC table"
    for pattern in ("/rig/<slot>/<param>", "/rig/<slot>/<param>/norm", "/rig/<slot>/bypass",
                    "/rig/<slot>/mix", "/rig/<slot>/<option>", "/rig/<slot>/get", "/error"):
        assert f"| `{pattern}` |" in README, f"{pattern} missing from the OSC table"
