"""oci:// against a real registry (Debian's docker-registry on 127.0.0.1): push each format, pull it
back, run it; with and without htpasswd auth; and the ways a pull fails."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_proxy_wasm.backends import make_backend
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.istio import Fetcher, FetchError, oci, parse_wasmplugin

from .conftest import HEADERS_WASM, PASSWORD, USER, RegistryServer, free_port

WASM = HEADERS_WASM.read_bytes()


def plugin(url: str, **spec: Any) -> Any:
    return parse_wasmplugin(
        {
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "1"},
            "spec": {"url": url, **spec},
        }
    )


def run_module(module: Path | bytes) -> Any:
    backend = make_backend("emulator")
    try:
        return backend.request(backend.load_plugin(module))
    finally:
        backend.close()


@pytest.mark.parametrize("fmt", oci.FORMATS)
def test_push_pull_run_each_format(registry: RegistryServer, fmt: oci.Format, tmp_path: Path) -> None:
    url = registry.url(f"formats/{fmt}:v1")
    digest = oci.push(WASM, url, fmt)
    pulled = oci.pull(url)
    assert pulled.module == WASM and pulled.digest == digest and pulled.format == fmt
    fetched = Fetcher(cache_dir=tmp_path / "c").fetch(plugin(url, sha256=digest.removeprefix("sha256:")))
    outcome = run_module(fetched.module)
    assert outcome.status == 200 and outcome.header("x-wasm-response") == "world"


@pytest.mark.parametrize("fmt", oci.FORMATS)
def test_push_pull_with_htpasswd_auth(auth_registry: RegistryServer, fmt: oci.Format, tmp_path: Path) -> None:
    url = auth_registry.url(f"private/{fmt}:v1")
    digest = oci.push(WASM, url, fmt, (USER, PASSWORD))
    assert oci.pull(url, (USER, PASSWORD)).digest == digest
    secret = oci.dockerconfigjson(auth_registry.host, USER, PASSWORD)
    f = Fetcher(cache_dir=tmp_path / "c", secrets={"ns/regcred": secret})
    fetched = f.fetch(plugin(url, imagePullSecret="regcred", sha256=digest.removeprefix("sha256:")))
    assert fetched.module.read_bytes() == WASM
    assert run_module(fetched.module).header("x-wasm-response") == "world"


def test_anonymous_pull_from_auth_registry_fails(auth_registry: RegistryServer) -> None:
    url = auth_registry.url("private/anon:v1")
    oci.push(WASM, url, "artifact", (USER, PASSWORD))
    with pytest.raises(FetchError, match=r"refused GET .* anonymously: HTTP 401"):
        oci.pull(url)


def test_wrong_credentials(auth_registry: RegistryServer, tmp_path: Path) -> None:
    url = auth_registry.url("private/wrong:v1")
    oci.push(WASM, url, "artifact", (USER, PASSWORD))
    secret = oci.dockerconfigjson(auth_registry.host, USER, "not-the-password")
    f = Fetcher(cache_dir=tmp_path / "c", secrets={"ns/regcred": secret})
    with pytest.raises(FetchError, match=f"as '{USER}': HTTP 401") as info:
        f.fetch(plugin(url, imagePullSecret="regcred"))
    assert info.value.result == "manifest_failure"


def test_missing_pull_secret(auth_registry: RegistryServer, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="missing image pulling secret"):
        Fetcher(cache_dir=tmp_path / "c").fetch(
            plugin(auth_registry.url("private/x:v1"), imagePullSecret="nope")
        )


def test_secret_with_auth_field_only(auth_registry: RegistryServer) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    secret = json.dumps({"auths": {f"https://{auth_registry.host}": {"auth": token}}}).encode()
    assert oci.credentials_for(secret, auth_registry.host) == (USER, PASSWORD)


def test_missing_tag(registry: RegistryServer, tmp_path: Path) -> None:
    oci.push(WASM, registry.url("missing/repo:v1"), "artifact")
    with pytest.raises(FetchError, match="manifest unknown") as info:
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(registry.url("missing/repo:v2")))
    assert info.value.result == "manifest_failure"


def test_digest_mismatch_never_returns_the_module(registry: RegistryServer, tmp_path: Path) -> None:
    url = registry.url("mismatch/repo:v1")
    digest = oci.push(WASM, url, "oci")
    module_sha = hashlib.sha256(WASM).hexdigest()  # the module's hash is NOT what oci compares
    with pytest.raises(FetchError, match="which does not match") as info:
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(url, sha256=module_sha))
    assert info.value.result == "checksum_mismatched"
    assert module_sha != digest.removeprefix("sha256:")


def test_at_sha256_reference(registry: RegistryServer, tmp_path: Path) -> None:
    digest = oci.push(WASM, registry.url("pinned/repo:v1"), "docker")
    pinned = registry.url(f"pinned/repo@{digest}")
    f = Fetcher(cache_dir=tmp_path / "c")
    assert f.fetch(plugin(pinned)).checksum == digest.removeprefix("sha256:")
    # the tag moves; the digest reference still gets the old image
    oci.push(WASM + b"\0custom", registry.url("pinned/repo:v1"), "docker")
    assert oci.pull(pinned).module == WASM


def test_sha256_field_wins_over_the_url_digest(registry: RegistryServer, tmp_path: Path) -> None:
    digest = oci.push(WASM, registry.url("both/repo:v1"), "artifact")
    with pytest.raises(FetchError, match="which does not match"):
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(registry.url(f"both/repo@{digest}"), sha256="1" * 64))


def _push_raw(registry: RegistryServer, repo: str, layers: list[tuple[str, bytes]], media: str) -> None:
    reg = oci.Registry(registry.host)
    try:
        config = b"{}"
        reg.put_blob(repo, config)
        for _, data in layers:
            reg.put_blob(repo, data)

        def desc(m: str, d: bytes) -> dict[str, Any]:
            return {"mediaType": m, "digest": "sha256:" + hashlib.sha256(d).hexdigest(), "size": len(d)}

        manifest = {
            "schemaVersion": 2,
            "mediaType": media,
            "config": desc(oci.OCI_CONFIG if media == oci.OCI_MANIFEST else oci.DOCKER_CONFIG, config),
            "layers": [desc(m, d) for m, d in layers],
        }
        reg.put_manifest(repo, "v1", json.dumps(manifest).encode(), media)
    finally:
        reg.close()


def _tar_gz(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)


@pytest.mark.parametrize(
    ("layers", "media", "message"),
    [
        ([(oci.OCI_LAYER, _tar_gz("other.wasm", WASM))], oci.OCI_MANIFEST, "no plugin.wasm"),
        ([(oci.OCI_LAYER, b"not a tarball at all")], oci.OCI_MANIFEST, "not a tar.gz"),
        (
            [(oci.OCI_LAYER, _tar_gz("plugin.wasm", b"#!/bin/sh\necho hi\n"))],
            oci.OCI_MANIFEST,
            "not a Wasm binary",
        ),
        ([("application/octet-stream", WASM)], oci.OCI_MANIFEST, "not a Wasm image"),
        ([(oci.WASM_LAYER, WASM)], oci.OCI_MANIFEST, "not a Wasm image"),  # artifacts need exactly 2 layers
        ([(oci.OCI_LAYER, _tar_gz("plugin.wasm", WASM))], oci.DOCKER_MANIFEST, "the last layer is"),
    ],
    ids=[
        "no-plugin-wasm",
        "not-tar",
        "shell-script",
        "octet-stream",
        "one-wasm-layer",
        "docker-with-oci-layer",
    ],
)
def test_non_wasm_images(
    registry: RegistryServer, tmp_path: Path, layers: list[tuple[str, bytes]], media: str, message: str
) -> None:
    repo = f"bad/{hashlib.sha256(repr((layers, media)).encode()).hexdigest()[:12]}"
    _push_raw(registry, repo, layers, media)
    with pytest.raises(FetchError, match=message):
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(registry.url(f"{repo}:v1")))


def test_docker_compat_with_plugin_wasm_in_a_subdirectory(registry: RegistryServer) -> None:
    _push_raw(
        registry,
        "compat/subdir",
        [(oci.DOCKER_LAYER, _tar_gz("./dist/plugin.wasm", WASM))],
        oci.DOCKER_MANIFEST,
    )
    assert oci.pull(registry.url("compat/subdir:v1")).module == WASM


def test_registry_down(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="unreachable"):
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(f"oci://127.0.0.1:{free_port()}/down/repo:v1"))


def test_oversize_layer(registry: RegistryServer, tmp_path: Path) -> None:
    oci.push(WASM, registry.url("big/repo:v1"), "artifact")
    with pytest.raises(FetchError, match="larger than the 1000-byte limit"):
        Fetcher(cache_dir=tmp_path / "c", max_size=1000).fetch(plugin(registry.url("big/repo:v1")))


def test_latest_tag_repulls_when_resource_version_changes(registry: RegistryServer, tmp_path: Path) -> None:
    url = registry.url("moving/repo:latest")
    oci.push(WASM, url, "artifact")
    f = Fetcher(cache_dir=tmp_path / "c")
    first = f.fetch(plugin(url))
    changed = oci.push(WASM + b"\0v2", url, "artifact")
    assert f.fetch(plugin(url)).cached  # same resourceVersion: no re-pull
    p2 = parse_wasmplugin({**_doc(url), "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "2"}})
    second = f.fetch(p2)
    assert not second.cached and second.checksum == changed.removeprefix("sha256:") != first.checksum


def _doc(url: str) -> dict[str, Any]:
    return {"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "spec": {"url": url}}


def test_plain_http_registry_is_reached_after_tls_fails(registry: RegistryServer) -> None:
    reg = oci.Registry(registry.host)
    try:
        assert reg.request("GET", "/v2/").status_code == 200
        assert reg.scheme == "http"
    finally:
        reg.close()


def test_bearer_token_flow(httpserver: Any) -> None:
    """A registry that answers 401 Bearer: the client gets a token from the realm with basic auth."""
    from werkzeug import Request, Response

    manifest, media, blobs = oci.build_image(WASM, "artifact")
    host = f"127.0.0.1:{httpserver.port}"
    seen: list[str] = []

    def guarded(body: bytes, content_type: str) -> Any:
        def handler(request: Request) -> Response:
            seen.append(request.headers.get("Authorization", ""))
            if request.headers.get("Authorization") != "Bearer T0KEN":
                challenge = f'Bearer realm="http://{host}/token",service="reg",scope="repository:w/x:pull"'
                return Response(status=401, headers={"WWW-Authenticate": challenge})
            return Response(body, content_type=content_type)

        return handler

    def token(request: Request) -> Response:
        ok = request.authorization is not None and request.authorization.username == USER
        ok = ok and request.args.get("scope") == "repository:w/x:pull"
        return Response(json.dumps({"token": "T0KEN"}) if ok else "no", status=200 if ok else 401)

    httpserver.expect_request("/token").respond_with_handler(token)
    httpserver.expect_request("/v2/w/x/manifests/v1").respond_with_handler(guarded(manifest, media))
    for digest, data in blobs.items():
        httpserver.expect_request(f"/v2/w/x/blobs/{digest}").respond_with_handler(
            guarded(data, "application/octet-stream")
        )
    pulled = oci.pull(f"oci://{host}/w/x:v1", (USER, PASSWORD))
    assert pulled.module == WASM and "Bearer T0KEN" in seen
    with pytest.raises(FetchError, match="HTTP 401"):
        oci.pull(f"oci://{host}/w/x:v1", ("someone-else", "x"))


def test_blob_reauthenticates_like_every_request(httpserver: Any) -> None:
    """The blob needs a token of its own (scoped per request, as registries may do): a 401 on the blob
    fetches a new token with the blob's challenge, as a manifest request would (issue 26)."""
    from werkzeug import Request, Response

    manifest, media, blobs = oci.build_image(WASM, "artifact")
    host = f"127.0.0.1:{httpserver.port}"
    seen: list[tuple[str, str]] = []

    def guarded(body: bytes, content_type: str, scope: str) -> Any:
        def handler(request: Request) -> Response:
            seen.append((request.path, request.headers.get("Authorization", "")))
            if request.headers.get("Authorization") != f"Bearer for-{scope}":
                challenge = f'Bearer realm="http://{host}/token",service="reg",scope="{scope}"'
                return Response(status=401, headers={"WWW-Authenticate": challenge})
            return Response(body, content_type=content_type)

        return handler

    def token(request: Request) -> Response:
        return Response(json.dumps({"token": f"for-{request.args.get('scope')}"}))

    httpserver.expect_request("/token").respond_with_handler(token)
    httpserver.expect_request("/v2/w/x/manifests/v1").respond_with_handler(guarded(manifest, media, "m"))
    for digest, data in blobs.items():
        httpserver.expect_request(f"/v2/w/x/blobs/{digest}").respond_with_handler(
            guarded(data, "application/octet-stream", "b")
        )
    pulled = oci.pull(f"oci://{host}/w/x:v1", (USER, PASSWORD))
    assert pulled.module == WASM
    blob_tries = [auth for path, auth in seen if "/blobs/" in path]
    assert blob_tries[:2] == ["Bearer for-m", "Bearer for-b"]


