"""A whole HTTP exchange through a chain of plugins, the way Envoy's filter manager runs it.

Request callbacks run in chain order, response callbacks in reverse. A filter that stops on headers
holds later data until it continues, then sees it in one body call (Envoy ``iterate_from_current_filter``).
A local reply before the response started runs through every filter's response callbacks; one sent
while the response is under way goes straight to the client.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..outcome import Outcome, UpstreamRequest
from .abi.enums import StreamType
from .contexts import LocalResponse
from .filter_walk import Direction, FilterWalk, _Hold
from .headers import HeaderInput, HeaderMap, to_pairs

if TYPE_CHECKING:
    from .host import Host
    from .http import HttpStream
    from .plugin import Plugin

MAX_PENDING_ROUNDS = 10_000
STREAM_IDLE_TIMEOUT_NS = 300 * 1_000_000_000  # Envoy's default stream idle timeout: 5 min


@dataclass
class UpstreamResponse:
    status: int = 200
    headers: list[tuple[str | bytes, str | bytes]] = field(default_factory=list)
    body: bytes | str = b""
    trailers: list[tuple[str | bytes, str | bytes]] | None = None


def _wire(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers as they come through an HTTP/1.1 codec: optional whitespace around values is gone."""
    return [(k, v.strip(b" \t")) for k, v in headers]


