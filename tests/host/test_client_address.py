"""The client address as Envoy 1.40's connection manager decides it (host/client_address.py); the
cases Envoy itself was run on are in tests/plugins/test_gateway_samples.py (diff mode)."""

from __future__ import annotations

import ipaddress

import pytest

from pytest_proxy_wasm.host.client_address import (
    ClientAddressSettings,
    last_address_from_xff,
    mutate_request_headers,
    parse_peer,
)
from pytest_proxy_wasm.host.headers import HeaderMap

PEER = ("127.0.0.5", 45678)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.7", ("10.0.0.7", 45678)),
        ("10.0.0.7:5000", ("10.0.0.7", 5000)),
        ("::1", ("::1", 45678)),
        ("[::1]:80", ("::1", 80)),
    ],
)
def test_parse_peer(text: str, expected: tuple[str, int]) -> None:
    assert parse_peer(text) == expected


@pytest.mark.parametrize("text", ["host.example", "10.0.0.7:99999", "[::1", "1.2.3"])
def test_parse_peer_refuses_what_is_not_an_address(text: str) -> None:
    with pytest.raises(ValueError, match="peer address"):
        parse_peer(text)


@pytest.mark.parametrize(
    ("value", "skip", "address", "single"),
    [
        (None, 0, None, False),
        (b"10.0.0.1", 0, "10.0.0.1", True),
        (b" 10.0.0.1 ", 0, "10.0.0.1", True),
        (b"10.0.0.1, 10.0.0.2", 0, "10.0.0.2", False),
        (b"10.0.0.1, 10.0.0.2", 1, "10.0.0.1", False),
        (b"10.0.0.1, 10.0.0.2", 2, None, False),
        (b"10.0.0.1,", 0, None, False),  # a trailing comma leaves the whole text, not an address
        (b"", 0, None, False),
        (b"10.0.0.1:80", 0, None, False),  # no ports in x-forwarded-for
        (b"fe80::1%eth0", 0, None, False),  # no zone index (inet_pton)
        (b"2001:db8::1", 0, "2001:db8::1", True),
    ],
)
def test_last_address_from_xff(value: bytes | None, skip: int, address: str | None, single: bool) -> None:
    found, alone = last_address_from_xff(value, skip)
    assert (str(found) if found is not None else None, alone) == (address, single)


def mutated(
    headers: list[tuple[bytes, bytes]], peer: tuple[str, int] = PEER, **settings: object
) -> tuple[tuple[str, int], list[tuple[bytes, bytes]]]:
    request = HeaderMap([(b":path", b"/"), *headers])
    address = mutate_request_headers(
        request,
        "http",
        peer,
        ClientAddressSettings(**settings),
        "192.0.2.2",
        lambda: b"generated",  # type: ignore[arg-type]
    )
    return address, request.pairs()[1:]


def test_defaults_read_x_forwarded_for_and_append_nothing() -> None:
    address, headers = mutated([(b"x-forwarded-for", b"10.0.0.1")])
    assert address == ("10.0.0.1", 0)
    assert headers == [
        (b"x-forwarded-for", b"10.0.0.1"),
        (b"x-forwarded-proto", b"http"),
        (b"x-request-id", b"generated"),
    ]


def test_internal_only_headers_are_stripped_from_an_external_request() -> None:
    _, headers = mutated(
        [(b"x-envoy-retry-on", b"5xx"), (b"x-envoy-decorator-operation", b"op"), (b"keep-alive", b"1")]
    )
    names = [k for k, _ in headers]
    assert b"x-envoy-retry-on" not in names and b"keep-alive" not in names
    assert b"x-envoy-decorator-operation" in names  # removed only from edge requests


def test_edge_request_gets_the_external_address_and_a_fresh_request_id() -> None:
    address, headers = mutated(
        [(b"x-request-id", b"client"), (b"x-envoy-decorator-operation", b"op")], use_remote_address=True
    )
    assert address == PEER
    assert headers == [
        (b"x-request-id", b"generated"),  # replaced in place
        (b"x-forwarded-for", b"127.0.0.5"),
        (b"x-forwarded-proto", b"http"),
        (b"x-envoy-external-address", b"127.0.0.5"),
    ]


def test_a_loopback_peer_appends_envoys_own_address() -> None:
    _, headers = mutated([], peer=("127.0.0.1", 45678), use_remote_address=True)
    assert (b"x-forwarded-for", b"192.0.2.2") in headers


def test_skip_xff_append() -> None:
    _, headers = mutated([], use_remote_address=True, skip_xff_append=True)
    assert b"x-forwarded-for" not in [k for k, _ in headers]


def test_duplicate_x_forwarded_for_headers_merge() -> None:
    address, headers = mutated(
        [(b"x-forwarded-for", b"10.0.0.1"), (b"a", b"b"), (b"x-forwarded-for", b"10.0.0.2")]
    )
    assert address == ("10.0.0.2", 0)
    assert headers[:2] == [(b"x-forwarded-for", b"10.0.0.1,10.0.0.2"), (b"a", b"b")]


@pytest.mark.parametrize(
    ("xff", "internal"),
    [
        ([(b"x-forwarded-for", b"10.0.0.1")], True),
        ([(b"x-forwarded-for", b"10.0.0.9, 10.0.0.1")], False),
        ([], False),
    ],
)
def test_internal_needs_a_lone_internal_address(xff: list[tuple[bytes, bytes]], internal: bool) -> None:
    _, headers = mutated([*xff, (b"x-envoy-internal", b"forged")], internal_address_cidrs=("10.0.0.0/8",))
    assert ((b"x-envoy-internal", b"true") in headers) is internal
    assert (b"x-envoy-internal", b"forged") not in headers


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"xff_num_trusted_hops": -1}, "0 or more"),
        ({"xff_num_trusted_hops": True}, "an integer"),
        ({"internal_address_cidrs": ("10.0.0.0/33",)}, "not an address range"),
    ],
)
def test_bad_settings_are_named(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClientAddressSettings(**settings)  # type: ignore[arg-type]


def test_host_options_and_request_arguments(proxy_wasm_host: object) -> None:
    from pytest_proxy_wasm import Host

    assert isinstance(proxy_wasm_host, Host)
    assert ipaddress.ip_address(proxy_wasm_host.client_defaults[0][0]) == ipaddress.ip_address("127.0.0.1")
    with pytest.raises(ValueError, match="xff_num_trusted_hops"):
        proxy_wasm_host.request(None, xff_num_trusted_hops=-2)
