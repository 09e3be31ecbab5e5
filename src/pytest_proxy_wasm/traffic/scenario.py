"""Recorded exchanges as a scenario (docs/scenarios.md, "Importing traffic"): one step per exchange, in
file order, on one host; the recorded upstream answer is the step's ``upstream``; with ``expect`` the
recorded response becomes the step's expectation (status, headers, body when recorded, and with an
access log whether the upstream answered)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from ..backends.outcome_diff import BACKEND_SPECIFIC_HEADERS
from .records import RecordedExchange, RecordedResponse


def _body(data: bytes) -> dict[str, str]:
    if not data:
        return {}
    try:
        return {"body": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(data).decode()}


def _pairs(headers: Sequence[tuple[str, str]]) -> dict[str, str] | list[list[str]]:
    """A mapping when every name is there once (easier to read), else ``[name, value]`` pairs."""
    if len({name for name, _ in headers}) == len(headers):
        return dict(headers)
    return [[name, value] for name, value in headers]


def _expected_body(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def expectation(response: RecordedResponse, reached: bool | None) -> dict[str, Any]:
    """What the client got, as an ``expect`` mapping (headers that say nothing about the plugin left out)."""
    expect: dict[str, Any] = {"status": response.status}
    headers: dict[str, str] = {}
    for name, value in response.headers:
        if name not in BACKEND_SPECIFIC_HEADERS:
            headers.setdefault(name, value)
    if headers:
        expect["headers"] = headers
    if response.body_known:
        expect["body"] = _expected_body(response.body)
    if reached is not None:
        expect["upstream"] = reached
    return expect


def step(exchange: RecordedExchange, *, expect: bool, knows_upstream: bool) -> dict[str, Any]:
    request: dict[str, Any] = {"method": exchange.method, "path": exchange.path}
    if exchange.authority != "example.com":
        request["authority"] = exchange.authority
    if exchange.scheme != "http":
        request["scheme"] = exchange.scheme
    if exchange.headers:
        request["headers"] = _pairs(exchange.headers)
    request.update(_body(exchange.body))
    out: dict[str, Any] = {"name": exchange.where, "request": request}
    if exchange.upstream is not None:
        upstream: dict[str, Any] = {"status": exchange.upstream.status}
        if exchange.upstream.headers:
            upstream["headers"] = _pairs(exchange.upstream.headers)
        upstream.update(_body(exchange.upstream.body))
        out["upstream"] = upstream
    if expect and exchange.response is not None:
        reached = exchange.upstream is not None if knows_upstream else None
        out["expect"] = expectation(exchange.response, reached)
    return out


def traffic_scenario(
    exchanges: Sequence[RecordedExchange],
    *,
    source: str,
    plugins: Sequence[dict[str, Any]] = (),
    expect: bool = False,
    access_log: bool = False,
    skipped: Sequence[str] = (),
) -> dict[str, Any]:
    """The scenario's YAML form (``scenario_from_dict`` validates and builds it)."""
    notes = [f"{e.where}: {note}" for e in exchanges for note in e.notes]
    lines = [f"Imported from {source} by pytest-proxy-wasm import-traffic: {len(exchanges)} exchange(s)."]
    lines.append(
        "Expectations: the recorded responses."
        if expect
        else "No expectations (--expect-recorded adds them)."
    )
    lines += [f"Note: {n}" for n in notes] + [f"Skipped: {s}" for s in skipped]
    data: dict[str, Any] = {"name": f"traffic from {source}", "description": "\n".join(lines)}
    if plugins:
        data["plugins"] = list(plugins)
    data["steps"] = [step(e, expect=expect, knows_upstream=access_log) for e in exchanges]
    return data
