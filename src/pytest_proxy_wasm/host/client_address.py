"""How Envoy's HTTP connection manager decides the client address (the downstream remote address).

Envoy 1.40 ``ConnectionManagerUtility::mutateRequestHeaders`` and ``Utility::getLastAddressFromXFF``
(source/common/http/conn_manager_utility.cc, utility.cc; the default XFF original-IP detection), run
on the request headers before any HTTP filter sees them:

- ``use_remote_address: false`` (the default): the address is the last x-forwarded-for entry after
  skipping ``xff_num_trusted_hops`` entries from the right; nothing is appended to x-forwarded-for. No
  usable entry (no header, too few entries, not an IP): the connection's peer address.
- ``use_remote_address: true``: with ``xff_num_trusted_hops`` N > 0 the address is the entry N-1 from
  the right of the x-forwarded-for the client sent, else the peer; the peer is appended to
  x-forwarded-for (Envoy's own local address instead when the peer is exactly 127.0.0.1 or ::1), unless
  ``skip_xff_append``.
- An address from x-forwarded-for has port 0 (``source.address`` ``10.0.0.1:0``, ``source.port`` 0).
- The request is internal when the address is in ``internal_address_config`` (empty by default in
  Envoy 1.40: nothing is internal) and came from a lone x-forwarded-for entry (or, with
  ``use_remote_address``, from the peer with no x-forwarded-for sent): ``x-envoy-internal: true``.
  Otherwise Envoy strips its internal-only ``x-envoy-*`` request headers, and with
  ``use_remote_address`` (an edge request) sets ``x-envoy-external-address`` and a fresh x-request-id.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .headers import HeaderMap

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PEER = "127.0.0.1:45678"

# cleanInternalHeaders: what a request that is not internal may not carry past the connection manager.
INTERNAL_ONLY = (
    b"x-envoy-retriable-status-codes",
    b"x-envoy-retriable-header-names",
    b"x-envoy-retry-on",
    b"x-envoy-retry-grpc-on",
    b"x-envoy-max-retries",
    b"x-envoy-upstream-alt-stat-name",
    b"x-envoy-upstream-rq-timeout-ms",
    b"x-envoy-upstream-rq-per-try-timeout-ms",
    b"x-envoy-upstream-rq-timeout-alt-response",
    b"x-envoy-expected-rq-timeout-ms",
    b"x-envoy-force-trace",
    b"x-envoy-ip-tags",
    b"x-envoy-original-url",
    b"x-envoy-hedge-on-per-try-timeout",
)
EDGE_ONLY = (
    b"x-envoy-decorator-operation",
    b"x-envoy-downstream-service-cluster",
    b"x-envoy-downstream-service-node",
)
# Removed from every request (proxy and hop-by-hop headers), before the address is decided.
PROXY_HEADERS = frozenset((b"x-envoy-internal", b"keep-alive", b"proxy-connection", b"transfer-encoding"))
_NOT_INTERNAL = frozenset(INTERNAL_ONLY)
_NOT_EDGE = frozenset((*INTERNAL_ONLY, *EDGE_ONLY))
_ACTED_ON = PROXY_HEADERS | _NOT_INTERNAL | {b"x-forwarded-for"}  # what the one-pass case must not see


@dataclass(frozen=True)
class ClientAddressSettings:
    """The connection manager settings that decide the client address (Envoy's names and defaults)."""

    use_remote_address: bool = False
    xff_num_trusted_hops: int = 0
    skip_xff_append: bool = False
    internal_address_cidrs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.xff_num_trusted_hops, bool) or not isinstance(self.xff_num_trusted_hops, int):
            raise ValueError(f"xff_num_trusted_hops must be an integer, not {self.xff_num_trusted_hops!r}")
        if self.xff_num_trusted_hops < 0:
            raise ValueError(f"xff_num_trusted_hops must be 0 or more, not {self.xff_num_trusted_hops}")
        for cidr in self.internal_address_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(
                    f"internal_address_cidrs: {cidr!r} is not an address range like 10.0.0.0/8"
                ) from None


def client_overrides(**settings: Any) -> dict[str, Any]:
    """The settings a ``request()`` call gave (not ``None``), checked as ``ClientAddressSettings``."""
    given = {name: value for name, value in settings.items() if value is not None}
    if "internal_address_cidrs" in given:
        given["internal_address_cidrs"] = tuple(given["internal_address_cidrs"])
    if given:
        ClientAddressSettings(**given)  # raises a ValueError naming the bad one
    return given


