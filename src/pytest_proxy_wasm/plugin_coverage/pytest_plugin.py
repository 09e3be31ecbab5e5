"""``--proxy-wasm-coverage``: plugin source coverage for a pytest session (docs/coverage.md).

Every Runtime the session makes (the ``proxy_wasm_runtime`` fixture, the conformance runtime) loads
modules instrumented. xdist workers write their sums into the output directory; the controller merges
them and writes ``lcov.info`` and ``coverage.xml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .collector import CoverageCollector
from .session import FILES, merge_workers, write_outputs, write_worker_partial
from .view import coverage_view

COLLECTOR_KEY = pytest.StashKey[CoverageCollector]()
SUMMARY_KEY = pytest.StashKey[list[str]]()
DONE_KEY = pytest.StashKey[dict[str, Any] | None]()  # the session's files are written


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proxy-wasm")
    group.addoption(
        "--proxy-wasm-coverage",
        action="store_true",
        default=False,
        help="measure which code of the plugin modules the tests ran (emulator only): writes lcov.info and "
        "coverage.xml (docs/coverage.md)",
    )
    group.addoption(
        "--proxy-wasm-coverage-dir",
        default=None,
        metavar="DIR",
        help="where coverage files go (default: --proxy-wasm-report-dir, else proxy-wasm-coverage/)",
    )
    group.addoption(
        "--proxy-wasm-coverage-source-root",
        default=None,
        metavar="DIR",
        help="source paths in the coverage files are made relative to DIR; code outside it is not the "
        "plugin's own",
    )


def coverage_collector(config: pytest.Config) -> CoverageCollector | None:
    """The session's collector when ``--proxy-wasm-coverage`` is on (made on first use), else ``None``."""
    if not config.getoption("--proxy-wasm-coverage", default=False):
        return None
    if COLLECTOR_KEY not in config.stash:
        cache = config.getoption("--proxy-wasm-cache-dir", default=None)
        config.stash[COLLECTOR_KEY] = CoverageCollector(_cache_dir(cache))
    return config.stash[COLLECTOR_KEY]


def instrument_runtime(runtime: Any, config: pytest.Config) -> None:
    """Make ``runtime`` load modules instrumented when the session measures coverage."""
    collector = coverage_collector(config)
    if collector is not None:
        runtime.coverage = collector


def _cache_dir(option: str | None) -> Path | None:
    from ..host.runtime import _default_cache_dir

    if option == "":
        return None
    return Path(option) if option else _default_cache_dir()


def output_dir(config: pytest.Config) -> Path:
    chosen = config.getoption("--proxy-wasm-coverage-dir") or config.getoption(
        "--proxy-wasm-report-dir", default=None
    )
    return Path(chosen or "proxy-wasm-coverage").resolve()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    finish_session(session.config)


def finish_session(config: pytest.Config) -> dict[str, Any] | None:
    """Write the files once (the conformance report's hook may ask first); the HTML report's data."""
    if DONE_KEY in config.stash:
        return config.stash[DONE_KEY]
    collector = coverage_collector(config)
    if collector is None:
        return None
    directory = output_dir(config)
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        write_worker_partial(collector, directory, str(worker["workerid"]))
        config.stash[DONE_KEY] = None
        return None
    merge_workers(collector, directory)
    source_root = config.getoption("--proxy-wasm-coverage-source-root")
    reports, line = write_outputs(collector, directory, source_root)
    note = envoy_note(config, counted=bool(collector.modules))
    config.stash[SUMMARY_KEY] = [f"{line} -> {directory}/{FILES}", *note]
    config.stash[DONE_KEY] = coverage_view(reports, source_root, directory)
    return config.stash[DONE_KEY]


def envoy_note(config: pytest.Config, counted: bool) -> list[str]:
    """Once per session: the Envoy backends' runs are not counted (Envoy runs the module itself)."""
    from ..plugin import selected_backends

    backends = selected_backends(config)
    envoy = [b for b in backends if b.split("@")[0] in ("envoy", "container")]
    if not envoy:
        return []
    where = "only what ran in the emulator is counted" if counted else "nothing ran in the emulator"
    return [
        f"plugin coverage: not measured on {', '.join(envoy)} (Envoy runs the module itself and its "
        f"counters cannot be read); {where}"
    ]


def pytest_proxy_wasm_update_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """The conformance report (run.json, run.html) carries the coverage as ``plugin_coverage``."""
    view = finish_session(config)
    if view is not None:
        report["plugin_coverage"] = view


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY_KEY, []):
        terminalreporter.write_line(line)
