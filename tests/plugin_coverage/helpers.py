"""Shared by the line-hit tests: a runtime that counts, and a source line found by its text."""

from __future__ import annotations

from pathlib import Path

from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector


def counting_runtime() -> tuple[Runtime, CoverageCollector]:
    """A fresh Runtime whose modules are instrumented (no disk cache), and its collector."""
    runtime = Runtime(None)
    collector = CoverageCollector(None)
    runtime.coverage = collector
    return runtime, collector


def source_line(path: Path, text: str) -> int:
    """The number (from 1) of the one line of ``path`` that contains ``text``."""
    lines = path.read_text().splitlines()
    (number,) = [i for i, line in enumerate(lines, start=1) if text in line]
    return number