def test_cli_push_and_pull(
    auth_registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = auth_registry.url("cli/headers:v1")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    args = ["push", str(HEADERS_WASM), url, "--format", "docker", "--username", USER, "--password-stdin"]
    assert main(args) == 0
    digest = capsys.readouterr().out.strip()
    assert digest.startswith("sha256:") and len(digest) == 71
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    out = tmp_path / "out.wasm"
    assert main(["pull", url, "-o", str(out), "--username", USER, "--password-stdin"]) == 0
    assert capsys.readouterr().out.strip() == digest
    assert out.read_bytes() == WASM


def test_cli_push_without_credentials_to_auth_registry_fails(
    auth_registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(HEADERS_WASM), auth_registry.url("cli/denied:v1")]) == 2
    assert "HTTP 401" in capsys.readouterr().err


def test_push_reference_digest_matches_registry(registry: RegistryServer) -> None:
    url = registry.url("digest/check:v1")
    digest = oci.push(WASM, url, "oci")
    answer = httpx.head(
        f"http://{registry.host}/v2/digest/check/manifests/v1", headers={"Accept": oci.OCI_MANIFEST}
    )
    assert answer.headers["docker-content-digest"] == digest


def test_fetch_failure_counts(registry: RegistryServer, tmp_path: Path) -> None:
    f = Fetcher(cache_dir=tmp_path / "c")
    with pytest.raises(FetchError):
        f.fetch(plugin(registry.url("nothing/here:v1")))
    assert f.stats["manifest_failure"] == 1 and f.stats["success"] == 0
