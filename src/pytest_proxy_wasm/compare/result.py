"""Compare two sides' runs request by request, field by field, with ``backends.outcome_diff`` (the fields the
emulator and Envoy are compared on) and ``host.trace_diff`` (where the two traces part)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..backends.outcome_diff import Sides, comparable, comparable_tcp, field_differences
from ..host.trace_diff import divergence_report
from ..outcome import LogRecord, Outcome, TcpOutcome
from .accept import Rule, apply
from .probes import Probe
from .run import Side, SideRun

OLD_NEW = Sides("old", "new", "in old", "in new")
# An HTTP date (Envoy's `date` header as a plugin logs it) says when, not what the plugin did.
HTTP_DATE = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\b")
EMPTY_FIELDS: dict[str, Any] = {
    "error": None,
    **dict.fromkeys(("status", "response_headers", "response_body", "upstream_request", "local_reply")),
    **dict.fromkeys(("details", "plugin_failed", "callouts", "plugin_logs", "metrics")),
}


def _logs(records: list[LogRecord]) -> list[tuple[int, str]]:
    return [(r.level, HTTP_DATE.sub("<date>", r.message)) for r in records if r.source != "host"]


def fields_of(result: Outcome | TcpOutcome | str) -> dict[str, Any]:
    """The compared fields of one request: ``backends.outcome_diff.comparable``, or the error it raised."""
    if isinstance(result, str):
        return {**EMPTY_FIELDS, "error": result}
    if isinstance(result, TcpOutcome):
        return {"error": None, **comparable_tcp(result)}
    fields = {"error": None, **comparable(result)}
    fields["plugin_logs"] = [
        (level, HTTP_DATE.sub("<date>", message)) for level, message in fields["plugin_logs"]
    ]
    return fields


def lookup(fields: dict[str, Any], dotted: str) -> Any:
    value: Any = fields
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _json(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


@dataclass
class RequestComparison:
    """One request: the differences left after the accept rules, those the rules accepted, and where the
    traces part (when both sides were traced)."""

    title: str
    source: str
    request: dict[str, Any]
    differences: list[tuple[str, str]]
    accepted: list[tuple[str, str]]
    old: dict[str, Any]
    new: dict[str, Any]
    divergence: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        def entry(name: str, text: str) -> dict[str, Any]:
            return {
                "field": name,
                "text": text,
                "old": _json(lookup(self.old, name)),
                "new": _json(lookup(self.new, name)),
            }

        return {
            "request": self.title,
            "source": self.source,
            "input": self.request,
            "same": self.same,
            "differences": [entry(n, t) for n, t in self.differences],
            "accepted": [entry(n, t) for n, t in self.accepted],
            "divergence": self.divergence or None,
            "notes": self.notes,
        }


def compare_one(
    title: str,
    source: str,
    request: dict[str, Any],
    old: dict[str, Any],
    new: dict[str, Any],
    rules: list[Rule],
) -> RequestComparison:
    every = field_differences(old, new, sides=OLD_NEW)
    left = field_differences(apply(rules, old), apply(rules, new), sides=OLD_NEW)
    kept = {name for name, _ in left}
    accepted = [(name, text) for name, text in every if name not in kept]
    return RequestComparison(title, source, request, left, accepted, old, new)


@dataclass
class Section:
    """Requests run together on one host per side: the ``--request``/``--requests``/``--traffic``
    probes, or one scenario's steps. ``label`` names it in the start-up entry (empty for the probes)."""

    label: str
    probes: list[Probe]
    old: SideRun
    new: SideRun


@dataclass
class Comparison:
    """The whole comparison: the two sides, the backend, one entry per request (each section's
    start-up first)."""

    old: Side
    new: Side
    backend: str
    requests: list[RequestComparison]
    rules: list[Rule]
    skipped: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return all(r.same for r in self.requests)

    @classmethod
    def build(
        cls, sections: list[Section], backend: str, rules: list[Rule], skipped: list[str]
    ) -> Comparison:
        found = []
        for section in sections:
            old_logs, new_logs = _logs(section.old.startup_logs), _logs(section.new.startup_logs)
            title = f"(start-up) {section.label}".rstrip()
            found.append(
                compare_one(
                    title,
                    "on_vm_start and on_configure",
                    {},
                    {"startup_logs": old_logs},
                    {"startup_logs": new_logs},
                    rules,
                )
            )
            pairs = zip(section.probes, section.old.outcomes, section.new.outcomes, strict=True)
            for probe, a, b in pairs:
                item = compare_one(
                    probe.title, probe.source, probe.shown(), fields_of(a), fields_of(b), rules
                )
                item.notes = list(probe.notes)
                if item.differences and not isinstance(a, str) and not isinstance(b, str):
                    item.divergence = divergence_report(a.trace, b.trace, names=("old", "new")) or ""
                found.append(item)
        return cls(sections[0].old.side, sections[0].new.side, backend, found, rules, skipped)

    def counts(self) -> dict[str, int]:
        probes = [r for r in self.requests if not r.title.startswith("(start-up)")]
        return {
            "requests": len(probes),
            "differ": sum(not r.same for r in probes),
            "same": sum(r.same for r in probes),
            "accepted": sum(len(r.accepted) for r in self.requests),
            "startup_differs": sum(not r.same for r in self.requests if r.title.startswith("(start-up)")),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "same": self.same,
            "backend": self.backend,
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "accept": [{"rule": str(r), "reason": r.reason} for r in self.rules],
            "counts": self.counts(),
            "requests": [r.to_json() for r in self.requests],
            "skipped": self.skipped,
        }

    def text(self) -> str:
        lines = [f"old: {self.old.module}  new: {self.new.module}  (backend {self.backend})"]
        for item in self.requests:
            head = f"{item.title}  [{item.source}]" if item.source else item.title
            if item.same:
                accepted = f" ({len(item.accepted)} accepted)" if item.accepted else ""
                lines.append(f"= {head}: same{accepted}")
                continue
            lines.append(f"≠ {head}: {len(item.differences)} difference(s)")
            lines += ["  " + text.replace("\n", "\n  ") for _, text in item.differences]
            if item.accepted:
                lines.append("  accepted: " + ", ".join(name for name, _ in item.accepted))
            if item.divergence:
                lines += ["  " + line for line in item.divergence.splitlines()]
        lines += [f"skipped: {note}" for note in self.skipped]
        c = self.counts()
        verdict = "SAME" if self.same else "DIFFERENT"
        lines.append(
            f"{verdict}: {c['requests']} request(s), {c['differ']} differ, {c['same']} same"
            + (", start-up logs differ" if c["startup_differs"] else "")
            + (f"; {c['accepted']} accepted difference(s)" if c["accepted"] else "")
        )
        return "\n".join(lines)
