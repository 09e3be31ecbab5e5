"""Collect the run model through pytest hooks and write every report format at the end of the session."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from .inputs import configuration_inputs
from .model import RunCollector, module_info

MODEL_KEY = pytest.StashKey[dict[str, Any]]()
FAILURES_KEY = pytest.StashKey[list[str]]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--proxy-wasm-conformance", default=False):
        return
    modules = [Path(m).resolve() for m in config.getoption("--proxy-wasm-module") or []]
    collector = RunCollector(str(config.getoption("--proxy-wasm-backend")), modules, _inputs(config))
    config.pluginmanager.register(ReportPlugin(config, collector), "proxy-wasm-report")


def _inputs(config: pytest.Config) -> dict[str, Any]:
    """What the check was told about the plugin (root id, VM id, callouts, requests, WasmPlugin)."""
    from ..conformance.evidence import encode_request
    from ..conformance.inputs import input_options

    given = input_options(config)
    return {
        "root_id": given["root_id"],
        "vm_id": given["vm_id"],
        "callouts": [f"{c}={s}:{b}" for c, s, b in given["callouts"]],
        "requests": [encode_request(r) for r in given["requests"]],
        "origin": str(config.getoption("--proxy-wasm-origin", default="") or ""),
        **configuration_inputs(config),
    }


class ReportPlugin:
    """Lives for one session: adds each case report to the model, writes the reports at the end."""

    def __init__(self, config: pytest.Config, collector: RunCollector) -> None:
        self.config = config
        self.collector = collector

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """JUnit: module sha256, ABI and backend as test-suite properties.

        Kept on pytest's JUnit writer rather than the public ``record_testsuite_property`` fixture
        (issue 26 asked; decided against): conformance cases are fixture-less ``pytest.Item``s, so no
        fixture runs in a ``check`` session, and the fixture records nothing on xdist workers (pytest
        issue 7767) where this hook, on the controller, does. Should pytest move ``xml_key``, the
        properties are left out (run.json carries the same facts) and nothing else changes."""
        try:
            from _pytest.junitxml import xml_key
        except ImportError:  # pragma: no cover - pytest moved it
            return
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        xml.add_global_property("backend", self.collector.backend)
        for path in self.collector.module_paths:
            info = module_info(path, [])
            xml.add_global_property(f"module:{path.name}:sha256", info["sha256"])
            xml.add_global_property(f"module:{path.name}:abi", str(info["abi"]))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if hasattr(config, "workerinput"):
            return
        model = self.collector.build()
        config.hook.pytest_proxy_wasm_update_report(config=config, report=model)
        config.stash[MODEL_KEY] = model
        failures: list[str] = []
        report_dir = config.getoption("--proxy-wasm-report-dir")
        if report_dir:
            from .writers import write_reports

            _, failed = write_reports(model, Path(report_dir))
            failures += [f.line() for f in failed]
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            from .markdown import render_markdown
            from .writers import one_line

            try:
                with open(summary, "a", encoding="utf-8") as handle:
                    handle.write(render_markdown(model) + "\n")
            except Exception as exc:
                failures.append(f"the Markdown writer failed on $GITHUB_STEP_SUMMARY ({one_line(exc)})")
        if failures:
            config.stash[FAILURES_KEY] = failures
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            print("pytest-proxy-wasm: " + "; ".join(failures) + " (the other reports were written)",
                  file=sys.stderr)  # fmt: skip

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        model = self.config.stash.get(MODEL_KEY, None)
        if model is None:
            return
        from .terminal import terminal_lines
        from .writers import one_line

        terminalreporter.section("proxy-wasm conformance")
        try:
            lines = terminal_lines(model, self.config.getoption("--proxy-wasm-report-dir"))
        except Exception as exc:  # the terminal writer failed: say so in one line, the files are written
            lines = [f"pytest-proxy-wasm: the terminal writer failed ({one_line(exc)})"]
        for line in lines + self.config.stash.get(FAILURES_KEY, []):
            terminalreporter.write_line(line)
