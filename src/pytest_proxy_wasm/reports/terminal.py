"""The conformance section of the terminal summary, as lines (from the run model, like every writer)."""

from __future__ import annotations

from typing import Any

FAILING = ("failed", "xpassed", "error")


def terminal_lines(model: dict[str, Any], report_dir: str | None = None) -> list[str]:
    from ..conformance.evidence import text_lines
    from .normalize import normalize

    model = normalize(model)
    counts = ", ".join(f"{v} {k}" for k, v in model["counts"].items() if v)
    out = [f"verdict: {model['verdict'].upper()} ({counts or 'no cases'})"]
    out += [f"  {area['name']:<16} {area['duration_s']:7.2f} s" for area in model["areas"]]
    for case in model["cases"]:
        if case["outcome"] not in FAILING:
            continue
        first = (case["message"].splitlines() or [""])[0]
        out.append(f"  FAILED {case['id']} [{case['module']}]: {first[:150]}")
        body = text_lines(case["evidence"]) if case["evidence"] else []
        if case["cause"]:
            body.insert(0, f"cause: {case['cause']['label']}")
        if case["blocks"]:
            body.append(
                f"blocked {len(case['blocks'])} other case(s), same cause: {', '.join(case['blocks'])}"
            )
        out += ["      " + line.replace("\n", "\n      ") for line in body]
    blocked = [c for c in model["cases"] if c["outcome"] == "blocked"]
    if blocked:
        why = "failed on the cause of an earlier finding; their own checks did not run"
        out.append(f"  {len(blocked)} blocked ({why}):")
        out += [f"    BLOCKED {c['id']} [{c['module']}] by {c['blocked_by']}" for c in blocked]
    warned = [c for c in model["cases"] if c["outcome"] == "warned"]
    for case in warned:
        out.append(
            f"  WARNED {case['id']} [{case['module']}]: {' '.join((case['warning'] or '').split())[:200]}"
        )
    if report_dir:
        out.append(f"reports: {report_dir}/run.json, run.html, summary.md, junit.xml")
    return out
