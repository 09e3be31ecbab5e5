"""A whole TCP connection through a chain of network filters, the way Envoy's network filter manager
(``FilterManagerImpl``) runs it in front of tcp_proxy.

* Read path (client -> upstream): one connection read buffer shared by every filter. A new read starts
  at the first filter; a filter that was never initialized first gets ``onNewConnection``. A stop (or a
  closed connection) ends the iteration; the bytes stay in the buffer, so the next read offers them
  again, with the new ones appended, to every filter up to the one that stopped. ``continueReading``
  (continue_stream(DOWNSTREAM)) resumes after the filter that asked. tcp_proxy at the end drains the
  buffer to the upstream.
* Write path (upstream -> client): write filters run in reverse order over the upstream's buffer; each
  Wasm filter reached by an end_of_stream write also gets ``on_upstream_connection_close(Unknown)``.
* A close (close_stream, a fail-closed VM failure, the client, or tcp_proxy after the upstream closed)
  raises the connection event in every created context in chain order: the close callback, then
  on_done, on_log, on_delete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..outcome import TcpOutcome
from .abi.enums import Action, PeerType, StreamType
from .contexts import Buffer
from .tcp import TcpStream

if TYPE_CHECKING:
    from .host import Host
    from .plugin import Plugin

Chunk = bytes | str
UpstreamReply = Callable[[bytes], Chunk | Sequence[Chunk] | None] | Sequence[Chunk] | None
MAX_REPLIES = 10_000


class TcpConnection:
    def __init__(self, host: Host, chain: list[Plugin]) -> None:
        self.host = host
        self.info = host.new_stream_info()
        self.streams: list[TcpStream] = []
        for plugin in chain:
            if plugin.joins_new_stream():
                self.streams.append(TcpStream(plugin, self.info))
        self.read_buffer = Buffer(mutable=True)
        self.read_eos = False
        self.write_buffer = Buffer(mutable=True)
        self.upstream_connected = False
        self.upstream_received = bytearray()
        self.upstream_eos = False
        self.client_received = bytearray()
        self.client_eos = False
        self.closed_by: str | None = None
        self.reply: Callable[[bytes], Chunk | Sequence[Chunk] | None] | None = None
        self.pending_replies: list[bytes] = []

    # -- running ---------------------------------------------------------------------------------------

    def run(self, downstream: Sequence[Chunk], upstream_reply: UpstreamReply, close_from: str) -> TcpOutcome:
        if close_from not in ("downstream", "upstream"):
            raise ValueError(f"close_from must be 'downstream' or 'upstream', not {close_from!r}")
        replies: list[bytes] = []
        if callable(upstream_reply):
            self.reply = upstream_reply
        elif upstream_reply is not None:
            replies = _chunks(upstream_reply)
        try:
            self._continue_reading(0)  # Envoy initializeReadFilters: onNewConnection down the chain
            self._flush_replies()
            for chunk in _chunks(downstream):
                if self.closed_by is not None:
                    break
                self.read_buffer.data += chunk
                self._continue_reading(0)
                self._flush_replies()
            for chunk in replies:  # a list answer: the upstream sends it once the client has sent all
                if self.closed_by is not None or not self.upstream_connected:
                    break
                self._write(chunk, False)
            self._flush_replies()
            if self.closed_by is None:
                if close_from == "upstream":
                    if self.upstream_connected:
                        self._write(b"", True)  # upstream FIN: on_upstream_data(eos) + upstream close
                    # tcp_proxy then closes the downstream connection (FlushWrite -> LocalClose)
                    self._close("upstream", PeerType.LOCAL)
                else:
                    self._close("downstream", PeerType.REMOTE)
        finally:
            for stream in self.streams:
                if not stream.finished:
                    stream.downstream_close_event(PeerType.LOCAL)
        return self._outcome()

    # -- read path ---------------------------------------------------------------------------------------

    def _continue_reading(self, start: int) -> None:
        """Envoy ``FilterManagerImpl::onContinueReading`` from filter ``start``."""
        for i in range(start, len(self.streams)):
            if self.closed_by is not None:
                return
            stream = self.streams[i]
            if not stream.initialized:
                action = stream.new_connection()
                if self._apply_intents(i) or action is Action.PAUSE:
                    return
            if self.read_buffer.data or self.read_eos:
                action = stream.read(self.read_buffer, self.read_eos)
                if self._apply_intents(i) or action is Action.PAUSE:
                    return
        if self.closed_by is not None:
            return
        self.upstream_connected = True  # tcp_proxy: connect, then move the buffer upstream
        if self.info.upstream is None:
            self.info.upstream = ("127.0.0.1", 8080)
        data = bytes(self.read_buffer.data)
        self.read_buffer.data.clear()
        self.upstream_received += data
        self.upstream_eos = self.upstream_eos or self.read_eos
        if data and self.reply is not None:
            self.pending_replies.extend(_chunks(self.reply(data)))

    # -- write path --------------------------------------------------------------------------------------

    def _write(self, chunk: bytes, end_of_stream: bool) -> None:
        """Envoy ``ConnectionImpl::write`` through the write filters (chain in reverse)."""
        if self.closed_by is not None:
            return
        self.write_buffer.data += chunk
        for i in reversed(range(len(self.streams))):
            stream = self.streams[i]
            action = stream.write(self.write_buffer, end_of_stream)
            took_over = self._apply_intents(i)
            if end_of_stream and self.closed_by is None:
                stream.upstream_close_event(PeerType.UNKNOWN)
            if took_over or action is Action.PAUSE or self.closed_by is not None:
                return
        self.client_received += self.write_buffer.data
        self.write_buffer.data.clear()
        self.client_eos = self.client_eos or end_of_stream

    def _flush_replies(self) -> None:
        sent = 0
        while self.pending_replies and self.closed_by is None and sent < MAX_REPLIES:
            sent += 1
            self._write(self.pending_replies.pop(0), False)
        self.pending_replies.clear()

    # -- intents and closing --------------------------------------------------------------------------------

    def _apply_intents(self, i: int) -> bool:
        """Deferred actions of filter ``i``'s callback. True when they took the connection elsewhere."""
        took_over = False
        for kind, value in self.streams[i].take_intents():
            if self.closed_by is not None:
                break
            if kind in ("close", "fail"):
                self._close("plugin", PeerType.LOCAL)  # connection().close(FlushWrite) -> LocalClose
                took_over = True
            elif kind == "continue" and value == StreamType.DOWNSTREAM:
                self._continue_reading(i + 1)  # continueReading(): from the next filter on
                took_over = True
        return took_over

    def _close(self, by: str, peer: PeerType) -> None:
        if self.closed_by is not None:
            return
        self.closed_by = by
        for stream in self.streams:  # connection callbacks run in registration (chain) order
            stream.closed_by = stream.closed_by or by
            stream.downstream_close_event(peer)

    # -- result ------------------------------------------------------------------------------------------

    def _outcome(self) -> TcpOutcome:
        failures = [s.plugin.failed for s in self.streams if s.plugin.failed]
        return TcpOutcome(
            upstream_received=bytes(self.upstream_received),
            client_received=bytes(self.client_received),
            closed_by=self.closed_by or "downstream",
            logs=[r for r in self.host.records if r.source != "host"],
            plugin_failed=failures[0] if failures else None,
            upstream_connected=self.upstream_connected,
            client_end_of_stream=self.client_eos,
            metrics=self.host.metrics.snapshot(),
            diagnostics=list(self.host.diagnostics),
        )


def _chunks(value: Chunk | Sequence[Chunk] | None) -> list[bytes]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | str):
        value = [value]
    return [c.encode() if isinstance(c, str) else bytes(c) for c in value if c]


__all__ = ["TcpConnection", "UpstreamReply"]
