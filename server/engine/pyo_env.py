"""Import pyo once, quietly: no wx GUI banner, no GUI toolkit probing."""

import os

os.environ.setdefault("PYO_GUI_WX", "0")

import pyo

__all__ = ["pyo"]
