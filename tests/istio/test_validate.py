"""WasmPlugin parsing and validation: every rule of istio-envoy.md section 1, enums, defaults."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pytest_proxy_wasm.istio import (
    EnvValueSource,
    FailStrategy,
    PluginPhase,
    PluginType,
    PullPolicy,
    WasmPluginError,
    WorkloadMode,
    load_documents,
    parse_wasmplugin,
)
from pytest_proxy_wasm.istio.model import TargetRef

BASE: dict[str, Any] = {
    "apiVersion": "extensions.istio.io/v1alpha1",
    "kind": "WasmPlugin",
    "metadata": {"name": "demo", "namespace": "apps"},
    "spec": {"url": "oci://registry.local:5000/demo:v1"},
}
SHA = "a" * 64


def doc(**spec: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["spec"].update(spec)
    return data


def issues(data: object) -> list[str]:
    with pytest.raises(WasmPluginError) as info:
        parse_wasmplugin(data, "test.yaml document 1")
    return [str(i) for i in info.value.issues]


def test_minimal_document_gets_every_default() -> None:
    p = parse_wasmplugin(doc())
    assert (p.name, p.namespace, p.url) == ("demo", "apps", "oci://registry.local:5000/demo:v1")
    assert p.match_labels is None and p.target_refs == () and p.match == () and p.env == ()
    assert p.sha256 == "" and p.plugin_name == "" and p.plugin_config is None and p.priority is None
    assert p.image_pull_policy is PullPolicy.UNSPECIFIED_POLICY
    assert p.phase is PluginPhase.UNSPECIFIED_PHASE
    assert p.fail_strategy is FailStrategy.FAIL_CLOSE
    assert p.type is PluginType.UNSPECIFIED_PLUGIN_TYPE


def test_namespace_defaults_to_default() -> None:
    data = doc()
    del data["metadata"]["namespace"]
    assert parse_wasmplugin(data).namespace == "default"


def test_every_field_parses() -> None:
    p = parse_wasmplugin(
        doc(
            selector={"matchLabels": {"app": "x"}},
            sha256=SHA,
            imagePullPolicy="Always",
            imagePullSecret="pull",
            verificationKey="k",
            pluginConfig={"a": {"b": [1, 2]}},
            pluginName="root",
            phase="AUTHZ",
            priority=-5,
            failStrategy="FAIL_OPEN",
            vmConfig={"env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": "HOST"}]},
            match=[{"mode": "SERVER", "ports": [{"number": 8080}]}],
            type="NETWORK",
        )
    )
    assert p.match_labels == {"app": "x"} and p.sha256 == SHA
    assert p.image_pull_policy is PullPolicy.Always and p.image_pull_secret == "pull"
    assert p.plugin_config == {"a": {"b": [1, 2]}} and p.plugin_name == "root" and p.priority == -5
    assert p.phase is PluginPhase.AUTHZ and p.fail_strategy is FailStrategy.FAIL_OPEN
    assert [(e.name, e.value_from, e.value) for e in p.env] == [
        ("A", EnvValueSource.INLINE, "1"),
        ("B", EnvValueSource.HOST, ""),
    ]
    assert p.match[0].mode is WorkloadMode.SERVER and p.match[0].ports == (8080,)
    assert p.type is PluginType.NETWORK


@pytest.mark.parametrize(
    ("field", "number", "expected"),
    [
        ("phase", 1, PluginPhase.AUTHN),
        ("phase", 3, PluginPhase.STATS),
        ("imagePullPolicy", 1, PullPolicy.IfNotPresent),
        ("imagePullPolicy", 2, PullPolicy.Always),
        ("failStrategy", 0, FailStrategy.FAIL_CLOSE),
        ("failStrategy", 2, FailStrategy.FAIL_RELOAD),
        ("type", 2, PluginType.NETWORK),
        ("type", 1, PluginType.HTTP),
    ],
)
def test_enums_by_number(field: str, number: int, expected: object) -> None:
    p = parse_wasmplugin(doc(**{field: number}))
    attr = {"imagePullPolicy": "image_pull_policy", "failStrategy": "fail_strategy"}.get(field, field)
    assert getattr(p, attr) is expected


def test_enum_numbers_in_nested_fields() -> None:
    p = parse_wasmplugin(
        doc(vmConfig={"env": [{"name": "H", "valueFrom": 1}]}, match=[{"mode": 3}, {"mode": "CLIENT"}])
    )
    assert p.env[0].value_from is EnvValueSource.HOST
    assert [m.mode for m in p.match] == [WorkloadMode.CLIENT_AND_SERVER, WorkloadMode.CLIENT]


RULES = [
    ({"apiVersion": "extensions.istio.io/v1beta9"}, "apiVersion: must be extensions.istio.io/v1alpha1"),
    ({"metadata": {"namespace": "apps"}}, "metadata.name: is required"),
    ({"metadata": {"name": "Bad_Name"}}, "metadata.name: must be a lowercase RFC 1123 subdomain"),
    ({"metadata": {"name": "ok", "namespace": "Not.Ok"}}, "metadata.namespace: must be a lowercase RFC 1123"),
    ({"spec": None}, "spec: is required"),
    ({"spec": {}}, "url: is required"),
    ({"spec": {"url": ""}}, "url: is required"),
    ({"spec": {"url": "registry:5000/x/y:v1"}}, "url: unsupported scheme 'registry'"),
    ({"spec": {"url": "ftp://h/x.wasm"}}, "url: unsupported scheme 'ftp'"),
    ({"spec": {"url": "oci://h/x", "sha256": "A" * 64}}, "sha256: must match ^$|^[a-f0-9]{64}$"),
    ({"spec": {"url": "oci://h/x", "sha256": "abc"}}, "sha256: must match"),
    (
        {"spec": {"url": "oci://h/x", "imagePullPolicy": "Never"}},
        "imagePullPolicy: 'Never' is not a PullPolicy",
    ),
    ({"spec": {"url": "oci://h/x", "imagePullPolicy": 5}}, "imagePullPolicy: 5 is not a PullPolicy"),
    ({"spec": {"url": "oci://h/x", "imagePullSecret": ""}}, "imagePullSecret: is required"),
    ({"spec": {"url": "oci://h/x", "imagePullSecret": "s" * 254}}, "imagePullSecret: must be at most 253"),
    ({"spec": {"url": "oci://h/x", "pluginName": ""}}, "pluginName: is required"),
    ({"spec": {"url": "oci://h/x", "pluginName": "n" * 257}}, "pluginName: must be at most 256"),
    ({"spec": {"url": "oci://h/x", "pluginConfig": [1, 2]}}, "pluginConfig: must be an object"),
    ({"spec": {"url": "oci://h/x", "phase": "AUTH"}}, "phase: 'AUTH' is not a PluginPhase"),
    ({"spec": {"url": "oci://h/x", "phase": 4}}, "phase: 4 is not a PluginPhase"),
    ({"spec": {"url": "oci://h/x", "priority": "10"}}, "priority: must be an integer"),
    ({"spec": {"url": "oci://h/x", "priority": 2**31}}, "priority: must fit in a 32-bit signed integer"),
    ({"spec": {"url": "oci://h/x", "priority": -(2**31) - 1}}, "priority: must fit in a 32-bit"),
    ({"spec": {"url": "oci://h/x", "failStrategy": "FAIL_CLOSED"}}, "failStrategy: 'FAIL_CLOSED' is not a"),
    ({"spec": {"url": "oci://h/x", "type": "GRPC"}}, "type: 'GRPC' is not a PluginType"),
    ({"spec": {"url": "oci://h/x", "rootID": "x"}}, "rootID: unknown field"),
    ({"spec": {"url": "oci://h/x", "selector": {"matchLabels": {"": "x"}}}}, "label keys must be non-empty"),
    (
        {"spec": {"url": "oci://h/x", "selector": {"matchLabels": {"a*": "x"}}}},
        "'*' is not supported in label keys",
    ),
    (
        {"spec": {"url": "oci://h/x", "selector": {"matchLabels": {"a": "x*"}}}},
        "'*' is not supported in label values",
    ),
    (
        {"spec": {"url": "oci://h/x", "selector": {"matchLabels": {"a": "v" * 64}}}},
        "must be at most 63 characters",
    ),
    (
        {"spec": {"url": "oci://h/x", "selector": {"matchLabels": {f"k{i}": "v" for i in range(4097)}}}},
        "selector.matchLabels: may have at most 4096 entries",
    ),
    ({"spec": {"url": "oci://h/x", "selector": {"app": "x"}}}, "selector.app: unknown field"),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "selector": {"matchLabels": {"a": "b"}},
                "targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "g"}],
            }
        },
        "only one of targetRefs or workloadSelector can be set",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "targetRef": {"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "a"},
                "targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "g"}],
            }
        },
        "only one of targetRefs or workloadSelector can be set",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "targetRefs": [
                    {"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": f"g{i}"}
                    for i in range(17)
                ],
            }
        },
        "targetRefs: may have at most 16 items",
    ),
    (
        {"spec": {"url": "oci://h/x", "targetRefs": [{"group": "gateway.networking.k8s.io", "name": "g"}]}},
        "targetRefs[0].kind: is required",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io"}],
            }
        },
        "targetRefs[0].name: is required",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "targetRefs": [
                    {
                        "kind": "Gateway",
                        "group": "gateway.networking.k8s.io",
                        "name": "g",
                        "namespace": "other",
                    }
                ],
            }
        },
        "targetRefs[0].namespace: cross namespace referencing is not currently supported",
    ),
    (
        {"spec": {"url": "oci://h/x", "targetRefs": [{"kind": "Deployment", "group": "apps", "name": "d"}]}},
        "targetRefs[0].kind: kind 'Deployment' is not supported",
    ),
    (
        {"spec": {"url": "oci://h/x", "targetRefs": [{"kind": "Gateway", "name": "g"}]}},
        "targetRefs[0].group: group for kind Gateway must be 'gateway.networking.k8s.io'",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "targetRefs": [{"kind": "Service", "group": "networking.istio.io", "name": "s"}],
            }
        },
        "targetRefs[0].group: group for kind Service must be '' or 'core'",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "targetRefs": [
                    {"kind": "GatewayClass", "group": "gateway.networking.k8s.io", "name": "istio-waypoint"}
                ],
            }
        },
        "targetRefs[0].kind: GatewayClass may only be referenced from the root namespace",
    ),
    (
        {"spec": {"url": "oci://h/x", "targetRef": {"kind": "Gateway", "name": "g"}}},
        "targetRef.group: group for kind Gateway",
    ),
    (
        {
            "spec": {
                "url": "oci://h/x",
                "vmConfig": {
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": "HOST", "value": "x"}]
                },
            }
        },
        "vmConfig.env[1].value: may only be set when valueFrom is INLINE",
    ),
    (
        {"spec": {"url": "oci://h/x", "vmConfig": {"env": [{"name": "A"}, {"name": "A"}]}}},
        "vmConfig.env[1].name: duplicate env var name 'A'",
    ),
    (
        {"spec": {"url": "oci://h/x", "vmConfig": {"env": [{"value": "1"}]}}},
        "vmConfig.env[0].name: is required",
    ),
    (
        {"spec": {"url": "oci://h/x", "vmConfig": {"env": [{"name": "N" * 257}]}}},
        "vmConfig.env[0].name: must be at most 256",
    ),
    (
        {"spec": {"url": "oci://h/x", "vmConfig": {"env": [{"name": "A", "value": "v" * 2049}]}}},
        "vmConfig.env[0].value: must be at most 2048",
    ),
    (
        {"spec": {"url": "oci://h/x", "vmConfig": {"env": [{"name": f"E{i}"} for i in range(257)]}}},
        "vmConfig.env: may have at most 256 items",
    ),
    (
        {"spec": {"url": "oci://h/x", "vmConfig": {"env": [{"name": "A", "valueFrom": "FILE"}]}}},
        "vmConfig.env[0].valueFrom: 'FILE' is not a EnvValueSource",
    ),
    ({"spec": {"url": "oci://h/x", "vmConfig": {"env": {"A": "1"}}}}, "vmConfig.env: must be a list"),
    (
        {"spec": {"url": "oci://h/x", "match": [{"mode": "INBOUND"}]}},
        "match[0].mode: 'INBOUND' is not a WorkloadMode",
    ),
    (
        {"spec": {"url": "oci://h/x", "match": [{"ports": [{"number": 0}]}]}},
        "match[0].ports[0].number: port number must be in the range 1..65535",
    ),
    (
        {"spec": {"url": "oci://h/x", "match": [{"ports": [{"number": 65536}]}]}},
        "must be in the range 1..65535",
    ),
    (
        {"spec": {"url": "oci://h/x", "match": [{"ports": [{"number": 80}, {"number": 80}]}]}},
        "match[0].ports[1].number: duplicate port 80",
    ),
    ({"spec": {"url": "oci://h/x", "match": [{"ports": [80]}]}}, "match[0].ports[0]: must be an object"),
]


@pytest.mark.parametrize(("change", "expected"), RULES, ids=[r[1][:60] for r in RULES])
def test_rule(change: dict[str, Any], expected: str) -> None:
    data = copy.deepcopy(BASE)
    data.update(change)
    found = issues(data)
    assert any(expected in issue for issue in found), found


def test_all_problems_of_a_document_are_reported_with_document_and_path() -> None:
    data = doc(
        sha256="XYZ",
        phase="NOPE",
        vmConfig={"env": [{"name": "A"}, {"name": "B", "valueFrom": "HOST", "value": "v"}]},
        match=[{"ports": [{"number": 0}]}],
    )
    with pytest.raises(WasmPluginError) as info:
        parse_wasmplugin(data, "plugins.yaml document 3")
    message = str(info.value)
    assert message.startswith("plugins.yaml document 3 (apps/demo): 4 problem(s)")
    for part in ("sha256:", "phase:", "vmConfig.env[1].value: may only be set when valueFrom is INLINE",
                 "match[0].ports[0].number"):  # fmt: skip
        assert part in message


def test_singular_target_ref_is_merged_into_target_refs() -> None:
    p = parse_wasmplugin(
        doc(targetRef={"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"})
    )
    assert p.target_refs == (TargetRef("Gateway", "gw", "gateway.networking.k8s.io"),)


def test_valid_target_refs_in_root_namespace() -> None:
    data = doc(
        targetRefs=[
            {"kind": "GatewayClass", "group": "gateway.networking.k8s.io", "name": "istio-waypoint"},
            {"kind": "ServiceEntry", "group": "networking.istio.io", "name": "se"},
            {"kind": "Service", "name": "svc"},
        ]
    )
    data["metadata"]["namespace"] = "istio-system"
    assert [r.kind for r in parse_wasmplugin(data).target_refs] == ["GatewayClass", "ServiceEntry", "Service"]


def test_inline_value_and_no_value_for_host_are_fine() -> None:
    p = parse_wasmplugin(doc(vmConfig={"env": [{"name": "A", "valueFrom": "INLINE", "value": "x"},
                                               {"name": "B", "valueFrom": "HOST"}]}))  # fmt: skip
    assert len(p.env) == 2


MULTI = """
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: one, namespace: a}
spec: {url: "oci://r/one:v1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/dockerconfigjson
metadata: {name: pull, namespace: a}
stringData:
  .dockerconfigjson: '{"auths": {}}'
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: two, namespace: a}
spec: {url: "http://h/two.wasm", phase: STATS}
"""


def test_multi_document_yaml() -> None:
    docs = load_documents(MULTI)
    assert [p.name for p in docs.plugins] == ["one", "two"]
    assert docs.plugins[1].source == "<yaml> document 4"
    assert docs.secrets == {"a/pull": b'{"auths": {}}'}
    assert docs.skipped == ["<yaml> document 2: kind ConfigMap ignored"]


def test_errors_of_several_documents_are_all_reported() -> None:
    text = MULTI.replace('url: "oci://r/one:v1"', 'url: ""').replace("phase: STATS", "phase: LATE")
    with pytest.raises(WasmPluginError) as info:
        load_documents(text)
    message = str(info.value)
    assert "<yaml> document 1 (a/one): url: is required" in message
    assert "<yaml> document 4 (a/two): phase:" in message


def test_invalid_yaml_is_reported() -> None:
    with pytest.raises(WasmPluginError, match="not valid YAML"):
        load_documents("a: [1,\n")
