"""host/request_head.py: the authority from Host in every header form a test may pass."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm.host.request_head import RequestHeadError, split_host


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "a.test", "x": "1"},
        [("HOST", " a.test\t"), ("x", "1")],
        [(b"host", b"a.test"), ("x", "1")],
        (pair for pair in [("host", "a.test"), ("x", "1")]),  # any iterable of pairs, read once
    ],
)
def test_host_in_any_form_is_the_authority(headers: object) -> None:
    authority, rest = split_host(None, headers)  # type: ignore[arg-type]
    assert authority == "a.test"
    assert list(rest) == [("x", "1")]  # type: ignore[arg-type]


def test_without_host_the_headers_are_untouched_and_the_default_applies() -> None:
    headers = [("x", "1")]
    assert split_host(None, headers) == ("example.com", headers)
    assert split_host("given.test", None) == ("given.test", None)
    assert split_host(None, {"hostname": "x"})[0] == "example.com"  # only the Host header itself


def test_equal_values_are_one_authority_and_a_conflict_is_a_value_error() -> None:
    assert split_host("a.test", {"host": "a.test"}) == ("a.test", [])
    with pytest.raises(ValueError, match="disagree"):
        split_host("b.test", {"host": "a.test"})
    with pytest.raises(RequestHeadError, match="2 Host headers"):
        split_host(None, [("host", "a"), ("host", "a")])
