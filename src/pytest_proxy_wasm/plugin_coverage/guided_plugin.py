"""``--proxy-wasm-coverage-guidance`` and the ``generated_coverage`` section of run.json.

Active only with ``--proxy-wasm-coverage`` and the conformance suite (``check --coverage``). Under
pytest-xdist each worker writes its generated share beside the coverage partial files; the controller
merges both before it writes the run model.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from .guided import GuidedCoverage, attach, guided_for
from .pytest_plugin import coverage_collector, output_dir
from .session import merge_workers

PARTIAL_DIR = ".proxy-wasm-guided-partial"
GUIDANCE = ("on", "target", "off")  # docs/coverage.md "Coverage-guided generation"
_FORMAT = "pytest-proxy-wasm-generated-coverage/1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("proxy-wasm").addoption(
        "--proxy-wasm-coverage-guidance",
        choices=GUIDANCE,
        default="on",
        help="with --proxy-wasm-coverage: on (default): half the generated requests use the module's own "
        "strings; target: also mutate the requests that first reached code and hypothesis.target toward code "
        "the fixed requests did not reach; off: measure only (the draws of a run without coverage)",
    )


def pytest_configure(config: pytest.Config) -> None:
    collector = coverage_collector(config)
    if collector is not None and config.getoption("--proxy-wasm-conformance", default=False):
        choice = config.getoption("--proxy-wasm-coverage-guidance", default="on")
        aimed = choice == "target"  # newly reached code as the search target: corpus and hypothesis.target
        attach(collector, GuidedCoverage(guide=choice != "off", corpus=aimed, target=aimed))


# The cases whose requests hypothesis generates (they call conformance/http_robustness.explore).
GENERATED_CASES = (
    "http_robustness.generated_exchanges",
    "http_robustness.header_maps",
    "tcp_robustness.generated_connections",
    "differential.generated_requests",
)


@pytest.hookimpl(trylast=True)  # after the conformance plugin has put the areas in order
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--proxy-wasm-coverage-guidance target`` the generated cases run last, so what they aim
    beyond is everything the fixed cases reached (the split in the report does not need it)."""
    guided = guided_for(coverage_collector(config))
    if guided is None or not guided.target:
        return
    generated = [
        n for n, item in enumerate(items) if getattr(getattr(item, "case", None), "id", "") in GENERATED_CASES
    ]
    moved = [items[n] for n in generated]
    for n in reversed(generated):
        del items[n]
    items.extend(moved)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker's generated share, for the controller (its coverage sums go the same way)."""
    config = session.config
    guided = guided_for(coverage_collector(config))
    worker = getattr(config, "workerinput", None)
    if guided is None or worker is None:
        return
    from .guided_report import counts_of

    collector = coverage_collector(config)
    assert collector is not None
    modules = {
        digest: {"counts": {str(i): c for i, c in counts_of(share.lanes, len(module.counters)).items()},
                 "examples": share.examples}
        for digest, share in guided.shares.items()
        if (module := collector.modules.get(digest)) is not None
    }  # fmt: skip
    directory = output_dir(config) / PARTIAL_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{worker['workerid']}.json").write_text(json.dumps({"format": _FORMAT, "modules": modules}))


def _merge_workers(config: pytest.Config, guided: GuidedCoverage) -> None:
    collector = coverage_collector(config)
    assert collector is not None
    directory = output_dir(config)
    merge_workers(collector, directory)  # the coverage plugin's own merge then finds nothing left
    partial = directory / PARTIAL_DIR
    for path in sorted(partial.glob("*.json")) if partial.is_dir() else []:
        payload = json.loads(path.read_text())
        if payload.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a generated-coverage file")
        for digest, entry in payload["modules"].items():
            counts = {int(index): count for index, count in entry["counts"].items()}
            guided.add_counts(digest, counts, int(entry["examples"]))
        path.unlink()
    if partial.is_dir() and not any(partial.iterdir()):
        partial.rmdir()


def pytest_proxy_wasm_update_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """``generated_coverage`` in the run model; a failure here is one line in it, never a lost report."""
    guided = guided_for(coverage_collector(config))
    if guided is None:
        return
    from .guided_report import generated_section

    try:
        _merge_workers(config, guided)
        source_root = config.getoption("--proxy-wasm-coverage-source-root", default=None)
        collector = coverage_collector(config)
        assert collector is not None
        report["generated_coverage"] = generated_section(collector, guided, source_root)
    except Exception as exc:  # our bug: say so in the report, keep the rest of it
        error = f"{type(exc).__name__}: {exc}"
        report["generated_coverage"] = {"guided": guided.guide, "modules": [], "error": error}


# -- check --------------------------------------------------------------------------------------------


def add_check_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--coverage-guidance",
        choices=GUIDANCE,
        default="on",
        help="with --coverage: on (default): generated requests also use the module's strings; target: "
        "and newly reached code as the search target (corpus, hypothesis.target); off: measure only",
    )


def check_pytest_args(args: argparse.Namespace) -> list[str]:
    if not getattr(args, "coverage", False) or getattr(args, "coverage_guidance", "on") == "on":
        return []
    return ["--proxy-wasm-coverage-guidance", args.coverage_guidance]
