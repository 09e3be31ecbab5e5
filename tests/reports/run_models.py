"""Hypothesis strategies for run models: every outcome, every evidence shape (replays with and without
panic lines, inputs with and without an outcome, TCP answers), older schema versions with fields missing,
and text with control characters, Latin-1, backticks, markup and lone surrogates."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from pytest_proxy_wasm.reports.model import OUTCOMES

TEXT = st.text(st.characters(exclude_categories=()), max_size=30) | st.sampled_from(
    ["", "```", "<script>x</script>", "| a | b |", "\x00\x1b[31m", "caf\xe9", "\ud800", "{{ x }}", "a\nb"]
)
KEY = st.text("abcdefghij_.", min_size=1, max_size=8)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=3),
    max_leaves=8,
)


def optional(required: dict[str, Any], optional_keys: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(required, optional=optional_keys)


HTTP_OUTCOME = optional(
    {"status": st.none() | st.integers(0, 999), "plugin_failed": st.none() | TEXT},
    {"local_reply": st.booleans(), "hung": st.booleans(), "reset": st.booleans(), "details": TEXT},
)
TCP_OUTCOME = st.fixed_dictionaries(
    {
        "status": st.none(),
        "plugin_failed": st.none() | TEXT,
        "closed_by": TEXT,
        "client_received": TEXT,
        "upstream_received": TEXT,
    }
)
REPLAY = optional(
    {
        "verdict": st.sampled_from(["confirmed", "emulator only", "not replayed"]),
        "label": TEXT,
        "detail": TEXT,
    },
    {
        "envoy": TEXT,
        "outcomes": st.lists(HTTP_OUTCOME | TCP_OUTCOME, max_size=2),
        "panic": st.lists(TEXT, max_size=3),  # a replay that never ran has none: the crash of issue 21
        "log_tail": st.lists(TEXT, max_size=3),
        "hung": st.booleans(),
    },
)
EVIDENCE = optional(
    {
        "inputs": st.lists(
            st.fixed_dictionaries(
                {
                    "request": st.dictionaries(KEY, JSONISH, max_size=3),
                    "text": TEXT,
                    "outcome": st.none() | HTTP_OUTCOME | TCP_OUTCOME,
                }
            ),
            max_size=3,
        ),
        "source": TEXT,
        "callback": st.none() | TEXT,
        "trap": st.none() | TEXT,
        "panic": st.lists(TEXT, max_size=3),
        "log_tail": st.lists(TEXT, max_size=3),
        "replay": st.none() | REPLAY,
    },
    {"failure_kind": st.none() | TEXT, "note": TEXT},
)
CAUSE = st.none() | st.fixed_dictionaries({"key": TEXT, "label": TEXT})
DETAILS = st.dictionaries(KEY, JSONISH, max_size=3) | optional(
    {}, {"shrunk_input": JSONISH, "seed": JSONISH, "trace": JSONISH, "warning": TEXT, "figures": JSONISH}
)
CASE_ID = st.builds(
    lambda a, b: f"{a}.{b}",
    st.text("abcdef_", min_size=1, max_size=6),
    st.text("xyz_1", min_size=1, max_size=6),
)


@st.composite
def cases(draw: st.DrawFn, module_names: list[str]) -> dict[str, Any]:
    case_id = draw(CASE_ID)
    required = {
        "id": case_id,
        "area": case_id.split(".")[0],
        "title": draw(TEXT),
        "rule": draw(TEXT),
        "module": draw(st.sampled_from(module_names)),
        "outcome": draw(st.sampled_from(OUTCOMES)),
        "duration_s": draw(st.floats(0, 100)),
        "message": draw(TEXT),
        "details": draw(DETAILS),
        "logs": draw(st.lists(TEXT, max_size=3)),
        "expected_failure": draw(st.none() | TEXT),
    }
    extra = draw(
        optional(
            {},
            {
                "evidence": st.none() | EVIDENCE,  # absent in version 1 runs
                "hostcalls": st.dictionaries(KEY, st.integers(0, 9)),
                "callbacks": st.dictionaries(KEY, st.integers(0, 9)),
                "severity": st.sampled_from(["fail", "warn"]),
                "warning": st.none() | TEXT,
                "cause": CAUSE,
                "blocked_by": st.none() | CASE_ID,
                "blocks": st.lists(CASE_ID, max_size=3),
            },
        )
    )
    return {**required, **extra}


COUNTS = st.fixed_dictionaries({k: st.integers(0, 5) for k in OUTCOMES})
MODULE_NAMES = st.lists(st.text("abc_.", min_size=1, max_size=6), min_size=1, max_size=2, unique=True)


@st.composite
def modules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    figures = st.dictionaries(
        KEY, optional({}, {"mean_us": st.floats(allow_nan=True) | TEXT, "p95_us": JSONISH})
    )
    return {
        "name": name,
        "path": draw(TEXT),
        "size": draw(st.integers(0, 10**8)),
        "sha256": draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
        "abi": draw(st.sampled_from(["0.1.0", "0.2.0", "0.2.1", None])),
        "imports": draw(st.lists(TEXT, max_size=3)),
        "exports": draw(st.lists(TEXT, max_size=3)),
        "load_error": draw(st.none() | TEXT),
        "coverage": draw(
            optional(
                {},
                {
                    "hostcalls": st.dictionaries(KEY, st.integers(0, 10**6)),
                    "callbacks": st.dictionaries(KEY, st.integers(0, 10**6)),
                    "imported_never_called": st.lists(TEXT, max_size=2),
                    "exported_never_called": st.lists(TEXT, max_size=2),
                },
            )
        ),
        "performance": draw(optional({}, {"callbacks": figures, "request_us": JSONISH})),
    }


@st.composite
def run_models(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(MODULE_NAMES)
    case_list = draw(st.lists(cases(names), max_size=6))
    areas = sorted({c["area"] for c in case_list} | set(draw(st.lists(KEY, max_size=2))))
    return {
        "$schema": "x",
        "schema_version": draw(st.sampled_from([1, 2, 3])),
        "tool": draw(
            optional(
                {"name": st.just("pytest-proxy-wasm"), "version": TEXT},
                {"wasmtime": st.none() | TEXT, "pytest": st.none() | TEXT, "python": TEXT},
            )
        ),
        "envoy_version": draw(st.none() | TEXT),
        "backend": draw(st.sampled_from(["emulator", "envoy", "diff", "container", "all"])),
        "inputs": draw(st.dictionaries(KEY, JSONISH, max_size=2)),
        "started_at": "2026-01-01T00:00:00Z",
        "duration_s": draw(st.floats(0, 1000)),
        "verdict": draw(st.sampled_from(["pass", "fail"])),
        "counts": draw(COUNTS),
        "areas": [{"name": a, "duration_s": draw(st.floats(0, 50)), "counts": draw(COUNTS)} for a in areas],
        "modules": [draw(modules(n)) for n in names],
        "cases": case_list,
    }
