"""``pytest-proxy-wasm report merge shard-*.json --report-dir DIR``: one report from the shards' run.json.

Each shard ran a disjoint part of the same check (``check --shard I/N``); the merged report has every
case once, the counts, areas, verdict and module summaries recomputed, and the version matrix pages,
so it equals the report of the same check run on one machine (``tests/reports/test_merge.py``).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from .model import OUTCOMES
from .writers import load_json


def merge(models: list[dict[str, Any]]) -> dict[str, Any]:
    """The shards' models as one (the first shard's tool, backend and inputs)."""
    if not models:
        raise ValueError("no shard reports to merge")
    merged = dict(models[0])
    if len(models) > 1:  # a shard's split of coverage cannot be summed from run.json (docs/coverage.md)
        merged.pop("generated_coverage", None)
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for model in models:
        for case in model.get("cases", []):
            key = (case["module"], case["id"], case.get("envoy_version", ""))
            if key in seen:
                raise ValueError(
                    f"case {case['id']} [{case['module']}] is in two shards: were they sharded alike?"
                )
            seen[key] = case
    cases = sorted(seen.values(), key=lambda c: (c["module"], c.get("envoy_version", ""), c["area"], c["id"]))
    counts = Counter(c["outcome"] for c in cases)
    areas: dict[str, dict[str, Any]] = {}
    for case in cases:
        area = areas.setdefault(case["area"], {"name": case["area"], "duration_s": 0.0, "counts": Counter()})
        area["duration_s"] = round(area["duration_s"] + case["duration_s"], 4)
        area["counts"][case["outcome"]] += 1
    modules: dict[str, dict[str, Any]] = {}
    for model in models:
        for module in model.get("modules", []):
            modules.setdefault(f"{module.get('path', module['name'])}:{module.get('sha256', '')}", module)
    failed = counts["failed"] + counts["xpassed"] + counts["error"]
    merged.update(
        cases=cases,
        counts={k: counts.get(k, 0) for k in OUTCOMES},
        areas=[{**a, "counts": {k: a["counts"].get(k, 0) for k in OUTCOMES}} for a in areas.values()],
        modules=list(modules.values()),
        verdict="fail" if failed or not cases else "pass",
        duration_s=round(max(float(m.get("duration_s", 0)) for m in models), 3),
        started_at=min(str(m.get("started_at", "")) for m in models),
    )
    if len(models) > 1:  # one shard's plugin coverage is not the run's (merge the shards' lcov.info)
        merged.pop("plugin_coverage", None)
    from .versions import summarize

    summarize(merged)
    return merged


def merge_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pytest-proxy-wasm report merge")
    parser.add_argument("shards", type=Path, nargs="+", help="the shards' run.json files")
    parser.add_argument("--report-dir", type=Path, required=True, help="write the merged report here")
    args = parser.parse_args(argv)
    try:
        shards = [load_json(path) for path in args.shards]
        model = merge(shards)
    except (OSError, ValueError, KeyError) as exc:
        print(f"pytest-proxy-wasm report merge: {exc}", file=sys.stderr)
        return 2
    from .versions import write_pages
    from .writers import write_all

    write_all(model, args.report_dir)
    write_pages(model, args.report_dir)
    print(f"merged {len(args.shards)} reports ({len(model['cases'])} cases) into {args.report_dir}")
    if len(args.shards) > 1 and any("plugin_coverage" in m for m in shards):
        print("plugin coverage is per shard: merge the shards' lcov.info (docs/coverage.md)", file=sys.stderr)
    return 0
