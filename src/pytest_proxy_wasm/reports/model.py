"""The run model: one JSON-able dict built from the test reports of a conformance run."""

from __future__ import annotations

import hashlib
import platform
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from ..conformance.causes import regroup

SCHEMA_VERSION = 3  # 2: evidence on each finding, the check's inputs; 3: warned and blocked cases, causes
SCHEMA_ID = "https://pytest-proxy-wasm.invalid/schemas/run-v3.schema.json"
OUTCOMES = ("passed", "warned", "failed", "blocked", "skipped", "xfailed", "xpassed", "error")
FAILING = ("failed", "xpassed", "error")  # the outcomes that fail the verdict
RECORD_KEYS = ("details", "logs", "hostcalls", "callbacks", "evidence", "warning", "cause", "blocked_by")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def case_outcome(report: Any) -> str:
    """passed/failed/skipped/xfailed/xpassed/error from a pytest TestReport."""
    if getattr(report, "wasxfail", None) is not None:
        return "xfailed" if report.skipped else "xpassed"
    if report.failed and str(report.longrepr).startswith("[XPASS(strict)]"):
        return "xpassed"
    if report.failed:
        return "error" if report.when != "call" else "failed"
    return "skipped" if report.skipped else "passed"


def _message(report: Any) -> str:
    if report.passed and getattr(report, "wasxfail", None) is None:
        return ""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    if getattr(report, "wasxfail", None) is not None and report.skipped:
        return f"expected failure: {report.wasxfail}"
    text = str(longrepr) if longrepr is not None else ""
    return text[-4000:]


class RunCollector:
    """Gathers case results as pytest reports them (also from xdist workers)."""

    def __init__(self, backend: str, module_paths: list[Path], inputs: dict[str, Any] | None = None) -> None:
        self.backend = backend
        self.module_paths = module_paths
        self.inputs = inputs or {}
        self.started = time.time()
        self.cases: dict[str, dict[str, Any]] = {}

    def add(self, report: Any) -> None:
        record = getattr(report, "proxy_wasm", None)
        if record is None:
            return
        entry = self.cases.setdefault(
            report.nodeid,
            {
                **{k: record["case"][k] for k in ("id", "area", "title", "rule")},
                "module": record["module"],
                "outcome": "passed",
                "duration_s": 0.0,
                "message": "",
                "expected_failure": record.get("expected_failure"),
                "details": {},
                "logs": [],
                "hostcalls": {},
                "callbacks": {},
                "evidence": None,
                "severity": record["case"].get("severity", "fail"),
                "warning": None,
                "cause": None,
                "blocked_by": None,
                "blocks": [],
            },
        )
        entry["duration_s"] = round(entry["duration_s"] + float(report.duration), 4)
        outcome = case_outcome(report)
        if record.get("harness_fault") and report.failed:
            outcome = "error"  # our fault, not a finding (conformance/harness.py)
            entry["harness_fault"] = record["harness_fault"]
        elif outcome == "skipped" and record.get("blocked_by") and report.when == "call":
            outcome = "blocked"  # failed on the cause of an earlier finding (conformance/causes.py)
        elif outcome == "passed" and record.get("warning"):
            outcome = "warned"
            entry["severity"] = "warn"  # what the finding is, whatever the case's severity
        if outcome != "passed" or report.when == "call":
            entry["outcome"] = outcome
            entry["message"] = _message(report)
        for key in RECORD_KEYS:
            if key in record:
                entry[key] = record[key]

    def build(self, envoy_version: str | None = None) -> dict[str, Any]:
        cases = list(self.cases.values())
        regroup(cases)
        counts = Counter(c["outcome"] for c in cases)
        areas: dict[str, dict[str, Any]] = {}
        for c in cases:
            area = areas.setdefault(c["area"], {"name": c["area"], "duration_s": 0.0, "counts": Counter()})
            area["duration_s"] = round(area["duration_s"] + c["duration_s"], 4)
            area["counts"][c["outcome"]] += 1
        failed = sum(counts[k] for k in FAILING)
        return {
            "$schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "tool": {
                "name": "pytest-proxy-wasm",
                "version": _version("pytest-proxy-wasm") or "unknown",
                "wasmtime": _version("wasmtime"),
                "pytest": _version("pytest"),
                "python": platform.python_version(),
            },
            "envoy_version": envoy_version,
            "backend": self.backend,
            "inputs": self.inputs,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "duration_s": round(time.time() - self.started, 3),
            # error: a harness fault left some case's result unknown (check exits 3)
            "verdict": "error"
            if any(c.get("harness_fault") for c in cases)
            else "fail"
            if failed or not cases
            else "pass",
            "counts": {k: counts.get(k, 0) for k in OUTCOMES},
            "areas": [{**a, "counts": {k: a["counts"].get(k, 0) for k in OUTCOMES}} for a in areas.values()],
            "modules": [
                module_info(p, [c for c in cases if c["module"] == p.name]) for p in self.module_paths
            ],
            "cases": cases,
        }


def module_info(path: Path, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Name, size, sha256, ABI, imports/exports, hostcall coverage and performance figures."""
    from ..host.abi.signatures import CALLBACKS, HOSTCALLS
    from ..host.runtime import Runtime

    data = path.read_bytes() if path.exists() else b""
    info: dict[str, Any] = {
        "name": path.name,
        "path": str(path),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "abi": None,
        "imports": [],
        "exports": [],
        "load_error": None,
    }
    runtime = Runtime()  # the on-disk cache: a Go module takes seconds to compile
    try:
        compiled = runtime.load(path)
        info.update(
            abi=compiled.abi.value,
            imports=[f"{m}.{n}" for m, n, _ in compiled.imports],
            exports=[n for n, _ in compiled.exports],
        )
    except Exception as exc:
        info["load_error"] = getattr(exc, "reason", str(exc))
    finally:
        runtime.close()
    hostcalls: Counter[str] = Counter()
    callbacks: Counter[str] = Counter()
    performance: dict[str, Any] = {}
    for c in cases:
        hostcalls.update(c.get("hostcalls", {}))
        callbacks.update(c.get("callbacks", {}))
        if c["area"] == "performance":
            performance.update(c["details"].get("figures", {}))
            if "callbacks" in c["details"]:
                performance["callbacks"] = c["details"]["callbacks"]
    imported = {i.split(".", 1)[1] for i in info["imports"]}
    known_hostcalls = {h.name for h in HOSTCALLS}
    exported_callbacks = {n for n in info["exports"] if n in {c.name for c in CALLBACKS}}
    info["coverage"] = {
        "hostcalls": dict(sorted(hostcalls.items())),
        "callbacks": dict(sorted(callbacks.items())),
        "imported_never_called": sorted((imported & known_hostcalls) - set(hostcalls)),
        "exported_never_called": sorted(exported_callbacks - set(callbacks)),
    }
    info["performance"] = performance
    return info
