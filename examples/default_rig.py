"""The controls the example clients show for the shipped default rig (server/rigs/default.toml).

Shared by the generators of the TouchOSC layout, the Pure Data patch and the Max
patch. Every fader sends 0..1 to ``/rig/<slot>/<param>/norm``; the daemon echoes
changes in the parameter's own unit on ``/rig/<slot>/<param>``, so each client
maps that back to 0..1 with the range and curve below (tests/test_examples.py
checks them against the daemon's namespace).
"""

from __future__ import annotations

from dataclasses import dataclass

SLOTS = ("gate", "comp", "drive", "tone", "cab", "delay", "reverb", "level")
PRESETS = ("p1", "p2", "p3", "p4")
DAEMON_HOST = "127.0.0.1"
DAEMON_PORT = 9000  # [osc] port of the daemon
CLIENT_PORT = 9002  # where the clients listen for the daemon's echoes and meters
RENEW_SECONDS = 5  # /subscribe again this often (the daemon forgets after 30 s of silence)


@dataclass(frozen=True)
class Fader:
    slot: str
    param: str
    minimum: float
    maximum: float
    curve: str = "linear"  # "linear" or "log", as the daemon's ParamSpec
    unit: str = ""

    @property
    def name(self) -> str:
        return f"{self.slot}-{self.param}"

    @property
    def label(self) -> str:
        return f"{self.slot} {self.param}"

    @property
    def address(self) -> str:
        """Where the daemon echoes the value, in the parameter's unit."""
        return f"/rig/{self.slot}/{self.param}"

    @property
    def norm_address(self) -> str:
        """Where the fader sends 0..1."""
        return f"{self.address}/norm"


FADERS = (
    Fader("drive", "drive", 0.0, 1.0),
    Fader("drive", "tone", 0.0, 1.0),
    Fader("tone", "tone", 0.0, 1.0),
    Fader("delay", "time", 1.0, 2000.0, "log", "ms"),
    Fader("delay", "feedback", 0.0, 0.95),
    Fader("delay", "balance", 0.0, 1.0),
    Fader("reverb", "decay", 0.0, 1.0),
    Fader("reverb", "balance", 0.0, 1.0),
    Fader("level", "gain", -60.0, 24.0, "linear", "dB"),
)


# The gesture mapping the clients' XY pad trains (README, "Mapping gestures"): the pad's
# two numbers go to XY_ADDRESS; the mapping learns the sound set for each position.
MAPPING = "pad"
XY_ADDRESS = "/xy"
MAPPING_OUTPUTS = ("drive/drive", "drive/tone", "delay/feedback", "reverb/balance")
