"""How two Outcomes are compared field by field (the emulator's and Envoy's in diff mode, two builds in
``compare``), and the mismatch raised when they differ."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import ExpectationError
from ..host.trace_diff import divergence_report
from ..outcome import LogRecord, Outcome, TcpOutcome
from .base import Headers

# Headers one backend adds that say nothing about the plugin.
BACKEND_SPECIFIC_HEADERS = frozenset(
    {
        "date",
        "server",
        "x-envoy-upstream-service-time",
        "x-envoy-expected-rq-timeout-ms",
        "x-request-id",
        "x-forwarded-proto",
        "x-envoy-internal",
        "content-length",
        "transfer-encoding",
        "connection",  # hop-by-hop: Envoy closes an HTTP/1.1 connection after replying mid-request
    }
)


def _pairs(headers: Headers) -> list[tuple[str | bytes, str | bytes]]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


class BackendMismatch(ExpectationError):  # noqa: N818 - reads as what it is
    """The emulator and Envoy disagreed on an exchange; ``differences`` has one entry per field."""

    def __init__(self, message: str, differences: Sequence[str] = (), divergence: str = "") -> None:
        super().__init__(message)
        self.differences = list(differences)
        self.divergence = divergence  # where the two traces part, when both exchanges were traced
        self.emulated: Any = None  # the emulator's Outcome, when an exchange differed
        self.real: Any = None  # Envoy's Outcome


def _headers(pairs: Iterable[tuple[str, str]] | Iterable[list[str]]) -> list[tuple[str, str]]:
    return [(str(k).lower(), str(v)) for k, v in pairs if str(k).lower() not in BACKEND_SPECIFIC_HEADERS]


# The router's timing, as `name: N` or in a printed pair `("name", "N")`.
_VOLATILE_IN_LOGS = re.compile(r"(x-envoy-upstream-service-time\W+)\d+")


def comparable(outcome: Outcome) -> dict[str, Any]:
    """The fields the two backends must agree on, normalized."""
    upstream = outcome.upstream_request
    return {
        "status": outcome.status,
        "response_headers": sorted(_headers(outcome.response_headers)),
        "response_body": outcome.response_body,
        "upstream_request": None
        if upstream is None
        else {
            "method": upstream.method,
            "path": upstream.path,
            "headers": sorted(_headers(upstream.headers)),
            "body": upstream.body,
            "reset": upstream.reset,
        },
        "local_reply": outcome.local_reply,
        "details": outcome.details,
        "plugin_failed": outcome.plugin_failed is not None,
        "callouts": [
            (c["cluster"], sorted(_headers(c["headers"])), c["body"], c["timeout_ms"])
            for c in outcome.callouts
        ],
        "plugin_logs": [(r.level, _VOLATILE_IN_LOGS.sub(r"\g<1>N", r.message)) for r in outcome.logs],
        "metrics": dict(outcome.metrics),
    }


def comparable_tcp(outcome: TcpOutcome, logs: Sequence[LogRecord] | None = None) -> dict[str, Any]:
    """The fields of a TCP connection both backends must agree on (``logs``: this connection's)."""
    return {
        "upstream_received": outcome.upstream_received,
        "client_received": outcome.client_received,
        "closed_by": outcome.closed_by,
        "client_end_of_stream": outcome.client_end_of_stream,
        "plugin_failed": outcome.plugin_failed is not None,
        "plugin_logs": [(r.level, r.message) for r in (outcome.logs if logs is None else logs)],
        "metrics": dict(outcome.metrics),
    }


def differences(emulator: Outcome | TcpOutcome, envoy: Outcome | TcpOutcome) -> list[str]:
    if isinstance(emulator, TcpOutcome) and isinstance(envoy, TcpOutcome):
        left, right = comparable_tcp(emulator), comparable_tcp(envoy)
    else:
        left, right = comparable(emulator), comparable(envoy)  # type: ignore[arg-type]
    return _diff(left, right)


class Sides(NamedTuple):
    """How the two sides of a comparison are named in the lines (``compare`` says old and new)."""

    left: str = "emulator"
    right: str = "envoy"
    left_where: str = "on the emulator"
    right_where: str = "on Envoy"

    def pair(self, left: str, right: str) -> str:
        pad = max(len(self.left), len(self.right)) + 1
        return f"\n    {self.left + ':':<{pad}} {left}\n    {self.right + ':':<{pad}} {right}"


BACKENDS = Sides()


def _diff(left: dict[str, Any], right: dict[str, Any], prefix: str = "") -> list[str]:
    """One entry per differing field: nested dicts by key, lists by the items only one side has."""
    return [text for _, text in field_differences(left, right, prefix)]


def field_differences(
    left: dict[str, Any], right: dict[str, Any], prefix: str = "", sides: Sides = BACKENDS
) -> list[tuple[str, str]]:
    """``(field, text)`` per differing field (``upstream_request.path``, ``metrics.x``, ...)."""
    lines: list[tuple[str, str]] = []
    for key, value in left.items():
        other, name = right.get(key), f"{prefix}{key}"
        if value == other:
            continue
        if isinstance(value, dict) and isinstance(other, dict):
            keys = [*value, *(k for k in other if k not in value)]
            inner = {k: value.get(k) for k in keys}, {k: other.get(k) for k in keys}
            lines += field_differences(*inner, f"{name}.", sides)
        elif isinstance(value, list) and isinstance(other, list) and key in ORDERED:
            lines.append((name, _first_difference(name, value, other, sides)))
        elif isinstance(value, list) and isinstance(other, list):
            only_left = [item for item in value if item not in other]
            only_right = [item for item in other if item not in value]
            width = max(len(sides.left_where), len(sides.right_where)) + 7
            text = (
                f"{name}:\n    {'only ' + sides.left_where + ':':<{width}}{only_left!r}"
                f"\n    {'only ' + sides.right_where + ':':<{width}}{only_right!r}"
                if only_left or only_right
                else f"{name} (same items, different order or count):{sides.pair(repr(value), repr(other))}"
            )
            lines.append((name, text))
        else:
            lines.append((name, f"{name}:{sides.pair(repr(value), repr(other))}"))
    return lines


ORDERED = ("plugin_logs", "callouts")  # order matters: show where they part


def _first_difference(name: str, left: list[Any], right: list[Any], sides: Sides = BACKENDS) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b), min(len(left), len(right))
    )
    counts = f"{len(left)} {sides.left_where}, {len(right)} {sides.right_where}"
    shown = [repr(side[at]) if at < len(side) else "(no more)" for side in (left, right)]
    return f"{name} ({counts}; first difference at #{at}):" + sides.pair(*shown)


def assert_same(emulator: Outcome | TcpOutcome, envoy: Outcome | TcpOutcome) -> None:
    _raise(differences(emulator, envoy))


def _raise(found: list[str], emulated: Any = None, real: Any = None) -> None:
    if found:
        divergence = divergence_report(getattr(emulated, "trace", []), getattr(real, "trace", []))
        extra = "\n" + divergence if divergence else ""
        message = "the emulator and Envoy disagree\n  " + "\n  ".join(found) + extra
        mismatch = BackendMismatch(message, found, divergence or "")
        mismatch.emulated, mismatch.real = emulated, real  # each backend's own answer
        raise mismatch
