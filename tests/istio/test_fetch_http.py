"""http(s):// and file:// fetching against a real local HTTP server (pytest-httpserver on 127.0.0.1)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_proxy_wasm.istio import Fetcher, FetchError, PullPolicy, parse_wasmplugin
from pytest_proxy_wasm.istio.fetch import effective_policy, unbox

from .conftest import HEADERS_WASM

WASM = HEADERS_WASM.read_bytes()
SHA = hashlib.sha256(WASM).hexdigest()


def plugin(url: str, rv: str = "1", **spec: Any) -> Any:
    return parse_wasmplugin(
        {
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": rv},
            "spec": {"url": url, **spec},
        }
    )


def tar(data: bytes, name: str = "plugin.wasm") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def fetcher(tmp_path: Path) -> Fetcher:
    return Fetcher(cache_dir=tmp_path / "cache", backoff=0.01)


BOXES: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda b: b,
    "gzip": gzip.compress,
    "tar": tar,
    "tar.gz": lambda b: gzip.compress(tar(b)),
    "gzip-of-tar-of-gzip": lambda b: gzip.compress(tar(gzip.compress(b), "x.gz")),
}


@pytest.mark.parametrize("box", list(BOXES))
def test_http_body_is_unboxed_and_checksummed(httpserver: HTTPServer, fetcher: Fetcher, box: str) -> None:
    httpserver.expect_request("/p.wasm").respond_with_data(BOXES[box](WASM))
    fetched = fetcher.fetch(plugin(httpserver.url_for("/p.wasm"), sha256=SHA))
    assert fetched.module.read_bytes() == WASM
    assert fetched.checksum == SHA


def test_checksum_mismatch_is_a_fetch_failure(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/p.wasm").respond_with_data(WASM)
    wrong = "0" * 64
    with pytest.raises(FetchError) as info:
        fetcher.fetch(plugin(httpserver.url_for("/p.wasm"), sha256=wrong))
    assert info.value.result == "checksum_mismatched"
    assert f"has checksum {SHA}, which does not match: {wrong}" in str(info.value)
    assert not list(fetcher.cache_dir.glob("*.wasm"))  # type: ignore[union-attr]


def test_checksum_is_of_the_unboxed_body_not_the_download(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    body = gzip.compress(WASM)
    httpserver.expect_request("/p.wasm").respond_with_data(body)
    with pytest.raises(FetchError, match="does not match"):
        fetcher.fetch(plugin(httpserver.url_for("/p.wasm"), sha256=hashlib.sha256(body).hexdigest()))


def counting(statuses: list[int]) -> tuple[Callable[[Request], Response], list[int]]:
    seen: list[int] = []

    def handler(request: Request) -> Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        return Response(WASM if status == 200 else b"oops", status=status)

    return handler, seen


@pytest.mark.parametrize(
    ("statuses", "attempts", "ok"),
    [
        ([503, 502, 200], 3, True),
        ([500], 5, False),
        ([501], 1, False),
        ([505], 1, False),
        ([511], 1, False),
        ([404], 1, False),
        ([403], 1, False),
    ],
)
def test_retries_on_5xx_except_501_505_511(
    httpserver: HTTPServer, fetcher: Fetcher, statuses: list[int], attempts: int, ok: bool
) -> None:
    handler, seen = counting(statuses)
    httpserver.expect_request("/p.wasm").respond_with_handler(handler)
    p = plugin(httpserver.url_for("/p.wasm"))
    if ok:
        assert fetcher.fetch(p).module.read_bytes() == WASM
    else:
        with pytest.raises(FetchError, match=f"HTTP {statuses[-1]}"):
            fetcher.fetch(p)
    assert len(seen) == attempts


def test_oversize_body_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/p.wasm").respond_with_data(WASM)
    small = Fetcher(cache_dir=tmp_path / "c", max_size=1024)
    with pytest.raises(FetchError, match="exceeds the 1024-byte limit"):
        small.fetch(plugin(httpserver.url_for("/p.wasm")))


def test_oversize_after_gunzip_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/p.wasm").respond_with_data(gzip.compress(b"\0" * 100_000))
    small = Fetcher(cache_dir=tmp_path / "c", max_size=50_000)
    with pytest.raises(FetchError, match="decompressed module exceeds"):
        small.fetch(plugin(httpserver.url_for("/p.wasm")))


@pytest.mark.parametrize(
    "body",
    [b"<html>not wasm</html>", b"\0asm\1\0", gzip.compress(b"hello", mtime=0)],
    ids=["html", "short", "gzip"],
)
def test_non_wasm_bodies_are_refused(httpserver: HTTPServer, fetcher: Fetcher, body: bytes) -> None:
    httpserver.expect_request("/p.wasm").respond_with_data(body)
    with pytest.raises(FetchError, match="not a Wasm binary"):
        fetcher.fetch(plugin(httpserver.url_for("/p.wasm")))


def test_server_down(fetcher: Fetcher) -> None:
    from .conftest import free_port

    with pytest.raises(FetchError, match="download failed"):
        fetcher.fetch(plugin(f"http://127.0.0.1:{free_port()}/p.wasm"))


def test_host_mapping_stands_in_for_https_hosts(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/filters/openid.wasm").respond_with_data(WASM)
    f = Fetcher(cache_dir=tmp_path / "c", hosts={"private-bucket": f"http://127.0.0.1:{httpserver.port}"})
    assert f.fetch(plugin("https://private-bucket/filters/openid.wasm")).module.read_bytes() == WASM


def _changing(httpserver: HTTPServer) -> list[int]:
    hits: list[int] = []

    def handler(request: Request) -> Response:
        hits.append(1)
        return Response(WASM + bytes(len(hits)))  # a different module each time

    httpserver.expect_request("/p.wasm").respond_with_handler(handler)
    return hits


def test_if_not_present_reuses_the_cache(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    hits = _changing(httpserver)
    url = httpserver.url_for("/p.wasm")
    first = fetcher.fetch(plugin(url, imagePullPolicy="IfNotPresent"))
    second = fetcher.fetch(plugin(url, rv="2", imagePullPolicy="IfNotPresent"))
    assert len(hits) == 1 and second.cached and second.module == first.module
    third = fetcher.fetch(plugin(url, rv="3"))  # UNSPECIFIED is IfNotPresent for http
    assert len(hits) == 1 and third.cached


def test_always_repulls_only_when_the_resource_version_changes(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    hits = _changing(httpserver)
    url = httpserver.url_for("/p.wasm")
    fetcher.fetch(plugin(url, rv="1", imagePullPolicy="Always"))
    assert fetcher.fetch(plugin(url, rv="1", imagePullPolicy="Always")).cached
    assert len(hits) == 1
    again = fetcher.fetch(plugin(url, rv="2", imagePullPolicy="Always"))
    assert len(hits) == 2 and not again.cached
    assert again.module.read_bytes().endswith(b"\x00\x00")  # the second body


def test_a_cached_entry_with_another_checksum_is_not_reused(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    hits = _changing(httpserver)
    url = httpserver.url_for("/p.wasm")
    fetcher.fetch(plugin(url, imagePullPolicy="IfNotPresent"))
    want = hashlib.sha256(WASM + b"\x00\x00").hexdigest()
    assert fetcher.fetch(plugin(url, sha256=want, imagePullPolicy="IfNotPresent")).checksum == want
    assert len(hits) == 2


def test_the_cache_survives_a_new_fetcher(httpserver: HTTPServer, tmp_path: Path) -> None:
    hits = _changing(httpserver)
    url = httpserver.url_for("/p.wasm")
    Fetcher(cache_dir=tmp_path / "c").fetch(plugin(url))
    assert Fetcher(cache_dir=tmp_path / "c").fetch(plugin(url)).cached and len(hits) == 1


@pytest.mark.parametrize(
    ("url", "policy", "effective"),
    [
        ("oci://r/x:latest", None, PullPolicy.Always),
        ("oci://r/x:latest", "IfNotPresent", PullPolicy.IfNotPresent),
        ("oci://r/x", None, PullPolicy.IfNotPresent),  # untagged is not :latest
        ("oci://r/x:v1", None, PullPolicy.IfNotPresent),
        ("http://h/latest.wasm", None, PullPolicy.IfNotPresent),
        ("http://h/x.wasm", "Always", PullPolicy.Always),
    ],
)
def test_effective_pull_policy(url: str, policy: str | None, effective: PullPolicy) -> None:
    spec = {"imagePullPolicy": policy} if policy else {}
    assert effective_policy(plugin(url, **spec)) is effective


def test_file_urls_ignore_sha256(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "m.wasm"
    path.write_bytes(WASM)
    fetched = fetcher.fetch(plugin(f"file://{path}", sha256="0" * 64))
    assert fetched.module == path


def test_unbox_leaves_wasm_alone() -> None:
    assert unbox(WASM) == WASM
