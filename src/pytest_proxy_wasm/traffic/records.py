"""One recorded exchange, whatever file it came from: the request, what the upstream answered (the
route's answer on replay) and what the client got."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Never replayed: HTTP/2 pseudo-headers are the request line here, hop-by-hop headers belong to the
# recorded connection, and lengths are recomputed from the replayed body (a HAR body is decoded, so its
# content-encoding no longer holds).
NOT_REPLAYED = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "http2-settings",
    }
)


class TrafficError(ValueError):
    """A traffic file that cannot be read; the message names the file and the entry or line."""


# Left out of a recorded answer besides: what the recording proxy added, not the upstream (the replaying
# Envoy adds its own).
PROXY_ADDED = frozenset({"date", "server", "x-envoy-upstream-service-time"})


def replayable(headers: list[tuple[str, str]], *, answer: bool = False) -> list[tuple[str, str]]:
    """The headers worth sending again, lower-cased (``answer``: an upstream's answer)."""
    dropped = NOT_REPLAYED | PROXY_ADDED if answer else NOT_REPLAYED
    return [(k.lower(), v) for k, v in headers if not k.startswith(":") and k.lower() not in dropped]


@dataclass(frozen=True)
class RecordedResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    body_known: bool = True  # False: the file had no body (an access log; a HAR without content text)


@dataclass(frozen=True)
class RecordedExchange:
    """``upstream``: the upstream's answer (``None``: it never answered, e.g. a local reply);
    ``response``: what the client received; ``where``: ``FILE: entries[3]`` or ``FILE:12``."""

    method: str
    path: str
    where: str
    authority: str = "example.com"
    scheme: str = "http"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    body_known: bool = True
    upstream: RecordedResponse | None = None
    response: RecordedResponse | None = None
    notes: tuple[str, ...] = ()
    format: str = "har"  # or "access-log": it also says whether the upstream answered

    def request_kwargs(self) -> dict[str, Any]:
        """Keywords for ``Backend.request``: the request, routed to the recorded upstream answer."""
        kwargs: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "authority": self.authority,
            "scheme": self.scheme,
            "headers": list(self.headers),
            "body": self.body,
        }
        if self.upstream is not None:
            kwargs.update(
                upstream_status=self.upstream.status,
                upstream_headers=list(self.upstream.headers),
                upstream_body=self.upstream.body,
            )
        return kwargs

    @property
    def title(self) -> str:
        return f"{self.method} {self.path}"
