"""Envoy access logs written with ``json_format`` (one JSON object per line; a JSON array is read too).

The keys read (each with the command operator that fills it; docs/scenarios.md lists a json_format that
writes them all, and Istio's JSON access log uses the same names):

=========================  ==============================================  ==========================
key (aliases)              command operator                                 becomes
=========================  ==============================================  ==========================
method                     ``%REQ(:METHOD)%``                               the request's method
path                       ``%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%``           its path (and query)
authority (host)           ``%REQ(:AUTHORITY)%``                            its authority
scheme                     ``%REQ(:SCHEME)%``                               its scheme
user_agent                 ``%REQ(USER-AGENT)%``                            a ``user-agent`` header
x_forwarded_for            ``%REQ(X-FORWARDED-FOR)%``                       an ``x-forwarded-for`` header
request_id                 ``%REQ(X-REQUEST-ID)%``                          an ``x-request-id`` header
request_headers            a map of ``name: %REQ(NAME)%``                   request headers
response_code (status)     ``%RESPONSE_CODE%``                              the status
response_code_details      ``%RESPONSE_CODE_DETAILS%``                      ``via_upstream``: upstream
upstream_host              ``%UPSTREAM_HOST%``                              set: the upstream answered
response_headers           a map of ``name: %RESP(NAME)%``                  the answer's headers
bytes_received/bytes_sent  ``%BYTES_RECEIVED%`` / ``%BYTES_SENT%``          noted (bodies are not logged)
=========================  ==============================================  ==========================

Other keys are ignored; ``null`` and ``"-"`` mean absent. Lines that are not JSON objects (Envoy's own
log lines mixed in) are skipped with a note. The upstream answered when ``response_code_details`` is
``via_upstream`` or, without details, when ``upstream_host`` is set; otherwise the answer was a local
reply (a plugin's or Envoy's) and the route keeps its default answer (200, empty body).
"""

from __future__ import annotations

import json
from typing import Any

from .records import RecordedExchange, RecordedResponse, TrafficError, replayable

ALIASES = {
    "method": ("method", "request_method"),
    "path": ("path", "request_path", "original_path"),
    "authority": ("authority", "host", "request_authority"),
    "scheme": ("scheme", "request_scheme"),
    "status": ("response_code", "status", "status_code"),
    "details": ("response_code_details",),
    "upstream_host": ("upstream_host",),
    "bytes_received": ("bytes_received",),
    "bytes_sent": ("bytes_sent",),
}
HEADER_KEYS = {"user_agent": "user-agent", "x_forwarded_for": "x-forwarded-for", "request_id": "x-request-id"}


def _present(value: Any) -> bool:
    return value is not None and value not in ("-", "")


def _get(data: dict[str, Any], field: str) -> Any:
    return next((data[k] for k in ALIASES[field] if _present(data.get(k))), None)


def _map(data: dict[str, Any], key: str, where: str) -> list[tuple[str, str]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, dict):
        raise TrafficError(f"{where}.{key}: expected a map of header name to value")
    return [(str(k).lower(), str(v)) for k, v in value.items() if _present(v)]


def _status(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise TrafficError(f"{where}.response_code: expected a number, got {value!r}") from None
    return status if 100 <= status <= 599 else None


def entry(data: dict[str, Any], where: str) -> RecordedExchange | str:
    method, path = _get(data, "method"), _get(data, "path")
    if not isinstance(method, str) or not isinstance(path, str):
        return f"{where}: skipped (no method or path; keys read: method, path)"
    if method.upper() == "CONNECT" or not path.startswith("/"):
        return f"{where}: {method} {path} skipped (not an origin-form HTTP request)"
    status = _status(_get(data, "status"), where)
    if status is None:
        return f"{where}: {method} {path} skipped (no response code: the client went away first)"
    headers = [(name, str(data[key])) for key, name in HEADER_KEYS.items() if _present(data.get(key))]
    headers = replayable(headers + _map(data, "request_headers", where))
    answer_headers = replayable(_map(data, "response_headers", where), answer=True)
    response = RecordedResponse(status, answer_headers, b"", False)
    details, host = _get(data, "details"), _get(data, "upstream_host")
    reached = details == "via_upstream" if details is not None else host is not None
    notes = []
    received = _get(data, "bytes_received")
    if received not in (None, 0, "0"):
        notes.append(f"request body of {received} bytes not in the access log (replayed empty)")
    if not reached:
        notes.append(f"local reply ({details or 'no upstream host'}): the upstream never answered")
    return RecordedExchange(
        method=method.upper(),
        path=path,
        where=where,
        authority=str(_get(data, "authority") or "example.com"),
        scheme=str(_get(data, "scheme") or "http"),
        headers=headers,
        body_known=received in (None, 0, "0"),
        upstream=response if reached else None,
        response=response,
        notes=tuple(notes),
        format="access-log",
    )


def read_access_log(text: str, name: str, skipped: list[str]) -> list[RecordedExchange]:
    items: list[tuple[str, Any]]
    if text.lstrip().startswith("["):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrafficError(f"{name}: not JSON: {exc}") from None
        if not isinstance(document, list):
            raise TrafficError(f"{name}: expected a JSON array of access-log entries")
        items = [(f"{name}: [{i}]", item) for i, item in enumerate(document)]
    else:
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"{name}:{number}", json.loads(line)))
            except json.JSONDecodeError:
                skipped.append(f"{name}:{number}: skipped (not a JSON object)")
    found = []
    for where, item in items:
        if not isinstance(item, dict):
            skipped.append(f"{where}: skipped (not a JSON object)")
            continue
        result = entry(item, where)
        if isinstance(result, str):
            skipped.append(result)
        else:
            found.append(result)
    return found
