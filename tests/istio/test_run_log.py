"""``run`` on a WasmPlugin prints what istio-agent would log (issue 16 item 7): the image fetched, the
VM's environment as ``vmConfig.env`` resolved it, and the workload it matched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.istio import oci, parse_workload

from .conftest import HEADERS_WASM, RegistryServer

# The guide's third example (oci:// with vmConfig.env), on a registry standing in for private-registry.
GUIDE_OCI = """
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: openid-connect, namespace: istio-ingress}
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  url: oci://private-registry:5000/openid-connect/openid:v1
  sha256: "DIGEST"
  phase: AUTHN
  pluginConfig: {openid_server: authn}
  vmConfig:
    env:
    - name: POD_NAME
      valueFrom: HOST
    - name: NOT_SET_HERE
      valueFrom: HOST
    - name: TRUST_DOMAIN
      value: "cluster.local"
"""


def test_run_prints_the_fetch_the_env_and_the_workload(
    registry: RegistryServer,
    write_yaml: Callable[[str, str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = oci.push(HEADERS_WASM.read_bytes(), registry.url("openid-connect/openid:v1"), "oci")
    path = write_yaml(GUIDE_OCI.replace("DIGEST", digest.removeprefix("sha256:")), "guide.yaml")
    monkeypatch.setenv("POD_NAME", "istio-ingressgateway-556959fc6f-prbbg")
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    args = ["run", str(path), "--workload", "ns=istio-ingress,labels=istio=ingressgateway"]
    args += ["--map-host", f"private-registry:5000={registry.host}", "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.startswith(
        "workload: gateway in namespace istio-ingress (labels: istio=ingressgateway), CLIENT"
    )
    assert "note: kind=gateway assumed from label istio=ingressgateway" in err
    assert "selector matchLabels istio=ingressgateway match" in err
    fetch = [
        "fetching image openid-connect/openid from registry private-registry:5000 "
        f"(mapped to {registry.host}) with tag v1",
        "fetching image with plain text from private-registry:5000/openid-connect/openid:v1",
        f"image format: oci; manifest digest: {digest}",
    ]
    for line in fetch:
        assert f"    {line}\n" in err
    assert "    cache miss: pulled (pull policy IfNotPresent)" in err
    assert "      TRUST_DOMAIN=cluster.local  (vmConfig.env value)\n" in err
    assert "      POD_NAME=istio-ingressgateway-556959fc6f-prbbg  (valueFrom HOST" in err
    assert "      NOT_SET_HERE: valueFrom HOST, not set here: the VM does not see it" in err

    assert main(args) == 0  # the same cache: istio-agent does not pull again
    again = capsys.readouterr().err
    assert (
        f"    cache hit: oci://private-registry:5000/openid-connect/openid:v1 (checksum {digest[7:]}" in again
    )
    assert "fetching image" not in again


def test_gateway_kind_is_assumed_only_when_not_given() -> None:
    assert parse_workload("ns=x,labels=istio=egressgateway").kind == "gateway"
    told = parse_workload("ns=x,labels=istio=ingressgateway,kind=sidecar")
    assert (told.kind, told.assumed) == ("sidecar", "")
    assert parse_workload("ns=x,labels=app=web").assumed == ""


def test_a_plugin_for_the_gateway_says_which_workload_to_pass(
    write_yaml: Callable[[str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    text = GUIDE_OCI.replace('  sha256: "DIGEST"\n', "").replace("oci://private-registry:5000", "oci://x")
    path = write_yaml(text, "guide.yaml")
    assert main(["run", str(path), "--workload", "ns=istio-ingress"]) == 0
    err = capsys.readouterr().err
    assert "to run it there: --workload ns=istio-ingress,labels=istio=ingressgateway" in err
