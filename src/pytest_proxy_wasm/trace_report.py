"""Misuse diagnostics and traces in a test's pytest report; strict mode turns misuse into a failure."""

from __future__ import annotations

from typing import Any

import pytest

from .host.diagnostics import STRICT_KINDS, misuse_lines
from .host.trace import render

HOSTS_KEY = pytest.StashKey[list[Any]]()
TRACE_LINES = 400  # the last lines of a trace shown under a failing test
LOG_LINES = 60  # the last log lines shown under a failing test


def watch_host(node: pytest.Item | Any, host: Any) -> None:
    """Remember a host a test uses, for its report."""
    if isinstance(node, pytest.Item):
        node.stash.setdefault(HOSTS_KEY, []).append(host)


def add_host_sections(item: pytest.Item, report: pytest.TestReport) -> None:
    hosts = item.stash.get(HOSTS_KEY, [])
    problems = [p for host in hosts for p in misuse_lines(host)]
    if problems:
        report.sections.append(("proxy-wasm misuse", "\n".join(problems)))
    strict = [
        p
        for host in hosts
        if getattr(getattr(host, "options", None), "strict", False)
        for p in misuse_lines(host, STRICT_KINDS)
    ]
    if strict and report.passed:
        report.outcome = "failed"
        report.longrepr = "strict mode (--proxy-wasm-strict): the plugin misused the ABI\n  " + "\n  ".join(
            strict
        )
    if report.failed:
        add_log_section(hosts, report)
        for host in hosts:
            tracer = getattr(host, "tracer", None)
            if tracer is not None and tracer.records:
                lines = render(tracer.records)
                cut = len(lines) - TRACE_LINES
                head = [f"... {cut} earlier records not shown"] if cut > 0 else []
                report.sections.append(("proxy-wasm trace", "\n".join(head + lines[-TRACE_LINES:])))


def add_log_section(hosts: list[Any], report: pytest.TestReport) -> None:
    """The plugins' log lines (and the host's own), last first cut: the reason a plugin refused a request
    is usually there ("token is expired")."""
    lines: list[str] = []
    for host in hosts:
        try:
            records = list(getattr(host, "logs", []))
        except Exception:  # a backend that cannot read its log any more must not hide the failure
            continue
        for record in records:
            source = "" if record.source == "plugin" else f" ({record.source})"
            plugin = f"{record.plugin}: " if record.plugin else ""
            lines.append(f"[{record.level_name}]{source} {plugin}{record.message}")
    if lines:
        cut = len(lines) - LOG_LINES
        head = [f"... {cut} earlier lines not shown"] if cut > 0 else []
        report.sections.append(("proxy-wasm plugin log", "\n".join(head + lines[-LOG_LINES:])))
