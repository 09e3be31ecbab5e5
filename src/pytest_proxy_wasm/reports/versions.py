"""The run model's Envoy versions and matrices (additive: new fields and pages, the writers untouched).

* ``envoy_version`` (the exact version(s) run, or the installed wheel's) and ``envoy_versions``;
* each case gets ``envoy_version`` (``""``: the default, 1.40);
* ``compatibility``: one row per module x Envoy version x area with the outcome counts;
* ``version_differences``: every case whose result differs between two versions, field by field;
* with ``--proxy-wasm-report-dir``: ``matrix.md`` (module x area, per version) and ``modules/<name>.md``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

_NODE_VERSION = re.compile(r"@(\d+\.\d+(?:\.\d+)?)\]$")  # case items are named "case[module@1.36]"


def version_of_node(nodeid: str) -> str:
    match = _NODE_VERSION.search(nodeid)
    return match.group(1) if match else ""


def _label(version: str) -> str:
    from ..backends.envoy.versions import EnvoyVersionError, installed_version, resolve

    try:
        return resolve(version) if version else (installed_version() or "1.40")
    except EnvoyVersionError:
        return version


def annotate(report: dict[str, Any], by_nodeid: dict[str, dict[str, Any]]) -> None:
    """Tag each case with its Envoy version (from its node id), then add the summaries."""
    for nodeid, entry in by_nodeid.items():
        entry["envoy_version"] = version_of_node(nodeid)
    summarize(report)


def summarize(report: dict[str, Any]) -> None:
    """Add the version fields, the compatibility rows and the differences between versions."""
    cases = report.get("cases", [])
    versions = sorted({c.get("envoy_version", "") for c in cases}, key=_order)
    labels = [_label(v) for v in versions]
    if report.get("backend", "emulator") != "emulator" or any(versions):
        report["envoy_version"] = ", ".join(labels)
    report["envoy_versions"] = labels
    rows: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for case in sorted(
        cases, key=lambda c: (c["module"], _order(c.get("envoy_version", "")), _area(c["area"]))
    ):
        rows[(case["module"], _label(case.get("envoy_version", "")), case["area"])][case["outcome"]] += 1
    report["compatibility"] = [
        {"module": m, "envoy_version": v, "area": a, "counts": dict(c), "verdict": _verdict(c)}
        for (m, v, a), c in rows.items()
    ]
    report["version_differences"] = differences(cases) if len(versions) > 1 else []


def _area(name: str) -> int:
    from ..conformance.cases import AREAS

    return AREAS.index(name) if name in AREAS else len(AREAS)


def _order(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")) if version else (1, 40)


def _verdict(counts: Counter[str]) -> str:
    return "fail" if counts["failed"] + counts["error"] + counts["xpassed"] else "pass"


def differences(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (module, case) whose outcome or details differ between Envoy versions, field by field."""
    from ..backends.outcome_diff import _diff

    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        grouped[(case["module"], case["id"])].append(case)
    out = []
    for (module, case_id), runs in sorted(grouped.items()):  # the same order however the run was split
        runs.sort(key=lambda c: _order(c.get("envoy_version", "")))
        for older, newer in pairwise(runs):
            if older["outcome"] == newer["outcome"] == "skipped":
                continue  # skipped on both: why is not behaviour
            left = {"outcome": older["outcome"], "message": older["message"], "details": older["details"]}
            right = {"outcome": newer["outcome"], "message": newer["message"], "details": newer["details"]}
            found = [_name_sides(d, older, newer) for d in _diff(_stable(left), _stable(right))]
            if found:
                out.append(
                    {
                        "module": module,
                        "case": case_id,
                        "versions": [
                            _label(older.get("envoy_version", "")),
                            _label(newer.get("envoy_version", "")),
                        ],
                        "fields": found,
                    }
                )
    return _fold_unloadable(out)


