"""HTTP/1.1 for the Envoy backend's client and fakes, on ``h11``, keeping what tests compare: header
case, order and duplicates, trailers, and body chunks written apart (each a read of its own for Envoy).

h11 frames and checks every message (content-length, chunked, close-delimited) and reports interim 1xx
answers apart from the final one. Values it refuses are handled before it: optional whitespace around a
value is dropped (Envoy's codec drops it too), text goes out as Latin-1 octets.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import h11

Pairs = list[tuple[str, str]]
CONTINUE_WAIT = 1.0  # curl's --expect100-timeout default: how long a client waits for "100 Continue"
# h11 refuses a head over 16 KiB by default; Envoy accepts 60 KiB of headers (max_request_headers_kb)
# and passes on what it accepted, so ours read up to 1 MiB.
MAX_HEAD = 1 << 20


def connection(role: type[h11.CLIENT] | type[h11.SERVER]) -> h11.Connection:
    return h11.Connection(role, max_incomplete_event_size=MAX_HEAD)


@dataclass
class Message:
    """A parsed request or response: start line, headers, body, trailers.

    ``interim``: the 1xx statuses that came before a response; ``complete``: False when the peer closed
    the connection before the message ended (Envoy reset the stream after the headers)."""

    start_line: str
    headers: Pairs
    body: bytes = b""
    trailers: Pairs = field(default_factory=list)
    interim: list[int] = field(default_factory=list)
    complete: bool = True
    reset: bool = False  # a request the fake upstream recorded although it was cut short (a reset)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


class WireError(ValueError):
    """What the Envoy backend's HTTP/1.1 client cannot put on the wire (h11 refused it)."""


