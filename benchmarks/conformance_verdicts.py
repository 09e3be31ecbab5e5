"""Record and compare the emulator conformance verdicts of every fixture module (issue 15 speed work).

A speed change to the conformance suite must not change any verdict. ``record`` runs
``python -m pytest_proxy_wasm check MODULE --seed 1 -q --report-dir D`` on every ``fixtures/*/*.wasm``
(with the options the module needs, as tests/conformance runs it) and keeps, per case, the outcome,
severity, message, evidence, expected-failure reason and details (minus timing figures);
``compare`` prints every difference between two recordings and exits 1 if there is one.

    python benchmarks/conformance_verdicts.py record before.json [--src DIR] [--only go/probe.wasm]
    python benchmarks/conformance_verdicts.py compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CREDENTIALS = '{"username": "admin", "password": "s3cret"}'  # fixtures/expectations/README.md
# Figures that depend on the machine's speed, not on the module: left out of the comparison.
TIMED = frozenset({"mean_us", "p95_us", "request_us", "callback_us", "seconds", "duration_s"})


def extra_args(module: str) -> list[str]:
    """The options tests/conformance and fixtures/expectations/README.md run a module with."""
    out: list[str] = []
    language = module.split("/", maxsplit=1)[0]
    expectations = FIXTURES / "expectations" / f"{language}.yaml"
    if expectations.exists():
        out += ["--expect", str(expectations)]
    if module.endswith("basic_auth.wasm"):
        out += ["--plugin-config", CREDENTIALS]
    return out


def strip_timed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_timed(v) for k, v in value.items() if k not in TIMED}
    if isinstance(value, list):
        return [strip_timed(v) for v in value]
    return value


def run_one(module: str, src: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory(prefix="verdicts-") as tmp:
        report = Path(tmp) / "report"
        command = [sys.executable, "-m", "pytest_proxy_wasm", "check", str(FIXTURES / module), "--seed", "1"]
        command += ["-q", "--report-dir", str(report), *extra_args(module)]
        start, cpu = time.perf_counter(), os.times()
        code = subprocess.call(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        used = os.times()
        wall = time.perf_counter() - start
        child_cpu = used.children_user + used.children_system - cpu.children_user - cpu.children_system
        run = json.loads((report / "run.json").read_text()) if (report / "run.json").exists() else {}
    cases = {
        c["id"]: {
            "outcome": c["outcome"],
            "severity": c.get("severity"),
            "message": c.get("message"),
            "expected_failure": c.get("expected_failure"),
            "evidence": c.get("evidence"),
            "details": strip_timed(c.get("details")),
        }
        for c in run.get("cases", [])
    }
    times = {"wall_s": round(wall, 2), "cpu_s": round(child_cpu, 2)}
    return {"exit": code, "verdict": run.get("verdict"), **times, "cases": cases}


def record(out: Path, src: Path, only: list[str]) -> None:
    modules = only or sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.wasm"))
    results: dict[str, Any] = json.loads(out.read_text()) if out.exists() and only else {}
    for module in modules:
        results[module] = run_one(module, src)
        r = results[module]
        print(f"{module}: exit {r['exit']} {r['verdict']} {len(r['cases'])} cases, {r['wall_s']} s wall, "
              f"{r['cpu_s']} s CPU", flush=True)  # fmt: skip
        out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for module in sorted(set(before) | set(after)):
        if module not in before or module not in after:
            out.append(f"{module}: only in {'after' if module in after else 'before'}")
            continue
        b, a = before[module], after[module]
        for key in ("exit", "verdict"):
            if b[key] != a[key]:
                out.append(f"{module}: {key} {b[key]!r} -> {a[key]!r}")
        for case_id in sorted(set(b["cases"]) | set(a["cases"])):
            cb, ca = b["cases"].get(case_id), a["cases"].get(case_id)
            if cb is None or ca is None:
                out.append(f"{module} {case_id}: only in {'after' if cb is None else 'before'}")
                continue
            for field in sorted(set(cb) | set(ca)):
                if cb.get(field) != ca.get(field):
                    shown = (json.dumps(cb.get(field))[:200], json.dumps(ca.get(field))[:200])
                    out.append(f"{module} {case_id} {field}: {shown[0]} -> {shown[1]}")
    return out


def times_table(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = ["| module | wall before | wall after | CPU before | CPU after |", "|---|--:|--:|--:|--:|"]
    for module in sorted(set(before) & set(after)):
        b, a = before[module], after[module]
        lines.append(f"| {module} | {b['wall_s']} | {a['wall_s']} | {b['cpu_s']} | {a['cpu_s']} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--src", type=Path, default=ROOT / "src", help="the package source to run")
    rec.add_argument("--only", action="append", default=[], help="a module under fixtures/; repeatable")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--times", action="store_true", help="also print the wall/CPU table")
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.out, args.src.resolve(), args.only)
        return 0
    before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    found = differences(before, after)
    print("\n".join(found) if found else f"identical verdicts for {len(set(before) & set(after))} modules")
    if args.times:
        print("\n".join(times_table(before, after)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
