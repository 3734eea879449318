"""Import pyo once, quietly: no wx GUI banner, no GUI toolkit probing."""

import os

os.environ.setdefault("PYO_GUI_WX", "0")

import pyo  # noqa: E402

__all__ = ["pyo"]
