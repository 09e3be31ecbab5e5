"""Envoy's ``direct_response`` route (the router's local reply), on every backend.

Run with ``--proxy-wasm-backend envoy`` / ``diff`` to check each detail against Envoy 1.40: the reply
leaves as soon as the request headers reach the router, no request body reaches the plugins, the reply
has ``content-type: text/plain`` and one body frame with end of stream, no
``x-envoy-upstream-service-time``, and a gRPC request gets a trailers-only gRPC reply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import Backend

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEADERS = FIXTURES / "rust" / "headers.wasm"
BODY = FIXTURES / "rust" / "body.wasm"


def header_lines(backend: Backend, side: str) -> list[str]:
    prefix = f"{side} header: "
    return [m[len(prefix) :] for m in backend.log_messages("info") if m.startswith(prefix)]


def test_reply_is_the_routers_local_reply(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS, name="headers")
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(plugin, path="/x", direct_response=(418, "short and stout"))
    assert (outcome.status, outcome.response_body) == (418, b"short and stout")
    assert (outcome.local_reply, outcome.details, outcome.upstream_request) == (True, "direct_response", None)
    assert outcome.header("content-type") == "text/plain"
    assert outcome.header("x-wasm-response") == "world"  # the reply runs through the response callbacks
    assert outcome.header("x-envoy-upstream-service-time") is None
    assert header_lines(proxy_wasm_backend, "response") == [
        ":status: 418",
        "content-length: 15",
        "content-type: text/plain",
    ]
    assert ":path: /x" in header_lines(proxy_wasm_backend, "request")


@pytest.mark.parametrize("status", [200, 204, 404])
def test_empty_body_has_no_content_headers(proxy_wasm_backend: Backend, status: int) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS, name="headers")
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(plugin, direct_response=(status, b""))
    assert (outcome.status, outcome.response_body, outcome.details) == (status, b"", "direct_response")
    assert header_lines(proxy_wasm_backend, "response") == [f":status: {status}"]


@pytest.mark.parametrize(("status", "body"), [(201, "made"), (301, "moved"), (302, "")])
def test_created_and_redirects_get_the_request_url_as_location(
    proxy_wasm_backend: Backend, status: int, body: str
) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS, name="headers")
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(
        plugin, path="/a/b?q=1", authority="host.test:8080", direct_response=(status, body)
    )
    location = "http://host.test:8080/a/b?q=1"
    assert outcome.header("location") == location
    content = [f"content-length: {len(body)}", "content-type: text/plain"] if body else []
    assert header_lines(proxy_wasm_backend, "response") == [
        f":status: {status}",
        f"location: {location}",
        *content,
    ]


@pytest.mark.parametrize("body", [b'{"a": 1}', [b'{"a"', b": 1}"]], ids=["one-chunk", "two-chunks"])
def test_no_request_body_reaches_the_plugins_and_the_reply_is_one_frame(
    proxy_wasm_backend: Backend, body: bytes | list[bytes]
) -> None:
    plugin = proxy_wasm_backend.load_plugin(BODY, name="body")
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(plugin, method="POST", body=body, direct_response=(200, "direct"))
    assert outcome.upstream_request is None
    assert (outcome.status, outcome.response_body) == (200, b"replaced by wasm")
    debug = proxy_wasm_backend.log_messages("debug")
    assert not any(m.startswith("body: request") for m in debug + proxy_wasm_backend.log_messages("info"))
    assert [m for m in debug if m.startswith("body: response chunk")] == [
        "body: response chunk size=6 end_of_stream=true"
    ]


def test_grpc_request_gets_a_trailers_only_reply(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS, name="headers")
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(
        plugin,
        method="POST",
        path="/pkg.Service/Method",
        headers={"content-type": "application/grpc", "te": "trailers"},
        direct_response=(503, "unavailable"),
    )
    assert (outcome.status, outcome.response_body) == (200, b"")
    assert outcome.header("content-type") == "application/grpc"
    assert outcome.header("grpc-status") == "14"  # Envoy's HTTP-to-gRPC mapping of 503
    assert outcome.header("grpc-message") == "unavailable"
    assert outcome.details == "direct_response"


def test_upstream_again_after_a_direct_response(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS, name="headers")
    direct = proxy_wasm_backend.request(plugin, direct_response=(200, "direct"))
    upstream = proxy_wasm_backend.request(plugin, upstream_body="from upstream")
    assert (direct.response_body, direct.upstream_request) == (b"direct", None)
    assert upstream.response_body == b"from upstream" and upstream.upstream_request is not None
    assert upstream.header("x-envoy-upstream-service-time") is not None


@pytest.mark.parametrize("status", [99, 600, "200"])
def test_status_outside_envoys_range_is_refused(proxy_wasm_backend: Backend, status: object) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS, name="headers")
    with pytest.raises(ValueError, match="direct_response status"):
        proxy_wasm_backend.request(plugin, direct_response=(status, "x"))  # type: ignore[arg-type]


def test_envoy_bootstrap_renders_a_direct_response_route(tmp_path: Path) -> None:
    from pytest_proxy_wasm.backends.envoy import bootstrap
    from pytest_proxy_wasm.backends.spec import PluginSpec

    spec = PluginSpec.build(HEADERS, name="headers")
    config = bootstrap.render([spec], [HEADERS], 1, [], tmp_path / "a.log", direct_response=(418, b"tea"))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][-1]["typed_config"]
    [route] = hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert route == {
        "match": {"prefix": "/"},
        "direct_response": {"status": 418, "body": {"inline_bytes": "dGVh"}},
    }
    empty = bootstrap.render([spec], [HEADERS], 1, [], tmp_path / "a.log", direct_response=(204, b""))
    hcm = empty["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][-1]["typed_config"]
    assert hcm["route_config"]["virtual_hosts"][0]["routes"][0]["direct_response"] == {"status": 204}
