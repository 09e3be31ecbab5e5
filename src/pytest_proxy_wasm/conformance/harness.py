"""Faults on our side while a case runs: never a finding about the plugin.

A case that raises anything but its own verdicts (CaseFailure, NotApplicable, a skip), or a hostcall
that raised in Python (the VM's ``harness_fault``), is a harness fault: the case is reported as an
error naming the exception and where it happened, and ``check`` exits 3 (README, docs/conformance.md).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .cases import CaseRun

PACKAGE = Path(__file__).resolve().parents[1]


class CheckHarnessFault(Exception):  # noqa: N818 - a fault, named as such
    """pytest-proxy-wasm itself failed while running a case (the plugin is not to blame)."""


def where(exc: BaseException) -> str:
    """The innermost frame of the exception inside our package: ``conformance/x.py:38 in name``."""
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            relative = Path(frame.filename).resolve().relative_to(PACKAGE)
        except ValueError:
            continue
        found = f"{relative}:{frame.lineno} in {frame.name}"
    return found


def fault(case_id: str, exc: BaseException) -> CheckHarnessFault:
    place = where(exc)
    text = f"{type(exc).__name__}: {exc}" + (f" (at {place})" if place else "")
    return CheckHarnessFault(f"harness fault in {case_id}: {text}")


def raise_vm_faults(case_id: str, run: CaseRun) -> None:
    """A hostcall that raised in Python made a VM fail: that is our fault, not the plugin's."""
    for host in run.hosts:
        for vm in host.all_vms:
            if vm.harness_fault is not None:
                raise fault(case_id, vm.harness_fault)


HINT = "a bug in pytest-proxy-wasm, not a finding about the plugin; the case's result is unknown"


class HarnessFaults:
    """Per session (a pytest plugin object): collects the harness faults of the cases, lists them at the
    end, and makes the session exit 3 (pytest's internal error) instead of 1 when there were any."""

    def __init__(self) -> None:
        self.faults: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        fault = getattr(report, "proxy_wasm", {}).get("harness_fault")
        if fault and report.failed:
            self.faults.append(f"{report.nodeid}: {fault}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.faults and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.faults:
            return
        terminalreporter.section("proxy-wasm harness faults (exit 3)")
        terminalreporter.write_line(f"{len(self.faults)} case(s) could not run: {HINT}; please report it")
        for line in self.faults:
            terminalreporter.write_line("  " + line)
