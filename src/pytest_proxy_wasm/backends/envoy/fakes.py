"""Real servers on 127.0.0.1 standing in for the upstream and for every callout cluster."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ...host.callouts import CalloutResponse, Callouts, HttpCallRecord, canonical, response_maps
from ...host.headers import HeaderMap, as_latin1
from .wire import Message, Pairs, read_body_checked


@dataclass
class UpstreamReply:
    status: int = 200
    headers: Pairs = field(default_factory=list)
    body: bytes = b""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def _serve(self) -> None:
        self.server.head_seen()
        try:
            headers = [(k, v) for k, v in self.headers.items()]
            body, trailers, complete = read_body_checked(self.rfile, headers)  # type: ignore[arg-type]
            message = Message(self.requestline, headers, body, trailers, reset=not complete)
            self.server.record(message)
        finally:
            self.server.head_done()
        if not complete:  # Envoy reset the request mid-body: nothing to answer
            self.close_connection = True
            return
        reply = self.server.answer(message)
        if reply is None:  # a reset: close without answering
            self.close_connection = True
            return
        self.send_response_only(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if not any(k.lower() == "content-length" for k, _ in reply.headers):
            self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve  # noqa: N815


class FakeServer(http.server.ThreadingHTTPServer):
    """Records every request; answers through ``answer`` (a callable the owner sets)."""

    daemon_threads = True

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
