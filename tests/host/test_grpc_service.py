"""The gRPC call's service bytes read as Envoy 1.40 reads them (host/grpc_service.py), and the crash
the emulator reports when they parse into a GrpcService without a target (issue 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.host.grpc_service import GrpcServiceTarget, grpc_service_target
from pytest_proxy_wasm.host.proxy_crash import ProxyCrash

GRPC_AUTH = Path(__file__).resolve().parents[2] / "fixtures" / "rust" / "grpc_auth.wasm"


@pytest.mark.parametrize(
    "name",
    [
        b"grpc_auth",  # 'g' = field 12, wire type 7
        b"ratelimit",  # 'r' = field 14, length 'a' (97) > 8 bytes left
        b"outbound|9000||rls.default.svc.cluster.local",
        b"ext-authz",  # 'e' = field 12, wire type 5, then 'x-au' is fixed32 and 'thz' a bad tag
        b"a",  # a fixed64 without its 8 bytes
        b"\x00",  # field number 0
        b"\x0c",  # an end-group tag without its start
        b"\x0a\x02\x0a\xff",  # envoy_grpc's cluster_name is not UTF-8 (proto3 string)
    ],
)
def test_names_that_do_not_parse_are_cluster_names(name: bytes) -> None:
    assert grpc_service_target(name) is None


@pytest.mark.parametrize(
    "name",
    [
        b"authorino",  # field 12 as fixed64 'uthorino': an unknown field protobuf keeps
        b"ignored__",
        b"",  # the empty message
        b"q12345678z\x00",  # field 14 fixed64, then field 15 (z) with 0 bytes
        b"\x1a\x00",  # timeout (Duration) only
    ],
)
def test_names_that_parse_as_a_grpc_service_without_a_target(name: bytes) -> None:
    assert grpc_service_target(name) == GrpcServiceTarget("")


def test_a_serialized_grpc_service_names_its_cluster_and_the_last_target_wins() -> None:
    envoy_grpc = b"\x0a\x06\x0a\x04auth"
    assert grpc_service_target(envoy_grpc) == GrpcServiceTarget("envoy_grpc", "auth")
    assert grpc_service_target(b"\x12\x00" + envoy_grpc) == GrpcServiceTarget("envoy_grpc", "auth")
    assert grpc_service_target(envoy_grpc + b"\x12\x00") == GrpcServiceTarget("google_grpc")
    assert grpc_service_target(b"\x0b\x08\x01\x0c" + envoy_grpc).target == "envoy_grpc"  # a group, skipped


def test_the_emulator_says_the_call_crashes_envoy_and_stays_crashed() -> None:
    with Host() as host:
        plugin = host.load_plugin(GRPC_AUTH, plugin_config={"cluster": "authorino"})
        with pytest.raises(ProxyCrash) as crash:
            host.request(plugin)
        assert crash.value.title == "the plugin's gRPC call crashes Envoy 1.40"
        assert crash.value.callback == "proxy_on_request_headers"
        assert "proxy_grpc_call's service bytes 'authorino' parse as a serialized" in str(crash.value)
        assert "panic: unset oneof, SIGABRT" in str(crash.value)
        assert plugin.failed is not None and "proxy_crash" in str(plugin.failed)
        with pytest.raises(ProxyCrash):  # Envoy is gone: every later exchange says so
            host.request(plugin)
        assert host.grpc_calls == []  # Envoy aborted before any call left


def test_a_serialized_grpc_service_reaches_its_cluster_on_the_emulator() -> None:
    with Host() as host:
        plugin = host.load_plugin(GRPC_AUTH, plugin_config={"cluster": "\n\x06\n\x04auth"})
        host.expect_grpc_call("auth", "auth.Authorizer", "Check").respond_with(b"")
        assert host.request(plugin).status == 200
        assert [c.cluster for c in host.grpc_calls] == ["auth"]
