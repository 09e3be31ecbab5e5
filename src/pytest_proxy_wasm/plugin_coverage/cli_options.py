"""``run --coverage`` and ``check --coverage``: the same files as ``pytest --proxy-wasm-coverage``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .collector import CoverageCollector
from .session import FILES, write_outputs

DEFAULT_DIR = "proxy-wasm-coverage"


def add_options(parser: argparse.ArgumentParser, *, report_dir: bool) -> None:
    """``--coverage`` and ``--coverage-source-root`` (and ``--report-dir`` where the command lacks one)."""
    group = parser.add_argument_group("plugin coverage (docs/coverage.md)")
    group.add_argument(
        "--coverage",
        action="store_true",
        help=f"run the module instrumented; write lcov.info and coverage.xml to --report-dir "
        f"(default ./{DEFAULT_DIR}); emulator only",
    )
    group.add_argument(
        "--coverage-source-root",
        default=None,
        metavar="DIR",
        help="source paths in the coverage files are relative to DIR; code outside it is not the plugin's",
    )
    if report_dir:
        group.add_argument("--report-dir", type=Path, default=None, help="where --coverage writes its files")


def coverage_dir(args: argparse.Namespace) -> Path:
    return (args.report_dir or Path(DEFAULT_DIR)).resolve()


def run_collector(args: argparse.Namespace) -> CoverageCollector | None:
    """The collector for ``run --coverage`` (``None`` without it); refuses the Envoy backends by name."""
    if not getattr(args, "coverage", False):
        return None
    if args.backend != "emulator":
        raise SystemExit(
            f"pytest-proxy-wasm: --coverage counts inside the emulator; --backend {args.backend} runs Envoy"
        )
    from ..host.runtime import _default_cache_dir

    return CoverageCollector(_default_cache_dir())


def instrumented_runtime(collector: CoverageCollector | None) -> Any:
    """A Runtime loading modules instrumented for ``collector`` (``None``: let the backend make its own)."""
    if collector is None:
        return None
    from ..host.runtime import Runtime

    runtime = Runtime()
    runtime.coverage = collector
    return runtime


def finish_run(collector: CoverageCollector | None, args: argparse.Namespace) -> None:
    """Write the files and print the summary line (on stderr, so ``--json`` output stays JSON)."""
    if collector is None:
        return
    directory = coverage_dir(args)
    _, line = write_outputs(collector, directory, args.coverage_source_root)
    print(f"{line} -> {directory}/{FILES}", file=sys.stderr)


def pytest_args(args: argparse.Namespace) -> list[str]:
    """What ``check --coverage`` passes to its pytest session."""
    if not getattr(args, "coverage", False):
        return []
    out = ["--proxy-wasm-coverage", "--proxy-wasm-coverage-dir", str(coverage_dir(args))]
    if args.coverage_source_root:
        out += ["--proxy-wasm-coverage-source-root", str(Path(args.coverage_source_root).resolve())]
    return out
