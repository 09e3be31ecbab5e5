"""The accepted forms of ``headers=`` (issue 27, item 7), the same on every backend: a dict, or pairs
(repeated names kept in order); names and values str (Latin-1) or bytes; anything else is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.backends import Backend

HEADERS = Path(__file__).resolve().parents[2] / "fixtures" / "rust" / "headers.wasm"


@pytest.mark.parametrize(
    "headers",
    [
        {"x-a": "1", "x-b": b"2"},
        [("x-a", "1"), ("X-B", b"2")],  # names are lower-cased, as Envoy's codec does
        [(b"x-a", b"1"), ("x-b", " 2 ")],  # the value's surrounding whitespace goes, as on the wire
        (("x-a", "1"), ("x-b", "2")),
    ],
)
def test_dict_or_pairs_of_str_or_bytes(proxy_wasm_backend: Backend, headers: Any) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS)
    outcome = proxy_wasm_backend.request(plugin, headers=headers)
    assert outcome.upstream_request is not None
    assert (outcome.upstream_request.header("x-a"), outcome.upstream_request.header("x-b")) == ("1", "2")


def test_repeated_names_are_kept_in_order(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS)
    outcome = proxy_wasm_backend.request(plugin, headers=[("x-a", "1"), ("x-a", "2")])
    assert outcome.upstream_request is not None
    assert [v for k, v in outcome.upstream_request.headers if k == "x-a"] == ["1", "2"]


def test_other_value_types_are_refused_by_name(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(HEADERS)
    with pytest.raises(TypeError, match=r"header 'content-length': 5 is int; .* e\.g\. '5'"):
        proxy_wasm_backend.request(plugin, headers={"content-length": 5})
