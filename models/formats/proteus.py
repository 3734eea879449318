"""Placeholder until the proteus loader lands: recognises nothing."""

from __future__ import annotations

from typing import Any


def looks_like_proteus(document: Any) -> bool:
    return False
