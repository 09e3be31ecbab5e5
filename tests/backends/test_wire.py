"""The Envoy backend's HTTP/1.1 client and fakes (backends/envoy/wire.py, on h11).

Scripted servers give the client exact bytes (interim answers, chunked and close-delimited bodies,
duplicates, trailers, a body cut short); then the same through a real Envoy, and the fakes' quiet end
when a client goes away.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends.envoy.backend import EnvoyBackend
from pytest_proxy_wasm.backends.envoy.fakes import Upstream, UpstreamReply
from pytest_proxy_wasm.backends.envoy.wire import WireError, encode_request, exchange
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

HEADERS = Path(__file__).resolve().parents[2] / "fixtures" / "rust" / "headers.wasm"


class Scripted:
    """Accepts one connection, reads the request head (and ``body`` more bytes), answers ``reply``,
    then closes. ``received`` is everything it read."""

    def __init__(self, reply: bytes, body: int = 0) -> None:
        self.reply = reply
        self.body = body
        self.received = b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            while b"\r\n\r\n" not in self.received:
                self.received += conn.recv(65536)
            while len(self.received.partition(b"\r\n\r\n")[2]) < self.body:
                self.received += conn.recv(65536)
            conn.sendall(self.reply)
        self.sock.close()


def get(server: Scripted, method: str = "GET", headers: list[tuple[str, str]] | None = None):  # type: ignore[no-untyped-def]
    request = encode_request(method, "/p", "example.com", headers or [], [], None)
    response = exchange(server.port, request, method, timeout=5)
    server.thread.join(5)
    return response


def test_interim_answers_are_skipped_and_listed() -> None:
    server = Scripted(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"
    )
    response = get(server)
    assert response is not None
    assert response.start_line == "HTTP/1.1 201 Created"
    assert response.interim == [100, 103]
    assert response.body == b"ok"


def test_chunked_body_with_trailers_duplicates_and_case() -> None:
    server = Scripted(
        b"HTTP/1.1 200 OK\r\nX-Dup: 1\r\nTransfer-Encoding: chunked\r\nx-dup: 2\r\n\r\n"
        b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nGrpc-Status: 0\r\nx-t: a\r\nx-t: b\r\n\r\n"
    )
    response = get(server)
    assert response is not None
    assert response.headers == [("X-Dup", "1"), ("Transfer-Encoding", "chunked"), ("x-dup", "2")]
    assert response.body == b"abcdefg"
    assert response.trailers == [("Grpc-Status", "0"), ("x-t", "a"), ("x-t", "b")]
    assert response.complete


def test_close_delimited_body() -> None:
    server = Scripted(b"HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\nuntil the end")
    response = get(server)
    assert response is not None and response.body == b"until the end" and response.complete


def test_head_answer_has_no_body() -> None:
    server = Scripted(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")
    response = get(server, method="HEAD")
    assert response is not None and response.body == b"" and response.header("content-length") == "10"


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabc",
        b"",
    ],
    ids=["content-length", "chunked", "nothing"],
)
def test_an_answer_cut_short_is_a_reset(reply: bytes) -> None:
    assert get(Scripted(reply)) is None


def test_a_malformed_answer_is_not_taken_for_one() -> None:
    import h11

    with pytest.raises(h11.RemoteProtocolError):
        get(Scripted(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"))


def test_request_framing_header_case_and_whitespace() -> None:
    server = Scripted(
        b"HTTP/1.1 204 No Content\r\n\r\n", body=len(b"5\r\nhello\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n")
    )
    request = encode_request(
        "POST",
        "/u",
        "a.test",
        [("X-Case", "  padded\t"), ("x-l", "caf\xe9")],
        [b"hello", b"abc"],
        [("x-t", "1")],
    )
    response = exchange(server.port, request, "POST", timeout=5, gap=0)
    server.thread.join(5)
    assert response is not None and response.start_line.startswith("HTTP/1.1 204")
    head, _, body = server.received.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /u HTTP/1.1",
        b"host: a.test",
        b"transfer-encoding: chunked",
        b"X-Case: padded",
        b"x-l: caf\xe9",
    ]
    assert body == b"5\r\nhello\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n"


def test_expect_continue_waits_for_the_interim_answer() -> None:
    server = Scripted(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    request = encode_request("PUT", "/", "a.test", [("expect", "100-continue")], [b"x" * 2000], None)
    assert len(request.segments) == 2  # the head alone, then the body
    response = exchange(server.port, request, "PUT", timeout=5)
    assert response is not None and response.interim == [100]


def test_a_request_h11_cannot_frame_is_refused_by_name() -> None:
    with pytest.raises(WireError, match="cannot send this request"):
        encode_request("GET", "/", "a.test", [("bad name", "1")], [], None)


def test_fake_upstream_is_quiet_when_the_client_goes_away(capfd: pytest.CaptureFixture[str]) -> None:
    upstream = Upstream()
    upstream.reply = UpstreamReply(200, [], b"x" * 4_000_000)
    try:
        with socket.create_connection(("127.0.0.1", upstream.port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
            sock.recv(100)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        with socket.create_connection(("127.0.0.1", upstream.port)) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\nshort")
        with socket.create_connection(("127.0.0.1", upstream.port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
            assert sock.recv(12) == b"HTTP/1.1 200"
    finally:
        upstream.close()
    assert "Traceback" not in capfd.readouterr().err
    # the cut-short POST is recorded as a reset request (what the upstream saw before Envoy reset it)
    cut = [r for r in upstream.requests if r.reset]
    assert len(upstream.requests) == 3 and [(r.start_line, r.body) for r in cut] == [
        ("POST / HTTP/1.1", b"short")
    ]


@pytest.fixture
def envoy(tmp_path: Path) -> Iterator[EnvoyBackend]:
    reason = envoy_unavailable_reason("envoy")
    if reason:
        pytest.skip(reason)
    backend = EnvoyBackend(tmp_path / "envoy")
    try:
        yield backend
    finally:
        backend.close()


def test_on_envoy_interim_duplicates_chunked_and_trailers(envoy: EnvoyBackend) -> None:
    """Through Envoy: its own "100 Continue" skipped; duplicate response headers kept in order; a chunked
    upstream answer; request trailers reach the upstream."""
    envoy.load_plugin(HEADERS)
    assert envoy.process is not None
    envoy.upstream.reply = UpstreamReply(
        200, [("x-d", "1"), ("transfer-encoding", "chunked"), ("x-d", "2")], b"chunked answer"
    )
    request = encode_request(
        "POST", "/t", "example.com", [("expect", "100-continue")], [b"a" * 1500, b"b"], [("x-trailer", "t")]
    )
    response = exchange(envoy.process.port, request, "POST", timeout=10)
    assert response is not None
    assert response.interim == [100]
    assert response.start_line.startswith("HTTP/1.1 200")
    assert [v for k, v in response.headers if k == "x-d"] == ["1", "2"]
    assert response.header("transfer-encoding") == "chunked"
    assert response.body == b"chunked answer"
    [seen] = envoy.upstream.requests
    assert seen.header("expect") is None
    assert seen.body == b"a" * 1500 + b"b"
    assert seen.trailers == [("x-trailer", "t")]


def test_on_envoy_heads_over_h11s_default_limit(envoy: EnvoyBackend) -> None:
    """Heads up to Envoy's 60 KiB pass both ways (h11 alone stops at 16 KiB)."""
    envoy.load_plugin(HEADERS)
    big = "ab" * 15_000  # 30 KB
    outcome = envoy.request(headers={"x-big": big}, upstream_headers={"x-big-answer": big})
    assert outcome.status == 200
    assert outcome.header("x-big-answer") == big
    assert outcome.upstream_request is not None and outcome.upstream_request.header("x-big") == big


def test_expect_continue_answered_at_once_sends_no_body() -> None:
    """A final answer instead of "100 Continue": the client takes it and keeps the body, as curl does."""
    server = Scripted(b"HTTP/1.1 417 Expectation Failed\r\ncontent-length: 0\r\n\r\n")
    request = encode_request("PUT", "/", "a.test", [("expect", "100-continue")], [b"x" * 2000], None)
    response = exchange(server.port, request, "PUT", timeout=5)
    server.thread.join(5)
    assert response is not None and response.start_line.startswith("HTTP/1.1 417")
    assert not server.received.partition(b"\r\n\r\n")[2]  # the body never went out
