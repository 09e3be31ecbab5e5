"""Byte header values go out as those bytes on every backend (issue 16 item 3).

``str`` values are sent as Latin-1 (what an HTTP/1.1 header carries); ``bytes`` exactly as given. Text
that has no Latin-1 form is refused with a message that says to pass bytes.
"""

from __future__ import annotations

import pytest

from pytest_proxy_wasm.backends import Backend

from .test_callout_records import BASE, CLUSTER, backend, callout_module

__all__ = ["backend"]

CAFE = b"caf\xe9"  # not UTF-8: the value the seed template crashed on


def test_request_and_upstream_header_bytes(backend: Backend) -> None:
    plugin = backend.load_plugin(callout_module(BASE))
    backend.expect_http_call(CLUSTER).respond_with(200, headers=[("x-v", CAFE)])
    outcome = backend.request(
        plugin, headers=[("x-req", CAFE)], trailers=None, upstream_headers={"x-up": CAFE}
    )
    assert outcome.status == 200
    assert outcome.upstream_request is not None
    # records and Outcomes are text decoded as Latin-1: one character per byte
    assert outcome.upstream_request.header("x-req") == CAFE.decode("latin-1")
    assert outcome.upstream_request.header("x-from-callout") == CAFE.decode("latin-1")
    assert outcome.header("x-up") == CAFE.decode("latin-1")
    assert outcome.header("x-up") != str(CAFE)  # never the repr b'caf\xe9'


def test_latin1_text_is_the_same_bytes(backend: Backend) -> None:
    plugin = backend.load_plugin(callout_module(BASE))
    backend.expect_http_call(CLUSTER).respond_with(200, headers={"x-v": "café"})
    outcome = backend.request(plugin, headers={"x-req": "café"})
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-req") == "café"
    assert outcome.upstream_request.header("x-from-callout") == "café"


def test_text_without_a_latin1_form_is_refused(backend: Backend) -> None:
    plugin = backend.load_plugin(callout_module(BASE))
    backend.expect_http_call(CLUSTER).respond_with(200)
    with pytest.raises(ValueError, match=r"header 'x-price': '5 €' is not Latin-1 text.*pass bytes"):
        backend.request(plugin, headers={"x-price": "5 €"})
