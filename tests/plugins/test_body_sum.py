"""body_sum (plugins_under_test/go/body_sum/README.md): sums the on_request_body sizes, compares
them with content-length and answers 400 on a mismatch.

The plugin adds up the size every body callback reports, but the host reports the body buffered so
far, so the sum is right only when the whole body comes in one end-of-stream frame. Over HTTP/1.1,
Envoy 1.40 sends the body (one or more frames) and then an empty end-of-stream frame: even a
one-segment body is counted twice there, so every request with a body is refused.
"""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import Action, Host
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

MODULE = sample("go", "body_sum")


def chunks(backend: Backend | Host) -> list[str]:
    return [m for m in backend.log_messages("debug") if m.startswith("body-sum: chunk")]


def test_body_in_one_end_of_stream_frame_is_accepted(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(MODULE)
    stream = plugin.http_stream()
    headers = {":method": "POST", ":path": "/", "content-length": "5"}
    assert stream.on_request_headers(headers, end_of_stream=False) is Action.CONTINUE
    assert stream.on_request_body(b"hello", end_of_stream=True) is Action.CONTINUE
    assert proxy_wasm_host.log_messages("info") == ["body-sum: ok 5 bytes"]


def test_body_in_two_frames_is_counted_twice(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(MODULE)
    stream = plugin.http_stream()
    headers = {":method": "POST", ":path": "/", "content-length": "5"}
    assert stream.on_request_headers(headers, end_of_stream=False) is Action.CONTINUE
    assert stream.on_request_body(b"hel", end_of_stream=False) is Action.PAUSE
    assert stream.on_request_body(b"lo", end_of_stream=True) is Action.PAUSE
    assert chunks(proxy_wasm_host) == [
        "body-sum: chunk size=3 total=3 end_of_stream=false",
        "body-sum: chunk size=5 total=8 end_of_stream=true",  # 5 = everything buffered, not 2
    ]
    assert stream.local_response is not None
    assert stream.local_response.status == 400


@pytest.mark.parametrize("body", [[b"hello"], [b"hel", b"lo"]], ids=["one-segment", "two-segments"])
def test_http1_body_is_refused_on_every_backend(
    proxy_wasm_backend: Backend, body: list[bytes], request: pytest.FixtureRequest
) -> None:
    """With content-length the Envoy backend writes the body as one segment either way; Envoy reads
    it as one frame, then adds the empty end-of-stream frame: sizes 5 and 5, total 10."""
    if len(body) > 1 and proxy_wasm_backend.name in ("emulator", "diff"):
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="emulator delivers each listed chunk as its own frame even with content-length "
                "(sizes 3, 5, 5 -> total 13); the Envoy backend sends a content-length body in one "
                "segment, read as one frame (sizes 5, 5 -> total 10)",
            )
        )
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(
        plugin, method="POST", headers={"content-length": "5"}, body=body, upstream_body="up"
    )
    assert outcome.status == 400
    assert outcome.response_body == b"body size mismatch"
    assert outcome.header("content-type") == "text/plain"
    # the router had forwarded the headers; the 400 from on_request_body reset that upstream request
    assert outcome.upstream_request is not None
    assert (outcome.upstream_request.reset, outcome.upstream_request.body) == (True, b"")
    assert chunks(proxy_wasm_backend) == [
        "body-sum: chunk size=5 total=5 end_of_stream=false",
        "body-sum: chunk size=5 total=10 end_of_stream=true",
    ]
    assert "body-sum: mismatch total=10 content-length=5" in proxy_wasm_backend.log_messages("info")


def test_chunked_body_without_content_length_passes(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(plugin, method="POST", body=[b"ab", b"cd"], upstream_body="up")
    assert outcome.status == 200 and outcome.response_body == b"up"
    assert outcome.upstream_request is not None and outcome.upstream_request.body == b"abcd"
    assert chunks(proxy_wasm_backend) == [
        "body-sum: chunk size=2 total=2 end_of_stream=false",
        "body-sum: chunk size=4 total=6 end_of_stream=false",
        "body-sum: chunk size=4 total=10 end_of_stream=true",
    ]
    assert "body-sum: no content-length, 10 bytes" in proxy_wasm_backend.log_messages("info")


def test_request_without_body_is_not_checked(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    proxy_wasm_backend.clear_logs()
    outcome = proxy_wasm_backend.request(plugin, upstream_body="up")
    assert outcome.status == 200 and outcome.response_body == b"up"
    assert chunks(proxy_wasm_backend) == []