@dataclass(frozen=True)
class ClientAddress:
    """What the connection manager decided: the downstream remote address and the request's kind."""

    address: tuple[str, int]  # (ip, port): source.address is "ip:port" ("[v6]:port")
    internal: bool
    edge: bool  # use_remote_address and not internal: Envoy's first hop into the trusted network


def parse_peer(value: str) -> tuple[str, int]:
    """``10.0.0.7``, ``10.0.0.7:5000``, ``::1`` or ``[::1]:5000`` as (ip, port); no port means 45678."""
    text = value.strip()
    port = 45678
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"peer address {value!r}: expected [v6]:port")
        text, port_text = host, rest[1:]
        port = _port(value, port_text) if port_text else port
    elif text.count(":") == 1:
        text, port_text = text.split(":")
        port = _port(value, port_text)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"peer address {value!r} is not an IP address (with an optional :port)") from None
    return str(ip), port


def _port(value: str, text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ValueError(f"peer address {value!r}: the port must be 0-65535")
    return int(text)


def last_address_from_xff(value: bytes | None, num_to_skip: int) -> tuple[IpAddress | None, bool]:
    """Envoy ``Utility::getLastAddressFromXFF``: the entry ``num_to_skip`` from the right and whether
    the header held that one address alone."""
    if value is None:
        return None, False
    text = value
    for _ in range(num_to_skip):
        comma = text.rfind(b",")
        if comma < 0:
            return None, False
        text = text[:comma]
    comma = text.rfind(b",")
    if comma >= 0 and comma + 1 < len(text):
        text = text[comma + 1 :]
    text = text.strip(b" \t\f\v\n\r")
    try:
        return ipaddress.ip_address(_inet_pton_text(text)), comma < 0 and num_to_skip == 0
    except ValueError:
        return None, False


def _inet_pton_text(text: bytes) -> str:
    """What ``inet_pton`` accepts: dotted quads or IPv6 text, no zone index, no port."""
    decoded = text.decode("latin-1")
    if "%" in decoded or not decoded:
        raise ValueError(decoded)
    return decoded


def _append_xff(headers: HeaderMap, ip: str) -> None:
    """Envoy ``Utility::appendXff`` (``appendToHeader``): ``,ip`` after the first x-forwarded-for
    entry's value (just ``ip`` when it is empty), or a new header at the end."""
    for index, (key, old) in enumerate(headers.entries):
        if key == b"x-forwarded-for":
            headers.entries[index] = (key, old + b"," + ip.encode() if old else ip.encode())
            return
    headers.entries.append((b"x-forwarded-for", ip.encode()))


def _merge_xff(headers: HeaderMap) -> None:
    """Envoy's HTTP/1.1 codec keeps one x-forwarded-for (an inline header): later ones are appended to
    the first with ``,`` (verified against Envoy 1.40: ``10.0.0.1`` and ``10.0.0.2`` read
    ``10.0.0.1,10.0.0.2``)."""
    entries = headers.entries
    values = [value for key, value in entries if key == b"x-forwarded-for"]
    if len(values) < 2:
        return
    first = next(i for i, (key, _) in enumerate(entries) if key == b"x-forwarded-for")
    merged = b",".join(v for v in values if v)
    headers.entries = [e for i, e in enumerate(entries) if i == first or e[0] != b"x-forwarded-for"]
    headers.entries[first] = (b"x-forwarded-for", merged)


def _is_internal(ip: IpAddress, cidrs: Sequence[str]) -> bool:
    return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def decide(
    headers: HeaderMap, peer: tuple[str, int], settings: ClientAddressSettings, local_address: str
) -> ClientAddress:
    """Apply the connection manager's address rules to ``headers`` (changed in place) and return the
    client address. ``local_address``: Envoy's own address, appended to x-forwarded-for for a
    127.0.0.1/::1 peer under ``use_remote_address``."""
    _drop(headers, PROXY_HEADERS)
    _merge_xff(headers)
    hops = settings.xff_num_trusted_hops
    final: IpAddress | None = None
    if settings.use_remote_address:
        trusted_checks = headers.get(b"x-forwarded-for") is None
        if hops > 0:
            final = last_address_from_xff(headers.get(b"x-forwarded-for"), hops - 1)[0]
        address = (str(final), 0) if final is not None else peer
        final = final if final is not None else ipaddress.ip_address(peer[0])
        if not settings.skip_xff_append:
            loopback = peer[0] in ("127.0.0.1", "::1")
            _append_xff(headers, local_address if loopback else peer[0])
    else:
        final, trusted_checks = last_address_from_xff(headers.get(b"x-forwarded-for"), hops)
        address = (str(final), 0) if final is not None else peer
    cidrs = settings.internal_address_cidrs
    internal = bool(cidrs) and trusted_checks and final is not None and _is_internal(final, cidrs)
    edge = not internal and settings.use_remote_address
    return ClientAddress(address, internal, edge)


def finish_headers(headers: HeaderMap, decided: ClientAddress) -> None:
    """The rest of mutateRequestHeaders once x-forwarded-proto is set: ``x-envoy-internal`` or the
    removal of internal-only headers, then ``x-envoy-external-address`` for an edge request."""
    if decided.internal:
        headers.replace_inline(b"x-envoy-internal", b"true")
    else:
        _drop(headers, _NOT_EDGE if decided.edge else _NOT_INTERNAL)
    if decided.edge:
        headers.replace_inline(b"x-envoy-external-address", decided.address[0].encode())


def _drop(headers: HeaderMap, names: frozenset[bytes]) -> None:
    """Remove every entry named in ``names`` (one pass; usually there is none)."""
    entries = headers.entries
    if any(key in names for key, _ in entries):
        headers.entries = [entry for entry in entries if entry[0] not in names]


def mutate_request_headers(
    headers: HeaderMap,
    scheme: str,
    peer: tuple[str, int],
    settings: ClientAddressSettings,
    local_address: str,
    new_request_id: Callable[[], bytes],
    names: set[bytes] | None = None,
) -> tuple[str, int]:
    """The connection manager's changes to the request headers, in Envoy's order (x-forwarded-for,
    x-forwarded-proto, x-envoy-internal or the internal-only headers' removal,
    x-envoy-external-address, x-request-id); returns the client address (``source.address``).
    ``names``: the regular header names in ``headers``, when the caller has them."""
    if not settings.use_remote_address:
        # The usual case, in one pass: no header the rules act on, so the peer is the client.
        keys = names if names is not None else {key for key, _ in headers.entries}
        if keys.isdisjoint(_ACTED_ON):
            if b"x-forwarded-proto" not in keys:
                headers.entries.append((b"x-forwarded-proto", scheme.encode()))
            if b"x-request-id" not in keys:
                headers.entries.append((b"x-request-id", new_request_id()))
            return peer
    decided = decide(headers, peer, settings, local_address)
    if settings.use_remote_address and settings.xff_num_trusted_hops == 0:
        headers.replace_inline(b"x-forwarded-proto", scheme.encode())  # the peer's value is untrusted
    elif headers.get(b"x-forwarded-proto") is None:
        headers.entries.append((b"x-forwarded-proto", scheme.encode()))
    finish_headers(headers, decided)
    if decided.edge or headers.get(b"x-request-id") is None:
        # Envoy generates one when there is none, and replaces the client's on an edge request.
        headers.replace_inline(b"x-request-id", new_request_id())
    return decided.address


def for_exchange(
    defaults: tuple[tuple[str, int], ClientAddressSettings], peer_address: str | None, **settings: Any
) -> tuple[tuple[str, int], ClientAddressSettings]:
    """The peer and settings of one ``request()`` call: its own where given, else the host's."""
    peer, current = defaults
    given = client_overrides(**settings)
    return (
        parse_peer(peer_address) if peer_address is not None else peer,
        replace(current, **given) if given else current,
    )


def exchange_client(
    defaults: tuple[tuple[str, int], ClientAddressSettings],
    peer_address: str | None,
    use_remote_address: bool | None,
    xff_num_trusted_hops: int | None,
    skip_xff_append: bool | None,
    internal_address_cidrs: Sequence[str] | None,
) -> tuple[tuple[str, int], ClientAddressSettings]:
    """``for_exchange`` for ``Host.request``'s arguments; the defaults as they are when none is given."""
    if (peer_address, use_remote_address, xff_num_trusted_hops, skip_xff_append, internal_address_cidrs) == (
        None,
    ) * 5:
        return defaults
    return for_exchange(
        defaults,
        peer_address,
        use_remote_address=use_remote_address,
        xff_num_trusted_hops=xff_num_trusted_hops,
        skip_xff_append=skip_xff_append,
        internal_address_cidrs=internal_address_cidrs,
    )
