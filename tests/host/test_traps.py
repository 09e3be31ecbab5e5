"""Traps in each callback kind and the plugin failure policies (abi-spec 6.7, envoy-host-rules 3)."""

from __future__ import annotations

import pytest
from wat_builder import Probe, build

from pytest_proxy_wasm import FailurePolicy, Host, PluginStartError


def trap_probe(callback: str) -> Probe:
    probe = Probe()
    for name in (
        "proxy_on_request_headers",
        "proxy_on_response_headers",
        "proxy_on_log",
        "proxy_on_done",
        "proxy_on_delete",
    ):
        probe.on(name, probe.log(name.removeprefix("proxy_on_")))
    probe.on(callback, "(unreachable)")
    return probe


# -- start


@pytest.mark.parametrize("callback", ["proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure"])
def test_trap_while_starting_is_a_plugin_start_error(proxy_wasm_host: Host, callback: str) -> None:
    probe = Probe()
    probe.on("proxy_on_context_create", probe.log("created"))
    probe.on(callback, probe.log("before trap") + " (unreachable)")
    with pytest.raises(PluginStartError) as info:
        proxy_wasm_host.load_plugin(build(probe), name="starter")
    assert info.value.callback == callback
    assert info.value.plugin == "starter"
    assert info.value.reason.startswith("unreachable:")
    assert "before trap" in info.value.logs
    assert callback in str(info.value)


@pytest.mark.parametrize(
    ("callback", "refusal"),
    [
        ("proxy_on_vm_start", "Failed to start base Wasm"),
        ("proxy_on_configure", "Failed to configure base Wasm plugin"),
    ],
)
def test_start_callback_returning_false(proxy_wasm_host: Host, callback: str, refusal: str) -> None:
    probe = Probe()
    probe.on(callback, probe.log("refusing"), ret=0)
    with pytest.raises(PluginStartError, match=refusal) as info:
        proxy_wasm_host.load_plugin(build(probe), name="refuser")
    assert info.value.callback == callback
    assert info.value.logs == ["refusing"]


# -- stream callbacks


@pytest.mark.parametrize(
    "callback",
    [
        "proxy_on_request_headers",
        "proxy_on_request_body",
        "proxy_on_response_headers",
    ],
)
def test_stream_trap_fails_the_stream_with_503(proxy_wasm_host: Host, callback: str) -> None:
    plugin = proxy_wasm_host.load_plugin(build(trap_probe(callback)), name="trapper")
    outcome = proxy_wasm_host.request(plugin, body="x")
    assert outcome.details == "wasm_fail_stream"
    assert outcome.plugin_failed is not None
    assert outcome.plugin_failed.startswith(f"{callback}: unreachable")
    assert outcome.status == 503
    assert outcome.hung is False


@pytest.mark.parametrize(
    "callback", ["proxy_on_request_headers", "proxy_on_request_body", "proxy_on_response_headers"]
)
def test_stream_trap_is_recorded(proxy_wasm_host: Host, callback: str) -> None:
    """The parts of the failure that do not depend on the 503 reaching the client."""
    plugin = proxy_wasm_host.load_plugin(build(trap_probe(callback)), name="trapper")
    outcome = proxy_wasm_host.request(plugin, body="x")
    assert outcome.details == "wasm_fail_stream"
    assert plugin.failed is not None
    assert plugin.failed.startswith(f"{callback}: unreachable: ")
    assert outcome.plugin_failed == plugin.failed
    host_lines = [r.message for r in proxy_wasm_host.logs if r.source == "host"]
    assert any(line.startswith(f"Function: {callback} failed:") for line in host_lines)
    # a failed VM gets no more callbacks: no on_log / on_done / on_delete
    assert not {"log", "done", "delete"} & set(outcome.log_messages())


def test_response_body_trap_resets_the_started_response(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(trap_probe("proxy_on_response_body")), name="trapper")
    outcome = proxy_wasm_host.request(plugin, upstream_body="body")
    assert plugin.failed is not None
    assert outcome.reset is True
    assert outcome.status is None


def test_fail_closed_later_requests_get_503(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(trap_probe("proxy_on_request_headers")), name="trapper")
    proxy_wasm_host.request(plugin)
    later = proxy_wasm_host.request(plugin)
    assert later.details == "wasm_fail_stream"
    assert later.upstream_request is None
    assert later.status == 503


