"""A whole HTTP exchange through a chain of plugins, the way Envoy's filter manager runs it.

Request callbacks run in chain order, response callbacks in reverse. A filter that stops on headers
holds later data until it continues, then sees it in one body call (Envoy ``iterate_from_current_filter``).
A local reply before the response started runs through every filter's response callbacks; one sent
while the response is under way goes straight to the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..outcome import Outcome, UpstreamRequest, assemble_outcome
from .abi.enums import StreamType
from .client_address import mutate_request_headers
from .contexts import LocalResponse
from .direct_response import DirectResponse, direct_reply
from .filter_walk import Direction, FilterWalk, codec_headers
from .headers import HeaderInput, HeaderMap, to_pairs, wire_pairs
from .local_reply import is_grpc_request, is_head_request, local_reply_body
from .mesh import mutate_request_headers as apply_profile_headers
from .request_head import CONTINUE, consume_expect

if TYPE_CHECKING:
    from .host import Host
    from .http import HttpStream
    from .plugin import Plugin

__all__ = ["DirectResponse", "Exchange", "UpstreamResponse", "direct_reply", "request_id"]

MAX_PENDING_ROUNDS = 10_000
STREAM_IDLE_TIMEOUT_NS = 300 * 1_000_000_000  # Envoy's default stream idle timeout: 5 min


class UpstreamResponse:
    """What the simulated upstream answers (a slotted class: one is made per exchange)."""

    __slots__ = ("body", "headers", "status", "trailers")

    def __init__(
        self,
        status: int = 200,
        headers: list[tuple[str | bytes, str | bytes]] | None = None,
        body: bytes | str = b"",
        trailers: list[tuple[str | bytes, str | bytes]] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body
        self.trailers = trailers


_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def request_id(random_bits: int) -> bytes:
    """Envoy's x-request-id: a version-4 UUID from the stream's 128 random bits (``uuid.UUID(int=...,
    version=4)`` text, formatted directly: this runs once per exchange)."""
    h = b"%032x" % ((random_bits & _UUID4_CLEAR) | _UUID4_SET)
    return b"%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


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
        self.request_side = Direction(True, n)
        self.response_side = Direction(False, n)
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
        self.direct_reply = False  # a local reply went straight to the client; the filters are done
        self.grpc_request = False  # Envoy's requestHeadersInitialized(): decided on the client's headers
        self.head_request = False
        self.reset = False
        self.upstream: UpstreamResponse | None = None
        self.direct_response: LocalResponse | None = None  # a direct_response route instead of the upstream
        self.first_call = len(host.callouts.records)
        self.first_grpc = len(host.grpc.records)
        # the client's peer address and the client-address settings (Host.request may override them)
        self.client_defaults = self.peer, self.client_settings = host.client_defaults

    def _downstream_headers(
        self,
        method: str,
        path: str,
        authority: str,
        scheme: str,
        headers: list[tuple[bytes, bytes]],  # wire_pairs: lower-case names
        chunks: list[bytes],
        trailers: HeaderMap | None,
    ) -> HeaderMap:
        """The request map as Envoy 1.40's HTTP/1.1 codec and connection manager hand it to filters:
        pseudo-headers in codec order, the test's headers, content-length for a single-chunk body (where
        curl writes it), then the connection manager's (host/client_address.py, ``source.address``)."""
        pairs = [
            (b":authority", authority.encode()),
            (b":path", path.encode()),
            (b":method", method.encode()),
            (b":scheme", scheme.encode()),
            *headers,
        ]
        names = {k for k, _ in headers}
        if len(chunks) == 1 and trailers is None and b"content-length" not in names:
            pairs.append((b"content-length", str(len(chunks[0])).encode()))
        pairs = apply_profile_headers(self.host.options, pairs)  # an Istio profile's HCM settings
        request = HeaderMap.of_lowered(pairs)
        local, new_id = self.host.options.envoy_local_address, lambda: request_id(self.info.random_bits)
        settings = self.client_settings
        self.info.source = mutate_request_headers(request, scheme, self.peer, settings, local, new_id, names)
        if b"expect" in names and consume_expect(request):  # Envoy answered "100 Continue" first
            self.info.response_code = CONTINUE
        return request

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
            method, path, authority, scheme, wire_pairs(headers), chunks, trailer_map
        )
        self.info.request_headers = request
        self.grpc_request, self.head_request = is_grpc_request(request), is_head_request(request)
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
                self.info.request_size += len(chunk)  # Envoy counts bytes received as they arrive
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
        self._drain_own_callouts()
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

    def _sink_headers(self, d: Direction, headers: HeaderMap, eos: bool) -> None:
        """A ``direct_response`` route: the router replies locally as soon as the request headers reach
        it, so no request body reaches the filters (verified against Envoy 1.40)."""
        if d.request and self.direct_response is not None and self.local_reply is None:
            self._send_local_reply(self.direct_response)
            return
        if d.request:  # the router adds the route's timeout (30 s in the Envoy backends' bootstrap)
            headers.replace_inline(b"x-envoy-expected-rq-timeout-ms", b"30000")
        super()._sink_headers(d, headers, eos)

    def _drain_own_callouts(self) -> None:
        """After the stream: deliver the answers to HTTP callouts and unary gRPC calls this exchange
        made. They belong to the root context and outlive the stream (on Envoy too); what the plugin
        logs then is part of this exchange's Outcome (the Envoy backend waits for them the same way)."""
        host = self.host
        for _ in range(MAX_PENDING_ROUNDS):
            if not host.callouts.pending and not host.grpc.active:
                return
            dues = [
                self.host.callouts.pending_due(self.first_call),
                self.host.grpc.pending_due(self.first_grpc),
            ]
            due = min((d for d in dues if d is not None), default=None)
            if due is None or not self.host.run_pending(due):
                return

    # -- the simulated upstream ---------------------------------------------------------------------------

    def _upstream_done(self) -> None:
        if self.upstream_complete or self.upstream is None:
            return
        self.upstream_complete = True
        self.upstream_received = True  # the whole request reached the upstream
        self.info.upstream = ("127.0.0.1", 8080)
        upstream = self.upstream
        body = upstream.body.encode() if isinstance(upstream.body, str) else bytes(upstream.body)
        pairs = [(b":status", str(upstream.status).encode()), *wire_pairs(upstream.headers)]
        if upstream.status == 204 or 100 <= upstream.status < 200:
            # Envoy's HTTP/1.1 codec drops content-length from bodiless 1xx/204 answers (found by the
            # differential conformance case)
            pairs = [(k, v) for k, v in pairs if k != b"content-length"]
        elif upstream.trailers is None and all(k != b"content-length" for k, _ in pairs):
            pairs.append((b"content-length", str(len(body)).encode()))
        pairs.append((b"x-envoy-upstream-service-time", b"0"))  # Envoy's router adds it before the filters
        headers = HeaderMap.of_lowered(pairs)
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
            if kind == "local_reply" and not self.direct_reply and not self.reset:
                assert isinstance(value, LocalResponse)
                self._send_local_reply(value)
                took_over = True
            elif kind == "close" and not self.reset:
                self.reset = True
                self.info.response_details = "wasm_close_stream"
                took_over = True
            elif kind == "continue" and not took_over and not self.direct_reply:
                # After a local reply only its response side can still move: Envoy resumes a reply a
                # filter paused in on_response_headers (verified against Envoy 1.40).
                if value == StreamType.HTTP_REQUEST and self.local_reply is None:
                    self._resume(self.request_side, i)
                elif value == StreamType.HTTP_RESPONSE:
                    self._resume(self.response_side, i)
        return took_over

    def _send_local_reply(self, reply: LocalResponse) -> None:
        """Envoy FilterManager::sendLocalReply: through the filters when no response has started,
        straight to the client when one is inside the chain (an upstream answer or an earlier local
        reply, e.g. a trap's 503 while a reply passes a filter), a reset once the client has headers,
        nothing once it has the whole answer (a second reply from the same callback; Envoy 1.40)."""
        if self.downstream_complete:
            return
        self.local_reply = reply
        self.info.response_details = reply.details
        headers = reply.envoy_headers(
            self.info.request_headers, grpc=self.grpc_request, head=self.head_request
        )
        body = local_reply_body(reply, grpc=self.grpc_request, head=self.head_request)
        if self.response_started:
            self.reset = True  # the client already has headers: Envoy resets the stream
            return
        if self.upstream_headers is None or not self.upstream_complete:
            self.upstream_complete = True  # no upstream request will be made now
        if self.info.response_headers is not None:
            # sendDirectLocalReply: the filters see nothing more of this stream.
            self.info.response_headers = headers
            self.direct_reply = True
            self.downstream_headers, self.downstream_body = codec_headers(headers, body), bytearray(body)
            self.downstream_trailers = None
            self.downstream_complete = True
            self.response_started = True
            return
        self.response_side = Direction(False, len(self.streams))
        self._start_response(headers, body, None)

    # -- result -------------------------------------------------------------------------------------

    def _outcome(self) -> Outcome:
        upstream_request = None
        if self.upstream_headers is not None:
            # The router forwards the headers once they leave the last filter; a local reply before
            # the whole request arrived resets that upstream request (verified against Envoy 1.40).
            headers = self.upstream_headers
            upstream_request = UpstreamRequest(
                method=(headers.get(b":method") or b"").decode("latin1"),
                path=(headers.get(b":path") or b"").decode("latin1"),
                headers=headers.as_text(),
                body=bytes(self.upstream_body),
                trailers=self.upstream_trailers.as_text() if self.upstream_trailers else [],
                reset=not self.upstream_received,
            )
        status = None
        response_headers: list[tuple[str, str]] = []
        if self.downstream_headers is not None and not self.reset:
            raw = self.downstream_headers.get(b":status")
            status = int(raw) if raw and raw.isdigit() else None
            response_headers = self.downstream_headers.as_text()
        host = self.host
        failure = next((plugin.failed for plugin in self.chain if plugin.failed), None)
        hung = not self.downstream_complete and not self.reset
        diagnostics = list(host.diagnostics)
        if hung:
            diagnostics.append("the stream never completed: a plugin paused it and nothing resumed it")
        return assemble_outcome(
            {
                "status": status,
                "response_headers": response_headers,
                "response_body": bytes(self.downstream_body) if not self.reset else b"",
                "upstream_request": upstream_request,
                "logs": [r for r in host.records[self.first_log :] if r.source != "host"],
                "plugin_failed": failure,
                "response_trailers": self.downstream_trailers.as_text() if self.downstream_trailers else [],
                "local_reply": self.local_reply is not None,
                "details": self.info.response_details,
                "hung": hung,
                "reset": self.reset,
                "callouts": [r.to_json() for r in host.callouts.records[self.first_call :]],
                "metrics": host.metrics.snapshot(),
                "diagnostics": diagnostics,
            }
        )
