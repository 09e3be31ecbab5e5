"""The filter chain Istio builds for a workload: selection, match, type, phase placement and priority.

Sources: istio/istio ``pilot/pkg/model/push_context.go``/``policyattachment.go``/``extensions.go`` and
the listener builders (see shared/reference/istio-envoy.md section 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .enums import PluginPhase, WorkloadMode
from .mapping import filter_name
from .model import WasmPlugin
from .workload import Workload

MIN_INT32 = -(2**31)
MIN_INT64 = -(2**63)
PHASES = (PluginPhase.AUTHN, PluginPhase.AUTHZ, PluginPhase.STATS, PluginPhase.UNSPECIFIED_PHASE)
CUSTOM = "only with a CUSTOM AuthorizationPolicy"
# Istio's own filters around the four plugin slots ("@PHASE" marks where a phase's plugins go).
INBOUND_HTTP = [
    ("istio.metadata_exchange", "when metadata exchange is on"), ("envoy.filters.http.ext_authz", CUSTOM),
    ("@AUTHN", ""), ("envoy.filters.http.jwt_authn", "with a RequestAuthentication"), ("@AUTHZ", ""),
    ("envoy.filters.http.rbac", "with DENY/AUDIT/ALLOW AuthorizationPolicies"), ("@STATS", ""),
    ("@UNSPECIFIED_PHASE", ""), ("envoy.filters.http.grpc_stats", ""), ("envoy.filters.http.fault", ""),
    ("envoy.filters.http.cors", ""), ("istio.stats", "with Telemetry/Prometheus"),
    ("envoy.filters.http.router", ""),
]  # fmt: skip
OUTBOUND_HTTP = [
    ("istio.metadata_exchange", "when metadata exchange is on"), ("@AUTHN", ""), ("@AUTHZ", ""),
    ("@STATS", ""), ("@UNSPECIFIED_PHASE", ""), ("envoy.filters.http.grpc_stats", ""), ("istio.alpn", ""),
    ("envoy.filters.http.fault", ""), ("envoy.filters.http.cors", ""),
    ("istio.stats", "with Telemetry/Prometheus"), ("envoy.filters.http.router", ""),
]  # fmt: skip
GATEWAY_HTTP = [
    ("istio.metadata_exchange", "when metadata exchange is on"), ("envoy.filters.http.ext_authz", CUSTOM),
    ("@AUTHN", ""), ("envoy.filters.http.jwt_authn", "with a RequestAuthentication"), ("@AUTHZ", ""),
    ("envoy.filters.http.rbac", "with DENY/AUDIT/ALLOW AuthorizationPolicies"), ("@STATS", ""),
    ("@UNSPECIFIED_PHASE", ""), ("envoy.filters.http.grpc_stats", ""), ("istio.alpn", ""),
    ("envoy.filters.http.fault", ""), ("envoy.filters.http.cors", ""),
    ("istio.stats", "with Telemetry/Prometheus"), ("envoy.filters.http.router", ""),
]  # fmt: skip
WAYPOINT_HTTP = [
    ("envoy.filters.http.ext_authz", CUSTOM), ("@AUTHN", ""),
    ("envoy.filters.http.jwt_authn", "with a RequestAuthentication"), ("@AUTHZ", ""),
    ("envoy.filters.http.rbac", "with AuthorizationPolicies"), ("(routing filters)", ""), ("@STATS", ""),
    ("@UNSPECIFIED_PHASE", ""), ("istio.upstream_metadata", ""), ("istio.stats", ""),
    ("envoy.filters.http.router", ""),
]  # fmt: skip
TCP_NETWORK = [
    ("istio.metadata_exchange", "when metadata exchange is on"), ("envoy.filters.network.ext_authz", CUSTOM),
    ("@AUTHN", ""), ("@AUTHZ", ""), ("envoy.filters.network.rbac", "with AuthorizationPolicies"),
    ("@STATS", ""), ("@UNSPECIFIED_PHASE", ""), ("istio.stats", "with Telemetry/Prometheus"),
    ("envoy.filters.network.tcp_proxy", ""),
]  # fmt: skip
HCM_NETWORK = [
    ("istio.metadata_exchange", "when metadata exchange is on"), ("@AUTHN", ""), ("@AUTHZ", ""),
    ("@STATS", ""), ("@UNSPECIFIED_PHASE", ""), ("envoy.filters.network.http_connection_manager", ""),
]  # fmt: skip


@dataclass(frozen=True)
class ChainEntry:
    """One filter: Istio's own (``plugin`` None) or a WasmPlugin's."""

    name: str
    plugin: WasmPlugin | None = None
    note: str = ""


@dataclass(frozen=True)
class Decision:
    plugin: WasmPlugin
    included: bool
    reason: str
    where: str = ""


@dataclass
class Chain:
    workload: Workload
    http: list[ChainEntry] = field(default_factory=list)
    network: list[ChainEntry] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def plugins(self) -> list[WasmPlugin]:
        """The selected plugins in the order a connection meets them: network filters, then HTTP."""
        return [e.plugin for e in [*self.network, *self.http] if e.plugin is not None]

    def explain(self) -> str:
        lines = [f"workload: {self.workload.describe()}"]
        for title, entries in (("network filter chain", self.network), ("HTTP filter chain", self.http)):
            if not entries or (entries is self.network and self.http and not any(e.plugin for e in entries)):
                continue
            lines.append(f"{title} (requests in this order, responses in reverse):")
            for i, entry in enumerate(entries, 1):
                if entry.plugin is None:
                    lines.append(f"  {i:2}. {entry.name}" + (f"  ({entry.note})" if entry.note else ""))
                else:
                    p = entry.plugin
                    prio = "unset" if p.priority is None else str(p.priority)
                    where = f"WasmPlugin {p.key}, phase {p.phase.name}, priority {prio}"
                    lines.append(f"  {i:2}. * {entry.name}  [{where}]")
        lines.append("plugins:")
        for d in self.decisions:
            verdict = f"IN  {d.where}" if d.included else "OUT"
            lines.append(f"  {d.plugin.describe()}: {verdict} — {d.reason}")
        return "\n".join(lines)


def select(plugin: WasmPlugin, w: Workload) -> tuple[bool, str]:
    """Does the plugin attach to the workload at all (selector/targetRefs, policyattachment.go)?"""
    if w.kind == "waypoint" or (w.kind == "gateway" and w.gateway_api):
        for ref in plugin.target_refs:
            same_ns = plugin.namespace == w.namespace
            if ref.kind == "Gateway" and same_ns and ref.name == w.name:
                return True, f"targetRefs Gateway {ref.name}"
            if (
                ref.kind == "GatewayClass"
                and plugin.namespace == w.root_namespace
                and ref.name == w.gateway_class
            ):
                return True, f"targetRefs GatewayClass {ref.name} (root namespace)"
            if (
                w.kind == "waypoint"
                and ref.kind in ("Service", "ServiceEntry")
                and same_ns
                and ref.name in w.services
            ):
                return True, f"targetRefs {ref.kind} {ref.name} bound to this waypoint"
        if plugin.target_refs:
            refs = ", ".join(f"{r.kind}/{r.name}" for r in plugin.target_refs)
            return False, f"targetRefs ({refs}) do not reference this {w.kind}"
        if w.kind == "waypoint":
            return False, "waypoints never use selector; attach with targetRefs"
    elif plugin.target_refs:
        return False, "it has targetRefs, which sidecars (and non-Gateway-API gateways) ignore"
    if plugin.match_labels is None:
        scope = (
            "every namespace (root namespace)" if plugin.namespace == w.root_namespace else "its namespace"
        )
        return True, f"no selector: applies to every workload in {scope}"
    missing = {k: v for k, v in plugin.match_labels.items() if w.labels.get(k) != v}
    wanted = ", ".join(f"{k}={v}" for k, v in plugin.match_labels.items()) or "(empty)"
    if missing:
        hint = ",".join(f"labels={k}={v}" for k, v in plugin.match_labels.items())
        return False, (
            f"selector matchLabels {wanted} do not match workload labels "
            f"(to run it there: --workload ns={plugin.namespace},{hint})"
        )
    return True, f"selector matchLabels {wanted} match"


def traffic_match(plugin: WasmPlugin, w: Workload) -> tuple[bool, str]:
    """``match``: any selector; within one, mode and port must both match."""
    if not plugin.match:
        return True, ""
    mode, port = w.traffic_mode, w.match_port
    for i, sel in enumerate(plugin.match):
        mode_ok = sel.mode in (WorkloadMode.UNDEFINED, WorkloadMode.CLIENT_AND_SERVER) or sel.mode is mode
        port_ok = not sel.ports or port in sel.ports
        if mode_ok and port_ok:
            return True, f"match[{i}] fits"
    return False, f"no match entry fits traffic {mode.name} port {port}"


def order(
    plugins: Iterable[WasmPlugin], w: Workload, istio_version: tuple[int, int] = (1, 30)
) -> list[WasmPlugin]:
    """Candidates in Istio's pre-priority order: sorted by (creationTimestamp, name, namespace), grouped
    by namespace: the proxy's namespace, then the root namespace (1.16-1.19: root first)."""
    if istio_version >= (1, 30):
        key = lambda p: (p.creation_timestamp, p.name + "~istio-translated-wasmplugin", p.namespace)  # noqa: E731
    elif istio_version >= (1, 17):
        key = lambda p: (p.creation_timestamp, p.name, p.namespace)  # noqa: E731
    else:
        key = lambda p: (p.creation_timestamp, p.name + "." + p.namespace, "")  # noqa: E731
    ordered = sorted(plugins, key=key)
    own = [p for p in ordered if p.namespace == w.namespace]
    root = [p for p in ordered if p.namespace == w.root_namespace and w.root_namespace != w.namespace]
    return root + own if istio_version < (1, 20) else own + root


