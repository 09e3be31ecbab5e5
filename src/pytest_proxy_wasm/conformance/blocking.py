"""Blocked cases and warnings as pytest sees them (conformance/causes.py groups the causes).

While the session runs, the first case failing on a cause is the finding; a later case failing on the
same cause is reported as skipped with ``blocked by <finding>: ...`` (its JUnit ``<skipped>`` message)
and counted as ``blocked`` in the terminal; a case that passed with a warning is counted as ``warned``.
Under pytest-xdist each worker knows only its own cases: the run model groups them again
(``causes.regroup``).
"""

from __future__ import annotations

from typing import Any

import pytest

from .causes import Cause, blocked_message

FINDINGS_KEY = pytest.StashKey[dict[tuple[str, str], str]]()


def first_with(config: pytest.Config, module: str, cause: Cause | None, case_id: str) -> str | None:
    """The finding already holding ``cause`` for ``module`` (None: this case is the finding)."""
    if cause is None:
        return None
    key = (module, cause.key)
    findings = config.stash.setdefault(FINDINGS_KEY, {})
    if key in findings:
        return findings[key]
    findings[key] = case_id
    return None


def settle(report: pytest.TestReport, record: dict[str, Any], path: str) -> None:
    """A failed call of a blocked case becomes a skip saying which finding blocked it."""
    finding = record.get("blocked_by")
    if not finding or report.when != "call" or not report.failed or hasattr(report, "wasxfail"):
        return
    report.outcome = "skipped"
    report.longrepr = (path, 0, blocked_message(finding, record["cause"], record["case"]["title"]))


def teststatus(report: pytest.TestReport) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """``blocked`` (B) and ``warned`` (W) categories for the terminal's counts."""
    record = getattr(report, "proxy_wasm", None)
    if not record or report.when != "call":
        return None
    if report.skipped and record.get("blocked_by") and not hasattr(report, "wasxfail"):
        return "blocked", "B", ("BLOCKED", {"yellow": True})
    if report.passed and record.get("warning"):
        return "warned", "W", ("WARNED", {"yellow": True})
    return None
