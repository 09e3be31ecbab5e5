"""The Envoy backends' downstream side, without Envoy: the connection manager fields, the client's
peer address, the head of a request sent before its body, and a reset upstream request."""

from __future__ import annotations

import socket

import h11
import pytest

from pytest_proxy_wasm.backends.envoy.downstream import PeerAddressError, connect_from, hcm_fields
from pytest_proxy_wasm.backends.envoy.wire import Reader, connection, encode_request
from pytest_proxy_wasm.host.client_address import ClientAddressSettings


def test_defaults_render_nothing_and_settings_render_envoys_fields() -> None:
    assert hcm_fields(ClientAddressSettings()) == {}
    assert hcm_fields(ClientAddressSettings(True, 2, True, ("10.1.2.3/8",))) == {
        "use_remote_address": True,
        "xff_num_trusted_hops": 2,
        "skip_xff_append": True,
        "internal_address_config": {"cidr_ranges": [{"address_prefix": "10.0.0.0", "prefix_len": 8}]},
    }


def test_a_peer_the_machine_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(PeerAddressError, match=r"10\.255\.0\.7:45678"):
        connect_from(("10.255.0.7", 45678), 1, 1.0)


def test_the_client_connects_from_the_peer() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client = connect_from(("127.0.0.5", 0), server.getsockname()[1], 5.0)
        with client, server.accept()[0] as accepted:
            assert accepted.getpeername()[0] == "127.0.0.5"


def test_the_head_is_its_own_segment() -> None:
    segments = encode_request("POST", "/", "example.com", [], [b"abc"], None).segments
    assert segments == [b"POST / HTTP/1.1\r\nhost: example.com\r\ncontent-length: 3\r\n\r\n", b"abc"]
    chunked = encode_request("POST", "/", "h", [], [b"ab", b"c"], None).segments
    assert chunked[0].endswith(b"transfer-encoding: chunked\r\n\r\n") and len(chunked) == 3


@pytest.mark.parametrize(
    ("headers", "data", "complete"),
    [
        (b"content-length: 3\r\n", b"abc", True),
        (b"content-length: 8\r\n", b"abc", False),  # reset mid-body
        (b"transfer-encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n", True),
        (b"transfer-encoding: chunked\r\n", b"3\r\nabc\r\n", False),
        (b"", b"", True),
    ],
)
def test_an_incomplete_body_is_a_reset(headers: bytes, data: bytes, complete: bool) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"POST / HTTP/1.1\r\nhost: h\r\n" + headers + b"\r\n" + data)
        theirs.shutdown(socket.SHUT_WR)
        heads: list[bool] = []
        message = Reader(connection(h11.SERVER), ours).message(on_head=lambda: heads.append(True))
    assert message is not None and heads == [True]
    assert (message.body, message.complete) == (b"abc" if data else b"", complete)
