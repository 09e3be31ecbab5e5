"""``pytest-proxy-wasm check`` end to end: samples pass (with their expectations), hostile modules fail
with the right cases named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def check(tmp_path: Path, module: str, *extra: str) -> tuple[int, dict[str, object]]:
    report_dir = tmp_path / "reports"
    code = main(
        ["check", str(FIXTURES / module), "-q", "--seed", "1", "--report-dir", str(report_dir), *extra]
    )
    return code, json.loads((report_dir / "run.json").read_text())


def failing(run: dict[str, object]) -> set[str]:
    cases = run["cases"]
    assert isinstance(cases, list)
    return {c["id"] for c in cases if c["outcome"] in ("failed", "xpassed", "error", "blocked")}


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("rust/headers.wasm", ()),
        ("c/c_abi_010.wasm", ()),
        ("assemblyscript/headers.wasm", ()),
        ("rust/tcp.wasm", ()),  # a network filter: classified, checked over TCP, no expectations needed
        ("rust/service.wasm", ()),  # root-only: service checks, no HTTP case
        ("rust/string_headers.wasm", ("--expect", str(FIXTURES / "expectations" / "rust.yaml"))),
        ("rust/istio_template.wasm", ("--expect", str(FIXTURES / "expectations" / "rust.yaml"))),
        ("rust/basic_auth.wasm", ("--plugin-config", '{"username": "admin", "password": "s3cret"}')),
    ],
)
def test_samples_pass(tmp_path: Path, module: str, extra: tuple[str, ...]) -> None:
    code, run = check(tmp_path, module, *extra)
    assert failing(run) == set()
    assert (code, run["verdict"]) == (0, "pass")


@pytest.mark.parametrize(
    ("module", "select", "expected"),
    [
        ("hostile/not_wasm.wasm", "module", {"module.valid_wasm"}),
        ("hostile/truncated.wasm", "module", {"module.valid_wasm"}),
        ("hostile/no_abi_marker.wasm", "module", {"module.abi_marker"}),
        ("hostile/unknown_import.wasm", "module", {"module.imports_provided"}),
        ("hostile/wrong_signature_export.wasm", "module", {"module.export_signatures"}),
        ("hostile/malloc_returns_zero.wasm", "module", {"module.allocator"}),
        ("hostile/malloc_out_of_bounds.wasm", "module", {"module.allocator"}),
        (
            "hostile/trap_vm_start.wasm",
            "lifecycle",
            {"lifecycle.start_configure", "lifecycle.config_variants"},
        ),
        ("hostile/trap_tick.wasm", "lifecycle", {"lifecycle.timers"}),
        ("hostile/huge_header_map.wasm", "resources", {"resources.header_limits"}),
        (
            "hostile/trap_request_body.wasm",
            "http_robustness",
            {
                "http_robustness.generated_exchanges",
                "http_robustness.body_chunking",
                "http_robustness.reset_midway",
            },
        ),
    ],
)
def test_hostile_modules_fail_naming_the_case(
    tmp_path: Path, module: str, select: str, expected: set[str]
) -> None:
    code, run = check(tmp_path, module, "--select", select)
    assert failing(run) == expected
    assert (code, run["verdict"]) == (1, "fail")
    cases = run["cases"]
    assert isinstance(cases, list)
    # one cause each: one finding, the other cases failing on it blocked by it
    [finding] = [c for c in cases if c["outcome"] == "failed"]
    assert all(c["blocked_by"] == finding["id"] for c in cases if c["outcome"] == "blocked")


def test_unexpected_pass_of_an_expected_failure_fails(tmp_path: Path) -> None:
    expect = tmp_path / "expect.json"
    expect.write_text(json.dumps({"modules": {"headers.wasm": {"module.valid_wasm": "pretend it fails"}}}))
    code, run = check(tmp_path, "rust/headers.wasm", "--select", "module", "--expect", str(expect))
    outcomes = {c["id"]: c["outcome"] for c in run["cases"]}  # type: ignore[union-attr]
    assert outcomes["module.valid_wasm"] == "xpassed"
    assert code == 1


def test_expected_failure_keeps_the_check_green(tmp_path: Path) -> None:
    expect = tmp_path / "expect.yaml"
    expect.write_text('modules:\n  "*.wasm":\n    module.abi_marker: "no marker, on purpose"\n')
    code, run = check(tmp_path, "hostile/no_abi_marker.wasm", "--select", "module", "--expect", str(expect))
    outcomes = {c["id"]: c["outcome"] for c in run["cases"]}  # type: ignore[union-attr]
    assert outcomes["module.abi_marker"] == "xfailed"
    assert code == 0


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--select", "no_such_area"], 4),
        (["--expect", "/nonexistent/expect.yaml"], 4),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], code: int) -> None:
    assert main(["check", str(FIXTURES / "rust" / "headers.wasm"), "-q", *args]) == code


def test_missing_module_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nope.wasm")]) == 4
