"""Placeholder until the aidax loader lands: recognises nothing."""

from __future__ import annotations

from typing import Any


def looks_like_aidax(document: Any) -> bool:
    return False
