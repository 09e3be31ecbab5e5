"""The run model every writer renders: each field a writer reads present, with its type.

Runs saved by older versions (schema 1 and 2), hooks that edit the model (``pytest_proxy_wasm_update_report``)
and evidence of every shape (a replay that never ran has no panic lines, an input no outcome) all come
out with the same keys, so a writer never meets a missing field.
"""

from __future__ import annotations

import math
from typing import Any

from .model import FAILING, OUTCOMES


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _text(value: Any, default: str = "") -> str:
    return default if value is None else value if isinstance(value, str) else str(value)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _counts(value: Any) -> dict[str, int]:
    given = _dict(value)
    out = {k: int(_number(given.get(k, 0))) for k in OUTCOMES}
    out.update({str(k): int(_number(v)) for k, v in given.items() if k not in out})
    return out


def _tally(cases: list[dict[str, Any]]) -> dict[str, int]:
    seen = {*OUTCOMES, *(c["outcome"] for c in cases)}
    return _counts({k: sum(c["outcome"] == k for c in cases) for k in seen})


def _strings(value: Any) -> list[str]:
    return [_text(v) for v in _list(value)]


def evidence(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    inputs = []
    for given in _list(value.get("inputs")):
        item = _dict(given)
        outcome = item.get("outcome")
        inputs.append(
            {
                "request": _dict(item.get("request")),
                "text": _text(item.get("text")),
                "outcome": {**_dict(outcome), "status": _dict(outcome).get("status"),
                            "plugin_failed": _dict(outcome).get("plugin_failed")}
                if isinstance(outcome, dict) else None,
            }
        )  # fmt: skip
    replay = value.get("replay")
    if isinstance(replay, dict):
        replay = {
            **replay,
            "verdict": _text(replay.get("verdict"), "not replayed"),
            "label": _text(replay.get("label"), "not replayed on Envoy"),
            "detail": _text(replay.get("detail")),
            "envoy": _text(replay.get("envoy"), "Envoy"),
            "outcomes": [_dict(o) for o in _list(replay.get("outcomes"))],
            "panic": _strings(replay.get("panic")),
            "log_tail": _strings(replay.get("log_tail")),
        }
    else:
        replay = None
    return {
        **value,
        "inputs": inputs,
        "source": _text(value.get("source")),
        "callback": value.get("callback") and _text(value.get("callback")),
        "trap": value.get("trap") and _text(value.get("trap")),
        "failure_kind": value.get("failure_kind") and _text(value.get("failure_kind")),
        "panic": _strings(value.get("panic")),
        "log_tail": _strings(value.get("log_tail")),
        "note": _text(value.get("note")),
        "replay": replay,
    }


def case(value: Any) -> dict[str, Any]:
    c = _dict(value)
    outcome = _text(c.get("outcome"), "error")
    details = _dict(c.get("details"))
    warning = c.get("warning")
    if warning is None and outcome == "passed" and details.get("warning"):
        outcome, warning = "warned", details["warning"]  # a run saved before warnings had an outcome
    cause = c.get("cause")
    return {
        **c,
        "id": _text(c.get("id"), "unknown.case"),
        "area": _text(c.get("area"), "unknown"),
        "title": _text(c.get("title")),
        "rule": _text(c.get("rule")),
        "module": _text(c.get("module")),
        "outcome": outcome,
        "duration_s": _number(c.get("duration_s")),
        "message": _text(c.get("message")),
        "expected_failure": c.get("expected_failure") and _text(c.get("expected_failure")),
        "details": details,
        "logs": _strings(c.get("logs")),
        "hostcalls": _dict(c.get("hostcalls")),
        "callbacks": _dict(c.get("callbacks")),
        "evidence": evidence(c.get("evidence")),
        "severity": _text(c.get("severity"), "fail"),
        "warning": None if warning is None else _text(warning),
        "cause": {"key": _text(_dict(cause).get("key")), "label": _text(_dict(cause).get("label"))}
        if isinstance(cause, dict) else None,
        "blocked_by": c.get("blocked_by") and _text(c.get("blocked_by")),
        "blocks": _strings(c.get("blocks")),
    }  # fmt: skip


def module(value: Any) -> dict[str, Any]:
    m = _dict(value)
    coverage = _dict(m.get("coverage"))
    performance = _dict(m.get("performance"))
    callbacks = {
        _text(name): {**_dict(figures), "mean_us": _number(_dict(figures).get("mean_us"))}
        for name, figures in _dict(performance.get("callbacks")).items()
    }
    return {
        **m,
        "name": _text(m.get("name")),
        "path": _text(m.get("path")),
        "size": int(_number(m.get("size"))),
        "sha256": _text(m.get("sha256")),
        "abi": m.get("abi") and _text(m.get("abi")),
        "imports": _strings(m.get("imports")),
        "exports": _strings(m.get("exports")),
        "load_error": m.get("load_error") and _text(m.get("load_error")),
        "coverage": {
            "hostcalls": {_text(k): int(_number(v)) for k, v in _dict(coverage.get("hostcalls")).items()},
            "callbacks": {_text(k): int(_number(v)) for k, v in _dict(coverage.get("callbacks")).items()},
            "imported_never_called": _strings(coverage.get("imported_never_called")),
            "exported_never_called": _strings(coverage.get("exported_never_called")),
        },
        "performance": {**performance, "callbacks": callbacks},
    }


def normalize(model: Any) -> dict[str, Any]:
    """A copy of ``model`` that every writer can render."""
    m = _dict(model)
    cases = [case(c) for c in _list(m.get("cases"))]
    # the counts are the cases' (a saved passed-with-warning case is now counted as warned)
    counts = _tally(cases) if cases else _counts(m.get("counts"))
    tool = _dict(m.get("tool"))
    verdict = _text(m.get("verdict"))
    if verdict not in ("pass", "fail"):
        verdict = "fail" if not cases or any(c["outcome"] in FAILING for c in cases) else "pass"
    areas = []
    for given in _list(m.get("areas")):
        area = _dict(given)
        area.update(name=_text(area.get("name"), "unknown"), duration_s=_number(area.get("duration_s")))
        mine = [c for c in cases if c["area"] == area["name"]]
        areas.append({**area, "counts": _tally(mine) if mine else _counts(area.get("counts"))})
    return {
        **m,
        "tool": {
            **tool,
            "name": _text(tool.get("name"), "pytest-proxy-wasm"),
            "version": _text(tool.get("version"), "unknown"),
            "wasmtime": tool.get("wasmtime"),
        },
        "envoy_version": m.get("envoy_version") and _text(m.get("envoy_version")),
        "backend": _text(m.get("backend"), "emulator"),
        "inputs": _dict(m.get("inputs")),
        "started_at": _text(m.get("started_at")),
        "duration_s": _number(m.get("duration_s")),
        "verdict": verdict,
        "counts": counts,
        "areas": areas,
        "modules": [module(x) for x in _list(m.get("modules"))],
        "cases": cases,
    }