def _fold_unloadable(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where a module loads on one version only, its other cases differ because of that: one entry."""
    unloadable = {
        (d["module"], tuple(d["versions"]))
        for d in found
        if d["case"] == "module.imports_provided" and any(f.startswith("outcome:") for f in d["fields"])
    }
    out: list[dict[str, Any]] = []
    folded: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for d in found:
        key = (d["module"], tuple(d["versions"]))
        if key in unloadable and not d["case"].startswith("module."):
            folded.setdefault(key, []).append(d["case"])
            continue
        out.append(d)
    for (module, pair), cases in folded.items():
        note = (
            f"{len(cases)} more cases differ because the module loads on one version only: {', '.join(cases)}"
        )
        out.append({"module": module, "case": "(cases that need the module loaded)", "versions": list(pair),
                    "fields": [note]})  # fmt: skip
    return out


def _stable(value: Any) -> Any:
    """Drop what changes from run to run (timings; the generated inputs, which hypothesis may draw
    differently in another process) so only behaviour is compared."""
    if isinstance(value, dict):
        return {
            k: _stable(v)
            for k, v in value.items()
            if not k.endswith(("_s", "_us", "_ms", "seconds"))
            and k not in ("examples", "examples_run", "seed")
        }
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _name_sides(text: str, older: dict[str, Any], newer: dict[str, Any]) -> str:
    """diff mode's side labels (``emulator:``/``envoy:`` at the start of a line) become the versions."""
    old, new = _label(older.get("envoy_version", "")), _label(newer.get("envoy_version", ""))
    for label, name in (
        ("only on the emulator:", f"only on Envoy {old}:"),
        ("only on Envoy:       ", f"only on Envoy {new}:"),
        ("emulator:", f"Envoy {old}:"),
        ("envoy:   ", f"Envoy {new}:"),
    ):
        text = re.sub(rf"^    {re.escape(label)}", "    " + name.replace("\\", "\\\\"), text, flags=re.M)
    return text


def render_matrix(report: dict[str, Any]) -> str:
    """``matrix.md``: module x area verdicts, one table per Envoy version, then the differences."""
    rows = report.get("compatibility", [])
    areas = list(dict.fromkeys(r["area"] for r in rows))
    lines = ["# Compatibility matrix", ""]
    for version in report.get("envoy_versions", []) or [""]:
        lines += [f"## Envoy {version}" if version else "## Emulator", ""]
        lines += ["| module | " + " | ".join(areas) + " |", "|---" * (len(areas) + 1) + "|"]
        for module in dict.fromkeys(r["module"] for r in rows):
            cells = []
            for area in areas:
                found = [
                    r for r in rows if (r["module"], r["area"], r["envoy_version"]) == (module, area, version)
                ]
                cells.append(_cell(found[0]) if found else "")
            lines.append(f"| [{module}](modules/{page(module)}) | " + " | ".join(cells) + " |")
        lines.append("")
    diffs = report.get("version_differences", [])
    lines += ["## Differences between Envoy versions", ""]
    if not diffs:
        lines.append(
            "None: every case gave the same result on each version."
            if len(report.get("envoy_versions", [])) > 1
            else "One version only."
        )
    for d in diffs:
        lines.append(f"- **{d['case']}** [{d['module']}], Envoy {d['versions'][0]} → {d['versions'][1]}:")
        lines += ["  ```", *("  " + line for f in d["fields"] for line in f.splitlines()), "  ```"]
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any]) -> str:
    counts = row["counts"]
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("xpassed", 0)
    if failed:
        return f"FAIL {failed}"
    return f"pass {counts['passed']}" if counts.get("passed") else "skipped"


def page(module: str) -> str:
    """``go-probe.wasm.md`` for ``go/probe.wasm`` (a module named with its folder, as two share a name)."""
    return module.replace("/", "-") + ".md"


def render_module(report: dict[str, Any], module: str) -> str:
    lines = [f"# {module}", "", "| case | Envoy | outcome | message |", "|---|---|---|---|"]
    for case in report.get("cases", []):
        if case["module"] == module:
            message = (case["message"].splitlines() or [""])[0].replace("|", "\\|")[:160]
            lines.append(
                f"| {case['id']} | {_label(case.get('envoy_version', ''))} | {case['outcome']} | {message} |"
            )
    return "\n".join(lines) + "\n"


def write_pages(report: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "matrix.md").write_text(render_matrix(report), encoding="utf-8")
    (directory / "modules").mkdir(exist_ok=True)
    for module in dict.fromkeys(c["module"] for c in report.get("cases", [])):
        (directory / "modules" / page(module)).write_text(render_module(report, module), encoding="utf-8")


@pytest.hookimpl(trylast=True)
def pytest_proxy_wasm_update_report(config: pytest.Config, report: dict[str, Any]) -> None:
    plugin = config.pluginmanager.get_plugin("proxy-wasm-report")
    by_nodeid = getattr(getattr(plugin, "collector", None), "cases", {})
    annotate(report, by_nodeid)
    report_dir = config.getoption("--proxy-wasm-report-dir", default=None)
    if report_dir:
        try:
            write_pages(report, Path(report_dir))
        except Exception as exc:  # as the other writers: the rest is written, this one named in a line
            from .writers import one_line

            sys.stderr.write(f"pytest-proxy-wasm: the matrix pages writer failed ({one_line(exc)})\n")
