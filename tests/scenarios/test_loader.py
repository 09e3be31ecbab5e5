"""Scenario files: the schema, errors naming file/line/field, and the model's YAML round trip."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from pytest_proxy_wasm.scenarios import (
    Cluster,
    Expect,
    HttpAnswer,
    PluginDecl,
    Request,
    Scenario,
    ScenarioError,
    Step,
    UpstreamAnswer,
    body_fields,
    dump_scenario,
    load_scenario,
    loads_scenario,
    scenario_schema,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"


def error_of(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="s.yaml")
    return info.value


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.proxywasm.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_round_trips(path: Path) -> None:
    scenario = load_scenario(path)
    again = loads_scenario(dump_scenario(scenario, relative_to=path.parent), base_dir=path.parent)
    assert again == scenario
    assert all(again.resolve(p.module).exists() for p in [*again.plugins, *again.services])


def test_a_wrong_type_names_file_line_and_field() -> None:
    text = "steps:\n  - request: {path: /}\n  - request: {path: /x}\n    expect:\n      status: ok\n"
    error = error_of(text)
    assert (error.source, error.line, error.field) == ("s.yaml", 5, "steps[1].expect.status")
    assert str(error).startswith("s.yaml:5: steps[1].expect.status: 'ok' is not of type")


def test_an_unknown_field_lists_the_allowed_ones() -> None:
    error = error_of("steps:\n  - request: {path: /}\n    expect: {statsu: 200}\n")
    assert error.line == 3
    assert error.field == "steps[0].expect"
    assert "unknown field 'statsu'; allowed: body, callouts," in error.reason


def test_fields_that_exclude_each_other_are_named() -> None:
    error = error_of("steps:\n  - request: {path: /, body: a, chunks: [b]}\n")
    assert error.field == "steps[0].request"
    assert error.reason == "these fields cannot be used together here: body and chunks"


def test_a_bad_header_check_form_is_named() -> None:
    error = error_of("steps:\n  - expect:\n      headers:\n        x-a: {startswith: b}\n")
    assert (error.line, error.field) == (4, "steps[0].expect.headers.x-a")


def test_a_bad_regex_is_refused() -> None:
    error = error_of("steps:\n  - expect: {logs: ['(unclosed']}\n")
    assert error.field == "steps[0].expect.logs[0]"


def test_steps_are_required_and_yaml_errors_have_a_line() -> None:
    assert error_of("plugins: []\n").reason == "'steps' is a required property"
    broken = error_of("steps:\n  - request: {path: /\n")
    assert broken.line is not None and "not valid YAML" in broken.reason


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.proxywasm\.yaml: scenario: cannot read"):
        load_scenario(tmp_path / "missing.proxywasm.yaml")


def test_a_scenario_built_in_code_dumps_to_yaml_the_loader_accepts(tmp_path: Path) -> None:
    module = tmp_path / "wasm" / "auth.wasm"
    scenario = Scenario(
        plugins=[PluginDecl(module=str(module), config={"user": "admin"})],
        clusters={
            "auth": Cluster(answers=[HttpAnswer(**body_fields(b"\xff\x00")), HttpAnswer(fail="reset")])
        },
        steps=[
            Step(
                request=Request(path="/x", headers={"a": "b"}),
                upstream=UpstreamAnswer(status=201, **body_fields(b"ok")),
                expect=Expect(status=201, upstream=True, body={"contains": "o"}),
            )
        ],
    )
    text = dump_scenario(scenario, relative_to=tmp_path / "scenarios")
    assert "module: ../wasm/auth.wasm" in text
    assert "body_base64: /wA=" in text
    loaded = loads_scenario(text, base_dir=tmp_path / "scenarios")
    assert loaded.resolve(loaded.plugins[0].module).resolve() == module
    loaded.plugins[0].module = str(module)
    assert loaded == scenario


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\x00\x01", "s.yaml: scenario: not valid YAML: unacceptable character #x0000"),
        ("", "s.yaml: scenario: None is not of type 'object'"),
        ("version: 2\nsteps: [{}]", "s.yaml:1: version: format version 2 is not known here"),
        ("steps:\n  - expect: {metrics: {a: {min: x}}}", "2: steps[0].expect.metrics.a.min: 'x' is"),
        ("steps:\n  - expect: {body: {json: 1, empty: true}}", "2: steps[0].expect.body: one check"),
        ("steps: [{}]\nclusters: {a: {answers: [{fail: reset, status: 200}]}}", "fail and status"),
        ("steps:\n  - upstream: {status: 99}", "s.yaml:2: steps[0].upstream.status: 99 is less than"),
    ],
)
def test_bad_input_is_named_never_a_traceback(text: str, message: str) -> None:
    assert message in str(error_of(text))


def test_every_sample_module_has_a_scenario_file() -> None:
    """Issue 20: each sample plugin under fixtures/ (not the hostile modules) is exercised by at least one
    shipped scenario file, which CI runs on every backend and in diff mode."""
    import json

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    named = " ".join(p.read_text() for p in (fixtures / "scenarios").glob("*.proxywasm.yaml"))
    samples = [
        entry["file"]
        for manifest in sorted(fixtures.glob("*/manifest.json"))
        for entry in json.loads(manifest.read_text())["modules"]
        if entry.get("kind") == "sample"
    ]
    assert samples and [f for f in samples if f"../{f}" not in named] == []
