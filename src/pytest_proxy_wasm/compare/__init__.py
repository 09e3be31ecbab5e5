"""``pytest-proxy-wasm compare OLD.wasm NEW.wasm``: the same requests through two builds (or two
configurations) of a plugin, every behaviour difference per request (docs/compare.md)."""

from __future__ import annotations

from .probes import Probe
from .result import Comparison, RequestComparison

__all__ = ["Comparison", "Probe", "RequestComparison"]
