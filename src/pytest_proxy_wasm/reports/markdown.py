"""A Markdown summary for a CI step summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import re
from typing import Any

_BACKTICKS = re.compile("`+")
_ICON = {"pass": "✅", "fail": "❌"}
FAILING = ("failed", "xpassed", "error")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def render_markdown(model: dict[str, Any]) -> str:
    from .normalize import normalize

    model = normalize(model)
    verdict = model["verdict"]
    counts = ", ".join(f"{v} {k}" for k, v in model["counts"].items() if v)
    lines = [f"## {_ICON.get(verdict, '')} Proxy-Wasm conformance: {verdict.upper()}", "", counts, ""]
    for module in model["modules"]:
        lines.append(
            f"- `{module['name']}` ABI {module['abi'] or '?'}, {module['size']} bytes, "
            f"sha256 `{module['sha256'][:16]}…`"
        )
    lines += ["", "| area | passed | warned | failed | blocked | xfailed | skipped | time (s) |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for area in model["areas"]:
        c = area["counts"]
        bad = c["failed"] + c["xpassed"] + c["error"]
        lines.append(
            f"| {area['name']} | {c['passed']} | {c['warned']} | {bad} | {c['blocked']} | {c['xfailed']} | "
            f"{c['skipped']} | {area['duration_s']:.2f} |"
        )
    failing = [c for c in model["cases"] if c["outcome"] in FAILING]
    if failing:
        lines += [
            "",
            "### Failing cases",
            "",
            "| case | module | why | on Envoy | blocked |",
            "|---|---|---|---|---|",
        ]
        for case in failing:
            first = (case["message"].splitlines() or [""])[0]
            replay = (case["evidence"] or {}).get("replay") or {}
            blocked = ", ".join(f"`{b}`" for b in case["blocks"])
            lines.append(
                f"| `{case['id']}` | {case['module']} | {_cell(first)} | {_cell(replay.get('label', ''))} | "
                f"{_cell(blocked) or '-'} |"
            )
        for case in failing:
            lines += _evidence(case)
    lines += _blocked(model["cases"]) + _warnings(model["cases"])
    from ..plugin_coverage.guided_report import render_markdown as generated_coverage
    from .coverage_section import coverage_markdown

    lines += coverage_markdown(model.get("plugin_coverage"))  # --coverage (docs/coverage.md)
    lines += generated_coverage(model.get("generated_coverage"))  # check --coverage (docs/coverage.md)
    return "\n".join(lines)


def _blocked(cases: list[dict[str, Any]]) -> list[str]:
    blocked = [c for c in cases if c["outcome"] == "blocked"]
    if not blocked:
        return []
    why = "Each failed on the cause of an earlier finding: its own check could not run past it."
    out = ["", f"### Blocked cases ({len(blocked)})", "", why, ""]
    out += [f"- `{c['id']}` [{c['module']}]: blocked by `{c['blocked_by']}`" for c in blocked]
    return out


def _warnings(cases: list[dict[str, Any]]) -> list[str]:
    warned = [c for c in cases if c["outcome"] == "warned"]
    if not warned:
        return []
    out = ["", f"### Warnings ({len(warned)}, do not fail the verdict)", ""]
    out += [f"- `{c['id']}` [{c['module']}]: {_cell(c['warning'] or '')}" for c in warned]
    return out


def _evidence(case: dict[str, Any]) -> list[str]:
    """The evidence of one finding as a fenced block (panic lines hold backticks)."""
    from ..conformance.evidence import text_lines

    evidence = case.get("evidence")
    body = text_lines(evidence) if evidence else []
    if case.get("cause"):
        body = [f"cause: {case['cause']['label']}", *body]
    if case.get("blocks"):
        body.append(f"blocked {len(case['blocks'])} other case(s), same cause: {', '.join(case['blocks'])}")
    if not body:
        return []
    fence = "`" * max(3, 1 + max((len(run) for line in body for run in _BACKTICKS.findall(line)), default=0))
    return ["", f"#### `{case['id']}` [{case['module']}]", "", f"{fence}text", *body, fence]
