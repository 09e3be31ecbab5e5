"""Findings replayed on Envoy (``--backend diff``): the panicking header reader and the Go body summer are
confirmed on Envoy 1.40; a finding Envoy does not show is marked emulator only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.conformance.cases import Target
from pytest_proxy_wasm.conformance.evidence import Evidence, Exchange, PluginSetup
from pytest_proxy_wasm.conformance.replay import envoy_label, replay
from pytest_proxy_wasm.host.abi.enums import FailurePolicy
from pytest_proxy_wasm.outcome import Outcome

from .test_evidence import PANIC, compile_wat

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def diff_check(tmp_path: Path, module: Path, case_id: str, *extra: str) -> dict[str, Any]:
    reports = tmp_path / "reports"
    code = main(
        [
            "check",
            str(module),
            "-q",
            "--seed",
            "1",
            "--backend",
            "diff",
            "--select",
            case_id,
            "--report-dir",
            str(reports),
            *extra,
        ]
    )
    assert code == 1
    model = json.loads((reports / "run.json").read_text())
    case = next(c for c in model["cases"] if c["id"] == case_id)
    evidence: dict[str, Any] = case["evidence"]
    return evidence


def test_envoy_label_names_the_binary_version() -> None:
    assert envoy_label() == "Envoy 1.40"


def test_header_panic_is_confirmed_on_envoy(tmp_path: Path) -> None:
    module = compile_wat("utf8_panic", tmp_path)
    ev = diff_check(tmp_path, module, "http_robustness.header_maps")
    replayed = ev["replay"]
    assert (replayed["verdict"], replayed["label"]) == ("confirmed", "confirmed on Envoy 1.40")
    assert replayed["outcomes"][0]["plugin_failed"]
    assert any(PANIC in line for line in replayed["panic"])  # Envoy logged the same panic


@pytest.mark.skipif(
    not (FIXTURES / "rust" / "string_headers.wasm").exists(), reason="samples: rust/string_headers.wasm"
)
def test_rust_string_headers_panic_is_confirmed_on_envoy(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text('requests:\n  - {method: GET, path: /, headers: {x-name: "caf\\xe9"}}\n')
    ev = diff_check(
        tmp_path,
        FIXTURES / "rust" / "string_headers.wasm",
        "failure_policy.fail_closed_battery",
        "--requests",
        str(scenario),
    )
    assert ev["inputs"][0]["request"]["headers"] == [["x-name", 'b"caf\\xe9"']]
    assert any("panicked at" in line and "FromUtf8Error" in line for line in ev["panic"])
    assert ev["replay"]["label"] == "confirmed on Envoy 1.40"


def test_go_body_sum_is_confirmed_on_envoy(tmp_path: Path) -> None:
    ev = diff_check(tmp_path, FIXTURES / "go" / "body_sum.wasm", "http_robustness.body_chunking")
    statuses = sorted(item["outcome"]["status"] for item in ev["inputs"])
    assert statuses == [200, 400]
    assert {len(item["request"]["body"]) for item in ev["inputs"]} == {1, 2}  # one frame vs two
    assert ev["replay"]["label"] == "confirmed on Envoy 1.40"
    assert sorted(o["status"] for o in ev["replay"]["outcomes"]) == [200, 400]


def test_a_failure_envoy_does_not_show_is_emulator_only() -> None:
    """An exchange the emulator (say) failed with 503 that Envoy serves fine."""
    module = FIXTURES / "rust" / "headers.wasm"
    setup = PluginSetup("", "headers", "", "", b"", b"", {}, FailurePolicy.FAIL_CLOSED, True)
    failed = Outcome(503, [], b"", None, [], plugin_failed="proxy_on_request_headers: unreachable")
    ev = Evidence(raw=[Exchange({"method": "GET", "path": "/"}, [setup], failed, 0, [])])
    replayed = replay(Target(module=module), ev)
    assert (replayed["verdict"], replayed["label"]) == ("emulator only", "emulator only")
    assert replayed["outcomes"][0]["status"] == 200


def test_a_hung_exchange_is_replayed_and_an_answer_is_emulator_only() -> None:
    """A request that hung on the emulator is sent to Envoy too (it gets 5 s to answer); an Envoy
    without the plugin answers, so the hang is the emulator's only."""
    hung = Outcome(None, [], b"", None, [], hung=True)
    ev = Evidence(raw=[Exchange({"path": "/"}, [], hung, 0, [])])
    record = replay(Target(module=FIXTURES / "rust" / "headers.wasm"), ev)
    assert (record["verdict"], record["hung"]) == ("emulator only", False)
    assert record["detail"].startswith("emulator hung (no answer), Envoy 1.40 200")


def test_check_diff_sends_the_users_request(tmp_path: Path) -> None:
    """Only /v2 differs between the backends (the reply carries the host's clock): the generated
    requests pass, ``--request 'GET /v2/'`` makes the differential case fail on it."""
    module = compile_wat("time_on_v2", tmp_path)
    args = [
        "check",
        str(module),
        "-q",
        "--seed",
        "1",
        "--backend",
        "diff",
        "--select",
        "differential",
        "--examples",
        "5",
    ]
    assert main(args) == 0
    ev = diff_check(
        tmp_path, module, "differential.generated_requests", "--examples", "5", "--request", "GET /v2/"
    )
    assert ev["source"] == "your request (--request/--requests)"
    assert ev["inputs"][0]["text"].startswith("GET /v2/")
    assert "response_body" in ev["note"]


def test_replay_declares_the_clusters_the_emulator_answered() -> None:
    """callout-auth calls a cluster the case host answered with its default "200 ok" (odd first byte:
    403); the replay gives Envoy that cluster with the same answer, so Envoy agrees."""
    from pytest_proxy_wasm.conformance.cases import CaseRun
    from pytest_proxy_wasm.host.runtime import Runtime

    runtime = Runtime(cache_dir=None)
    try:
        run = CaseRun(Target(module=FIXTURES / "rust" / "callout_auth.wasm"), runtime)
        host, plugin = run.started()
        assert host.request(plugin, path="/x").status == 403
        run.evidence(input={"path": "/x"})  # as a case names the request that shows its finding
        run.close()
        ev = run.finding()
    finally:
        runtime.close()
    assert ev.inputs[0]["outcome"]["status"] == 403
    replayed = replay(run.target, ev)
    assert replayed["label"] == "confirmed on Envoy 1.40", replayed
    assert replayed["outcomes"][0]["status"] == 403


def test_a_tcp_connection_is_evidence_and_replays_on_envoy(tmp_path: Path) -> None:
    from pytest_proxy_wasm.conformance.cases import CaseRun
    from pytest_proxy_wasm.host.runtime import Runtime

    runtime = Runtime(cache_dir=None)
    try:
        run = CaseRun(Target(module=compile_wat("tcp_trap", tmp_path)), runtime)
        host, plugin = run.started()
        host.connect(plugin, downstream=[b"\x80\x01"])
        run.close()
        ev = run.finding()
    finally:
        runtime.close()
    [item] = ev.inputs
    assert item["text"] == 'TCP · client sends b"\\x80\\x01" · closed by downstream'
    assert ev.callback == "proxy_on_downstream_data"
    assert ev.panic == ["[critical] panicked at src/lib.rs:7:9: frame too short"]
    replayed = replay(run.target, ev)
    assert replayed["label"] == "confirmed on Envoy 1.40", replayed
