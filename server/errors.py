"""User-facing errors: each carries a one-line message that names the problem."""


class NeuralrigError(Exception):
    """Base class for errors the CLI reports as a single line (no traceback)."""

    exit_code = 1


class ConfigError(NeuralrigError):
    """A rig config (TOML) is invalid."""


class UnknownSlotError(ConfigError):
    """A slot id that is not in the rig."""


class UnknownParameterError(ConfigError):
    """A parameter name a processor does not declare."""


class AudioFileError(NeuralrigError):
    """A WAV (or other audio file) is missing, unreadable or unsupported."""


class AudioBackendError(NeuralrigError):
    """No audio device, or the backend could not start."""


class ModelError(NeuralrigError):
    """A model file is malformed or unsupported."""


class CaptureError(NeuralrigError):
    """A capture (reamping) recording cannot be used: wrong file, rate, level or alignment."""
