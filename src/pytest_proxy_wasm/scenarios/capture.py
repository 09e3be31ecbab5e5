"""Expectations from an observed Outcome: what a step must see to behave as this exchange did.

``expect_from_outcome(outcome)`` is how a tool turns a run (on Envoy, say) into a regression test:
the status, the response headers and body, what the upstream saw and the callouts made, leaving out
what says nothing about the plugin (headers a backend adds, ``date``, timings)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

from ..backends.outcome_diff import BACKEND_SPECIFIC_HEADERS
from ..outcome import Outcome
from .model import Expect

# Beyond the headers diff mode already ignores: values that change from run to run.
VOLATILE_HEADERS = frozenset({"x-envoy-upstream-service-time", "date", "x-request-id"})


def _header_values(pairs: Iterable[Sequence[str]], skip: frozenset[str]) -> dict[str, str]:
    """The last value of each header (a scenario header check passes on any value), lower-cased names;
    pseudo-headers and ``skip`` left out."""
    values: dict[str, str] = {}
    for name, value in pairs:
        key = str(name).lower()
        if not key.startswith(":") and key not in skip:
            values[key] = str(value)
    return values


def body_check(data: bytes) -> Any:
    """The body check that passes for exactly ``data`` (text, ``{empty: true}`` or ``{base64: ...}``)."""
    if not data:
        return {"empty": True}
    try:
        return data.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def expect_from_outcome(
    outcome: Outcome,
    *,
    upstream: bool = True,
    callouts: bool = True,
    skip_headers: Iterable[str] = (),
) -> Expect:
    """An ``Expect`` that the same exchange passes on any backend: ``status``, ``headers``, ``body``,
    ``upstream`` (method, path, headers, body; or ``False``) and ``callouts`` (cluster, method, path,
    status). ``skip_headers``: more header names to leave out."""
    skip = BACKEND_SPECIFIC_HEADERS | VOLATILE_HEADERS | {h.lower() for h in skip_headers}
    expect = Expect(
        status=outcome.status,
        headers=_header_values(outcome.response_headers, skip) or None,
        body=body_check(outcome.response_body),
    )
    if upstream:
        seen = outcome.upstream_request
        expect.upstream = (
            False
            if seen is None
            else {
                "method": seen.method,
                "path": seen.path,
                "headers": _header_values(seen.headers, skip),
                "body": body_check(seen.body),
            }
        )
    if callouts:
        expect.callouts = [_callout_check(call) for call in outcome.callouts]
    return expect


def _callout_check(call: dict[str, Any]) -> dict[str, Any]:
    headers = {str(k).lower(): str(v) for k, v in call.get("headers", [])}
    check: dict[str, Any] = {"cluster": call["cluster"]}
    for field, header in (("method", ":method"), ("path", ":path")):
        if header in headers:
            check[field] = headers[header]
    check["status"] = call.get("status")
    return check