def _octets(pairs: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Names and values as bytes (text is Latin-1 by now), values without surrounding whitespace."""
    return [(k.encode("latin-1"), v.encode("latin-1").strip(b" \t")) for k, v in pairs]


def _text(pairs: Any) -> Pairs:
    return [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in pairs]


class Reader:
    """Events of one h11 connection, reading the socket as h11 asks for more."""

    def __init__(self, conn: h11.Connection, sock: socket.socket) -> None:
        self.conn = conn
        self.sock = sock
        self.interim: list[int] = []  # 1xx statuses read and not yet handed over with a message
        self.bytes_read = 0

    def next_event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if isinstance(event, h11.InformationalResponse):
                self.interim.append(event.status_code)
            if event is not h11.NEED_DATA:
                return event
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            self.bytes_read += len(data)
            self.conn.receive_data(data)

    def message(self, first: Any = None, on_head: Callable[[], None] | None = None) -> Message | None:
        """The next whole request or response (``None``: the peer closed before one started)."""
        head = first
        body = bytearray()
        read_before = self.bytes_read
        while head is None:
            try:
                event = self.next_event()
            except h11.RemoteProtocolError:
                if self.bytes_read == read_before:  # closed before a byte of an answer: no message
                    return None
                raise
            if isinstance(event, h11.Request | h11.Response):
                head = event
            elif isinstance(event, h11.ConnectionClosed):
                return None
        version = head.http_version.decode()
        if isinstance(head, h11.Request):
            start = f"{head.method.decode()} {head.target.decode('latin-1')} HTTP/{version}"
        else:
            start = f"HTTP/{version} {head.status_code} {head.reason.decode('latin-1')}".rstrip()
        message = Message(start, _text(head.headers.raw_items()), interim=self.interim)
        if on_head is not None:
            on_head()
        self.interim = []
        while True:
            try:
                event = self.next_event()
            except h11.RemoteProtocolError:  # closed mid-body: the message was cut short
                message.complete = False
                break
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                message.trailers = _text(event.headers.raw_items())
                break
            else:
                message.complete = False
                break
        message.body = bytes(body)
        return message


@dataclass
class WireRequest:
    """A request as the segments a client writes (the head with the first chunk, then each chunk),
    with the h11 connection that produced them (it then reads the answer)."""

    segments: list[bytes]
    conn: h11.Connection
    expect_continue: bool = False


def encode_request(
    method: str,
    path: str,
    authority: str,
    headers: Sequence[tuple[str, str]],
    body_chunks: Sequence[bytes],
    trailers: Sequence[tuple[str, str]] | None,
) -> WireRequest:
    """Host first, then the test's headers in their order and case; chunked framing for several chunks
    or trailers, else content-length last (where curl writes it)."""
    names = {k.lower() for k, _ in headers}
    chunked = trailers is not None or (len(body_chunks) > 1 and "content-length" not in names)
    pairs = [("host", authority)] + ([("transfer-encoding", "chunked")] if chunked else []) + list(headers)
    if not chunked and body_chunks and "content-length" not in names:
        pairs.append(("content-length", str(sum(len(c) for c in body_chunks))))
    conn = connection(h11.CLIENT)
    try:
        head = conn.send(h11.Request(method=method, target=path, headers=_octets(pairs))) or b""
        chunks = [conn.send(h11.Data(data=chunk)) or b"" for chunk in body_chunks if chunk]
        end = conn.send(h11.EndOfMessage(headers=_octets(trailers or []))) or b""
    except h11.LocalProtocolError as exc:
        raise WireError(f"the Envoy backend cannot send this request over HTTP/1.1: {exc}") from None
    # A client that asked for "100 Continue" sends the head alone and the body once it came.
    expect = bool(body_chunks) and any(
        k.lower() == "expect" and v.strip().lower() == "100-continue" for k, v in headers
    )
    # The head alone, then the body (or each chunk): the router forwards the head upstream before the
    # body arrives, as the emulator models it (a request rejected on its body then shows a reset).
    if not chunked:
        body = b"".join(chunks) + end
        return WireRequest([head, body] if body else [head], conn, expect)
    segments = [head, *chunks]
    segments[-1] += end
    return WireRequest(segments, conn, expect)


def _await_continue(reader: Reader, sock: socket.socket) -> Message | bool | None:
    """As curl does with ``Expect: 100-continue``: wait up to a second for the interim answer. True to
    send the body; a final answer (or ``None``, closed) instead means the body is not sent."""
    sock.settimeout(CONTINUE_WAIT)
    try:
        event = reader.next_event()
    except TimeoutError:
        return True
    finally:
        sock.settimeout(None)
    if isinstance(event, h11.InformationalResponse):
        return True
    if isinstance(event, h11.ConnectionClosed):
        return None
    return reader.message(first=event)


def exchange(
    port: int,
    request: WireRequest,
    method: str,
    timeout: float = 60.0,
    gap: float = 0.02,
    *,
    connect: Callable[[int, float], socket.socket] | None = None,
    after_head: Callable[[socket.socket], None] | None = None,
) -> Message | None:
    """Send one request, ``gap`` seconds between body segments so Envoy reads each body chunk on its
    own (as the emulator delivers it); the final response (interim 1xx answers are skipped and listed
    in ``Message.interim``), or ``None`` when Envoy reset the stream first. ``connect(port, timeout)``
    makes the connection (the peer address); ``after_head(sock)`` runs between the head and the body
    (unless the client waits for ``100 Continue`` there)."""
    del method  # h11 knows the request's method (a HEAD answer has no body)
    opened = connect(port, timeout) if connect else socket.create_connection(("127.0.0.1", port), timeout)
    with opened as sock:
        reader = Reader(request.conn, sock)
        for index, segment in enumerate(request.segments):
            if index == 1 and request.expect_continue:
                waited = _await_continue(reader, sock)
                if waited is not True:  # answered before the body: curl sends no body then
                    return waited if isinstance(waited, Message) and waited.complete else None
                sock.settimeout(timeout)
            elif index == 1 and after_head is not None:
                after_head(sock)
            elif index:
                time.sleep(gap)
            try:
                sock.sendall(segment)
            except OSError:  # Envoy answered (and closed) before the whole body was sent
                break
        sock.settimeout(timeout)
        response = reader.message()
        if response is None or not response.complete:
            return None  # a reset: no answer, or one cut short after its headers
        return response
