"""The downstream side of the Envoy backends: the connection manager's client-address settings in the
bootstrap, the client socket bound to the chosen peer address, and the head of a request sent before
its body once the router has forwarded it (host/client_address.py and docs/fidelity.md)."""

from __future__ import annotations

import errno
import ipaddress
import select
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import ProxyWasmError
from ...host.client_address import ClientAddressSettings
from .tcp_connections import count_lines

if TYPE_CHECKING:
    from ...host.grpc_fakes import GrpcCallRecord

HEAD_FORWARD_WAIT = 1.0  # seconds to wait for the router to forward a request's head upstream


class PeerAddressError(ProxyWasmError, ValueError):
    """The Envoy backend cannot connect from the requested peer address (not an address of this machine)."""


def hcm_fields(settings: ClientAddressSettings) -> dict[str, Any]:
    """The HttpConnectionManager fields for ``settings`` (Envoy's defaults are left out)."""
    fields: dict[str, Any] = {}
    if settings.use_remote_address:
        fields["use_remote_address"] = True
    if settings.xff_num_trusted_hops:
        fields["xff_num_trusted_hops"] = settings.xff_num_trusted_hops
    if settings.skip_xff_append:
        fields["skip_xff_append"] = True
    if settings.internal_address_cidrs:
        ranges = []
        for cidr in settings.internal_address_cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            ranges.append({"address_prefix": str(network.network_address), "prefix_len": network.prefixlen})
        fields["internal_address_config"] = {"cidr_ranges": ranges}
    return fields


def connect_from(peer: tuple[str, int], port: int, timeout: float) -> socket.socket:
    """A connection to Envoy's listener on 127.0.0.1 from ``peer`` (its address and port), so Envoy sees
    the same peer the emulator models. Only an address of this machine can be a peer (127.0.0.0/8 is).
    Every exchange comes from the same (ip, port): when the last one's TIME_WAIT still holds the
    connection (EADDRNOTAVAIL; loopback reuse needs a second to pass), it is tried again shortly."""
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            return _connect_once(peer, port, timeout)
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL or attempt == CONNECT_ATTEMPTS - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


CONNECT_ATTEMPTS = 4


def _connect_once(peer: tuple[str, int], port: int, timeout: float) -> socket.socket:
    ip, peer_port = peer
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the last exchange's TIME_WAIT
        sock.settimeout(timeout)
        try:
            sock.bind((ip, peer_port))
        except OSError as exc:
            raise PeerAddressError(
                f"the Envoy backend cannot connect from peer address {ip}:{peer_port} ({exc.strerror}): "
                "a real client can only use an address of this machine, such as 127.0.0.5"
            ) from None
        sock.connect(("127.0.0.1" if family == socket.AF_INET else "::1", port))
    except BaseException:
        sock.close()
        raise
    return sock


def head_forwarded(upstream_heads: Callable[[], int], before: int) -> Callable[[socket.socket], None]:
    """After the head of a request with a body: wait until the fake upstream has the request's head
    (the router forwarded it), Envoy answered the client, or ``HEAD_FORWARD_WAIT`` passed (a filter
    holds the headers). Envoy's router forwards the head on a ready upstream connection as soon as the
    headers leave the last filter; this makes the Envoy backend do so on every exchange, as the
    emulator models it, instead of only when an idle pooled connection happens to exist."""

    def wait(sock: socket.socket) -> None:
        deadline = time.monotonic() + HEAD_FORWARD_WAIT
        while time.monotonic() < deadline and upstream_heads() <= before:
            readable, _, _ = select.select([sock], [], [], 0.005)
            if readable:
                return

    return wait


def settled(
    deletes: int, calls: Callable[[], int], grpc: Callable[[], Sequence[GrpcCallRecord]]
) -> Callable[[list[str]], bool]:
    """Whether Envoy's log shows the stream gone (``deletes`` on_delete lines) and every callout the
    exchange made (``calls()`` HTTP, the unary gRPC calls among ``grpc``) answered."""

    def done(lines: list[str]) -> bool:
        answered = count_lines(lines, "proxy_on_http_call_response(")
        unary = sum(r.kind == "call" for r in grpc())
        grpc_done = count_lines(lines, "proxy_on_grpc_receive(") + count_lines(lines, "proxy_on_grpc_close(")
        stream_gone = count_lines(lines, "proxy_on_delete(") >= deletes
        return stream_gone and answered >= calls() and grpc_done >= unary

    return done
