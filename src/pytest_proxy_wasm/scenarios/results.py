"""The results of a scenario run: per step, each checked field (expected against actual), and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..outcome import LogRecord, Outcome, TcpOutcome
from .checks import FieldCheck
from .model import Scenario


@dataclass
class StepResult:
    """One step on one backend: each checked field, what it saw, and ``error`` when it could not run
    (e.g. the emulator and Envoy disagreed in diff mode)."""

    index: int
    name: str
    checks: list[FieldCheck] = field(default_factory=list)
    outcome: Outcome | TcpOutcome | None = None
    logs: list[LogRecord] = field(default_factory=list)
    error: str | None = None
    mismatch: bool = False  # ``error`` is a BackendMismatch (diff mode)

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[FieldCheck]:
        return [c for c in self.checks if not c.passed]

    def title(self) -> str:
        return f"step {self.index + 1}" + (f" ({self.name})" if self.name else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.index + 1,
            "name": self.name,
            "passed": self.passed,
            "error": self.error,
            "checks": [c.to_json() for c in self.checks],
            "outcome": self.outcome.to_json() if self.outcome is not None else None,
            "logs": [r.to_json() for r in self.logs],
        }


@dataclass
class ScenarioResult:
    """A whole scenario on one backend. ``error``: the end-of-scenario check (calls nobody declared)."""

    scenario: Scenario
    backend: str
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None
    start: list[FieldCheck] = field(default_factory=list)  # plugins[].start_failure, checked

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.start) and all(s.passed for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.source or self.scenario.name,
            "name": self.scenario.name,
            "backend": self.backend,
            "passed": self.passed,
            "error": self.error,
            "start": [c.to_json() for c in self.start],
            "steps": [s.to_json() for s in self.steps],
        }

    def report(self, verbose: bool = False) -> str:
        """Each step's outcome; failing fields as expected against actual."""
        title = self.scenario.name or self.scenario.source or "scenario"
        lines = [f"{title} on {self.backend}: {'PASS' if self.passed else 'FAIL'}"]
        for check in self.start:
            lines.append(f"  {check.field}: {'PASS' if check.passed else 'FAIL'}")
            if not check.passed or verbose:
                lines += ["    " + line for line in check.describe().splitlines()]
        for step in self.steps:
            lines.append(f"  {step.title()}: {_summary(step)} {'PASS' if step.passed else 'FAIL'}")
            if step.error:
                lines += ["    " + line for line in step.error.splitlines()]
            for check in step.checks:
                if not check.passed or verbose or check.note:
                    lines += ["    " + line for line in check.describe().splitlines()]
        if self.error:
            lines.append(f"  at the end: {self.error}")
        return "\n".join(lines)


def _summary(step: StepResult) -> str:
    outcome = step.outcome
    # A trap explains a surprising status at once (else it is only in the logs and --json).
    reason = outcome.plugin_failed if outcome is not None else None
    failed = f" [a plugin failed: {reason}]" if reason else ""
    if isinstance(outcome, Outcome):
        upstream = "upstream saw it" if outcome.upstream_request else "upstream did not see it"
        return f"-> {outcome.status} ({upstream}, {len(outcome.callouts)} callouts){failed}"
    if isinstance(outcome, TcpOutcome):
        return f"-> closed by {outcome.closed_by}{failed}"
    return "-"
