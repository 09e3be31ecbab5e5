"""WasmPlugin -> PluginSpec as istiod maps it, and the mapped chain running in order on the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.host.abi.enums import FailurePolicy
from pytest_proxy_wasm.istio import Fetcher, load_wasmplugins, parse_wasmplugin, to_plugin_spec
from pytest_proxy_wasm.istio.mapping import ENVOY_FAILURE_POLICY_NUMBER, failure_policy, plugin_config_json


def plugin(url: str = "oci://r/p:v1", **spec: Any) -> Any:
    return parse_wasmplugin(
        {
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "42"},
            "spec": {"url": url, **spec},
        }
    )


def test_plugin_config_is_compact_json_and_plugin_name_is_root_id() -> None:
    p = plugin(pluginConfig={"b": [1, {"c": True}], "a": "x"}, pluginName="my_root")
    spec = to_plugin_spec(p, b"\0asm")
    assert spec.plugin_config == b'{"a":"x","b":[1,{"c":true}]}'
    assert json.loads(spec.plugin_config) == {"a": "x", "b": [1, {"c": True}]}
    assert spec.root_id == "my_root" and spec.vm_id == "" and spec.vm_config == b""
    assert spec.name == "ns.p~istio-translated-wasmplugin"
    assert to_plugin_spec(p, b"", istio_version=(1, 29)).name == "ns.p"


def test_empty_plugin_config_is_no_configuration() -> None:
    assert plugin_config_json(plugin()) == b"" and plugin_config_json(plugin(pluginConfig={})) == b""


def test_env_inline_and_host_for_remote_code() -> None:
    p = plugin(
        imagePullPolicy="Always",
        imagePullSecret="s",
        vmConfig={
            "env": [
                {"name": "POD_NAME", "valueFrom": "HOST"},
                {"name": "TRUST_DOMAIN", "value": "cluster.local"},
            ]
        },
    )
    spec = to_plugin_spec(p, b"")
    assert dict(spec.env) == {"TRUST_DOMAIN": "cluster.local"}  # ISTIO_META_* stripped by the agent
    assert spec.host_env_keys == ("POD_NAME",)


def test_istio_meta_keys_reach_the_vm_for_file_urls() -> None:
    p = plugin("file:///opt/p.wasm", imagePullPolicy="IfNotPresent", imagePullSecret="s")
    env = dict(to_plugin_spec(p, b"", pull_secret=b'{"auths":{}}').env)
    assert env == {
        "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "42",
        "ISTIO_META_WASM_IMAGE_PULL_POLICY": "IfNotPresent",
        "ISTIO_META_WASM_IMAGE_PULL_SECRET": '{"auths":{}}',
    }
    assert dict(to_plugin_spec(plugin("file:///opt/p.wasm"), b"").env) == {
        "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "42"
    }


@pytest.mark.parametrize(
    ("strategy", "policy", "envoy_number"),
    [
        ("FAIL_CLOSE", FailurePolicy.FAIL_CLOSED, 2),
        (0, FailurePolicy.FAIL_CLOSED, 2),
        ("FAIL_OPEN", FailurePolicy.FAIL_OPEN, 3),
        (1, FailurePolicy.FAIL_OPEN, 3),
        ("FAIL_RELOAD", FailurePolicy.FAIL_RELOAD, 1),
        (2, FailurePolicy.FAIL_RELOAD, 1),
    ],
)
def test_fail_strategy_maps_to_envoy_failure_policy(
    strategy: Any, policy: FailurePolicy, envoy_number: int
) -> None:
    spec = to_plugin_spec(plugin(failStrategy=strategy), b"")
    assert spec.failure_policy is policy
    assert ENVOY_FAILURE_POLICY_NUMBER[spec.failure_policy] == envoy_number


def test_older_istio_failure_modes() -> None:
    assert failure_policy(plugin(failStrategy="FAIL_OPEN"), (1, 24)) is FailurePolicy.LEGACY_FAIL_OPEN
    assert failure_policy(plugin(failStrategy="FAIL_OPEN"), (1, 16)) is FailurePolicy.FAIL_CLOSED


def test_network_type_maps_to_a_network_filter() -> None:
    assert to_plugin_spec(plugin(type="NETWORK"), b"").network
    assert not to_plugin_spec(plugin(type="HTTP"), b"").network


CHAIN = """
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: {name}, namespace: default, creationTimestamp: "{ts}"}}
spec:
  url: file://{path}
  phase: {phase}
  {priority}
  pluginConfig: {{id: {name}}}
---
"""


def test_chain_runs_in_istio_order_on_the_emulator(
    tmp_path: Path, probe_variant: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = []
    for name, phase, priority, ts in [
        ("u1", "UNSPECIFIED_PHASE", "", "2024-01-01T00:00:00Z"),
        ("s1", "STATS", "priority: -1", "2024-01-01T00:00:00Z"),
        ("s2", "STATS", "priority: 7", "2024-01-02T00:00:00Z"),
        ("n1", "AUTHN", "", "2024-01-03T00:00:00Z"),
    ]:
        path = tmp_path / f"{name}.wasm"
        path.write_bytes(probe_variant(name))
        docs.append(CHAIN.format(name=name, ts=ts, path=path, phase=phase, priority=priority))
    yaml_path = tmp_path / "plugins.yaml"
    yaml_path.write_text("".join(docs))
    from pytest_proxy_wasm.backends import make_backend

    backend = make_backend("emulator")
    try:
        chain = load_wasmplugins(backend, yaml_path, "ns=default", Fetcher(cache_dir=tmp_path / "c"))
        outcome = chain.request()
    finally:
        backend.close()
    assert outcome.upstream_request is not None
    order = [json.loads(v)["id"] for k, v in outcome.upstream_request.headers if k == "x-chain"]
    assert order == ["n1", "s2", "s1", "u1"]
    back = [json.loads(v)["id"] for k, v in outcome.response_headers if k == "x-chain"]
    assert back == ["u1", "s1", "s2", "n1"]
