"""neuralrig daemon: audio backends, the rig engine, DSP library and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuralrig")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
