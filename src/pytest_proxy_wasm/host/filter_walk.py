"""The filter walk of an exchange, one direction at a time (the Envoy filter manager's iteration).

The request side walks the chain forward to the upstream, the response side backward to the client. A
filter that stops on headers holds later data until it continues, then sees it in one body call
(Envoy ``iterate_from_current_filter``); a filter buffering its body hits Envoy's buffer limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .abi.enums import Action
from .contexts import LocalResponse
from .headers import HeaderMap

if TYPE_CHECKING:
    from .host import Host
    from .http import HttpStream
    from .properties import StreamInfo


def codec_headers(headers: HeaderMap, body: bytes) -> HeaderMap:
    """A local reply without a body as the client reads it: Envoy's HTTP/1.1 codec writes
    ``content-length: 0`` for a headers-only answer (not for 1xx, 204 or 304)."""
    status = headers.get(b":status") or b""
    if body or not status or status in (b"204", b"304") or status[:1] == b"1":
        return headers
    if headers.get(b"content-length") is not None or headers.get(b"transfer-encoding") is not None:
        return headers
    wire = HeaderMap(headers.pairs())
    wire.add(b"content-length", b"0")
    return wire


class _Hold:
    """Per filter and direction: where iteration stopped and what arrived meanwhile."""

    __slots__ = (
        "body_eos",
        "buffering",
        "headers_eos",
        "held",
        "held_eos",
        "held_trailers",
        "stopped_headers",
    )

    def __init__(self) -> None:
        self.stopped_headers = False
        self.headers_eos = False
        self.buffering = False
        self.body_eos = False
        self.held = bytearray()
        self.held_eos = False
        self.held_trailers: HeaderMap | None = None


class Direction:
    """The request side walks the chain forward (to the upstream), the response side backward."""

    __slots__ = ("holds", "request", "step")

    def __init__(self, request: bool, filters: int) -> None:
        self.request = request
        self.holds = [_Hold() for _ in range(filters)]
        self.step = 1 if request else -1


class FilterWalk:
    """Mixed into ``Exchange``: the state it reads is set up there."""

    host: Host
    info: StreamInfo
    streams: list[HttpStream]
    request_side: Direction
    response_side: Direction
    local_reply: LocalResponse | None
    direct_reply: bool
    reset: bool
    response_started: bool
    upstream_headers: HeaderMap | None
    upstream_body: bytearray
    upstream_trailers: HeaderMap | None
    downstream_headers: HeaderMap | None
    downstream_body: bytearray
    downstream_trailers: HeaderMap | None
    downstream_complete: bool

    def _apply_intents(self, i: int) -> bool:
        raise NotImplementedError

    def _send_local_reply(self, reply: LocalResponse) -> None:
        raise NotImplementedError

    def _upstream_done(self) -> None:
        raise NotImplementedError

    # -- the walk ------------------------------------------------------

    def _past_end(self, d: Direction, i: int) -> bool:
        return i == len(self.streams) if d.request else i < 0

    def _stopped(self, d: Direction) -> bool:
        # A local reply ends the request side; its response still walks the chain. One sent straight
        # to the client (sendDirectLocalReply) ends both.
        return self.reset or self.direct_reply or (d.request and self.local_reply is not None)

    def _skips(self, d: Direction, i: int) -> bool:
        """Envoy runs no response callbacks in a Wasm filter the request never reached (a local reply
        from an earlier filter): its stream context was never created (verified against Envoy 1.40)."""
        return not d.request and self.streams[i].context is None

    def _headers(self, d: Direction, i: int, headers: HeaderMap, eos: bool) -> None:
        if self.direct_reply or self.reset:
            return
        streams = self.streams
        request = d.request
        if i == len(streams) if request else i < 0:
            self._sink_headers(d, headers, eos)
            return
        stream = streams[i]
        if not request and stream.context is None:  # _skips
            self._headers(d, i + d.step, headers, eos)
            return
        action = stream.walk_headers(request, headers, eos)
        if stream.intents_pending() and self._apply_intents(i):
            return
        if action is Action.CONTINUE:
            self._headers(d, i + d.step, headers, eos)
        else:
            d.holds[i].stopped_headers, d.holds[i].headers_eos = True, eos

    def _data(self, d: Direction, i: int, chunk: bytes, eos: bool) -> None:
        if self._stopped(d):
            return
        streams = self.streams
        request = d.request
        if i == len(streams) if request else i < 0:
            self._sink_data(d, chunk, eos)
            return
        stream = streams[i]
        if not request and stream.context is None:  # _skips
            self._data(d, i + d.step, chunk, eos)
            return
        hold = d.holds[i]
        if hold.stopped_headers:
            hold.held += chunk
            hold.held_eos = hold.held_eos or eos
            return
        if hold.buffering and self._over_buffer_limit(d, i, len(chunk)):
            return
        result = stream.walk_body(request, chunk, eos)
        if stream.intents_pending() and self._apply_intents(i):
            return
        hold.buffering, hold.body_eos = result.buffering, eos
        if result.action is Action.CONTINUE:
            self._data(d, i + d.step, result.forward, eos)

    def _trailers(self, d: Direction, i: int, trailers: HeaderMap) -> None:
        if self._stopped(d):
            return
        if self._past_end(d, i):
            self._sink_trailers(d, trailers)
            return
        if self._skips(d, i):
            self._trailers(d, i + d.step, trailers)
            return
        hold = d.holds[i]
        if hold.stopped_headers:
            hold.held_trailers = trailers
            return
        stream = self.streams[i]
        action = stream.walk_trailers(d.request, trailers)
        if self._apply_intents(i):
            return
        if action is Action.CONTINUE:
            if hold.buffering:
                hold.buffering = False
                self._data(d, i + d.step, self._take_body(d, i), False)
            self._trailers(d, i + d.step, trailers)

    def _over_buffer_limit(self, d: Direction, i: int, incoming: int) -> bool:
        """Envoy's buffer limit (per_connection_buffer_limit_bytes, 1 MiB): 413 on the request side,
        500 on the response side, instead of buffering without bound."""
        context = self.streams[i].context
        side = (context.request if d.request else context.response) if context is not None else None
        if side is None or len(side.body.data) + incoming <= self.host.options.buffer_limit:
            return False
        if d.request:
            reply = LocalResponse(413, b"Payload Too Large", [], "request_payload_too_large", None)
        else:
            reply = LocalResponse(500, b"Internal Server Error", [], "response_payload_too_large", None)
        self._send_local_reply(reply)
        return True

    def _take_body(self, d: Direction, i: int) -> bytes:
        context = self.streams[i].context
        if context is None:
            return b""
        side = context.request if d.request else context.response
        data = bytes(side.body.data)
        side.in_body = False
        return data

    def _resume(self, d: Direction, i: int) -> None:
        """``proxy_continue_stream``: pass on what this filter held, as Envoy's commonContinue does."""
        hold = d.holds[i]
        if hold.stopped_headers:
            hold.stopped_headers = False
            context = self.streams[i].context
            if context is not None:
                (context.request if d.request else context.response).headers_live = False
            has_more = bool(hold.held) or hold.held_trailers is not None or not hold.headers_eos
            headers = (self.info.request_headers if d.request else self.info.response_headers) or HeaderMap()
            self._headers(d, i + d.step, headers, not has_more)
            if hold.held or (hold.held_eos and hold.held_trailers is None):
                data, hold.held = bytes(hold.held), bytearray()
                self._data(d, i, data, hold.held_eos and hold.held_trailers is None)
            if hold.held_trailers is not None:
                trailers, hold.held_trailers = hold.held_trailers, None
                self._trailers(d, i, trailers)
        elif hold.buffering:
            hold.buffering = False
            self._data(d, i + d.step, self._take_body(d, i), hold.body_eos)

    def _sink_headers(self, d: Direction, headers: HeaderMap, eos: bool) -> None:
        if d.request:
            self.upstream_headers = headers
            if eos:
                self._upstream_done()
        else:
            self.response_started = True
            self.downstream_headers = codec_headers(headers, b"") if eos else headers
            self.downstream_complete = eos

    def _sink_data(self, d: Direction, chunk: bytes, eos: bool) -> None:
        if d.request:
            self.upstream_body += chunk
            if eos:
                self._upstream_done()
        else:
            self.downstream_body += chunk
            self.downstream_complete = eos

    def _sink_trailers(self, d: Direction, trailers: HeaderMap) -> None:
        if d.request:
            self.upstream_trailers = trailers
            self._upstream_done()
        else:
            self.downstream_trailers = trailers
            self.downstream_complete = True
