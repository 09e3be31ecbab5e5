"""What the client and the upstream saw on the wire, as the fields of an ``Outcome``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...outcome import UpstreamRequest
from .convert import as_http2
from .fakes import wait_for
from .wire import Message


def upstream_request_of(seen: Message) -> UpstreamRequest:
    """The request the fake upstream received, with HTTP/2-style pseudo-headers."""
    method, target = seen.start_line.split()[:2]
    return UpstreamRequest(
        method,
        target,
        as_http2(method, target, seen.headers),
        seen.body,
        [(k.lower(), v) for k, v in seen.trailers],
        reset=seen.reset,
    )


def response_fields(response: Message | None, entry: dict[str, Any]) -> dict[str, Any]:
    """The client's answer (``None``: the stream was reset) and the access log's response details."""
    details = str(entry.get("details", "")) if entry else ""
    if response is None:
        return {"status": None, "response_headers": [], "response_body": b"", "response_trailers": [],
                "local_reply": False, "details": details if details != "via_upstream" else "",
                "reset": True}  # fmt: skip
    status = int(response.start_line.split()[1])
    return {
        "status": status,
        "response_headers": [(":status", str(status)), *((k.lower(), v) for k, v in response.headers)],
        "response_body": response.body,
        "response_trailers": [(k.lower(), v) for k, v in response.trailers],
        "local_reply": details != "via_upstream",
        "details": details if details != "via_upstream" else "",
        "reset": False,
    }


class AccessLog:
    """Envoy's JSON access log: the entry of the next exchange (written after the response)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.before = self._lines()

    def _lines(self) -> int:
        return self.path.read_text().count("\n") if self.path.exists() else 0

    def next_entry(self, timeout: float = 5.0) -> dict[str, Any]:
        wait_for(lambda: self._lines() > self.before, timeout)
        lines = self.path.read_text().splitlines()[self.before :] if self.path.exists() else []
        return dict(json.loads(lines[-1])) if lines else {}
