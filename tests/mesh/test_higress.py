"""Higress plugins: the 0.2.100 marker, Redis calls against declared answers, Higress route properties."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm import Host, PluginStartError, UnknownAbiVersionError
from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.errors import ExpectationError
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.platforms import higress_route
from pytest_proxy_wasm.host.redis import RespError, RespSimple, resp_command, resp_encode

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "go" / "higress_ratelimit.wasm"
REDIS = "outbound|6379||redis.default.svc.cluster.local"


def higress_host(proxy_wasm_runtime: object, **properties: object) -> Host:
    options = HostOptions(platform="higress", properties=higress_route("api-route", **properties))  # type: ignore[arg-type]
    return Host(proxy_wasm_runtime, options)  # type: ignore[arg-type]


def test_the_envoy_platform_refuses_the_higress_marker_naming_the_option(proxy_wasm_host: Host) -> None:
    with pytest.raises(UnknownAbiVersionError) as info:
        proxy_wasm_host.load_plugin(SAMPLE)
    message = str(info.value)
    assert "proxy_abi_version_0_2_100" in message
    assert "platform='higress'" in message and "--proxy-wasm-platform higress" in message


def test_the_envoy_backends_refuse_it_as_upstream_envoy_does(proxy_wasm_backend: Backend) -> None:
    if proxy_wasm_backend.name == "emulator":
        pytest.skip("the emulator's refusal is tested above; this is the real Envoy's")
    with pytest.raises(UnknownAbiVersionError) as info:
        proxy_wasm_backend.load_plugin(SAMPLE, name="ratelimit")
    assert "proxy_abi_version_0_2_100" in str(info.value)
    assert "--proxy-wasm-platform higress" in str(info.value)


def test_redis_answers_drive_the_rate_limit(proxy_wasm_runtime: object) -> None:
    host = higress_host(proxy_wasm_runtime)
    host.expect_redis_call(REDIS, command="INCR").respond_with(1).respond_with(3)
    plugin = host.load_plugin(SAMPLE)
    first = host.request(plugin, headers={"x-user": "ann"})
    assert first.status == 200
    assert first.upstream_request is not None
    assert first.upstream_request.header("x-ratelimit-count") == "1"
    second = host.request(plugin, headers={"x-user": "ann"})
    assert (second.status, second.response_body) == (429, b"too many requests")
    assert second.header("x-ratelimit-limit") == "2"
    # The key names the route from the route_name property, as Higress gives it.
    assert [r.command for r in host.redis_calls] == [["INCR", "rl:api-route:ann"]] * 2
    assert [r.status for r in host.redis_calls] == [0, 0]
    assert host.redis.inits[0].cluster == REDIS and host.redis.inits[0].timeout_ms == 1000
    host.check()


def test_a_failed_redis_call_reaches_the_plugin_as_a_nonzero_status(proxy_wasm_runtime: object) -> None:
    host = higress_host(proxy_wasm_runtime)
    host.expect_redis_call(REDIS).fail()
    plugin = host.load_plugin(SAMPLE)
    outcome = host.request(plugin)
    assert outcome.status == 200  # the sample fails open
    assert "ratelimit: redis unavailable, letting the request through" in host.log_messages("warn")
    host.check()


def test_an_undeclared_redis_call_fails_the_check(proxy_wasm_runtime: object) -> None:
    host = higress_host(proxy_wasm_runtime)
    host.add_redis_cluster(REDIS)
    plugin = host.load_plugin(SAMPLE)
    assert host.request(plugin).status == 200
    assert host.redis_calls[0].status == 1
    with pytest.raises(ExpectationError, match="unexpected Redis call to cluster 'outbound\\|6379"):
        host.check()


def test_redis_init_refuses_an_unknown_cluster(proxy_wasm_runtime: object) -> None:
    host = higress_host(proxy_wasm_runtime)
    with pytest.raises(PluginStartError, match="proxy_on_configure"):
        host.load_plugin(SAMPLE)
    assert "ratelimit: redis init failed: status 2" in host.log_messages("error")


def test_an_unused_once_expectation_fails_the_check(proxy_wasm_runtime: object) -> None:
    host = higress_host(proxy_wasm_runtime)
    host.expect_redis_call(REDIS, command="GET", once=True).respond_with("x")
    host.load_plugin(SAMPLE)
    with pytest.raises(ExpectationError, match="expected Redis call to"):
        host.check()


def test_answers_are_encoded_as_higress_test_host_writes_them() -> None:
    assert resp_encode("OK") == b"$2\r\nOK\r\n"
    assert resp_encode(RespSimple("OK")) == b"+OK\r\n"
    assert resp_encode(None) == b"$-1\r\n"
    assert resp_encode(RespError("ERR wrong type")) == b"-ERR wrong type\r\n"
    assert resp_encode(42) == b":42\r\n"
    assert resp_encode(["a", 1, None]) == b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n"
    with pytest.raises(TypeError):
        resp_encode(True)
    assert resp_command(b"*2\r\n$4\r\nINCR\r\n$3\r\nk:1\r\n") == ["INCR", "k:1"]
    assert resp_command(b"PING\r\n") is None


def test_higress_route_properties_use_istio_cluster_names() -> None:
    props = higress_route("r1", service="svc.ns.svc.cluster.local", port=8080, request_id="id-1")
    assert props == {
        ("route_name",): "r1",
        ("cluster_name",): "outbound|8080||svc.ns.svc.cluster.local",
        ("x_request_id",): "id-1",
    }


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown platform 'nginx'"):
        Host(options=HostOptions(platform="nginx"))


def test_a_higress_gateway_profile_gives_the_top_level_route_and_cluster(proxy_wasm_runtime: object) -> None:
    options = HostOptions(platform="higress", profile="istio-gateway")
    host = Host(proxy_wasm_runtime, options)  # type: ignore[arg-type]
    assert host.properties[("route_name",)] == "productpage"
    assert host.properties[("cluster_name",)] == "outbound|9080||productpage.default.svc.cluster.local"
    assert ("route_name",) not in Host(proxy_wasm_runtime, options.replace(platform="envoy")).properties  # type: ignore[arg-type]
