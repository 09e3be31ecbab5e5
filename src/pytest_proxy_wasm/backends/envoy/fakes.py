"""Real servers on 127.0.0.1 standing in for the upstream and for every callout cluster."""

from __future__ import annotations

import contextlib
import http
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import h11

from ...host.callouts import CalloutResponse, Callouts, HttpCallRecord, canonical, response_maps
from ...host.headers import HeaderMap, as_latin1
from .wire import Message, Pairs, Reader, connection

# What a peer that went away (or cut a message short) raises on our side: never worth a traceback.
# h11.LocalProtocolError (a reply h11 cannot frame) is ours and still reported.
GONE = (OSError, h11.RemoteProtocolError)


@dataclass
class UpstreamReply:
    status: int = 200
    headers: Pairs = field(default_factory=list)
    body: bytes = b""


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def response_events(reply: UpstreamReply, head_request: bool) -> list[h11.Event]:
    """The h11 events of ``reply``: the test's headers in order (surrounding whitespace dropped, as
    Envoy's codec drops it), content-length added when the test gave no framing."""
    headers = [(k.encode("latin-1"), v.encode("latin-1").strip(b" \t")) for k, v in reply.headers]
    names = {k.lower() for k, _ in headers}
    if b"content-length" not in names and b"transfer-encoding" not in names:
        headers.append((b"content-length", str(len(reply.body)).encode()))
    events: list[h11.Event] = [
        h11.Response(status_code=reply.status, headers=headers, reason=_reason(reply.status))
    ]
    if reply.body and not head_request and reply.status not in (204, 304):
        events.append(h11.Data(data=reply.body))
    events.append(h11.EndOfMessage())
    return events


class _Handler(socketserver.BaseRequestHandler):
    """One connection from Envoy: requests in turn (keep-alive), each recorded and answered."""

    server: FakeServer
    request: socket.socket

    reading = False  # a request's head arrived and its body is being read

    def _head_seen(self) -> None:
        self.reading = True
        self.server.head_seen()

    def handle(self) -> None:
        conn = connection(h11.SERVER)
        reader = Reader(conn, self.request)
        with contextlib.suppress(*GONE):  # Envoy closed or reset the connection: nothing to report
            while True:
                self.reading = False
                try:
                    message = reader.message(on_head=self._head_seen)
                    if message is not None and not message.complete:  # Envoy reset it mid-body
                        message.reset = True
                        self.server.record(message)
                        return
                finally:
                    if self.reading:
                        self.server.head_done()
                if message is None:
                    return
                self.server.record(message)
                reply = self.server.answer(message)
                if reply is None:  # a reset: close without answering
                    return
                head = message.start_line.startswith("HEAD ")
                for event in response_events(reply, head):
                    self.request.sendall(conn.send(event) or b"")
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()


class FakeServer(socketserver.ThreadingTCPServer):
    """Records every request; answers through ``answer`` (a callable the owner sets)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str, answer: Callable[[Message], UpstreamReply | None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name = name
        self.answer = answer
        self.requests: list[Message] = []
        self.heads = 0  # request heads received (the body may still be arriving)
        self.reading = 0  # requests whose body is still being read
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{name}", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def record(self, message: Message) -> None:
        with self._lock:
            self.requests.append(message)

    def head_seen(self) -> None:
        with self._lock:
            self.heads += 1
            self.reading += 1

    def head_done(self) -> None:
        with self._lock:
            self.reading -= 1

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away is not an error; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], GONE):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def close(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class Upstream(FakeServer):
    """The route's upstream: answers what the current exchange asked for."""

    def __init__(self) -> None:
        self.reply = UpstreamReply()
        super().__init__("upstream", lambda message: self.reply)


class CalloutCluster(FakeServer):
    """One callout cluster, answering from the same declarative expectations the emulator uses."""

    def __init__(self, cluster: str, callouts: Callouts) -> None:
        self.cluster = cluster
        self.callouts = callouts
        super().__init__(cluster, self._answer)

    def _answer(self, message: Message) -> UpstreamReply | None:
        headers = as_sent(message)
        response: CalloutResponse
        response, matched = self.callouts.answer_for(self.cluster, headers)
        timeout = int(message.header("x-envoy-expected-rq-timeout-ms") or 0)
        seen, _, _ = response_maps(response, timeout)  # what Envoy hands the plugin (503/504 on failure)
        status = seen.get(b":status") if seen is not None else None
        self.callouts.records.append(
            HttpCallRecord(
                self.cluster,
                headers.as_text(),
                message.body,
                list(message.trailers),
                timeout,
                0,
                matched,
                int(status) if status else None,
            )
        )
        if response.failure == "timeout":
            self.stopping.wait(60)
            return None
        if response.delay_ms:
            self.stopping.wait(response.delay_ms / 1000)
        if response.failure == "reset":
            return None
        return UpstreamReply(response.status, as_latin1(response.headers), response.body)


# Set by each callout cluster's upstream header_mutation filter (bootstrap.SCHEME_PROBE): the
# ``:scheme`` Envoy's router forwarded, which HTTP/1.1 does not carry.
SCHEME_PROBE = "x-pytest-proxy-wasm-scheme"
# Added by Envoy to every callout; the record holds what the plugin sent (timeout_ms keeps the timeout).
ENVOY_ADDED = frozenset({"host", SCHEME_PROBE, "x-envoy-internal", "x-envoy-expected-rq-timeout-ms"})


def as_sent(message: Message) -> HeaderMap:
    """A callout as it reached the fake, in the emulator's record shape: ``:method`` and ``:path`` from
    the request line, ``:authority`` from Host, ``:scheme`` from the probe header; Envoy's own
    additions dropped."""
    method, path = message.start_line.split()[:2]
    pseudo = [(":method", method), (":scheme", message.header(SCHEME_PROBE) or "http")]
    pseudo += [(":authority", message.header("host") or ""), (":path", path)]
    rest = [(k.lower(), v) for k, v in message.headers if k.lower() not in ENVOY_ADDED]
    return canonical([(k.encode("latin-1"), v.encode("latin-1")) for k, v in pseudo + rest])


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
