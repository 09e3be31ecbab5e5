"""``pytest-proxy-wasm compare``: two builds of one source agree; a changed build or configuration shows
exactly the fields that changed; exit codes, accept rules, JSON and HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
GO = ROOT / "fixtures" / "go"
HEADERS, REBUILT, V2 = GO / "headers.wasm", GO / "headers_rebuilt.wasm", GO / "headers_v2.wasm"
REQUESTS = ["--request", "GET /a", "--request", "POST /b"]
BACKENDS = [
    "emulator",
    pytest.param(
        "envoy", marks=pytest.mark.skipif(envoy_unavailable_reason("envoy") is not None, reason="no Envoy")
    ),
]


def compare(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, dict[str, Any]]:
    status = main(["compare", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out) if out.strip() else {}


def changed_fields(data: dict[str, Any]) -> list[set[str]]:
    """Per request (start-up first): the fields that differ."""
    return [{d["field"] for d in item["differences"]} for item in data["requests"]]


def test_the_two_builds_really_are_different_files() -> None:
    assert HEADERS.read_bytes() != REBUILT.read_bytes()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_builds_of_the_same_source_behave_the_same(
    capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    status, data = compare(capsys, HEADERS, REBUILT, *REQUESTS, "--backend", backend)
    assert status == 0
    assert data["same"] is True
    assert changed_fields(data) == [set(), set(), set()]
    assert data["counts"] == {"requests": 2, "differ": 0, "same": 2, "accepted": 0, "startup_differs": 0}
    assert data["old"]["sha256"] != data["new"]["sha256"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_build_shows_exactly_the_changed_fields(
    capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    status, data = compare(capsys, HEADERS, V2, *REQUESTS, "--backend", backend)
    assert status == 3
    assert changed_fields(data) == [
        set(),
        {"response_headers", "plugin_logs"},
        {"response_headers", "plugin_logs"},
    ]
    first = data["requests"][1]["differences"]
    headers = next(d for d in first if d["field"] == "response_headers")
    assert ["x-wasm-response", "world"] in headers["old"]
    assert ["x-wasm-response", "world-v2"] in headers["new"]
    logs = next(d for d in first if d["field"] == "plugin_logs")
    assert [2, "headers v2: /a"] in logs["new"] and [2, "headers v2: /a"] not in logs["old"]


def test_a_changed_configuration_shows_exactly_the_changed_field(capsys: pytest.CaptureFixture[str]) -> None:
    config = '{"request_header": ["x-wasm-request", "bye"]}'
    status, data = compare(capsys, HEADERS, HEADERS, *REQUESTS, "--new-plugin-config", config)
    assert status == 3
    assert changed_fields(data) == [set(), {"upstream_request.headers"}, {"upstream_request.headers"}]
    [difference] = data["requests"][1]["differences"]
    assert ["x-wasm-request", "hello"] in difference["old"] and ["x-wasm-request", "bye"] in difference["new"]
    assert data["new"]["plugin_config"] == config and data["old"]["plugin_config"] == ""


def test_both_sides_get_the_common_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    config = '{"request_header": ["x-wasm-request", "bye"]}'
    status, data = compare(capsys, HEADERS, REBUILT, "--request", "GET /", "--plugin-config", config)
    assert status == 0 and data["old"]["plugin_config"] == data["new"]["plugin_config"] == config


def test_the_first_divergent_call_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    status, data = compare(capsys, HEADERS, V2, "--request", "GET /a")
    assert status == 3
    divergence = data["requests"][1]["divergence"]
    assert "first divergent call" in divergence and "headers v2: /a" in divergence
    status, data = compare(capsys, HEADERS, V2, "--request", "GET /a", "--no-trace")
    assert data["requests"][1]["divergence"] is None


def test_accepted_changes_exit_zero_and_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    status, data = compare(
        capsys,
        HEADERS,
        V2,
        *REQUESTS,
        "--accept",
        "response_headers:x-wasm-response",
        "--accept",
        "plugin_logs:^headers v2: ",
    )
    assert status == 0, data
    assert data["same"] is True
    assert [{d["field"] for d in item["accepted"]} for item in data["requests"]] == [
        set(),
        {"response_headers", "plugin_logs"},
        {"response_headers", "plugin_logs"},
    ]


def test_accepting_one_header_keeps_other_header_changes(capsys: pytest.CaptureFixture[str]) -> None:
    config = '{"response_header": ["x-other", "1"]}'
    status, data = compare(
        capsys,
        HEADERS,
        HEADERS,
        "--request",
        "GET /",
        "--new-plugin-config",
        config,
        "--accept",
        "response_headers:x-wasm-response",
    )
    assert status == 3
    [difference] = data["requests"][1]["differences"]
    assert difference["field"] == "response_headers" and ["x-other", "1"] in difference["new"]


def test_an_allow_list_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    allow = tmp_path / "allow.yaml"
    allow.write_text(
        "accept:\n  - plugin_logs\n"
        "  - field: response_headers:x-wasm-response\n    reason: v2 renames the value\n"
    )
    status, data = compare(capsys, HEADERS, V2, "--request", "GET /", "--accept-file", allow)
    assert status == 0
    assert {"rule": "response_headers:x-wasm-response", "reason": "v2 renames the value"} in data["accept"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("accept: [nonsense]", "unknown field 'nonsense'"),
        ("accept: [status:x]", "takes no ':' part"),
        ("accept: ['plugin_logs:(']", "bad regex"),
        ("accept: [{field: status, because: x}]", "unknown key(s) ['because']"),
        ("nothing: here", "expected an 'accept' list"),
    ],
)
def test_a_bad_allow_list_names_the_entry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    allow = tmp_path / "allow.yaml"
    allow.write_text(content)
    assert main(["compare", str(HEADERS), str(V2), "--accept-file", str(allow)]) == 2
    err = capsys.readouterr().err
    assert message in err and "allow.yaml" in err


def test_an_unknown_accept_field_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(HEADERS), str(V2), "--accept", "headerz"]) == 2
    assert "--accept: unknown field 'headerz'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("hostile/not_wasm.wasm", "NEW module"),
        ("hostile/trap_configure.wasm", "NEW module"),
        ("go/no_such.wasm", "no such file"),
    ],
)
def test_a_module_that_cannot_load_exits_2(
    capsys: pytest.CaptureFixture[str], module: str, message: str
) -> None:
    assert main(["compare", str(HEADERS), str(ROOT / "fixtures" / module)]) == 2
    captured = capsys.readouterr()
    assert (
        message in captured.err and module.split("/")[1] in captured.err and "Traceback" not in captured.err
    )


def test_default_request_and_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(HEADERS), str(V2)]) == 3
    out = capsys.readouterr().out
    assert "≠ GET /  [default (no request given)]: 2 difference(s)" in out
    assert "only in old: [('x-wasm-response', 'world')]" in out
    assert out.rstrip().endswith("DIFFERENT: 1 request(s), 1 differ, 0 same")


def test_requests_file_as_check_reads_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "requests.yaml"
    scenario.write_text("requests:\n  - {method: PUT, path: /p, headers: {x-remove-me: '1'}, body: abc}\n")
    status, data = compare(capsys, HEADERS, V2, "--requests", scenario)
    assert status == 3 and data["requests"][1]["request"] == "PUT /p"
    assert data["requests"][1]["source"] == "requests.yaml: requests[0]"


def test_html_page(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    assert main(["compare", str(HEADERS), str(V2), "--request", "GET /a", "--html", str(page)]) == 3
    html = page.read_text()
    assert 'id="verdict" class="verdict different">DIFFERENT' in html
    assert "<code>response_headers</code>" in html and "x-wasm-response: world-v2" in html
    assert "[info] headers v2: /a" in html
    assert "headers_v2.wasm" in html


SCENARIOS = ROOT / "fixtures" / "scenarios"
RUST = ROOT / "fixtures" / "rust"


def test_a_scenario_runs_on_both_sides_with_its_plugin_replaced(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = SCENARIOS / "rust-basic-auth.proxywasm.yaml"
    status, data = compare(capsys, RUST / "basic_auth.wasm", GO / "basic_auth.wasm", "--scenario", scenario)
    assert status == 0, data
    assert [r["request"] for r in data["requests"]] == [
        "(start-up) rust-basic-auth.proxywasm.yaml",
        "no credentials",
        "the right credentials",
    ]
    assert data["requests"][1]["source"] == "rust-basic-auth.proxywasm.yaml: steps[0]"


def test_a_scenario_keeps_its_configuration_unless_one_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = SCENARIOS / "rust-basic-auth.proxywasm.yaml"
    config = '{"username": "admin", "password": "s3cret", "realm": "x"}'
    basic = RUST / "basic_auth.wasm"
    status, data = compare(capsys, basic, basic, "--scenario", scenario, "--new-plugin-config", config)
    assert status == 3
    assert changed_fields(data) == [{"startup_logs"}, {"response_headers"}, set()]


def test_a_scenario_with_no_such_plugin_index(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = SCENARIOS / "rust-basic-auth.proxywasm.yaml"
    assert (
        main(["compare", str(HEADERS), str(V2), "--scenario", str(scenario), "--scenario-plugin", "3"]) == 2
    )
    assert "no plugins[3] to replace (it has 1)" in capsys.readouterr().err


def test_traffic_replayed_with_its_recorded_answers(capsys: pytest.CaptureFixture[str]) -> None:
    har = ROOT / "tests" / "data" / "traffic" / "shop.har"
    status, data = compare(capsys, HEADERS, REBUILT, "--traffic", har)
    assert status == 0 and data["counts"]["requests"] == 5
    assert [note.split(" skipped ")[0] for note in data["skipped"]] == [
        "shop.har: entries[5]: GET https://cdn.example.net/analytics.js"
    ]
    status, data = compare(capsys, HEADERS, V2, "--traffic", har, "--no-trace")
    assert status == 3 and data["counts"]["differ"] == 5
    assert data["requests"][4]["input"]["upstream_status"] == 201  # the recorded answer of the POST