def test_fail_closed_later_requests_never_reach_upstream(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(trap_probe("proxy_on_response_headers")), name="trapper")
    first = proxy_wasm_host.request(plugin)
    assert first.status == 503
    assert first.upstream_request is not None
    later = proxy_wasm_host.request(plugin)
    assert later.details == "wasm_fail_stream"
    assert later.upstream_request is None
    assert "request_headers" not in later.log_messages()[1:]


def test_fail_open_trapping_request_fails_later_requests_skip_the_plugin(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(trap_probe("proxy_on_response_headers")), name="open", failure_policy=FailurePolicy.FAIL_OPEN
    )
    first = proxy_wasm_host.request(plugin)
    assert first.status == 503
    assert first.details == "wasm_fail_stream"
    del proxy_wasm_host.records[:]
    later = proxy_wasm_host.request(plugin, upstream_body="fine")
    assert later.status == 200
    assert later.response_body == b"fine"
    assert later.details == ""
    assert later.log_messages() == []
    assert later.plugin_failed is not None  # still failed: Envoy just adds no filter for it


def test_fail_open_request_headers_trap_is_503(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(trap_probe("proxy_on_request_headers")), name="open", failure_policy=FailurePolicy.FAIL_OPEN
    )
    assert proxy_wasm_host.request(plugin).status == 503


def test_fail_open_request_headers_trap_then_skip(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(trap_probe("proxy_on_request_headers")), name="open", failure_policy="FAIL_OPEN"
    )
    first = proxy_wasm_host.request(plugin)
    assert first.details == "wasm_fail_stream"
    later = proxy_wasm_host.request(plugin)
    assert later.status == 200
    assert later.upstream_request is not None


@pytest.mark.parametrize(
    "callback",
    [
        "proxy_on_request_headers",
        "proxy_on_request_body",
        "proxy_on_response_headers",
        "proxy_on_response_body",
    ],
)
def test_legacy_fail_open_lets_the_trapping_request_continue(proxy_wasm_host: Host, callback: str) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(trap_probe(callback)), name="legacy", failure_policy=FailurePolicy.LEGACY_FAIL_OPEN
    )
    outcome = proxy_wasm_host.request(plugin, body="req", upstream_body="resp")
    assert outcome.status == 200
    assert outcome.response_body == b"resp"
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.body == b"req"
    assert outcome.details == ""
    assert plugin.failed is not None


# -- non-stream callbacks


def test_tick_trap(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_vm_start", "(drop (call $proxy_set_tick_period_milliseconds (i32.const 5)))")
    probe.on("proxy_on_tick", probe.log("tick") + " (unreachable)")
    plugin = proxy_wasm_host.load_plugin(build(probe), name="ticker")
    proxy_wasm_host.advance(4)
    assert plugin.failed is None
    proxy_wasm_host.advance(100)
    assert plugin.failed is not None
    assert plugin.failed.startswith("proxy_on_tick: unreachable")
    assert proxy_wasm_host.log_messages() == ["tick"]  # later ticks are skipped
    assert plugin.vm.calls["proxy_on_tick"] == 1


def test_on_log_trap(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(trap_probe("proxy_on_log")), name="logger")
    outcome = proxy_wasm_host.request(plugin, upstream_body="ok")
    assert outcome.status == 200
    assert outcome.response_body == b"ok"
    assert outcome.plugin_failed is not None
    assert outcome.plugin_failed.startswith("proxy_on_log: unreachable")
    assert outcome.log_messages() == ["request_headers", "response_headers"]  # no on_done / on_delete


def test_trap_kinds_are_named(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", "(drop (i32.div_u (i32.const 1) (i32.const 0)))")
    plugin = proxy_wasm_host.load_plugin(build(probe), name="div")
    proxy_wasm_host.request(plugin)
    assert plugin.vm.failure is not None
    assert plugin.vm.failure.kind == "integer_division_by_zero"
    probe = Probe()
    probe.on("proxy_on_request_headers", "(drop (i32.load (i32.const 0x7fffffff)))")
    plugin = proxy_wasm_host.load_plugin(build(probe), name="oob")
    proxy_wasm_host.request(plugin)
    assert plugin.vm.failure is not None
    assert plugin.vm.failure.kind == "memory_out_of_bounds"


def test_fail_stream_for_a_grpc_request_is_unavailable(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(trap_probe("proxy_on_request_headers")), name="grpc")
    outcome = proxy_wasm_host.request(plugin, method="POST", headers={"content-type": "application/grpc"})
    assert outcome.details == "wasm_fail_stream"
    assert outcome.header("grpc-status") == "14"
    assert outcome.upstream_request is None