def build_chain(
    plugins: Iterable[WasmPlugin], workload: Workload, *, istio_version: tuple[int, int] = (1, 30)
) -> Chain:
    """The chain(s) for ``workload`` with a decision (in or out, and why) for every plugin."""
    all_plugins = list(plugins)
    chain = Chain(workload)
    candidates = order(all_plugins, workload, istio_version)
    for p in all_plugins:
        if p not in candidates:
            chain.decisions.append(
                Decision(
                    p,
                    False,
                    f"namespace {p.namespace} is neither the workload's ({workload.namespace}) "
                    f"nor the root namespace ({workload.root_namespace})",
                )
            )
    selected: list[tuple[WasmPlugin, str]] = []
    for p in candidates:
        ok, why = select(p, workload)
        if ok and p.is_network is False and workload.protocol == "TCP":
            ok, why = False, "an HTTP plugin, and this is a TCP (non-HTTP) listener"
        if ok:
            matched, match_why = traffic_match(p, workload)
            ok, why = (True, f"{why}; {match_why}" if match_why else why) if matched else (False, match_why)
        if ok:
            selected.append((p, why))
        else:
            chain.decisions.append(Decision(p, False, why))
    floor = MIN_INT64 if istio_version < (1, 19) else MIN_INT32
    by_phase: dict[PluginPhase, list[tuple[WasmPlugin, str]]] = {}
    for phase in PHASES:
        members = [s for s in selected if s[0].phase is phase]
        by_phase[phase] = sorted(
            members, key=lambda s: -(s[0].priority if s[0].priority is not None else floor)
        )
    http_layout = (
        WAYPOINT_HTTP if workload.kind == "waypoint"
        else GATEWAY_HTTP if workload.kind == "gateway"
        else INBOUND_HTTP if workload.traffic_mode is WorkloadMode.SERVER
        else OUTBOUND_HTTP
    )  # fmt: skip
    net_layout = TCP_NETWORK if workload.protocol == "TCP" else HCM_NETWORK
    reasons: dict[str, str] = {}
    for layout, target, network in ((net_layout, chain.network, True), (http_layout, chain.http, False)):
        if not network and workload.protocol == "TCP":
            continue
        for name, note in layout:
            if not name.startswith("@"):
                target.append(ChainEntry(name, None, note))
                continue
            for p, why in by_phase[PluginPhase[name[1:]]]:
                if p.is_network is network:
                    target.append(ChainEntry(filter_name(p, istio_version), p))
                    kind = "network" if network else "HTTP"
                    reasons[p.key] = f"{kind} chain position {len(target)} (phase {p.phase.name}); {why}"
    for p, _ in selected:
        chain.decisions.append(
            Decision(p, True, reasons[p.key].split("; ", 1)[1], reasons[p.key].split("; ")[0])
        )
    rank = {p.key: i for i, p in enumerate(all_plugins)}
    chain.decisions.sort(key=lambda d: rank[d.plugin.key])
    return chain
