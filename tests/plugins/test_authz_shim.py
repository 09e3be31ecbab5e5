"""go authz-shim (plugins_under_test/go/authz_shim/README.md): a gRPC Check per request; with its
default cluster ``authorino`` it crashes Envoy 1.40, and every backend says so (issue 25)."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.backends.envoy.faults import EnvoyExited
from pytest_proxy_wasm.host.proxy_crash import ProxyCrash

from .conftest import sample

SERVICE, METHOD = "envoy.service.auth.v3.Authorization", "Check"
WORKING = "outbound|50051||authorino.kuadrant.svc"  # 'o' (0x6f): wire type 7, not a GrpcService


def load(backend: Backend, cluster: str | None = None) -> object:
    config = {"cluster": cluster} if cluster is not None else None
    return backend.load_plugin(sample("go", "authz_shim"), plugin_config=config)


def test_allowed_when_the_check_answers_ok(proxy_wasm_backend: Backend) -> None:
    plugin = load(proxy_wasm_backend, WORKING)
    proxy_wasm_backend.expect_grpc_call(WORKING, SERVICE, METHOD).respond_with(b"")
    outcome = proxy_wasm_backend.request(plugin, path="/orders", upstream_body="ok")
    assert outcome.status == 200 and outcome.response_body == b"ok"
    [call] = proxy_wasm_backend.grpc_calls
    assert call.messages == [b"\x0a\x1f\x12\x1d\x12\x1b\x12\x03GET\x22\x07/orders\x2a\x0bexample.com"]


def test_denied_when_the_check_answers_a_code(proxy_wasm_backend: Backend) -> None:
    plugin = load(proxy_wasm_backend, WORKING)
    proxy_wasm_backend.expect_grpc_call(WORKING, SERVICE, METHOD).respond_with(b"\x0a\x02\x08\x07")
    outcome = proxy_wasm_backend.request(plugin)
    assert outcome.status == 403 and outcome.response_body == b"denied by authorization service"
    assert outcome.upstream_request is None


def test_the_default_cluster_authorino_crashes_envoy_on_every_backend(proxy_wasm_backend: Backend) -> None:
    plugin = load(proxy_wasm_backend)
    proxy_wasm_backend.expect_grpc_call("authorino", SERVICE, METHOD).respond_with(b"")
    with pytest.raises((ProxyCrash, EnvoyExited)) as crash:
        proxy_wasm_backend.request(plugin)
    if isinstance(crash.value, EnvoyExited):  # the real Envoy (process or container)
        # a process gets SIGABRT; Envoy as a container's PID 1 ends with SIGSEGV after the same panic
        signal = "exit code 139 (signal 11, SIGSEGV)" if proxy_wasm_backend.name == "container" else "SIGABRT"
        assert signal in crash.value.summary and "Envoy said: panic: unset oneof" in crash.value.summary
        assert "in proxy_on_request_headers (in hostcall proxy_grpc_call)" in crash.value.summary
    else:  # the emulator says the same; in diff mode Envoy's own words are attached
        assert crash.value.title == "the plugin's gRPC call crashes Envoy 1.40"
        assert crash.value.callback == "proxy_on_request_headers"
        if proxy_wasm_backend.name == "diff":
            assert "signal 6 (SIGABRT)" in crash.value.envoy  # type: ignore[attr-defined]
    with pytest.raises((ProxyCrash, EnvoyExited)):  # and it stays crashed: no silent fresh proxy
        proxy_wasm_backend.request(plugin)
