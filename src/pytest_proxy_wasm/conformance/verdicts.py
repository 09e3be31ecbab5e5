"""Run cases in-process (no pytest session) and the verdicts of the shipped samples.

``pytest-proxy-wasm check`` runs cases as pytest items (conformance/plugin.py); this runner applies the
same rules (kind-driven selection, warnings that pass, stand-in callout failures as warnings) for the
samples table in docs/conformance.md and for tests that assert a verdict per sample class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModuleLoadError, PluginStartError
from ..host.proxy_crash import ProxyCrash
from ..host.runtime import Runtime
from .cases import REGISTRY, CaseFailure, CaseRun, CaseWarning, NotApplicable, Target
from .causes import cause_of, regroup
from .classify import classify, skip_reason
from .registry import load_cases
from .support import crash_skip_reason, synthetic_callout_failure

ROOT = Path(__file__).resolve().parents[3]
SAMPLES_JSON = ROOT / "docs" / "conformance-samples.json"
RESULT_KEYS = ("outcome", "message", "details", "warning")


@dataclass(frozen=True)
class Sample:
    """A sample plugin, the class of module it stands for, and the cases its verdict rests on."""

    module: str  # path under fixtures/
    reproduces: str
    select: tuple[str, ...]  # areas or case ids
    expect_failed: tuple[str, ...] = ()  # the real findings; every other selected case must not fail
    plugin_config: bytes = b""


SAMPLES = (
    Sample(
        "go/canary.wasm",
        "a Go plugin that routes on a random draw (canary_percent 50)",
        ("isolation",),
        plugin_config=b'{"canary_percent": 50}',
    ),
    Sample("rust/service.wasm", "a root-only service (ticks, queue, shared data)", ("lifecycle", "service")),
    Sample("rust/tcp.wasm", "a Rust network (L4) filter", ("lifecycle", "tcp_robustness", "isolation")),
    Sample("go/tcp.wasm", "a Go network (L4) filter", ("lifecycle", "tcp_robustness", "isolation")),
    Sample(
        "rust/string_headers.wasm",
        "a Rust plugin reading headers with the SDK's String API",
        ("http_robustness.header_maps",),
        ("http_robustness.header_maps",),
    ),
    Sample(
        "go/body_sum.wasm",
        "a Go plugin adding up on_request_body sizes",
        ("http_robustness.body_chunking",),
        ("http_robustness.body_chunking",),
    ),
    Sample("go/headers.wasm", "a Go (wasip1) module whose heap warms up", ("resources.memory_bounded",)),
    Sample(
        "go/authz_shim.wasm",
        "a Go gRPC auth shim whose cluster name 'authorino' crashes Envoy 1.40",
        ("lifecycle",),
        ("lifecycle.envoy_survives",),
    ),
    Sample(
        "go/bot_detect.wasm",
        "a Go plugin holding requests without User-Agent forever (one hang: one finding, the rest blocked)",
        ("http_robustness", "isolation", "failure_policy", "resources.memory_bounded"),
        ("http_robustness.generated_exchanges",),
    ),
)


def run_case(
    case_id: str, target: Target, runtime: Runtime, classification: dict[str, Any]
) -> dict[str, Any]:
    """One case: ``{"outcome": passed|failed|skipped, "message": ..., "warning"?: ...}``."""
    case = REGISTRY[case_id]
    reason = skip_reason(case, classification, target.kind)
    if reason:
        return {"outcome": "skipped", "message": reason}
    run = CaseRun(target, runtime, classification=classification)
    try:
        try:
            case.func(run)
        except CaseFailure as exc:
            crash = next((h.proxy_crash for h in run.hosts if h.proxy_crash), None)
            if crash is not None and case_id != "lifecycle.envoy_survives":  # as the check does
                return {"outcome": "skipped", "message": crash_skip_reason(crash)}
            stand_in = synthetic_callout_failure(run)
            if case.severity != "warn" and stand_in is None and not isinstance(exc, CaseWarning):
                run.close()
                cause = cause_of(str(exc), run.finding().to_json())
                found = {"outcome": "failed", "message": str(exc), "details": run.details}
                return {**found, "cause": cause.to_json()} if cause else found
            return {"outcome": "passed", "message": "", "warning": f"{exc} {stand_in or ''}".strip()}
    except NotApplicable as exc:
        return {"outcome": "skipped", "message": str(exc)}
    except ProxyCrash as exc:
        return {"outcome": "skipped", "message": crash_skip_reason(exc)}
    except (ModuleLoadError, PluginStartError) as exc:
        return {"outcome": "failed", "message": str(exc)}
    finally:
        run.close()
    return {"outcome": "passed", "message": "", "details": run.details}


def selected(select: tuple[str, ...]) -> list[str]:
    load_cases()
    return [c.id for c in REGISTRY.values() if c.id in select or c.area in select]


def sample_verdict(sample: Sample, runtime: Runtime, fixtures: Path, seed: int = 1) -> dict[str, Any]:
    target = Target(
        module=(fixtures / sample.module).resolve(), plugin_config=sample.plugin_config, seed=seed
    )
    kind = classify(CaseRun(target, runtime))
    cases = {case_id: run_case(case_id, target, runtime, kind) for case_id in selected(sample.select)}
    grouped = [{"id": c, "module": sample.module, "title": REGISTRY[c].title, **r} for c, r in cases.items()]
    regroup(grouped)  # one cause, one finding (causes.py)
    for entry in grouped:
        cases[entry["id"]] = {k: v for k, v in entry.items() if k in RESULT_KEYS}
    failed = sorted(c for c, r in cases.items() if r["outcome"] == "failed")
    return {
        "module": sample.module,
        "reproduces": sample.reproduces,
        "kind": kind["kind"],
        "verdict": "fail" if failed else "pass",
        "failed": failed,
        "cases": {c: {k: v for k, v in r.items() if k != "details"} for c, r in cases.items()},
    }


def write_samples(runtime: Runtime, fixtures: Path, path: Path = SAMPLES_JSON) -> list[dict[str, Any]]:
    """Run every sample and store the verdicts (docs/conformance-samples.json) for the docs table."""
    verdicts = [sample_verdict(s, runtime, fixtures) for s in SAMPLES if (fixtures / s.module).exists()]
    path.write_text(json.dumps(verdicts, indent=1, sort_keys=True) + "\n")
    return verdicts


def load_samples(path: Path = SAMPLES_JSON) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else []


def samples_table(verdicts: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of the samples and their verdicts."""
    lines = [
        "| sample | reproduces | classified as | cases run | verdict |",
        "|---|---|---|---|---|",
    ]
    for v in verdicts:
        counts: dict[str, int] = {}
        for result in v["cases"].values():
            key = "warned" if result.get("warning") else result["outcome"]
            counts[key] = counts.get(key, 0) + 1
        ran = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        verdict = v["verdict"].upper() + (
            f": {', '.join(f'`{c}`' for c in v['failed'])}" if v["failed"] else ""
        )
        lines.append(f"| `{v['module']}` | {v['reproduces']} | {v['kind']} | {ran} | {verdict} |")
    return lines
