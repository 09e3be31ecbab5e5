"""TCP connections through the chain as network filters before ``tcp_proxy`` (the Envoy backend's part)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...outcome import LogRecord, TcpOutcome
from ..spec import PluginSpec
from .process import EnvoyProcess
from .tcp import TcpUpstream, chunks_of, drive
from .tcp import UpstreamReply as TcpReply


def count_lines(lines: list[str], needle: str) -> int:
    return sum(needle in line for line in lines)


class TcpConnections:
    """``connect``: what ``Host.connect`` does, through a real Envoy's network listener."""

    tcp_upstream: TcpUpstream

    def _chain(self, plugins: Any) -> list[PluginSpec]:
        raise NotImplementedError

    def _ensure(self, chain: Sequence[PluginSpec], network: bool = False) -> EnvoyProcess:
        raise NotImplementedError

    def _consume_log(self, settle: float = 0.0, until: Any = None, limit: float = 5.0) -> list[LogRecord]:
        raise NotImplementedError

    def _observed(self) -> dict[str, Any]:
        raise NotImplementedError

    if TYPE_CHECKING:  # FaultWatch's (watch.py), later in EnvoyBackend's bases: no stub may shadow them

        def _watched_connection(self, run: Any) -> Any: ...

        def _still_alive(self, what: str) -> None: ...

    def connect(
        self,
        plugins: Any = None,
        *,
        downstream: bytes | str | Sequence[bytes | str] = (),
        upstream_reply: TcpReply = None,
        close_from: str = "downstream",
    ) -> TcpOutcome:
        """One TCP connection through the chain as network filters before tcp_proxy (``Host.connect``)."""
        chain = self._chain(plugins)
        process = self._ensure(chain, network=True)
        self._consume_log()
        chunks = chunks_of([downstream] if isinstance(downstream, bytes | str) else list(downstream))
        result = self._watched_connection(
            lambda: drive(process.port, self.tcp_upstream, chunks, upstream_reply, close_from)
        )
        logs = self._consume_log(
            settle=0.5, until=lambda lines: count_lines(lines, "proxy_on_delete(") >= len(chain)
        )
        self._still_alive(f"during connection {getattr(self, 'exchanges', 0)}, after it closed")
        return TcpOutcome(
            upstream_received=result.upstream_received,
            client_received=result.client_received,
            closed_by=result.closed_by,
            logs=logs,
            upstream_connected=result.upstream_connected,
            client_end_of_stream=result.client_end_of_stream,
            **self._observed(),
        )
