"""One TCP connection through Envoy's Wasm network filters and tcp_proxy, to a fake upstream on 127.0.0.1.

The driver keeps the emulator's chunk boundaries on a real network: after each chunk it waits until the
bytes reached the upstream (or the connection closed, or nothing moved for ``quiet`` seconds) and until
the upstream's answer reached the client, so every chunk is one ``on_downstream_data`` /
``on_upstream_data`` callback as in ``Host.connect``.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Chunk = bytes | str
UpstreamReply = Callable[[bytes], Chunk | Sequence[Chunk] | None] | Sequence[Chunk] | None


def chunks_of(value: Chunk | Sequence[Chunk] | None) -> list[bytes]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | str):
        value = [value]
    return [c.encode() if isinstance(c, str) else bytes(c) for c in value if c]


class TcpUpstream:
    """A listening socket; the driver takes each accepted connection and answers by hand."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted: queue.Queue[socket.socket] = queue.Queue()
        self._thread = threading.Thread(target=self._accept, name="fake-tcp-upstream", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.put(conn)

    def take(self, timeout: float) -> socket.socket | None:
        try:
            return self.accepted.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        while not self.accepted.empty():
            self.accepted.get().close()


@dataclass
class _Side:
    sock: socket.socket | None
    received: bytearray = field(default_factory=bytearray)
    eof: bool = False

    def pump(self, until: Callable[[], bool], quiet: float, limit: float = 5.0) -> list[bytes]:
        """Read until ``until()``, EOF, ``quiet`` seconds without bytes, or ``limit``; the batches read."""
        batches: list[bytes] = []
        if self.sock is None:
            return batches
        deadline = time.monotonic() + limit
        last = time.monotonic()
        while not self.eof and not until() and time.monotonic() < deadline:
            wait = min(quiet - (time.monotonic() - last), deadline - time.monotonic())
            if wait <= 0:
                break
            self.sock.settimeout(wait)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                data = b""
            if not data:
                self.eof = True
                break
            self.received += data
            batches.append(data)
            last = time.monotonic()
        return batches


@dataclass
class TcpResult:
    upstream_received: bytes
    client_received: bytes
    closed_by: str
    upstream_connected: bool
    client_end_of_stream: bool


def drive(
    port: int,
    upstream: TcpUpstream,
    downstream: Sequence[bytes],
    upstream_reply: UpstreamReply,
    close_from: str,
    quiet: float = 0.15,
) -> TcpResult:
    """Run one connection: the client's chunks, the upstream's answers, then the close."""
    if close_from not in ("downstream", "upstream"):
        raise ValueError(f"close_from must be 'downstream' or 'upstream', not {close_from!r}")
    reply = upstream_reply if callable(upstream_reply) else None
    replies = [] if callable(upstream_reply) else chunks_of(upstream_reply)
    client = _Side(socket.create_connection(("127.0.0.1", port), timeout=5))
    up = _Side(upstream.take(timeout=2.0))
    counts = {"sent": 0, "answered": 0}

    def client_has_all() -> bool:
        return len(client.received) >= counts["answered"]

    def upstream_has_all() -> bool:
        return len(up.received) >= counts["sent"]

    def upstream_sends(data: bytes) -> bool:
        if up.sock is None or up.eof or client.eof:
            return False
        up.sock.sendall(data)
        counts["answered"] += len(data)
        client.pump(client_has_all, quiet)
        return True

    try:
        for chunk in downstream:
            if client.eof:
                break
            try:
                client.sock.sendall(chunk)  # type: ignore[union-attr]
            except OSError:
                client.eof = True
                break
            counts["sent"] += len(chunk)
            for batch in up.pump(upstream_has_all, quiet):
                for data in chunks_of(reply(batch)) if reply is not None else []:
                    upstream_sends(data)
            # tcp_proxy closes the upstream when a filter closed the connection: see the client's EOF
            client.pump(lambda: client_has_all() and not up.eof, quiet / 3 if not up.eof else quiet)
        for data in replies:
            if not upstream_sends(data):
                break
        closed_by_plugin = client.eof
        if not closed_by_plugin:
            if close_from == "upstream" and up.sock is not None:
                up.sock.shutdown(socket.SHUT_WR)  # FIN: on_upstream_data(eos); Envoy half-closes the client
                client.pump(lambda: False, quiet=2.0)  # which then closes too (FIN, below)
            else:  # an abrupt close (RST), as the emulator's downstream close: no half-close first
                client.sock.setsockopt(  # type: ignore[union-attr]
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
        return TcpResult(
            bytes(up.received),
            bytes(client.received),
            "plugin" if closed_by_plugin else close_from,
            up.sock is not None,
            client.eof and not closed_by_plugin and close_from == "upstream",
        )
    finally:
        for side in (client, up):
            if side.sock is not None:
                side.sock.close()
