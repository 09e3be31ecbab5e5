"""The shipped conformance suite: run it on any module with ``pytest-proxy-wasm check MODULE.wasm``
or ``pytest --proxy-wasm-module MODULE.wasm --proxy-wasm-conformance``."""

from __future__ import annotations

from .cases import AREAS, REGISTRY, Case, CaseFailure, CaseRun, NotApplicable, Target, case
from .registry import load_cases

__all__ = [
    "AREAS",
    "REGISTRY",
    "Case",
    "CaseFailure",
    "CaseRun",
    "NotApplicable",
    "Target",
    "case",
    "load_cases",
]
