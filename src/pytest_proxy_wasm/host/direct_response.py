"""The router's local reply for a route with ``direct_response`` (no upstream)."""

from __future__ import annotations

from .contexts import LocalResponse
from .headers import HeaderMap

DIRECT_RESPONSE_BODY_LIMIT = 4096  # Envoy's route config max_direct_response_body_size_bytes default


class DirectResponse(LocalResponse):
    """The router's local reply for a ``direct_response`` route (verified against Envoy 1.40): 201 and
    3xx get ``location`` (the request's URL) after ``:status``; an empty body gets no content-length."""

    def envoy_headers(
        self, request: HeaderMap | None, *, grpc: bool | None = None, head: bool | None = None
    ) -> HeaderMap:
        headers = super().envoy_headers(request, grpc=grpc, head=head)
        if headers.get(b"grpc-status") is not None:
            return headers
        if not self.body:
            headers.remove(b"content-length")
        if request is not None and (self.status == 201 or 300 <= self.status < 400):
            url = b"%s://%s%s" % (
                request.get(b":scheme") or b"http",
                request.get(b":authority") or b"",
                request.get(b":path") or b"/",
            )
            pairs = headers.pairs()
            headers = HeaderMap([pairs[0], (b"location", url), *pairs[1:]])
        return headers


def direct_reply(status: int, body: bytes | str) -> DirectResponse:
    """What the router of a ``direct_response`` route sends: a local reply, details ``direct_response``."""
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError(
            f"direct_response status must be an HTTP status 200-599 (Envoy's range), not {status!r}"
        )
    data = body.encode() if isinstance(body, str) else bytes(body)
    if len(data) > DIRECT_RESPONSE_BODY_LIMIT:
        raise ValueError(
            f"direct_response body is {len(data)} bytes; Envoy's limit is {DIRECT_RESPONSE_BODY_LIMIT}"
        )
    return DirectResponse(status, data, [], "direct_response", None)
