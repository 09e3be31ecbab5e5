"""Errors that point to the fix (issue 16 item 6): each message names the option or form that fixes it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.istio import (
    Fetcher,
    FetchError,
    WasmPluginError,
    load_documents,
    oci,
    parse_wasmplugin,
)

from .conftest import HEADERS_WASM, RegistryServer

WASM = HEADERS_WASM.read_bytes()
DIGITS = "1234567890" * 6 + "1234"


def plugin(url: str, **spec: Any) -> Any:
    return parse_wasmplugin(
        {
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"url": url, **spec},
        }
    )


def test_wrong_oci_sha256_says_it_is_the_manifest_digest(registry: RegistryServer, tmp_path: Path) -> None:
    url = registry.url("hints/digest:v1")
    digest = oci.push(WASM, url, "oci")
    module_sha = hashlib.sha256(WASM).hexdigest()  # the mistake: hashing the .wasm file
    with pytest.raises(FetchError) as info:
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(url, sha256=module_sha))
    message = str(info.value)
    assert "sha256 is the image's manifest digest" in message
    assert "`pytest-proxy-wasm push` printed" in message
    assert "is the sha256 of the .wasm file itself" in message
    assert f'sha256: "{digest.removeprefix("sha256:")}"' in message
    assert info.value.result == "checksum_mismatched"


def test_unquoted_all_digit_sha256_says_quote_it(write_yaml: Callable[[str], Path]) -> None:
    path = write_yaml(
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\n"
        f"metadata: {{name: p, namespace: ns}}\nspec:\n  url: file:///x.wasm\n  sha256: {DIGITS}\n"
    )
    with pytest.raises(WasmPluginError) as info:
        load_documents(path)
    message = str(info.value)
    assert "sha256" in message and "got int" in message
    assert 'quote it: sha256: "<64 hex digits>"' in message
    quoted = write_yaml(path.read_text().replace(DIGITS, f'"{DIGITS}"'), "quoted.yaml")
    assert load_documents(quoted).plugins[0].sha256 == DIGITS


def test_push_without_credentials_names_the_options(
    auth_registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(HEADERS_WASM), auth_registry.url("hints/denied:v1")]) == 2
    err = capsys.readouterr().err
    assert "HTTP 401" in err
    assert "wants credentials: pass --username USER --password-stdin" in err


def test_missing_pull_secret_names_secret_option_and_document(
    auth_registry: RegistryServer, tmp_path: Path
) -> None:
    with pytest.raises(FetchError) as info:
        Fetcher(cache_dir=tmp_path / "c").fetch(
            plugin(auth_registry.url("hints/x:v1"), imagePullSecret="regcred")
        )
    message = str(info.value)
    assert "missing image pulling secret" in message
    assert "--secret ns/regcred=FILE" in message
    assert "kind: Secret, type: kubernetes.io/dockerconfigjson" in message


def test_anonymous_pull_from_a_private_registry_names_the_pull_secret(
    auth_registry: RegistryServer, tmp_path: Path
) -> None:
    url = auth_registry.url("hints/private:v1")
    oci.push(WASM, url, "artifact", ("wasm-pusher", "s3cret-pw"))
    with pytest.raises(FetchError) as info:
        Fetcher(cache_dir=tmp_path / "c").fetch(plugin(url))
    assert "set spec.imagePullSecret and supply that Secret with --secret ns/NAME=FILE" in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["oci://private-registry.invalid:5000/openid/openid:latest", "https://private-bucket.invalid/o.wasm"],
)
def test_unknown_registry_host_names_map_host(url: str, tmp_path: Path) -> None:
    fetcher = Fetcher(cache_dir=tmp_path / "c", attempts=1, timeout=5)
    with pytest.raises(FetchError) as info:
        fetcher.fetch(plugin(url))
    host = url.split("/")[2]
    assert f"--map-host {host}=127.0.0.1:PORT" in str(info.value)


def test_mapped_host_gets_no_map_host_hint(tmp_path: Path) -> None:
    fetcher = Fetcher(cache_dir=tmp_path / "c", attempts=1, hosts={"reg.invalid:5000": "127.0.0.1:9"})
    with pytest.raises(FetchError) as info:
        fetcher.fetch(plugin("oci://reg.invalid:5000/a/b:v1"))
    assert "--map-host" not in str(info.value)


def test_missing_local_file_names_map_file(
    write_yaml: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_yaml(
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\n"
        "metadata: {name: openid-connect, namespace: istio-ingress}\n"
        "spec:\n  url: file:///opt/filters/openid.wasm\n"
    )
    assert main(["run", str(path), "--workload", "ns=istio-ingress"]) == 2
    err = capsys.readouterr().err
    assert "no such file /opt/filters/openid.wasm" in err
    assert "--map-file /opt/filters/openid.wasm=LOCAL.wasm" in err


def test_pull_without_credentials_names_the_options(
    auth_registry: RegistryServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = auth_registry.url("hints/pull:v1")
    oci.push(WASM, url, "artifact", ("wasm-pusher", "s3cret-pw"))
    assert main(["pull", url, "-o", str(tmp_path / "m.wasm")]) == 2
    assert "pass --username USER --password-stdin (the password on stdin) to `pytest-proxy-wasm pull`" in (
        capsys.readouterr().err
    )
