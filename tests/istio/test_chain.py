"""Chain building: selection, match, type, phase placement, priority and ties (istio-envoy.md 2)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.istio import Workload, WorkloadMode, build_chain, parse_wasmplugin, parse_workload
from pytest_proxy_wasm.istio.model import WasmPlugin


def plugin(name: str, ns: str = "default", ts: str = "2024-01-01T00:00:00Z", **spec: Any) -> WasmPlugin:
    spec.setdefault("url", f"oci://r/{name}:v1")
    return parse_wasmplugin(
        {
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts},
            "spec": spec,
        }
    )


SERVER = Workload(namespace="default", labels={"app": "web"}, mode=WorkloadMode.SERVER, port=8080)


def names(plugins: list[WasmPlugin], workload: Workload = SERVER, **kw: Any) -> list[str]:
    return [p.name for p in build_chain(plugins, workload, **kw).plugins]


def http_names(plugins: list[WasmPlugin], workload: Workload = SERVER) -> list[str]:
    return [e.plugin.name if e.plugin else e.name for e in build_chain(plugins, workload).http]


def test_phases_sit_around_istio_filters_inbound() -> None:
    chain = http_names(
        [plugin("u"), plugin("s", phase="STATS"), plugin("z", phase="AUTHZ"), plugin("n", phase="AUTHN")]
    )
    assert chain == [
        "istio.metadata_exchange", "envoy.filters.http.ext_authz", "n", "envoy.filters.http.jwt_authn", "z",
        "envoy.filters.http.rbac", "s", "u", "envoy.filters.http.grpc_stats", "envoy.filters.http.fault",
        "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router",
    ]  # fmt: skip


def test_outbound_sidecar_has_no_authn_authz_filters_between_phases() -> None:
    outbound = Workload(namespace="default", mode=WorkloadMode.CLIENT, port=80)
    chain = http_names([plugin("u"), plugin("n", phase="AUTHN"), plugin("z", phase="AUTHZ")], outbound)
    assert chain[:4] == ["istio.metadata_exchange", "n", "z", "u"]
    assert "envoy.filters.http.rbac" not in chain and "istio.alpn" in chain


def test_waypoint_puts_stats_and_unspecified_after_routing_filters() -> None:
    wp = Workload(namespace="default", kind="waypoint", gateway_api=True, name="wp", services=("svc",))
    ref = [{"kind": "Service", "name": "svc"}]
    chain = http_names([plugin("u", targetRefs=ref), plugin("a", phase="AUTHN", targetRefs=ref)], wp)
    assert chain.index("a") < chain.index("envoy.filters.http.jwt_authn")
    assert chain.index("(routing filters)") < chain.index("u") < chain.index("istio.upstream_metadata")


def test_priority_set_unset_and_negative() -> None:
    plugins = [
        plugin("unset"),
        plugin("minus", priority=-5),
        plugin("ten", priority=10),
        plugin("zero", priority=0),
    ]
    assert names(plugins) == ["ten", "zero", "minus", "unset"]


def test_unset_ties_with_min_int32() -> None:
    plugins = [plugin("b-unset", ts="2024-01-01T00:00:00Z"), plugin("a-min", priority=-(2**31))]
    assert names(plugins) == ["a-min", "b-unset"]  # equal: the name tie-break decides


def test_priority_orders_within_a_phase_only() -> None:
    plugins = [
        plugin("stats-high", phase="STATS", priority=1000),
        plugin("authn-low", phase="AUTHN", priority=-1),
    ]
    assert names(plugins) == ["authn-low", "stats-high"]


def test_ties_keep_creation_time_then_name() -> None:
    plugins = [
        plugin("b", ts="2024-01-02T00:00:00Z"),
        plugin("c", ts="2024-01-01T00:00:00Z"),
        plugin("a", ts="2024-01-02T00:00:00Z"),
    ]
    assert names(plugins) == ["c", "a", "b"]


def test_own_namespace_before_root_namespace_and_116_reverses_it() -> None:
    plugins = [plugin("root", ns="istio-system", ts="2020-01-01T00:00:00Z"), plugin("own")]
    assert names(plugins) == ["own", "root"]
    assert names(plugins, istio_version=(1, 16)) == ["root", "own"]


def test_priority_beats_namespace_group() -> None:
    plugins = [plugin("root", ns="istio-system", priority=5), plugin("own")]
    assert names(plugins) == ["root", "own"]


def test_translated_name_suffix_changes_the_name_tie_break_in_130() -> None:
    plugins = [plugin("a"), plugin("ab")]
    assert names(plugins) == ["ab", "a"]  # "ab~..." < "a~..."
    assert names(plugins, istio_version=(1, 29)) == ["a", "ab"]


def test_other_namespaces_are_out_with_reason() -> None:
    chain = build_chain([plugin("elsewhere", ns="team-b")], SERVER)
    assert chain.plugins == []
    assert "neither the workload's (default) nor the root namespace" in chain.decisions[0].reason


def test_selector_subset_match_and_mismatch() -> None:
    w = Workload(namespace="default", labels={"app": "web", "version": "v1"}, port=8080)
    plugins = [
        plugin("hit", selector={"matchLabels": {"app": "web"}}),
        plugin("miss", selector={"matchLabels": {"app": "web", "version": "v2"}}),
        plugin("all"),
    ]
    assert names(plugins, w) == ["all", "hit"]
    miss = next(d for d in build_chain(plugins, w).decisions if d.plugin.name == "miss")
    assert not miss.included and "do not match workload labels" in miss.reason


def test_root_namespace_plugin_without_selector_applies_everywhere() -> None:
    assert names([plugin("mesh-wide", ns="istio-system")]) == ["mesh-wide"]


def test_sidecars_ignore_plugins_with_target_refs() -> None:
    p = plugin(
        "gw-only", targetRefs=[{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"}]
    )
    chain = build_chain([p], SERVER)
    assert chain.plugins == [] and "sidecars" in chain.decisions[0].reason


def test_gateway_api_gateway_uses_target_refs_and_selector() -> None:
    gw = Workload(
        namespace="default", labels={"gateway": "gw"}, kind="gateway", gateway_api=True, name="gw", port=80
    )
    ref = {"kind": "Gateway", "group": "gateway.networking.k8s.io"}
    plugins = [
        plugin("to-gw", targetRefs=[{**ref, "name": "gw"}]),
        plugin("to-other", targetRefs=[{**ref, "name": "other"}]),
        plugin("by-selector", selector={"matchLabels": {"gateway": "gw"}}),
    ]
    assert names(plugins, gw) == ["by-selector", "to-gw"]


def test_gatewayclass_ref_from_root_namespace() -> None:
    gw = Workload(
        namespace="apps", kind="gateway", gateway_api=True, name="gw", gateway_class="istio", port=80
    )
    p = plugin("cls", ns="istio-system", targetRefs=[
        {"kind": "GatewayClass", "group": "gateway.networking.k8s.io", "name": "istio"}])  # fmt: skip
    assert names([p], gw) == ["cls"]


def test_waypoints_never_use_selector() -> None:
    wp = Workload(namespace="default", labels={"app": "web"}, kind="waypoint", gateway_api=True, name="wp")
    chain = build_chain([plugin("sel", selector={"matchLabels": {"app": "web"}}), plugin("none")], wp)
    assert chain.plugins == []
    assert all("waypoints never use selector" in d.reason for d in chain.decisions)


def test_match_mode_and_ports() -> None:
    plugins = [
        plugin("server", match=[{"mode": "SERVER"}]),
        plugin("client", match=[{"mode": "CLIENT"}]),
        plugin("both", match=[{"mode": "CLIENT_AND_SERVER"}]),
        plugin("undefined", match=[{"ports": [{"number": 8080}]}]),
        plugin("wrong-port", match=[{"mode": "SERVER", "ports": [{"number": 9090}]}]),
        plugin("mode-and-port-split", match=[{"mode": "CLIENT", "ports": [{"number": 8080}]}]),
        plugin("any-entry", match=[{"mode": "CLIENT"}, {"ports": [{"number": 8080}]}]),
    ]
    assert sorted(names(plugins)) == ["any-entry", "both", "server", "undefined"]


def test_gateways_count_as_client() -> None:
    gw = Workload(namespace="default", kind="gateway", port=443)
    plugins = [plugin("server", match=[{"mode": "SERVER"}]), plugin("client", match=[{"mode": "CLIENT"}])]
    assert names(plugins, gw) == ["client"]


def test_waypoint_http_port_is_zero_so_port_lists_never_match() -> None:
    wp = Workload(namespace="default", kind="waypoint", gateway_api=True, name="wp", port=8080)
    ref = [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "wp"}]
    plugins = [
        plugin("ports", targetRefs=ref, match=[{"ports": [{"number": 8080}]}]),
        plugin("any", targetRefs=ref),
    ]
    assert names(plugins, wp) == ["any"]


def test_network_plugins_go_to_the_network_chain() -> None:
    chain = build_chain([plugin("net", type="NETWORK", phase="AUTHZ"), plugin("http")], SERVER)
    network = [e.plugin.name if e.plugin else e.name for e in chain.network]
    assert network == ["istio.metadata_exchange", "net", "envoy.filters.network.http_connection_manager"]
    assert [e.plugin.name for e in chain.http if e.plugin] == ["http"]
    assert [p.name for p in chain.plugins] == ["net", "http"]


def test_tcp_workload_takes_only_network_plugins() -> None:
    tcp = Workload(namespace="default", protocol="TCP", port=5432)
    chain = build_chain([plugin("net", type="NETWORK", phase="AUTHZ"), plugin("http", type="HTTP")], tcp)
    network = [e.plugin.name if e.plugin else e.name for e in chain.network]
    assert network.index("net") < network.index("envoy.filters.network.rbac")
    assert network[-1] == "envoy.filters.network.tcp_proxy" and chain.http == []
    http = next(d for d in chain.decisions if d.plugin.name == "http")
    assert not http.included and "TCP" in http.reason


def test_explanation_names_position_and_reasons() -> None:
    text = build_chain(
        [plugin("n", phase="AUTHN", priority=3), plugin("miss", match=[{"mode": "CLIENT"}])], SERVER
    ).explain()
    assert "HTTP filter chain" in text
    assert (
        "3. * default.n~istio-translated-wasmplugin  [WasmPlugin default/n, phase AUTHN, priority 3]" in text
    )
    assert "default/n: IN  HTTP chain position 3 (phase AUTHN)" in text
    assert "default/miss: OUT — no match entry fits traffic SERVER port 8080" in text


def test_parse_workload_flag() -> None:
    w = parse_workload("ns=shop,labels=app=x,version=v1,label.name=n,mode=client,port=8080,protocol=TCP")
    assert w.namespace == "shop" and dict(w.labels) == {"app": "x", "version": "v1", "name": "n"}
    assert w.mode is WorkloadMode.CLIENT and w.port == 8080 and w.protocol == "TCP"
    wp = parse_workload("kind=waypoint,name=wp,services=a+b")
    assert wp.gateway_api and wp.gateway_class == "istio-waypoint" and wp.services == ("a", "b")


@pytest.mark.parametrize(
    "bad", ["mode=SIDEWAYS", "port=http", "kind=pod", "protocol=UDP", "oops", "labels=x"]
)
def test_parse_workload_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_workload(bad)


YAML = """
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: authn, namespace: default}
spec: {url: "oci://r/a:v1", phase: AUTHN, selector: {matchLabels: {app: x}}}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: other, namespace: default}
spec: {url: "oci://r/b:v1", selector: {matchLabels: {app: y}}}
"""


def test_chain_command(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plugins.yaml"
    path.write_text(YAML)
    assert main(["chain", str(path), "--workload", "ns=default,labels=app=x,mode=SERVER,port=8080"]) == 0
    out = capsys.readouterr().out
    assert "default/authn (plugins.yaml document 1): IN  HTTP chain position 3" in out
    assert "default/other (plugins.yaml document 2): OUT — selector matchLabels app=y do not match" in out


def test_chain_command_reports_invalid_yaml(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plugins.yaml"
    path.write_text(YAML.replace("phase: AUTHN", "phase: FIRST"))
    assert main(["chain", str(path), "--workload", "ns=default"]) == 2
    assert "plugins.yaml document 1 (default/authn): 1 problem(s)" in capsys.readouterr().err
