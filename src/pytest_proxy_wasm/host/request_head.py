"""What Envoy does to a request head before any filter runs, shared by every backend.

* ``host`` in a test's headers is the request's authority: Envoy's HTTP/1.1 codec turns the Host line
  into ``:authority``, so it becomes ``authority=`` (one Host per request, as real clients send).
* ``expect: 100-continue`` is consumed by the connection manager (``proxy_100_continue`` off, Envoy's
  default): it answers "100 Continue" itself, records 100 as the stream's response code and removes the
  header, so neither the filters nor the upstream see it (Envoy 1.40 ``ActiveStream::decodeHeaders``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ProxyWasmError
from .headers import HeaderInput, HeaderMap

DEFAULT_AUTHORITY = "example.com"
_HOST = ("host", b"host")
CONTINUE = 100


class RequestHeadError(ProxyWasmError, ValueError):
    """A request head no HTTP/1.1 client sends (two Host headers, or Host and a different authority)."""


def _text(value: str | bytes) -> str:
    return (value.decode("latin-1") if isinstance(value, bytes | bytearray) else value).strip(" \t")


def _items(headers: Any) -> list[Any]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def split_host(authority: str | None, headers: HeaderInput) -> tuple[str, HeaderInput]:
    """The request's authority and its other headers: a ``host`` header (any case) gives the authority
    when ``authority`` is ``None``; the same value in both is accepted, different ones are refused."""
    if not headers:
        return (DEFAULT_AUTHORITY if authority is None else authority), headers
    items: list[Any] = headers if type(headers) is list else _items(headers)
    # one pass, no copy, in the usual case (no Host): a length test before any lower-casing
    for k, _ in items:
        if len(k) == 4 and k.lower() in _HOST:
            break
    else:
        return (DEFAULT_AUTHORITY if authority is None else authority), items
    hosts = [_text(v) for k, v in items if k.lower() in _HOST]
    if len(hosts) > 1:
        raise RequestHeadError(
            f"the request has {len(hosts)} Host headers ({', '.join(map(repr, hosts))}); an HTTP/1.1 "
            "request carries one (it becomes :authority): give one, or authority="
        )
    if authority is not None and authority != hosts[0]:
        raise RequestHeadError(
            f"the Host header {hosts[0]!r} and authority={authority!r} disagree: Host is the authority "
            "on the wire; give one of them"
        )
    return hosts[0], [(k, v) for k, v in items if k.lower() not in _HOST]


def consume_expect(headers: HeaderMap) -> bool:
    """Remove ``expect: 100-continue`` (the value in any case) as Envoy's connection manager does; True
    when it did (Envoy has then answered "100 Continue" and set the response code to 100).

    Envoy joins repeated Expect headers into one value, which then is not ``100-continue`` and stays;
    the emulator keeps repeated headers apart, and leaves them too."""
    values = headers.get_all(b"expect")
    if len(values) != 1 or values[0].lower() != b"100-continue":
        return False
    headers.remove(b"expect")
    return True
