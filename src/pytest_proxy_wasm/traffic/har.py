"""HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), as browsers and proxies export it.

Read per entry: ``request.method``, ``request.url`` (scheme, authority, path and query),
``request.headers`` (pseudo-headers, ``host`` and hop-by-hop headers left out), ``request.postData``
(``text``, or ``params`` re-encoded as a form; ``encoding: base64`` honoured), ``response.status``,
``response.headers`` and ``response.content`` (``text``, base64 when ``encoding`` says so). The recorded
response is both the upstream's answer on replay and what the client got. Entries without a response
(status 0: blocked or failed), CONNECT and protocol upgrades are skipped, each with a note.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote_plus, urlsplit

from .records import RecordedExchange, RecordedResponse, TrafficError, replayable


def _pairs(value: Any, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TrafficError(f"{where}: expected a list of {{name, value}}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise TrafficError(f"{where}[{i}]: expected {{name, value}}, got {item!r}")
        out.append((item["name"], str(item.get("value", ""))))
    return out


def _text(text: Any, encoding: Any, where: str) -> bytes:
    if not isinstance(text, str):
        return b""
    if encoding == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise TrafficError(f"{where}: encoding is base64 but the text is not") from None
    return text.encode("utf-8")


def _request_body(post: Any, where: str) -> tuple[bytes, bool]:
    if not isinstance(post, dict):
        return b"", True
    if isinstance(post.get("text"), str):
        return _text(post["text"], post.get("encoding"), f"{where}.postData.text"), True
    params = _pairs(post.get("params"), f"{where}.postData.params")
    if params:
        return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in params).encode(), True
    return b"", False


def _response(data: Any, where: str) -> RecordedResponse | None:
    if not isinstance(data, dict):
        raise TrafficError(f"{where}.response: missing")
    status = data.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise TrafficError(f"{where}.response.status: expected a number, got {status!r}")
    if status == 0:
        return None
    found = data.get("content")
    content: dict[str, Any] = found if isinstance(found, dict) else {}
    known = isinstance(content.get("text"), str) or not content.get("size")
    body = _text(content.get("text"), content.get("encoding"), f"{where}.response.content.text")
    headers = replayable(_pairs(data.get("headers"), f"{where}.response.headers"), answer=True)
    return RecordedResponse(status, headers, body, known)


def entry(data: Any, where: str) -> RecordedExchange | str:
    """One entry as an exchange, or why it is skipped."""
    if not isinstance(data, dict) or not isinstance(data.get("request"), dict):
        raise TrafficError(f"{where}: expected an entry with request and response")
    request = data["request"]
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise TrafficError(f"{where}.request: needs method and url")
    if method.upper() == "CONNECT":
        return f"{where}: CONNECT {url} skipped (a tunnel, not an HTTP exchange)"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{where}: {url} skipped (not an http(s) URL)"
    response = _response(data.get("response"), where)
    if response is None:
        return f"{where}: {method} {url} skipped (no response recorded: status 0)"
    if response.status == 101:
        return f"{where}: {method} {url} skipped (a protocol upgrade)"
    headers = _pairs(request.get("headers"), f"{where}.request.headers")
    body, body_known = _request_body(request.get("postData"), where)
    notes = () if body_known else ("request body not recorded",)
    return RecordedExchange(
        method=method.upper(),
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        where=where,
        authority=parts.netloc.rpartition("@")[2],
        scheme=parts.scheme,
        headers=replayable(headers),
        body=body,
        body_known=body_known,
        upstream=response,
        response=response,
        notes=notes + (() if response.body_known else ("response body not recorded",)),
    )


def read_har(document: dict[str, Any], name: str, skipped: list[str]) -> list[RecordedExchange]:
    log = document.get("log")
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise TrafficError(f"{name}: a HAR file needs log.entries (a list)")
    found = []
    for index, item in enumerate(entries):
        result = entry(item, f"{name}: entries[{index}]")
        if isinstance(result, str):
            skipped.append(result)
        else:
            found.append(result)
    return found
