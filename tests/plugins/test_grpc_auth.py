"""rust grpc-auth (plugins_under_test/rust/grpc_auth/README.md): gRPC unary check and gRPC stream."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import Host

from .conftest import sample

CLUSTER, SERVICE = "grpc_auth", "auth.Authorizer"


def load(host: Host, config: object = None) -> object:
    return host.load_plugin(sample("rust", "grpc_auth"), plugin_config=config)


def grpc_logs(host: Host) -> list[str]:
    return [m for m in host.log_messages() if m.startswith("grpc-auth:")]


def test_ok_answer_lets_the_request_through(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    host.expect_grpc_call(CLUSTER, SERVICE, "Check").respond_with(b"\x08\x01")
    outcome = host.request(plugin, upstream_body="hello")  # type: ignore[arg-type]
    assert outcome.status == 200 and outcome.response_body == b"hello"
    assert outcome.upstream_request is not None
    [call] = host.grpc_calls
    assert (call.kind, call.cluster, call.service, call.method) == ("call", CLUSTER, SERVICE, "Check")
    assert call.messages == [b"\x0a\x05check"] and call.timeout_ms == 5000 and call.initial_metadata == []
    assert grpc_logs(host) == [
        "grpc-auth: dispatched token=1",
        "grpc-auth: response token=1 status=0 size=2",
        "grpc-auth: allowed",
    ]
    host.check()


@pytest.mark.parametrize("answer", ["denied", "reset", "empty"])
def test_failed_answer_is_forbidden(proxy_wasm_host: Host, answer: str) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    expectation = host.expect_grpc_call(CLUSTER)
    if answer == "denied":
        expectation.respond_with(status=7, status_message="no")
    elif answer == "reset":
        expectation.fail()
    else:
        expectation.respond_with()  # OK without a message: Envoy reports INTERNAL (13)
    outcome = host.request(plugin)  # type: ignore[arg-type]
    assert outcome.status == 403
    assert outcome.response_body == b"grpc auth denied"
    assert outcome.header("powered-by") == "proxy-wasm"
    assert outcome.upstream_request is None
    status = {"denied": 7, "reset": 14, "empty": 13}[answer]
    assert f"grpc-auth: response token=1 status={status} size=0" in grpc_logs(host)
    assert "grpc-auth: denied" in grpc_logs(host)


def test_slow_service_times_out_after_five_seconds(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    host.expect_grpc_call(CLUSTER).respond_with(b"late", delay_ms=6000)
    before = host.clock.monotonic_ns
    outcome = host.request(plugin)  # type: ignore[arg-type]
    assert outcome.status == 403
    assert host.clock.monotonic_ns - before == 5_000_000_000
    assert host.grpc_calls[0].close_status == 14


def test_unknown_cluster_is_a_dispatch_failure(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host, {"cluster": "nowhere"})
    outcome = host.request(plugin)  # type: ignore[arg-type]
    assert outcome.status == 503 and outcome.response_body == b"grpc dispatch failed"
    assert outcome.header("powered-by") == "proxy-wasm"
    assert grpc_logs(host) == ["grpc-auth: dispatch failed: ParseFailure"]
    assert host.grpc_calls == []
    assert plugin.vm.failure is None  # type: ignore[attr-defined]


def test_stream_round_trip_resumes_the_request(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    host.expect_grpc_stream(CLUSTER, SERVICE, "Watch").respond_with(
        initial_metadata={"x-server": "fake"}, replies=[b"pong"], trailing_metadata={"x-t": "1"}
    )
    outcome = host.request(plugin, path="/stream", upstream_body="ok")  # type: ignore[arg-type]
    assert outcome.status == 200 and outcome.response_body == b"ok"
    [stream] = host.grpc_calls
    assert stream.kind == "stream" and stream.method == "Watch"
    assert stream.metadata("x-wasm-plugin") == "grpc-auth"
    assert stream.messages == [b"ping", b"bye"] and stream.half_closed
    assert host.grpc.lookup(plugin.vm, 2) is not None  # type: ignore[attr-defined]  # half-closed only
    while host.run_pending():  # the remote close arrives after the request finished
        pass
    # The HTTP context is gone by then: the SDK drops the callbacks (trace log only), so the plugin
    # logs nothing more; the host still delivered them to the root and forgot the stream.
    assert grpc_logs(host) == [
        "grpc-auth: stream opened token=2",
        "grpc-auth: stream initial metadata token=2 count=3",
        "grpc-auth: stream message token=2 size=4 data=pong",
        "grpc-auth: stream closed by plugin token=2",
    ]
    assert stream.close_status == 0
    assert host.grpc.lookup(plugin.vm, 2) is None  # type: ignore[attr-defined]
    host.check()


def test_stream_closed_without_a_message(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    host.expect_grpc_stream(CLUSTER).respond_with(close_after=1, trailing_metadata={"x-t": "1"})
    outcome = host.request(plugin, path="/stream")  # type: ignore[arg-type]
    assert outcome.status == 200
    assert grpc_logs(host) == [
        "grpc-auth: stream opened token=2",
        "grpc-auth: stream initial metadata token=2 count=2",
        "grpc-auth: stream trailing metadata token=2 count=2",
        "grpc-auth: stream close token=2 status=0",
    ]
    assert host.grpc_calls[0].messages == [b"ping"]
    assert host.grpc.lookup(plugin.vm, 2) is not None  # type: ignore[attr-defined]  # kept: no local close


def test_failed_stream_is_503(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    host.expect_grpc_stream(CLUSTER).fail(status=14)
    outcome = host.request(plugin, path="/stream")  # type: ignore[arg-type]
    assert outcome.status == 503 and outcome.response_body == b"grpc stream failed"
    assert grpc_logs(host) == [
        "grpc-auth: stream opened token=2",
        "grpc-auth: stream close token=2 status=14",
    ]


def test_undeclared_call_is_reported_at_check(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    plugin = load(host)
    host.add_cluster(CLUSTER)
    outcome = host.request(plugin)  # type: ignore[arg-type]
    assert outcome.status == 403
    with pytest.raises(AssertionError, match="unexpected gRPC call to cluster 'grpc_auth'"):
        host.check()
