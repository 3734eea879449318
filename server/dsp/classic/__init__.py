"""Classic (non-neural) processors; importing this package registers them all."""

from . import (  # noqa: F401
    cabinet,
    chorus,
    compressor,
    delay,
    eq,
    gain,
    gate,
    overdrive,
    phaser,
    reverb,
    synth,
    tone,
)
