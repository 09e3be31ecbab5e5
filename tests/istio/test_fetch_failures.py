"""A module that cannot be fetched, as Istio 1.25+ handles it: FAIL_OPEN skips the plugin, anything else
answers every request 403 "RBAC: access denied"; a checksum mismatch never runs the module."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from pytest_proxy_wasm.backends import Backend, make_backend
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.istio import Fetcher, FetchError, load_wasmplugins

from .conftest import free_port

DOC = """
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: {name}, namespace: default, creationTimestamp: "2024-01-0{day}T00:00:00Z"}}
spec:
  url: {url}
  {extra}
  pluginConfig: {{id: {name}}}
---
"""


@pytest.fixture(params=["emulator", "envoy"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    from pytest_proxy_wasm.plugin import envoy_unavailable_reason

    name = str(request.param)
    if name == "envoy" and (reason := envoy_unavailable_reason("envoy")):
        pytest.skip(reason)
    b = make_backend(name, workdir=tmp_path / "envoy" if name == "envoy" else None)
    try:
        yield b
    finally:
        b.close()


def ids(outcome_headers: list[tuple[str, str]]) -> list[str]:
    return [json.loads(v)["id"] for k, v in outcome_headers if k == "x-chain"]


def setup(
    tmp_path: Path, httpserver: HTTPServer, probe_variant: Callable[[str], bytes], broken: str, extra: str
) -> Path:
    """first (file) -> broken (http, bad) -> last (file): the broken one sits between two good ones."""
    for name in ("first", "last"):
        (tmp_path / f"{name}.wasm").write_bytes(probe_variant(name))
    httpserver.expect_request("/broken.wasm").respond_with_data(probe_variant("broken"))
    url = {
        "missing": httpserver.url_for("/nothing-here.wasm"),
        "checksum": httpserver.url_for("/broken.wasm"),
        "down": f"http://127.0.0.1:{free_port()}/broken.wasm",
    }[broken]
    if broken == "checksum":
        extra += '\n  sha256: "' + "0" * 64 + '"'
    text = (
        DOC.format(name="first", day=1, url=f"file://{tmp_path / 'first.wasm'}", extra="phase: AUTHN")
        + DOC.format(name="broken", day=2, url=url, extra=extra)
        + DOC.format(name="last", day=3, url=f"file://{tmp_path / 'last.wasm'}", extra="phase: STATS")
    )
    path = tmp_path / "plugins.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("broken", ["missing", "checksum", "down"])
@pytest.mark.parametrize("strategy", ["FAIL_CLOSE", "FAIL_RELOAD", None])
def test_fail_closed_fetch_failure_denies_every_request(
    backend: Backend,
    tmp_path: Path,
    httpserver: HTTPServer,
    probe_variant: Callable[[str], bytes],
    broken: str,
    strategy: str | None,
) -> None:
    extra = "phase: AUTHZ" + (f"\n  failStrategy: {strategy}" if strategy else "")
    path = setup(tmp_path, httpserver, probe_variant, broken, extra)
    chain = load_wasmplugins(
        backend, path, "ns=default", Fetcher(cache_dir=tmp_path / "c", attempts=2, backoff=0)
    )
    assert [lp.status.split(" ")[0] for lp in chain.loaded] == ["loaded", "denied", "loaded"]
    for _ in range(2):
        outcome = chain.request()
        assert (outcome.status, outcome.response_body) == (403, b"RBAC: access denied")
        assert outcome.header("content-type") == "text/plain"
        assert outcome.upstream_request is None
        assert "first" in ids(outcome.response_headers)  # the reply walks back through the earlier filter
    assert not any("broken" in m for m in backend.log_messages())  # the module never ran


@pytest.mark.parametrize("broken", ["missing", "checksum", "down"])
def test_fail_open_fetch_failure_skips_the_plugin(
    backend: Backend,
    tmp_path: Path,
    httpserver: HTTPServer,
    probe_variant: Callable[[str], bytes],
    broken: str,
) -> None:
    path = setup(tmp_path, httpserver, probe_variant, broken, "phase: AUTHZ\n  failStrategy: FAIL_OPEN")
    chain = load_wasmplugins(
        backend, path, "ns=default", Fetcher(cache_dir=tmp_path / "c", attempts=2, backoff=0)
    )
    assert chain.loaded[1].status.startswith("skipped") and chain.loaded[1].handle is None
    outcome = chain.request()
    assert outcome.status == 200 and outcome.upstream_request is not None
    assert ids(outcome.upstream_request.headers) == ["first", "last"]
    assert not any("broken" in m for m in backend.log_messages())


def test_deny_reply_skips_filters_the_request_never_reached(
    backend: Backend,
    tmp_path: Path,
    httpserver: HTTPServer,
    probe_variant: Callable[[str], bytes],
    request: pytest.FixtureRequest,
) -> None:
    """Envoy 1.40: a Wasm filter whose stream context was never created (the request stopped before it)
    skips its response callbacks, so only "first" sees the 403."""
    path = setup(tmp_path, httpserver, probe_variant, "checksum", "phase: AUTHZ")
    chain = load_wasmplugins(backend, path, "ns=default", Fetcher(cache_dir=tmp_path / "c"))
    assert ids(chain.request().response_headers) == ["first"]


def test_emulator_deny_details_are_envoys_rbac_ones(
    tmp_path: Path, httpserver: HTTPServer, probe_variant: Callable[[str], bytes]
) -> None:
    path = setup(tmp_path, httpserver, probe_variant, "checksum", "phase: AUTHZ")
    b = make_backend("emulator")
    try:
        outcome = load_wasmplugins(b, path, "ns=default", Fetcher(cache_dir=tmp_path / "c")).request()
    finally:
        b.close()
    assert outcome.local_reply and outcome.details == "rbac_access_denied_matched_policy[none]"


def test_before_125_a_fail_close_fetch_failure_is_a_nack(
    tmp_path: Path, httpserver: HTTPServer, probe_variant: Callable[[str], bytes]
) -> None:
    path = setup(tmp_path, httpserver, probe_variant, "missing", "phase: AUTHZ")
    b = make_backend("emulator")
    try:
        with pytest.raises(FetchError, match="NACKed"):
            load_wasmplugins(b, path, "ns=default", Fetcher(cache_dir=tmp_path / "c"), istio_version=(1, 24))
    finally:
        b.close()


def test_run_command_takes_yaml(
    tmp_path: Path,
    httpserver: HTTPServer,
    probe_variant: Callable[[str], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = setup(tmp_path, httpserver, probe_variant, "checksum", "phase: AUTHZ")
    assert main(["run", str(path), "--workload", "ns=default,mode=SERVER,port=8080", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["status"] == 403 and data["response_body"] == "RBAC: access denied"
    assert "default/broken: denied (fetch failed" in captured.err
    ok = setup(tmp_path, httpserver, probe_variant, "checksum", "phase: AUTHZ\n  failStrategy: FAIL_OPEN")
    assert main(["run", str(ok), "--workload", "ns=default", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 200


def test_run_command_maps_hosts(
    tmp_path: Path,
    httpserver: HTTPServer,
    probe_variant: Callable[[str], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    httpserver.expect_request("/filters/openid.wasm").respond_with_data(probe_variant("cli"))
    seed = Path(__file__).resolve().parent / "seed" / "4-https-always.yaml"
    args = ["run", str(seed), "--workload", "ns=istio-ingress,labels=istio=ingressgateway,kind=gateway",
            "--map-host", f"private-bucket=http://127.0.0.1:{httpserver.port}", "--json"]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == 200
    assert ["x-chain", '{"openid_realm":"ingress","openid_server":"authn"}'] in data["response_headers"]


def test_network_plugins_run_on_connections(backend: Backend, tmp_path: Path) -> None:
    from .conftest import FIXTURES

    text = (
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\n"
        "metadata: {name: tcp, namespace: default}\n"
        f"spec: {{url: 'file://{FIXTURES / 'rust' / 'tcp.wasm'}', type: NETWORK, phase: AUTHZ}}\n"
    )
    path = tmp_path / "tcp.yaml"
    path.write_text(text)
    chain = load_wasmplugins(backend, path, "ns=default,protocol=TCP,port=5432")
    assert chain.http_handles == [] and len(chain.network_handles) == 1
    outcome = chain.connect(downstream=[b"hello"])
    assert outcome.upstream_received == b"hello"
