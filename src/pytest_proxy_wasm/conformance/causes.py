"""One cause, one finding: failures grouped by their root cause.

A plugin that hangs every request without a ``User-Agent`` fails every case that sends one: the first
case to fail on a cause is the finding; every later case that fails on the same cause (same module, same
callback and stuck state, same trap, same panic) is *blocked* by it: its own check could not run past
the hang. The cause is read from the finding's evidence (failed callback, trap, panic lines) and the
case's message (the ``hung: ...`` report of ``support.hang_report``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HANG = re.compile(r"(paused|is buffering) in (proxy_on_\w+)")
_LABEL = re.compile(r"^\[(?:stderr|stdout|critical|error|warn|info|debug|trace)\]\s*")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
# Source locations (lib.rs:12:5, main.go:40) and the wasm function a trap is in name where it failed:
# kept; other numbers vary per input (index 5 with length 3) and are folded.
_NUMBER = re.compile(r"(?<![.\w])\d+(?![\w])")
_LOCATION = re.compile(r"\.(rs|go|ts|c|cc|cpp|zig):\d+(:\d+)?|wasm function \d+|wasm-function\[\d+\]")


@dataclass(frozen=True)
class Cause:
    """A root cause: ``key`` compares causes, ``label`` says it in words."""

    key: str
    label: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label}


def normalize(text: str) -> str:
    """``text`` without what varies between two failures of one cause (numbers, addresses)."""
    kept: dict[str, str] = {}

    def keep(match: re.Match[str]) -> str:
        token = chr(0xE000 + len(kept))  # a private-use character: no digit the folding below would touch
        kept[token] = match.group(0)
        return token

    out = _LOCATION.sub(keep, _LABEL.sub("", text.strip()))
    out = _NUMBER.sub("#", _HEX.sub("0x#", out))
    for token, original in kept.items():
        out = out.replace(token, original)
    return " ".join(out.split())[:200]


def _panic_head(panic: list[str]) -> str:
    """The panic's first words: Go writes ``panic: `` and its message to stderr in pieces."""
    text = " ".join(_LABEL.sub("", line).strip() for line in panic[:3])
    return normalize(text)


def hang_of(message: str) -> tuple[str, str] | None:
    """(callback, state) of a ``hung: <plugin> paused in <callback> ...`` message, else None."""
    if "hung" not in message and "did not answer" not in message:
        return None
    found = _HANG.search(message)
    if found is None:
        return ("", "hung")
    return found.group(2), "paused" if found.group(1) == "paused" else "buffering"


def cause_of(message: str, evidence: dict[str, Any] | None) -> Cause | None:
    """The root cause of a failed case, or None when the failure is its own (a difference in answers, a
    memory curve): such failures are never grouped."""
    ev = evidence or {}
    callback = ev.get("callback")
    if callback:
        kind = ev.get("failure_kind") or "failure"
        panic = _panic_head(list(ev.get("panic") or []))
        what = panic or normalize(str(ev.get("trap") or "").splitlines()[0] if ev.get("trap") else "")
        return Cause(
            f"failure|{callback}|{kind}|{what}", f"{callback} fails ({kind}): {what or 'no message'}"
        )
    outcomes = [i.get("outcome") or {} for i in ev.get("inputs") or []]
    hang = hang_of(message)
    if hang is None and any(o.get("hung") for o in outcomes):
        hang = ("", "hung")
    if hang is None:
        return None
    where, state = hang
    if not where:
        return Cause("hang|unknown", "the stream hangs: a plugin paused it and nothing resumes it")
    doing = "returns Pause (StopIteration)" if state == "paused" else "buffers (StopIterationAndBuffer)"
    return Cause(
        f"hang|{where}|{state}", f"the stream hangs: the plugin {doing} in {where} and nothing resumes it"
    )


def blocked_message(finding: str, cause: dict[str, str], title: str) -> str:
    """What a blocked case says: which finding stopped it, and that its own check did not run."""
    return (
        f"blocked by {finding} ({cause['label']}): this case's own check ({title[:1].lower()}{title[1:]}) "
        "could not run past it"
    )


def regroup(cases: list[dict[str, Any]]) -> None:
    """Mark, in run order, every failed case whose cause an earlier finding of the same module already
    has as ``blocked`` by it, and list on each finding the cases it blocked (``blocks``). Cases blocked
    while the run went (``blocked_by`` set) keep their finding; this pass also groups runs whose cases
    ran in separate processes (pytest-xdist)."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    by_id: dict[tuple[str, str], dict[str, Any]] = {}
    for case in cases:
        case.setdefault("blocks", [])
        by_id[(case["module"], case["id"])] = case
    for case in cases:
        cause = case.get("cause")
        if not cause or case["outcome"] not in ("failed", "xfailed", "blocked"):
            continue
        slot = (case["module"], cause["key"])
        if case["outcome"] == "blocked" and case.get("blocked_by"):
            owner = by_id.get((case["module"], case["blocked_by"]))
            if owner is not None:
                first.setdefault(slot, owner)
                owner["blocks"].append(case["id"])
                continue
        finding = first.get(slot)
        if finding is None:
            first[slot] = case
            continue
        if case["outcome"] == "failed":
            case["outcome"] = "blocked"
            case["blocked_by"] = finding["id"]
            case["message"] = blocked_message(finding["id"], cause, case.get("title", ""))
            finding["blocks"].append(case["id"])
