"""Minimal HTTP/1.1 on sockets that keeps what Envoy sends: header case, order, duplicates, trailers.

The fakes and the client use it; ``http.server`` does the serving. (WSGI-based servers fold duplicate
headers and rename them, which would hide exactly what a plugin changed.)
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

Pairs = list[tuple[str, str]]


@dataclass
class Message:
    """A parsed request or response: start line, headers, body, trailers."""

    start_line: str
    headers: Pairs
    body: bytes = b""
    trailers: Pairs = field(default_factory=list)
    reset: bool = False  # the connection closed before the whole message arrived

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def read_headers(stream: BinaryIO) -> Pairs:
    headers: Pairs = []
    while True:
        line = stream.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))


def read_body(
    stream: BinaryIO, headers: Pairs, *, response_to_head: bool = False, no_body_status: bool = False
) -> tuple[bytes, Pairs]:
    """The body (by content-length or chunked) and any chunked trailers."""
    body, trailers, _ = read_body_checked(
        stream, headers, response_to_head=response_to_head, no_body_status=no_body_status
    )
    return body, trailers


def read_body_checked(
    stream: BinaryIO, headers: Pairs, *, response_to_head: bool = False, no_body_status: bool = False
) -> tuple[bytes, Pairs, bool]:
    """``read_body`` and whether the body was complete (False: the peer closed or reset mid-body)."""
    lookup = {k.lower(): v for k, v in headers}
    if response_to_head or no_body_status:
        return b"", [], True
    try:
        if "chunked" in lookup.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size_line = stream.readline(1024)
                if not size_line:
                    return bytes(body), [], False
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return bytes(body), read_headers(stream), True
                chunk = stream.read(size)
                body += chunk
                if len(chunk) < size:
                    return bytes(body), [], False
                stream.readline(3)
        if "content-length" in lookup:
            length = int(lookup["content-length"])
            data = stream.read(length)
            return data, [], len(data) == length
    except (ConnectionError, TimeoutError):
        return b"", [], False
    return b"", [], True


def encode_request(
    method: str,
    path: str,
    authority: str,
    headers: Sequence[tuple[str, str]],
    body_chunks: Sequence[bytes],
    trailers: Sequence[tuple[str, str]] | None,
) -> list[bytes]:
    """The request as the segments a client writes: the head with the first chunk, then each chunk."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {authority}"]
    names = {k.lower() for k, _ in headers}
    chunked = trailers is not None or (len(body_chunks) > 1 and "content-length" not in names)
    if chunked:
        lines.append("transfer-encoding: chunked")
    lines += [f"{k}: {v}" for k, v in headers]
    if not chunked and body_chunks and "content-length" not in names:
        lines.append(f"content-length: {sum(len(c) for c in body_chunks)}")  # last, as curl writes it
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if not chunked:  # the head alone, then the body
        return [head, b"".join(body_chunks)] if body_chunks else [head]
    segments = [bytearray(head)]
    for chunk in body_chunks:
        if chunk:
            segments.append(bytearray(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"))
    segments[-1] += b"0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in trailers or []).encode("latin-1")
    segments[-1] += b"\r\n"
    return [bytes(s) for s in segments]  # the head alone, then each chunk


def exchange(
    port: int,
    request: Sequence[bytes],
    method: str,
    timeout: float = 60.0,
    gap: float = 0.02,
    *,
    connect: Callable[[int, float], socket.socket] | None = None,
    after_head: Callable[[socket.socket], None] | None = None,
) -> Message | None:
    """Send one request, ``gap`` seconds between body segments so Envoy reads each body chunk on its
    own (as the emulator delivers it); the response, or ``None`` when Envoy reset the stream first.
    ``connect(port, timeout)`` makes the connection (the peer address); ``after_head(sock)`` runs
    between the head and the body."""
    opened = connect(port, timeout) if connect else socket.create_connection(("127.0.0.1", port), timeout)
    with opened as sock:
        for index, segment in enumerate(request):
            if index == 1 and after_head is not None:
                after_head(sock)
            elif index:
                time.sleep(gap)
            try:
                sock.sendall(segment)
            except OSError:  # Envoy answered (and closed) before the whole body was sent
                break
        stream = sock.makefile("rb")
        status_line = stream.readline(65537).decode("latin-1").strip()
        if not status_line:
            return None
        headers = read_headers(stream)
        code = int(status_line.split()[1])
        body, trailers = read_body(
            stream,
            headers,
            response_to_head=method == "HEAD",
            no_body_status=code in (204, 304) or code < 200,
        )
        return Message(status_line, headers, body, trailers)
