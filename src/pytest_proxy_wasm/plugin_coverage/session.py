"""Coverage for one pytest session (or CLI run): the collector, merging xdist workers, the outputs."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from .collector import CoverageCollector
from .report import ModuleReport, build_report
from .writers import summary_line, write_cobertura, write_lcov

PARTIAL_DIR = ".proxy-wasm-coverage-partial"
HTML_PAGE = "coverage.html"
FILES = "lcov.info, coverage.xml, coverage.html"  # what write_outputs writes, for the summary line


def write_outputs(
    collector: CoverageCollector, directory: Path, source_root: str | None = None
) -> tuple[list[ModuleReport], str]:
    """Write ``lcov.info`` and ``coverage.xml`` under ``directory``; the reports and the summary line."""
    collector.harvest_all()
    modules = list(collector.modules.values())
    names = Counter(m.name for m in modules)
    reports = [
        build_report(m, source_root, m.name if names[m.name] == 1 else f"{m.name}@{m.sha256[:8]}")
        for m in modules
    ]  # modules of the same file name (rust/headers.wasm, go/headers.wasm) told apart by digest
    directory.mkdir(parents=True, exist_ok=True)
    write_lcov(reports, directory / "lcov.info")
    write_cobertura(reports, directory / "coverage.xml", source_root)
    write_html_page(reports, directory, source_root)
    return reports, summary_line(reports)


def write_html_page(reports: list[ModuleReport], directory: Path, source_root: str | None) -> None:
    """``coverage.html``: the HTML report's coverage section as a page of its own."""
    from ..reports.coverage_section import render_coverage_page
    from .view import coverage_view

    page = render_coverage_page(coverage_view(reports, source_root, directory))
    (directory / HTML_PAGE).write_text(page, encoding="utf-8", errors="backslashreplace")


def write_worker_partial(collector: CoverageCollector, directory: Path, worker: str) -> None:
    """An xdist worker's sums, for the controller (``merge_workers``)."""
    partial = directory / PARTIAL_DIR
    partial.mkdir(parents=True, exist_ok=True)
    collector.write_partial(partial / f"{worker}.json")


def merge_workers(collector: CoverageCollector, directory: Path) -> int:
    """Add every worker's sums to ``collector`` and remove the partial files; how many were merged."""
    partial = directory / PARTIAL_DIR
    if not partial.is_dir():
        return 0
    files = sorted(partial.glob("*.json"))
    for path in files:
        collector.merge_partial(path)
    for path in [*files, *partial.glob("modules/*.wasm")]:
        path.unlink(missing_ok=True)
    for leftover in (partial / "modules", partial):
        if leftover.is_dir() and not os.listdir(leftover):
            leftover.rmdir()
    return len(files)
