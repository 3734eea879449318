"""Audio backends: where the engine's graph gets its input and sends its output."""

from .backend import AudioBackend, choose_backend

__all__ = ["AudioBackend", "choose_backend"]
