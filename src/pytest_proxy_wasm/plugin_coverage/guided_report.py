"""The run model's ``generated_coverage`` section: what the generated requests reached beyond the fixed ones.

Per module with generated examples: counters (basic blocks and function entries with DWARF, function
entries without) and the plugin's own lines (or functions) reached by the fixed requests, and added by
the generated ones; and the functions only generated requests reached. Rendered in Markdown here.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import replace
from typing import Any

from .collector import CoverageCollector, ModuleCoverage
from .guided import GuidedCoverage, reached
from .report import FileHits, ModuleReport, build_report

FUNCTIONS_LISTED = 50  # at most this many names per module in run.json (the count is always exact)


def counts_of(lanes: int, count: int) -> dict[int, int]:
    """Counter index -> count, for the nonzero lanes of ``lanes``."""
    values = array("Q")
    values.frombytes(lanes.to_bytes(8 * count, "little"))
    if sys.byteorder == "big":
        values.byteswap()
    return {index: value for index, value in enumerate(values) if value}


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def generated_section(
    collector: CoverageCollector, guided: GuidedCoverage, source_root: str | None = None
) -> dict[str, Any]:
    """``generated_coverage`` of run.json (docs/coverage.md "Coverage-guided generation")."""
    collector.harvest_all()
    modules = []
    for digest, module in collector.modules.items():
        share = guided.shares.get(digest)
        if share is None or not share.examples:
            continue
        modules.append(_module_entry(module, share.lanes, share.examples, source_root))
    guidance = "target" if guided.guide and guided.target else "on" if guided.guide else "off"
    return {"guided": guided.guide, "guidance": guidance, "modules": modules}


def _module_entry(
    module: ModuleCoverage, generated: int, examples: int, source_root: str | None
) -> dict[str, Any]:
    module.flush()
    total, count = module.lanes, len(module.counters)
    fixed_lanes = total - generated  # lane by lane: the generated share never exceeds a lane's sum
    fixed, by_generated = reached(fixed_lanes, count), reached(generated, count)
    beyond = (by_generated & ~fixed).bit_count()
    blocks = any(not c.entry for c in module.counters)
    everything = build_report(module, source_root)
    only_fixed = build_report(replace(module, lanes=fixed_lanes, pending={}), source_root)
    own = _own(everything, only_fixed)
    functions = _only_generated(everything, only_fixed)
    return {
        "module": module.name,
        "sha256": module.sha256,
        "generated_examples": examples,
        "counters": {
            "unit": "blocks" if blocks else "functions",
            "total": count,
            "fixed": fixed.bit_count(),
            "generated": by_generated.bit_count(),
            "generated_beyond_fixed": beyond,
            "generated_beyond_fixed_percent": _percent(beyond, count),
        },
        "own": own,
        "functions_only_generated_count": len(functions),
        "functions_only_generated": functions[:FUNCTIONS_LISTED],
    }


def _own(everything: ModuleReport, only_fixed: ModuleReport) -> dict[str, Any]:
    """The plugin's own lines (DWARF) or functions: total, reached by fixed, added by generated."""
    fixed_files = {f.path: f for f in only_fixed.files}
    total = fixed = added = 0
    units: list[tuple[object, int, int]]  # (line or function name, hits, hits by fixed requests)
    for hits in everything.own_files():
        before = fixed_files.get(hits.path, FileHits(hits.path, True))
        if everything.dwarf:
            units = [(line, count, before.lines.get(line, 0)) for line, count in hits.lines.items()]
        else:
            earlier = {f.name: f.hits for f in before.functions}
            units = [(f.name, f.hits, earlier.get(f.name, 0)) for f in hits.functions]
        total += len(units)
        fixed += sum(1 for _, _, was in units if was)
        added += sum(1 for _, now, was in units if now and not was)
    return {
        "unit": "lines" if everything.dwarf else "functions",
        "total": total,
        "fixed": fixed,
        "generated_beyond_fixed": added,
        "generated_beyond_fixed_percent": _percent(added, total),
    }


def _only_generated(everything: ModuleReport, only_fixed: ModuleReport) -> list[dict[str, Any]]:
    """Functions entered by generated requests and never by fixed ones; the plugin's own first."""
    earlier = {(f.path, g.name): g.hits for f in only_fixed.files for g in f.functions}
    out = [
        {"name": g.name, "own": f.own, "file": f.path}
        for f in everything.files
        for g in f.functions
        if g.hits and not earlier.get((f.path, g.name), 0)
    ]
    return sorted(out, key=lambda entry: (not entry["own"], entry["file"], entry["name"]))


def render_markdown(section: Any) -> list[str]:
    """The Markdown lines for ``generated_coverage`` (none when the run has no such section)."""
    if not isinstance(section, dict):
        return []
    if section.get("error"):
        return ["", f"Coverage of generated requests: not computed ({section['error']})"]
    if not section.get("modules"):
        return []
    kinds = {"on": "guided: module strings", "target": "guided: module strings, corpus, hypothesis.target"}
    guided = kinds.get(str(section.get("guidance")), "not guided")
    out = ["", f"### Generated requests beyond the fixed ones ({guided})", "",
           "| module | examples | counters: fixed | + generated | own code: fixed | + generated | "
           "functions only generated reached |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for entry in section["modules"]:
        counters, own = entry["counters"], entry["own"]
        names = [f"`{f['name']}`" for f in entry["functions_only_generated"] if f.get("own")][:5]
        rest = entry["functions_only_generated_count"] - len(names)
        listed = ", ".join(names + ([f"{rest} more"] if rest > 0 else [])) or "-"
        out.append(
            f"| {entry['module']} | {entry['generated_examples']} | "
            f"{counters['fixed']}/{counters['total']} {counters['unit']} | "
            f"+{counters['generated_beyond_fixed']} ({counters['generated_beyond_fixed_percent']}%) | "
            f"{own['fixed']}/{own['total']} {own['unit']} | "
            f"+{own['generated_beyond_fixed']} ({own['generated_beyond_fixed_percent']}%) | {listed} |"
        )
    return out
