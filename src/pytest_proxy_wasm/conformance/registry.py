"""Import every area module so its cases register (kept apart to avoid import cycles)."""

from __future__ import annotations

import importlib

from .cases import AREAS


def load_cases() -> None:
    for area in AREAS:
        importlib.import_module(f"{__package__}.{area}")
