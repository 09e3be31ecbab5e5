"""A Markdown summary for a CI step summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from typing import Any

_ICON = {"pass": "✅", "fail": "❌"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def render_markdown(model: dict[str, Any]) -> str:
    verdict = model["verdict"]
    counts = ", ".join(f"{v} {k}" for k, v in model["counts"].items() if v)
    lines = [f"## {_ICON.get(verdict, '')} Proxy-Wasm conformance: {verdict.upper()}", "", counts, ""]
    for module in model["modules"]:
        lines.append(
            f"- `{module['name']}` ABI {module['abi'] or '?'}, {module['size']} bytes, "
            f"sha256 `{module['sha256'][:16]}…`"
        )
    lines += ["", "| area | passed | failed | xfailed | skipped | time (s) |", "|---|---|---|---|---|---|"]
    for area in model["areas"]:
        c = area["counts"]
        bad = c["failed"] + c["xpassed"] + c["error"]
        lines.append(
            f"| {area['name']} | {c['passed']} | {bad} | {c['xfailed']} | {c['skipped']} | "
            f"{area['duration_s']:.2f} |"
        )
    failing = [c for c in model["cases"] if c["outcome"] in ("failed", "xpassed", "error")]
    if failing:
        lines += ["", "### Failing cases", "", "| case | module | why | on Envoy |", "|---|---|---|---|"]
        for case in failing:
            first = (case["message"].splitlines() or [""])[0]
            replay = (case.get("evidence") or {}).get("replay") or {}
            lines.append(
                f"| `{case['id']}` | {case['module']} | {_cell(first)} | {_cell(replay.get('label', ''))} |"
            )
        for case in failing:
            lines += _evidence(case)
    return "\n".join(lines)


def _evidence(case: dict[str, Any]) -> list[str]:
    """The evidence of one finding as a fenced block (panic lines hold backticks)."""
    from ..conformance.evidence import text_lines

    evidence = case.get("evidence")
    if not evidence:
        return []
    body = text_lines(evidence)
    if not body:
        return []
    return ["", f"#### `{case['id']}` [{case['module']}]", "", "```text", *body, "```"]
