"""Hostcall and callback traces (issue 13, item 1): off and untouched by default, complete when on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import wasmtime
from wat_builder import BAD_PTR, Probe, build

from pytest_proxy_wasm import Host, HostOptions
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.host.trace import TraceRecord, render

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def headers_module() -> bytes:
    return wasmtime.wat2wasm((FIXTURES / "wat" / "headers_021.wat").read_text())


def test_off_by_default_installs_nothing(proxy_wasm_host: Host, headers_module: bytes) -> None:
    plugin = proxy_wasm_host.load_plugin(headers_module)
    assert proxy_wasm_host.tracer is None and plugin.vm.tracer is None
    assert "call" not in vars(plugin.vm)  # the class's plain call path, no traced wrapper
    assert plugin.vm.memory._allocate == plugin.vm._allocate
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.trace == [] and outcome.to_json()["trace"] == []


@pytest.mark.proxy_wasm(trace=True)
def test_every_hostcall_and_callback_in_order(proxy_wasm_host: Host, headers_module: bytes) -> None:
    plugin = proxy_wasm_host.load_plugin(headers_module)
    start = [r.name for r in proxy_wasm_host.tracer.records]  # type: ignore[union-attr]
    assert start == ["proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure"]
    outcome = proxy_wasm_host.request(plugin, path="/seen")
    names = [(r.kind, r.name) for r in outcome.trace]
    assert names[:6] == [
        ("callback", "proxy_on_context_create"),
        ("callback", "proxy_on_request_headers"),
        ("hostcall", "proxy_get_header_map_pairs"),
        ("callback", "malloc"),  # the host allocates the returned pairs inside that hostcall
        ("hostcall", "proxy_get_header_map_value"),
        ("callback", "malloc"),
    ]
    assert [n for k, n in names if k == "callback" and n != "malloc"] == [
        "proxy_on_context_create",
        "proxy_on_request_headers",
        "proxy_on_response_headers",
        "proxy_on_done",
        "proxy_on_delete",
    ]
    get = next(r for r in outcome.trace if r.name == "proxy_get_header_map_value")
    assert get.args == {"map_type": "HTTP_REQUEST_HEADERS", "key": '":path"'}
    assert (get.status, get.result) == ("OK", 0)
    assert get.wrote == {"value": '"/seen"'}  # the value the host wrote back
    assert get.callback == "proxy_on_request_headers" and get.context_id == 2 and get.depth == 1
    headers = next(r for r in outcome.trace if r.name == "proxy_on_request_headers")
    assert headers.args["context_id"] == 2 and headers.args["end_of_stream"] == 1
    assert (headers.status, headers.depth) == ("0", 0)
    log = next(r for r in outcome.trace if r.name == "proxy_log")
    assert log.args == {"level": "INFO", "message": '"/seen"'} and log.status == "OK"
    add = next(r for r in outcome.trace if r.name == "proxy_add_header_map_value")
    assert add.args["key"] == '"x-wasm"' and add.args["value"] == '"request"'
    assert all(r.status for r in outcome.trace)  # every record got its status


@pytest.mark.proxy_wasm(trace=True)
def test_trace_records_are_json_and_lines(proxy_wasm_host: Host, headers_module: bytes) -> None:
    outcome = proxy_wasm_host.request(proxy_wasm_host.load_plugin(headers_module))
    data = json.loads(json.dumps(outcome.to_json()))
    assert len(data["trace"]) == len(outcome.trace)
    first = data["trace"][1]
    assert first["name"] == "proxy_on_request_headers" and first["kind"] == "callback"
    assert render(data["trace"]) == render(outcome.trace)
    line = next(r.line() for r in outcome.trace if r.name == "proxy_get_header_map_value")
    expected = 'proxy_get_header_map_value(map_type=HTTP_REQUEST_HEADERS, key=":path") -> OK [value="/"]'
    assert line == "[ctx 2]      " + expected


@pytest.mark.proxy_wasm(trace=True)
def test_long_values_are_cut_and_bad_ranges_named(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        probe.log("y" * 300) + f"(drop (call $proxy_log (i32.const 2) (i32.const {BAD_PTR}) (i32.const 8)))",
        ret=0,
    )
    outcome = proxy_wasm_host.request(proxy_wasm_host.load_plugin(build(probe)))
    long, bad = [r for r in outcome.trace if r.name == "proxy_log"]
    assert long.args["message"].endswith("... (300 B)") and len(long.args["message"]) < 120
    assert (
        bad.args["message"] == f"<out of range: {BAD_PTR:#x}, +8>" and bad.status == "INVALID_MEMORY_ACCESS"
    )


@pytest.mark.proxy_wasm(trace=True)
def test_a_trap_is_the_callbacks_status(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", "(unreachable)", ret=0)
    outcome = proxy_wasm_host.request(proxy_wasm_host.load_plugin(build(probe)))
    record = next(r for r in outcome.trace if r.name == "proxy_on_request_headers")
    assert (record.status, record.result) == ("trap: unreachable", None)


@pytest.mark.proxy_wasm(trace=True)
def test_per_context_and_root_callbacks(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_vm_start", "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))", ret=1)
    probe.on("proxy_on_tick", probe.log("tick"))
    probe.on("proxy_on_request_headers", probe.log("headers"), ret=0)
    plugin = proxy_wasm_host.load_plugin(build(probe))
    first = proxy_wasm_host.request(plugin)
    second = proxy_wasm_host.request(plugin)
    assert {r.context_id for r in first.trace} == {2} and {r.context_id for r in second.trace} == {3}
    before = len(proxy_wasm_host.tracer.records)  # type: ignore[union-attr]
    proxy_wasm_host.advance(10)
    tick = proxy_wasm_host.tracer.records[before:]  # type: ignore[union-attr]
    assert [(r.name, r.context_id) for r in tick] == [("proxy_on_tick", 1), ("proxy_log", 1)]


@pytest.mark.proxy_wasm(trace=True)
def test_checked_call_path_is_traced_too(proxy_wasm_host: Host, headers_module: bytes) -> None:
    host = Host(proxy_wasm_host.runtime, HostOptions(trace=True, checked_calls=True))
    try:
        outcome = host.request(host.load_plugin(headers_module))
        assert any(r.name == "proxy_get_header_map_value" and r.status == "OK" for r in outcome.trace)
    finally:
        host.close()


def test_run_trace_prints_the_same_records(
    capsys: pytest.CaptureFixture[str], headers_module: bytes, tmp_path: Path
) -> None:
    module = tmp_path / "headers.wasm"
    module.write_bytes(headers_module)
    assert main(["run", str(module), "--trace", "--path", "/cli"]) == 0
    text = capsys.readouterr().out
    assert "trace (emulator, " in text
    assert (
        '   proxy_get_header_map_value(map_type=HTTP_REQUEST_HEADERS, key=":path") -> OK [value="/cli"]'
        in text
    )
    assert main(["run", str(module), "--trace", "--path", "/cli", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    printed = text.split("records):\n", 1)[1].splitlines()
    assert [f"  {r['line']}" for r in data["trace"]] == printed  # the same records, as lines


def test_record_key_ignores_addresses_and_context_ids() -> None:
    left = TraceRecord("hostcall", "proxy_log", (2, 100, 5), status="OK")
    right = TraceRecord("hostcall", "proxy_log", (2, 900, 5), status="OK", source="envoy")
    assert left.key() == right.key()
    assert left.key() != TraceRecord("hostcall", "proxy_log", (2, 100, 6), status="OK").key()
    created = TraceRecord("callback", "proxy_on_context_create", (2, 1), status="void")
    assert created.key() == TraceRecord("callback", "proxy_on_context_create", (7, 3), status="void").key()
    alloc = TraceRecord("callback", "malloc", (8,), status="65536")
    assert alloc.key() == TraceRecord("callback", "malloc", (9,), status="1069904").key()
    assert alloc.key() != TraceRecord("callback", "malloc", (8,), status="trap: out of memory").key()
