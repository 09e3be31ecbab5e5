"""HAR 1.2 and Envoy JSON access logs read into exchange records: what is read, what is left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.traffic import RecordedExchange, TrafficError, load_traffic

DATA = Path(__file__).resolve().parents[1] / "data" / "traffic"


def load(path: Path) -> tuple[list[RecordedExchange], list[str]]:
    skipped: list[str] = []
    return load_traffic(path, skipped=skipped), skipped


def test_har_from_chrome() -> None:
    found, skipped = load(DATA / "shop.har")
    assert [e.title for e in found] == [
        "GET /",
        "GET /",
        "GET /api/orders?page=2",
        "POST /api/orders",
        "GET /static/logo.png",
    ]
    assert skipped == [
        "shop.har: entries[5]: GET https://cdn.example.net/analytics.js skipped"
        " (no response recorded: status 0)"
    ]
    first, _, orders, post, logo = found
    assert (first.authority, first.scheme) == ("shop.example.com", "https")
    names = [k for k, _ in orders.headers]
    assert ":authority" not in names and ":path" not in names and "host" not in names
    assert ("authorization", "Basic YWRtaW46czNjcmV0") in orders.headers
    assert post.body == b'{"sku":"A-17","qty":2}' and "content-length" not in dict(post.headers)
    assert (
        first.upstream is not None and first.upstream.status == 401 and first.upstream.body == b"Unauthorized"
    )
    assert orders.upstream is not None
    # decoded body: the recorded content-encoding no longer holds; the recording proxy's headers go too
    assert dict(orders.upstream.headers) == {
        "cache-control": "no-store",
        "content-type": "application/json",
        "vary": "Accept-Encoding",
    }
    assert logo.upstream is not None and logo.upstream.body.startswith(b"\x89PNG\r\n\x1a\n")


def test_har_request_kwargs_route_to_the_recorded_answer() -> None:
    found, _ = load(DATA / "shop.har")
    kwargs = found[3].request_kwargs()
    assert kwargs["method"] == "POST" and kwargs["path"] == "/api/orders"
    assert kwargs["upstream_status"] == 201 and kwargs["upstream_body"] == b'{"created": true}'
    assert ("location", "/api/orders/1043") in kwargs["upstream_headers"]


def test_envoy_json_access_log() -> None:
    found, skipped = load(DATA / "envoy_access.log")
    assert skipped == []
    assert [e.title for e in found] == [
        "GET /",
        "GET /",
        "GET /api/orders?page=2",
        "POST /api/orders",
        "GET /api/orders",
        "GET /missing.png",
    ]
    denied, home, orders, post, wrong, missing = found
    assert denied.upstream is None and "local reply" in denied.notes[0]
    assert denied.response is not None and denied.response.status == 401
    assert dict(denied.response.headers)["www-authenticate"] == 'Basic realm="shop"'
    assert home.upstream is not None and home.upstream.status == 200
    assert dict(home.upstream.headers) == {"content-type": "text/html; charset=utf-8"}
    assert ("x-forwarded-for", "203.0.113.7") in home.headers
    assert home.authority == "shop.example.com:18080" and home.scheme == "http"
    assert ("authorization", "Basic YWRtaW46czNjcmV0") in orders.headers
    assert post.body == b"" and not post.body_known and "22 bytes" in post.notes[0]
    assert wrong.upstream is None
    assert missing.upstream is not None and missing.upstream.status == 404


def test_access_log_as_a_json_array_with_envoy_lines_mixed_in(tmp_path: Path) -> None:
    lines = (DATA / "envoy_access.log").read_text().splitlines()
    array = tmp_path / "log.json"
    array.write_text(json.dumps([json.loads(line) for line in lines]))
    assert [e.title for e in load(array)[0]] == [e.title for e in load(DATA / "envoy_access.log")[0]]
    mixed = tmp_path / "mixed.log"
    mixed.write_text(
        lines[1] + "\n[2026-12-06 11:31:52.035][3784][warning][main] something\n" + lines[2] + "\n"
    )
    found, skipped = load(mixed)
    assert len(found) == 2 and skipped == ["mixed.log:2: skipped (not a JSON object)"]


def test_access_log_aliases_and_absent_values(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    entry = {"request_method": "put", "request_path": "/x", "status": "204", "upstream_host": "10.0.0.1:80",
             "response_code_details": None, "user_agent": "-", "authority": None}  # fmt: skip
    log.write_text(json.dumps(entry) + "\n" + json.dumps({"method": "GET", "path": "/y", "response_code": 0}))
    found, skipped = load(log)
    [put] = found
    assert (put.method, put.path, put.authority, put.headers) == ("PUT", "/x", "example.com", [])
    assert put.upstream is not None and put.upstream.status == 204
    assert skipped == ["a.log:2: GET /y skipped (no response code: the client went away first)"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("hello", "neither a HAR file nor a JSON access log"),
        ('{"log": {"entries": 3}}', "log.entries (a list)"),
        (
            '{"log": {"entries": [{"request": {"method": "GET"}}]}}',
            "entries[0].request: needs method and url",
        ),
        (
            '{"log": {"entries": [{"request": {"method": "GET", "url": "http://a/"}, "response": {}}]}}',
            "entries[0].response.status: expected a number",
        ),
        ('{"method": "GET", "path": "/", "response_code": "x"}', "response_code: expected a number"),
        (
            '{"method": "GET", "path": "/", "response_code": 200, "request_headers": [1]}',
            "request_headers: expected a map",
        ),
        ("[1, 2", "not JSON"),
        ('{"log": {"entries": []}}', "no exchange to replay (no entries)"),
    ],
)
def test_bad_files_name_the_file_and_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "traffic.json"
    path.write_text(content)
    with pytest.raises(TrafficError) as raised:
        load_traffic(path)
    assert message in str(raised.value) and "traffic.json" in str(raised.value)


def test_base64_post_data_and_form_params(tmp_path: Path) -> None:
    har = {"log": {"entries": [
        {"request": {"method": "POST", "url": "http://h/f", "headers": [],
                     "postData": {"mimeType": "x", "params": [{"name": "a b", "value": "c&d"}]}},
         "response": {"status": 200, "headers": [],
                      "content": {"size": 2, "text": "AAE=", "encoding": "base64"}}},
        {"request": {"method": "CONNECT", "url": "h:443", "headers": []}, "response": {"status": 200}},
    ]}}  # fmt: skip
    path = tmp_path / "f.har"
    path.write_text(json.dumps(har))
    found, skipped = load(path)
    assert found[0].body == b"a+b=c%26d"
    assert found[0].upstream is not None and found[0].upstream.body == b"\x00\x01"
    assert skipped == ["f.har: entries[1]: CONNECT h:443 skipped (a tunnel, not an HTTP exchange)"]
