"""Import every area module so its cases register (kept apart to avoid import cycles)."""

from __future__ import annotations

import importlib

from .cases import AREAS

EXTRA = ("misuse",)  # case modules named after what they check, not an area (their cases name one)


def load_cases() -> None:
    for name in (*AREAS, *EXTRA):
        importlib.import_module(f"{__package__}.{name}")