class Exchange(FilterWalk):
    def __init__(self, host: Host, chain: list[Plugin]) -> None:
        self.host = host
        self.first_log = len(host.records)  # a FAIL_RELOAD restart below logs into this exchange
        self.chain = chain
        self.info = host.new_stream_info()
        self.streams: list[HttpStream] = []
        for plugin in chain:
            if plugin.joins_new_stream():
                self.streams.append(plugin.http_stream_for(self.info))
        n = len(self.streams)
        self.request_side = Direction(True, [_Hold() for _ in range(n)])
        self.response_side = Direction(False, [_Hold() for _ in range(n)])
        self.upstream_headers: HeaderMap | None = None
        self.upstream_body = bytearray()
        self.upstream_trailers: HeaderMap | None = None
        self.upstream_complete = False
        self.upstream_received = False
        self.response_started = False  # response headers left the last filter toward the client
        self.downstream_headers: HeaderMap | None = None
        self.downstream_body = bytearray()
        self.downstream_trailers: HeaderMap | None = None
        self.downstream_complete = False
        self.local_reply: LocalResponse | None = None
        self.reset = False
        self.upstream: UpstreamResponse | None = None
        self.first_call = len(host.callouts.records)

    def _downstream_headers(
        self,
        method: str,
        path: str,
        authority: str,
        scheme: str,
        headers: list[tuple[bytes, bytes]],
        chunks: list[bytes],
        trailers: HeaderMap | None,
    ) -> HeaderMap:
        """The request header map as Envoy's HTTP/1.1 codec and connection manager hand it to filters
        (verified against Envoy 1.40): pseudo-headers in codec order, content-length only for a
        single-chunk body (chunked framing is stripped), then x-forwarded-proto and x-request-id."""
        names = {k.lower() for k, _ in headers}
        pairs = [
            (b":authority", authority.encode()),
            (b":path", path.encode()),
            (b":method", method.encode()),
            (b":scheme", scheme.encode()),
        ]
        if len(chunks) == 1 and trailers is None and b"content-length" not in names:
            pairs.append((b"content-length", str(len(chunks[0])).encode()))
        pairs += _wire(headers)
        if b"x-forwarded-proto" not in names:
            pairs.append((b"x-forwarded-proto", scheme.encode()))
        if b"x-request-id" not in names:
            pairs.append((b"x-request-id", str(uuid.UUID(int=self.info.random_bits, version=4)).encode()))
        return HeaderMap(pairs)

    # -- running -------------------------------------------------------------------------------------

    def run(
        self,
        *,
        method: str,
        path: str,
        authority: str,
        scheme: str,
        headers: HeaderInput,
        body: bytes | str | Sequence[bytes],
        trailers: HeaderInput,
        upstream: UpstreamResponse,
    ) -> Outcome:
        self.upstream = upstream
        chunks = (
            [body.encode() if isinstance(body, str) else bytes(body)]
            if isinstance(body, str | bytes)
            else [bytes(c) for c in body]
        )
        chunks = [c for c in chunks if c]
        trailer_map = HeaderMap(to_pairs(trailers)) if trailers else None
        request = self._downstream_headers(
            method, path, authority, scheme, to_pairs(headers), chunks, trailer_map
        )
        self.info.request_headers = request
        self.info.request_size = sum(len(c) for c in chunks)
        key = id(self)
        self.host.exchanges[key] = self
        try:
            d = self.request_side
            self._headers(d, 0, request, not chunks and trailer_map is None)
            # Envoy's HTTP/1.1 codec passes each chunk on, then ends the body with an empty
            # end-of-stream frame (verified against Envoy 1.40); trailers end it instead.
            for chunk in chunks:
                if self._stopped(d):
                    break
                self._data(d, 0, chunk, False)
            if chunks and trailer_map is None and not self._stopped(d):
                self._data(d, 0, b"", True)
            if trailer_map is not None and not self._stopped(d):
                self._trailers(d, 0, trailer_map)
            self._drain_pending()
        finally:
            self.host.exchanges.pop(key, None)
            for stream in self.streams:
                stream.complete()
        return self._outcome()

    def _drain_pending(self) -> None:
        """Let callouts and timers resolve (issue: callouts) until the client has its answer."""
        rounds = 0
        horizon = self.host.clock.monotonic_ns + STREAM_IDLE_TIMEOUT_NS
        while not self.downstream_complete and not self.reset and rounds < MAX_PENDING_ROUNDS:
            rounds += 1
            if not self.host.run_pending(horizon):
                break
        # What is already due (a queue notification posted during the exchange) runs before the stream
        # ends, as Envoy's dispatcher would run it; nothing here moves the clock.
        now = self.host.clock.monotonic_ns
        while rounds < MAX_PENDING_ROUNDS and self.host.run_pending(now):
            rounds += 1

    # -- the simulated upstream ---------------------------------------------------------------------------

    def _upstream_done(self) -> None:
        if self.upstream_complete or self.upstream is None:
            return
        self.upstream_complete = True
        self.upstream_received = True  # the whole request reached the upstream
        self.info.upstream = ("127.0.0.1", 8080)
        upstream = self.upstream
        body = upstream.body.encode() if isinstance(upstream.body, str) else bytes(upstream.body)
        pairs = [(b":status", str(upstream.status).encode()), *_wire(to_pairs(upstream.headers))]
        if upstream.status == 204 or 100 <= upstream.status < 200:
            # Envoy's HTTP/1.1 codec drops content-length from bodiless 1xx/204 answers (found by the
            # differential conformance case)
            pairs = [(k, v) for k, v in pairs if k.lower() != b"content-length"]
        elif upstream.trailers is None and not any(k.lower() == b"content-length" for k, _ in pairs):
            pairs.append((b"content-length", str(len(body)).encode()))
        pairs.append((b"x-envoy-upstream-service-time", b"0"))  # Envoy's router adds it before the filters
        headers = HeaderMap(pairs)
        self._start_response(
            headers, body, HeaderMap(to_pairs(upstream.trailers)) if upstream.trailers else None, codec=True
        )

    def _start_response(
        self, headers: HeaderMap, body: bytes, trailers: HeaderMap | None, codec: bool = False
    ) -> None:
        """``codec``: the body comes from the upstream's HTTP/1.1 codec (chunk, then an empty
        end-of-stream frame); a local reply's body is one frame that ends the stream."""
        self.info.response_headers = headers
        self.info.response_trailers = trailers
        status = headers.get(b":status")
        self.info.response_code = int(status) if status and status.isdigit() else None
        self.info.response_size = len(body)
        d, last = self.response_side, len(self.streams) - 1
        self._headers(d, last, headers, not body and trailers is None)
        if body and not self.reset:
            self._data(d, last, body, trailers is None and not codec)
            if codec and trailers is None and not self.reset:
                self._data(d, last, b"", True)
        if trailers is not None and not self.reset:
            self._trailers(d, last, trailers)

    # -- intents: local replies, continue, close ---------------------------------------------------------

    def apply_pending_intents(self) -> None:
        for i, stream in enumerate(self.streams):
            if stream.context is not None and stream.context.intents:
                self._apply_intents(i)

    def _apply_intents(self, i: int) -> bool:
        """Apply what filter ``i`` asked for during its callback. True when the stream took another path."""
        took_over = False
        for kind, value in self.streams[i].take_intents():
            if kind == "local_reply" and self.local_reply is None and not self.reset:
                assert isinstance(value, LocalResponse)
                self._send_local_reply(value)
                took_over = True
            elif kind == "close" and not self.reset:
                self.reset = True
                self.info.response_details = "wasm_close_stream"
                took_over = True
            elif kind == "continue" and not took_over and self.local_reply is None:
                if value == StreamType.HTTP_REQUEST:
                    self._resume(self.request_side, i)
                elif value == StreamType.HTTP_RESPONSE:
                    self._resume(self.response_side, i)
        return took_over

    def _send_local_reply(self, reply: LocalResponse) -> None:
        self.local_reply = reply
        self.info.response_details = reply.details
        headers = reply.envoy_headers(self.info.request_headers)
        body = b"" if headers.get(b"grpc-status") is not None else reply.body
        if self.response_started:
            self.reset = True  # the client already has headers: Envoy resets the stream
            return
        if self.upstream_headers is None or not self.upstream_complete:
            self.upstream_complete = True  # no upstream request will be made now
        if self.info.response_headers is not None:
            # Response under way inside the chain: Envoy sends the reply directly to the client.
            self.downstream_headers, self.downstream_body = headers, bytearray(body)
            self.downstream_complete = True
            self.response_started = True
            return
        self.response_side = Direction(False, [_Hold() for _ in self.streams])
        self._start_response(headers, body, None)

    # -- result -------------------------------------------------------------------------------------

    def _outcome(self) -> Outcome:
        upstream_request = None
        if self.upstream_headers is not None and self.upstream_received:
            headers = self.upstream_headers
            upstream_request = UpstreamRequest(
                method=(headers.get(b":method") or b"").decode("latin-1"),
                path=(headers.get(b":path") or b"").decode("latin-1"),
                headers=headers.as_text(),
                body=bytes(self.upstream_body),
                trailers=self.upstream_trailers.as_text() if self.upstream_trailers else [],
            )
        status = None
        response_headers: list[tuple[str, str]] = []
        if self.downstream_headers is not None and not self.reset:
            raw = self.downstream_headers.get(b":status")
            status = int(raw) if raw and raw.isdigit() else None
            response_headers = self.downstream_headers.as_text()
        calls = [r.to_json() for r in self.host.callouts.records[self.first_call :]]
        failures = [plugin.failed for plugin in self.chain if plugin.failed]
        hung = not self.downstream_complete and not self.reset
        diagnostics = list(self.host.diagnostics)
        if hung:
            diagnostics.append("the stream never completed: a plugin paused it and nothing resumed it")
        return Outcome(
            status=status,
            response_headers=response_headers,
            response_body=bytes(self.downstream_body) if not self.reset else b"",
            upstream_request=upstream_request,
            logs=[r for r in self.host.records[self.first_log :] if r.source != "host"],
            plugin_failed=failures[0] if failures else None,
            response_trailers=self.downstream_trailers.as_text() if self.downstream_trailers else [],
            local_reply=self.local_reply is not None,
            details=self.info.response_details,
            hung=hung,
            reset=self.reset,
            diagnostics=diagnostics,
            callouts=calls,
            metrics=self.host.metrics.snapshot(),
        )
