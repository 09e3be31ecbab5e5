"""Import every area module so its cases register (kept apart to avoid import cycles)."""

from __future__ import annotations

import dataclasses
import importlib

from .cases import AREAS, KINDS, REGISTRY

# Modules holding cases of several areas (the TCP variants of the HTTP areas).
EXTRA_MODULES = ("tcp_variants",)
# Areas whose cases send HTTP requests: they apply to HTTP filters unless a case says otherwise.
HTTP_AREAS = ("http_robustness", "performance", "differential")

EXTRA = (
    "misuse",
    "proxy_crash",
)  # case modules named after what they check, not an area (their cases name one)


def load_cases() -> None:
    for name in (*AREAS, *EXTRA, *EXTRA_MODULES):
        importlib.import_module(f"{__package__}.{name}")
    for case_id, case in list(REGISTRY.items()):
        if case.area in HTTP_AREAS and case.kinds == KINDS:
            REGISTRY[case_id] = dataclasses.replace(case, kinds=("http_filter",))
