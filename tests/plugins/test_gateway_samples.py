"""Gateway plugins on every backend (issue 21): the client address an IP allow-list sees, the upstream
request a body validator rejects after its headers went upstream, and request attributes read in every
callback. Run with ``--proxy-wasm-backend diff`` to check each against Envoy 1.40."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import Backend

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "go"
IP_ALLOW = FIXTURES / "ip_allow.wasm"
BODY_VALIDATOR = FIXTURES / "body_validator.wasm"
ROUTE_METER = FIXTURES / "route_meter.wasm"


def seen(backend: Backend) -> str:
    """The ip-allow line with what the plugin read."""
    return next(m for m in backend.log_messages("info") if m.startswith("ip-allow: source.address="))


def ip_allow(backend: Backend, *allow: str) -> object:
    plugin = backend.load_plugin(IP_ALLOW, plugin_config={"allow": list(allow)}, name="ip")
    backend.clear_logs()
    return plugin


def test_default_settings_take_the_client_from_x_forwarded_for(proxy_wasm_backend: Backend) -> None:
    """use_remote_address false (Envoy's default): the last x-forwarded-for entry is the client."""
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.1")
    outcome = proxy_wasm_backend.request(plugin, headers={"x-forwarded-for": "10.0.0.1"})
    assert outcome.status == 200
    assert seen(proxy_wasm_backend) == (
        "ip-allow: source.address=10.0.0.1:0 (OK) x-forwarded-for=10.0.0.1 "
        "x-envoy-external-address=- x-envoy-internal=-"
    )
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-forwarded-for") == "10.0.0.1"  # nothing appended


def test_without_x_forwarded_for_the_client_is_the_peer(proxy_wasm_backend: Backend) -> None:
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.1")
    outcome = proxy_wasm_backend.request(plugin, peer_address="127.0.0.5")
    assert (outcome.status, outcome.details, outcome.upstream_request) == (403, "ip_not_allowed", None)
    assert "source.address=127.0.0.5:45678 (OK)" in seen(proxy_wasm_backend)


@pytest.mark.parametrize(
    ("xff", "hops", "client"),
    [
        ("10.0.0.1, 192.168.1.1", 0, "192.168.1.1:0"),  # the last entry
        ("10.0.0.1, 192.168.1.1", 1, "10.0.0.1:0"),  # one trusted hop skipped
        ("10.0.0.1", 1, "127.0.0.5:45678"),  # too few entries: the peer
        ("garbage", 0, "127.0.0.5:45678"),  # not an address: the peer
        ("::1", 0, "[::1]:0"),
    ],
)
def test_trusted_hops_pick_the_entry(proxy_wasm_backend: Backend, xff: str, hops: int, client: str) -> None:
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.1")
    proxy_wasm_backend.request(
        plugin, headers={"x-forwarded-for": xff}, peer_address="127.0.0.5", xff_num_trusted_hops=hops
    )
    assert f"source.address={client} (OK)" in seen(proxy_wasm_backend)


def test_two_x_forwarded_for_headers_are_one(proxy_wasm_backend: Backend) -> None:
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.1")
    outcome = proxy_wasm_backend.request(
        plugin, headers=[("x-forwarded-for", "10.0.0.1"), ("x-forwarded-for", "10.0.0.2")]
    )
    assert outcome.status == 403
    assert "source.address=10.0.0.2:0 (OK) x-forwarded-for=10.0.0.1,10.0.0.2 " in seen(proxy_wasm_backend)


def test_use_remote_address_trusts_the_peer_and_appends_it(proxy_wasm_backend: Backend) -> None:
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.1")
    outcome = proxy_wasm_backend.request(
        plugin,
        headers={"x-forwarded-for": "10.0.0.1", "x-envoy-retry-on": "5xx"},
        peer_address="127.0.0.5",
        use_remote_address=True,
    )
    assert outcome.status == 403  # the forged x-forwarded-for no longer decides
    assert seen(proxy_wasm_backend) == (
        "ip-allow: source.address=127.0.0.5:45678 (OK) x-forwarded-for=10.0.0.1,127.0.0.5 "
        "x-envoy-external-address=127.0.0.5 x-envoy-internal=-"
    )


def test_use_remote_address_with_a_trusted_hop(proxy_wasm_backend: Backend) -> None:
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.1")
    outcome = proxy_wasm_backend.request(
        plugin,
        headers={"x-forwarded-for": "10.0.0.1", "x-forwarded-proto": "https"},
        peer_address="127.0.0.5",
        use_remote_address=True,
        xff_num_trusted_hops=1,
    )
    assert outcome.status == 200
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-forwarded-proto") == "https"  # a trusted hop's value stays
    assert outcome.upstream_request.header("x-envoy-external-address") == "10.0.0.1"
    assert outcome.upstream_request.header("x-forwarded-for") == "10.0.0.1,127.0.0.5"


@pytest.mark.proxy_wasm(internal_address_cidrs=("10.0.0.0/8",))
def test_an_internal_client_is_marked(proxy_wasm_backend: Backend) -> None:
    plugin = ip_allow(proxy_wasm_backend, "10.0.0.0/8")
    outcome = proxy_wasm_backend.request(plugin, headers={"x-forwarded-for": "10.0.0.1"})
    assert outcome.status == 200
    assert seen(proxy_wasm_backend).endswith("x-envoy-internal=true")


@pytest.mark.proxy_wasm(peer_address="127.0.0.5:40001", use_remote_address=True)
def test_host_options_set_the_peer_and_the_settings(proxy_wasm_backend: Backend) -> None:
    plugin = ip_allow(proxy_wasm_backend, "127.0.0.5")
    outcome = proxy_wasm_backend.request(plugin, headers={"x-forwarded-for": "10.9.9.9"})
    assert outcome.status == 200
    expected = "source.address=127.0.0.5:40001 (OK) x-forwarded-for=10.9.9.9,127.0.0.5 "
    assert expected in seen(proxy_wasm_backend)


@pytest.mark.parametrize("body", [b'{"x": 1}', [b'{"x"', b": 1}"], b"not json"], ids=["one", "two", "bad"])
def test_body_rejected_after_the_headers_went_upstream(proxy_wasm_backend: Backend, body: object) -> None:
    plugin = proxy_wasm_backend.load_plugin(BODY_VALIDATOR, plugin_config={"required": ["user"]})
    outcome = proxy_wasm_backend.request(plugin, method="POST", path="/orders", body=body)  # type: ignore[arg-type]
    assert (outcome.status, outcome.details) == (403, "invalid_body")
    assert outcome.header("content-type") == "application/json"
    upstream = outcome.upstream_request
    assert upstream is not None  # the router forwarded the headers before the body was checked
    assert (upstream.method, upstream.path, upstream.body, upstream.reset) == ("POST", "/orders", b"", True)


def test_body_accepted_reaches_the_upstream_whole(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(BODY_VALIDATOR, plugin_config={"required": ["user"]})
    outcome = proxy_wasm_backend.request(plugin, method="POST", body=b'{"user": "a"}', upstream_body="ok")
    assert (outcome.status, outcome.response_body) == (200, b"ok")
    assert outcome.upstream_request is not None
    assert (outcome.upstream_request.body, outcome.upstream_request.reset) == (b'{"user": "a"}', False)


def meter_lines(backend: Backend) -> list[str]:
    return [m for m in backend.log_messages("info") if m.startswith("route-meter")]


def test_request_attributes_follow_the_header_map_the_filter_holds(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(ROUTE_METER, plugin_config={"strip_prefix": "/api"})
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(
        plugin,
        method="POST",
        path="/api/v1/items?q=1",
        headers={"user-agent": "ua/1", "x-request-id": "rid-1"},
        body=b"hello",
        upstream_body="resp",
    )
    assert outcome.status == 200
    assert outcome.upstream_request is not None and outcome.upstream_request.path == "/v1/items?q=1"
    attributes = "method=POST host=example.com scheme=http query=q=1 protocol=HTTP/1.1 useragent=ua/1"
    assert meter_lines(proxy_wasm_backend) == [
        f"route-meter request_headers: url_path=/api/v1/items path=/api/v1/items?q=1 {attributes}",
        "route-meter: rewrote :path, request.path=/v1/items?q=1 request.url_path=/v1/items",
        "route-meter request_body: request.url_path NOT_FOUND, kept url_path=/v1/items",
        "route-meter request_body: request.url_path NOT_FOUND, kept url_path=/v1/items",
        "route-meter response_headers: request.url_path NOT_FOUND, kept url_path=/v1/items",
        "route-meter response_body: request.url_path NOT_FOUND, kept url_path=/v1/items",
        "route-meter response_body: request.url_path NOT_FOUND, kept url_path=/v1/items",
        f"route-meter log: url_path=/v1/items path=/v1/items?q=1 {attributes}",
        "route-meter log: request.size=5 request.total_size=168",
    ]


def test_quota_per_route(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(ROUTE_METER, plugin_config={"limit": 1})
    assert proxy_wasm_backend.request(plugin, path="/a").status == 200
    assert proxy_wasm_backend.request(plugin, path="/b?x=1").status == 200
    limited = proxy_wasm_backend.request(plugin, path="/a?other")
    assert (limited.status, limited.details) == (429, "rate_limited")
    assert limited.response_body == b"too many requests\n"
