"""Misuse diagnostics, always on, and strict mode (issue 13, items 2 and 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wat_builder import BAD_PTR, Probe, build

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.host.diagnostics import MisuseError, check_strict, misuse_lines
from pytest_proxy_wasm.host.hostcalls import unimplemented

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MISUSE_LOG = FIXTURES / "hostile" / "misuse_proxy_log.wasm"


def test_proxy_log_out_of_range_names_hostcall_status_and_callback(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(MISUSE_LOG, name="misuser")
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.status == 200  # the plugin just gets the status, as on Envoy
    (misuse,) = outcome.misuse
    assert (misuse.hostcall, misuse.status, misuse.callback) == (
        "proxy_log",
        "INVALID_MEMORY_ACCESS",
        "proxy_on_request_headers",
    )
    assert misuse.args == "level=INFO, message=<out of range: 0xfffffff0, +64>"
    assert str(misuse) in outcome.diagnostics
    assert outcome.to_json()["misuse"][0]["message"] == str(misuse)
    # every request adds a record; the diagnostic line and the host log line come once
    again = proxy_wasm_host.request(plugin)
    assert len(again.misuse) == 2 and again.misuse[1].context_id == 3
    assert sum("proxy_log" in d for d in again.diagnostics) == 1
    assert misuse_lines(proxy_wasm_host) == [f"{misuse.summary()} (2 times)"]


def test_bad_argument_is_a_misuse(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        f"(drop (call $proxy_get_header_map_value (i32.const 99) {probe.s('k')} "
        "(i32.const 0) (i32.const 4)))",
        ret=0,
    )
    outcome = proxy_wasm_host.request(proxy_wasm_host.load_plugin(build(probe)))
    (misuse,) = outcome.misuse
    assert misuse.hostcall == "proxy_get_header_map_value" and misuse.status == "BAD_ARGUMENT"
    assert misuse.args == 'map_type=99, key="k"'


def test_ok_and_not_found_are_not_misuse(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        probe.log("fine") + f"(drop (call $proxy_get_header_map_value (i32.const 0) {probe.s('absent')} "
        "(i32.const 0) (i32.const 4)))",
        ret=0,
    )
    outcome = proxy_wasm_host.request(proxy_wasm_host.load_plugin(build(probe)))
    assert outcome.misuse == [] and proxy_wasm_host.misuse == []


def test_memory_fault_in_wasi_is_a_misuse(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers", f"(drop (call $random_get (i32.const {BAD_PTR}) (i32.const 16)))", ret=0
    )
    outcome = proxy_wasm_host.request(proxy_wasm_host.load_plugin(build(probe)))
    (misuse,) = outcome.misuse
    assert (misuse.hostcall, misuse.status) == ("random_get", "FAULT")


def test_unimplemented_hostcall_is_a_misuse(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(Probe()))
    stub = unimplemented("proxy_get_log_level")
    assert stub(plugin.vm, 64) == 12
    (misuse,) = proxy_wasm_host.misuse
    assert (misuse.kind, misuse.hostcall, misuse.status) == (
        "unimplemented",
        "proxy_get_log_level",
        "UNIMPLEMENTED",
    )


def test_unknown_export_is_reported_never_strict(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.extra.append('  (func (export "proxy_on_grpc_trailing_metadata") (param i32 i32 i32))')
    probe.extra.append(
        '  (func (export "proxy_on_request_headers_typo") (param i32 i32 i32) (result i32) (i32.const 0))'
    )
    proxy_wasm_host.load_plugin(build(probe), name="sdk")
    exports = {m.hostcall: m.args for m in proxy_wasm_host.misuse if m.kind == "export"}
    assert set(exports) == {"proxy_on_grpc_trailing_metadata", "proxy_on_request_headers_typo"}
    assert (
        "not a callback ABI 0.2.1 knows: the host never calls it"
        in exports["proxy_on_grpc_trailing_metadata"]
    )
    assert any("export proxy_on_request_headers_typo" in d for d in proxy_wasm_host.diagnostics)
    strict = Host(proxy_wasm_host.runtime, proxy_wasm_host.options.replace(strict=True))
    try:
        strict.load_plugin(build(probe))
        check_strict(strict)  # exports alone never fail strict mode
    finally:
        strict.close()


def test_check_strict_raises_with_every_misuse(proxy_wasm_host: Host) -> None:
    strict = Host(proxy_wasm_host.runtime, proxy_wasm_host.options.replace(strict=True))
    try:
        strict.request(strict.load_plugin(MISUSE_LOG))
        with pytest.raises(
            MisuseError, match=r"proxy_log.*INVALID_MEMORY_ACCESS in proxy_on_request_headers"
        ):
            check_strict(strict)
    finally:
        strict.close()


STRICT_TESTS = f"""
import pytest

MODULE = {str(MISUSE_LOG)!r}


@pytest.mark.proxy_wasm(strict=True)
def test_marker_strict(proxy_wasm_host):
    assert proxy_wasm_host.request(proxy_wasm_host.load_plugin(MODULE)).status == 200


def test_lenient(proxy_wasm_host):
    assert proxy_wasm_host.request(proxy_wasm_host.load_plugin(MODULE)).status == 200


def test_fails_with_trace(proxy_wasm_host):
    proxy_wasm_host.request(proxy_wasm_host.load_plugin(MODULE))
    assert False, "on purpose"
"""


def test_strict_marker_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_strict=STRICT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*strict mode (--proxy-wasm-strict): the plugin misused the ABI*",
            "*proxy_log(level=INFO, message=<out of range: 0xfffffff0, +64>) returned INVALID_MEMORY_ACCESS "
            "in proxy_on_request_headers*",
        ]
    )
    assert "proxy-wasm misuse" in result.stdout.str()  # the lenient test's report still names it


def test_strict_option_and_trace_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_strict=STRICT_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-strict", "--proxy-wasm-trace"
    )
    result.assert_outcomes(failed=3)
    text = result.stdout.str()
    assert "proxy-wasm trace" in text
    assert "proxy_log(level=INFO, message=<out of range: 0xfffffff0, +64>) -> INVALID_MEMORY_ACCESS" in text


def test_check_reports_misuse_warn_then_fail_with_strict(capfd: pytest.CaptureFixture[str]) -> None:
    from pytest_proxy_wasm.cli import main

    args = ["check", str(MISUSE_LOG), "--select", "module.hostcall_misuse"]
    assert main(args) == 0  # a finding, reported as a warning
    out = capfd.readouterr().out
    assert "MisuseWarning" in out and "proxy_log" in out and "INVALID_MEMORY_ACCESS" in out
    assert main([*args, "--strict"]) == 1
    out = capfd.readouterr().out
    assert (
        "FAILED module.hostcall_misuse" in out and "INVALID_MEMORY_ACCESS in proxy_on_request_headers" in out
    )
