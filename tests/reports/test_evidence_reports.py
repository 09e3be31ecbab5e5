"""Report rendering of evidence: bytes as bytes, panic lines beside the finding, version 1 runs still read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.reports import render_html, render_markdown, schema
from pytest_proxy_wasm.reports.html import as_bytes, own_message
from pytest_proxy_wasm.reports.writers import load_json

PANIC = "[critical] panicked at src/lib.rs:3:9:\ncalled `Result::unwrap()` on an `Err` value: FromUtf8Error"


def _model() -> dict[str, Any]:
    evidence = {
        "inputs": [
            {
                "request": {"method": "GET", "path": "/", "headers": [["x-name", 'b"caf\\xe9"']]},
                "text": 'GET / · headers: x-name: b"caf\\xe9"',
                "outcome": {
                    "status": 503,
                    "local_reply": True,
                    "plugin_failed": "boom",
                    "hung": False,
                    "reset": False,
                    "details": "wasm_fail_stream",
                },
            }
        ],
        "source": "fixed input",
        "callback": "proxy_on_request_headers",
        "trap": "wasm trap: unreachable",
        "failure_kind": "unreachable",
        "panic": [PANIC],
        "log_tail": ["[info] a"] * 39 + [PANIC],
        "note": "",
        "replay": {
            "verdict": "confirmed",
            "label": "confirmed on Envoy 1.40",
            "detail": "emulator 503, Envoy 1.40 503",
            "envoy": "Envoy 1.40",
            "outcomes": [],
            "panic": [PANIC],
            "log_tail": [],
        },
    }
    case = {
        "id": "http_robustness.header_maps",
        "area": "http_robustness",
        "title": "t",
        "rule": "r",
        "module": "m.wasm",
        "outcome": "failed",
        "duration_s": 1.0,
        "message": "http_robustness.header_maps: failed\n  rule: r\n  input: ...",
        "details": {"shrunk_input": {"headers": [["x", "\x80"]]}, "seed": 1},
        "logs": [],
        "hostcalls": {},
        "callbacks": {},
        "expected_failure": None,
        "evidence": evidence,
    }
    return {
        "$schema": "x",
        "schema_version": 2,
        "tool": {
            "name": "pytest-proxy-wasm",
            "version": "0",
            "wasmtime": None,
            "pytest": None,
            "python": "3",
        },
        "envoy_version": None,
        "backend": "diff",
        "inputs": {},
        "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 1.0,
        "verdict": "fail",
        "counts": {"passed": 0, "failed": 1, "skipped": 0, "xfailed": 0, "xpassed": 0, "error": 0},
        "areas": [
            {
                "name": "http_robustness",
                "duration_s": 1.0,
                "counts": {"passed": 0, "failed": 1, "skipped": 0, "xfailed": 0, "xpassed": 0, "error": 0},
            }
        ],
        "modules": [],
        "cases": [case],
    }


def test_the_model_validates() -> None:
    jsonschema.validate(_model(), schema(2))  # a version 2 run, as saved by earlier releases


def test_html_shows_the_panic_and_the_envoy_verdict_beside_the_finding() -> None:
    html = render_html(_model())
    failing = html.split('id="failing"', 1)[1].split("Cases by area", 1)[0]
    assert "confirmed on Envoy 1.40" in failing
    assert "panicked at src/lib.rs:3:9" in failing.split('<pre class="panic">', 1)[1]
    assert "b&#34;caf\\xe9&#34;" in failing


def test_html_shows_latin1_decoded_details_as_bytes() -> None:
    assert as_bytes({"h": [["x", "\x80"], ["y", "plain"]]}) == {"h": [["x", 'b"\\x80"'], ["y", "plain"]]}
    html = render_html(_model())
    assert "\x80" not in html and "\\u0080" not in html


def test_the_page_shows_the_case_message_without_the_repeated_evidence() -> None:
    assert own_message("case: failed\n  rule: r\n  input: x") == "case: failed"


def test_markdown_has_an_envoy_column_and_a_fenced_evidence_block() -> None:
    text = render_markdown(_model())
    assert "| on Envoy |" in text and "confirmed on Envoy 1.40 |" in text
    block = (
        text.split("```text", 1)[1].split("```\n", 1)[0] if "```\n" in text else text.split("```text", 1)[1]
    )
    assert 'x-name: b"caf\\xe9"' in block and "panicked at" in block


def test_a_version_1_run_still_renders(tmp_path: Path) -> None:
    model = _model()
    model["schema_version"] = 1
    del model["inputs"]
    del model["cases"][0]["evidence"]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(model))
    loaded = load_json(path)
    assert loaded["cases"][0]["evidence"] is None
    out = tmp_path / "out.html"
    assert main(["report", str(path), "--html", str(out)]) == 0
    assert "Proxy-Wasm conformance" in out.read_text()
