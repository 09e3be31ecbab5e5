"""The Outcome of one exchange: the same type from every backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .host.diagnostics import Misuse
    from .host.trace import TraceRecord

LEVEL_NAMES = ("trace", "debug", "info", "warn", "error", "critical")


class LogRecord(NamedTuple):
    """One log line. ``source`` is plugin (proxy_log), stdout, stderr (WASI) or host (diagnostics).
    ``context_kind``: ``root`` or ``stream`` (HTTP or TCP), the context the line was written in (the
    effective one); empty when unknown (host lines)."""

    level: int
    message: str
    plugin: str = ""
    context_id: int | None = None
    source: str = "plugin"
    context_kind: str = ""

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level] if 0 <= self.level < len(LEVEL_NAMES) else str(self.level)

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level_name,
            "message": self.message,
            "plugin": self.plugin,
            "source": self.source,
        }


@dataclass(frozen=True)
class UpstreamRequest:
    """The request as it reached the upstream, after every plugin (also one reset after its headers)."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    trailers: list[tuple[str, str]] = field(default_factory=list)
    # The router reset the request before it was complete (a local reply after the headers, or part
    # of the body, were forwarded): ``body`` is what arrived before the reset.
    reset: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": [list(h) for h in self.headers],
            "body": self.body.decode("utf-8", "replace"),
            "trailers": [list(t) for t in self.trailers],
            "reset": self.reset,
        }


@dataclass(frozen=True)
class Outcome:
    """What the downstream client saw, what the upstream saw, and what the plugins did."""

    status: int | None
    response_headers: list[tuple[str, str]]
    response_body: bytes
    upstream_request: UpstreamRequest | None
    logs: list[LogRecord]
    plugin_failed: str | None = None
    response_trailers: list[tuple[str, str]] = field(default_factory=list)
    local_reply: bool = False
    details: str = ""
    hung: bool = False
    reset: bool = False
    callouts: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)
    backend: str = "emulator"
    trace: list[TraceRecord] = field(default_factory=list)  # hostcalls and callbacks, when tracing
    misuse: list[Misuse] = field(default_factory=list)  # misuse diagnostics so far (always on)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.response_headers if k == name), None)

    def __repr__(self) -> str:
        """Short enough for pytest's assertion messages: what the client got and what the upstream saw
        (every field stays readable as an attribute; the plugin log is a report section of its own)."""
        parts = [f"status={self.status!r}"]
        if self.local_reply:
            parts.append("local_reply=True")
        if self.details:
            parts.append(f"details={self.details!r}")
        if self.response_body:
            parts.append(f"response_body={_short(self.response_body)}")
        up = self.upstream_request
        parts.append(f"upstream_request={f'{up.method} {up.path}' if up else None}")
        for flag in ("plugin_failed", "hung", "reset"):
            if getattr(self, flag):
                parts.append(f"{flag}={getattr(self, flag)!r}")
        parts.append(f"logs={len(self.logs)} lines")
        return f"Outcome({', '.join(parts)}, backend={self.backend!r})"

    def headers_named(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.response_headers if k == name]

    def log_messages(self, level: str | None = None) -> list[str]:
        return [r.message for r in self.logs if level is None or r.level_name == level]

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, trace=[], misuse=[]))
        data["trace"] = [r.to_json() for r in self.trace]
        data["misuse"] = [m.to_json() for m in self.misuse]
        data["response_headers"] = [list(h) for h in self.response_headers]
        data["response_trailers"] = [list(h) for h in self.response_trailers]
        data["response_body"] = self.response_body.decode("utf-8", "replace")
        data["upstream_request"] = self.upstream_request.to_json() if self.upstream_request else None
        data["logs"] = [r.to_json() for r in self.logs]
        return data


def _short(data: bytes, limit: int = 60) -> str:
    return repr(data[:limit]) + (f"...({len(data)} bytes)" if len(data) > limit else "")


_new_object = object.__new__


def assemble_outcome(fields: dict[str, Any]) -> Outcome:
    """An emulator Outcome from every field but ``trace`` and ``misuse`` (set empty), without the frozen
    dataclass ``__init__`` (one ``object.__setattr__`` per field; this runs once per exchange). The
    result is an ordinary Outcome: equal, replaceable and serialisable like one built by ``Outcome()``."""
    outcome = _new_object(Outcome)
    outcome.__dict__.update(fields, backend="emulator", trace=[], misuse=[])
    return outcome


@dataclass(frozen=True)
class TcpOutcome:
    """One TCP connection through a chain of network filters: what each side received, who closed it."""

    upstream_received: bytes  # every byte that reached the upstream, in order
    client_received: bytes  # every byte that reached the downstream client, in order
    closed_by: str  # "plugin" (close_stream or a fail-closed failure), "downstream" or "upstream"
    logs: list[LogRecord]
    plugin_failed: str | None = None
    upstream_connected: bool = False  # data iteration reached tcp_proxy (no filter held the connection)
    client_end_of_stream: bool = False  # the upstream's half-close reached the client
    metrics: dict[str, int] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)
    backend: str = "emulator"
    trace: list[TraceRecord] = field(default_factory=list)
    misuse: list[Misuse] = field(default_factory=list)

    def log_messages(self, level: str | None = None) -> list[str]:
        return [r.message for r in self.logs if level is None or r.level_name == level]

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, trace=[], misuse=[]))
        data["trace"] = [r.to_json() for r in self.trace]
        data["misuse"] = [m.to_json() for m in self.misuse]
        data["upstream_received"] = self.upstream_received.decode("utf-8", "replace")
        data["client_received"] = self.client_received.decode("utf-8", "replace")
        data["logs"] = [r.to_json() for r in self.logs]
        return data
