"""Istio profiles: what Istio's generated listener, route and bootstrap give a plugin to observe.

A profile is data: the emulator reads it (``HostOptions(profile=...)``, host/mesh.py) and the Envoy
backends write the same settings into their bootstrap (backends/envoy/profile_bootstrap.py), so each
fact is checked on Envoy by differential tests (tests/mesh/test_profiles.py). Sources and Istio
releases are in docs/istio.md ("Profiles").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Envoy's core.v3.TrafficDirection, the value of the ``listener_direction`` property.
UNSPECIFIED, INBOUND, OUTBOUND = 0, 1, 2

_NAMESPACE = "default"
_POD_IP = "10.244.0.12"


def _node_metadata(workload: str, app: str, namespace: str = _NAMESPACE) -> dict[str, Any]:
    """The bootstrap node metadata istio-agent writes (pilot/pkg/model/context.go NodeMetadata and
    BootstrapNodeMetadata json names)."""
    return {
        "NAME": f"{workload}-6d8f9c7b5-x2k4p",
        "NAMESPACE": namespace,
        "WORKLOAD_NAME": workload,
        "OWNER": f"kubernetes://apis/apps/v1/namespaces/{namespace}/deployments/{workload}",
        "LABELS": {"app": app, "version": "v1", "service.istio.io/canonical-name": app},
        "CLUSTER_ID": "Kubernetes",
        "MESH_ID": "cluster.local",
        "SERVICE_ACCOUNT": f"{app}",
        "INSTANCE_IPS": _POD_IP,
        "ISTIO_VERSION": "1.24.0",
        "INTERCEPTION_MODE": "REDIRECT",
    }


@dataclass(frozen=True)
class MeshProfile:
    """One Istio placement of a plugin. Fields named after the Envoy settings they stand for."""

    name: str
    description: str
    # Listener: its name and traffic_direction (the ``listener_direction`` property).
    listener_name: str
    listener_direction: int
    # Route: the route entry's name (``route_name``) and its cluster (``cluster_name``), Istio naming.
    route_name: str
    cluster_name: str
    virtual_host_name: str
    # HttpConnectionManager settings Istio writes (listener_builder.go buildHTTPConnectionManager).
    use_remote_address: bool
    xff_num_trusted_hops: int = 0
    normalize_path: bool = True  # meshConfig.pathNormalization BASE (the default)
    merge_slashes: bool = False  # only with pathNormalization MERGE_SLASHES or DECODE_AND_MERGE_SLASHES
    forward_client_cert_details: str = "SANITIZE"  # Envoy's default; Istio's per class below
    # Bootstrap node: id ``<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local``, cluster and metadata.
    node_id: str = ""
    node_cluster: str = ""
    node_metadata: dict[str, Any] = field(default_factory=dict)

    def properties(self) -> dict[tuple[str, ...], Any]:
        """The properties the emulator answers for this profile, as Envoy 1.40 names them (``xds.*``;
        top-level ``route_name``, ``node`` ... are NotFound there): the Envoy backends get the same
        values from the bootstrap."""
        props: dict[tuple[str, ...], Any] = {
            ("xds", "listener_direction"): self.listener_direction,
            ("xds", "route_name"): self.route_name,
            ("xds", "cluster_name"): self.cluster_name,
            ("xds", "virtual_host_name"): self.virtual_host_name,
            ("xds", "node", "id"): self.node_id,
            ("xds", "node", "cluster"): self.node_cluster,
        }
        for key, value in self.node_metadata.items():
            if isinstance(value, dict):
                props.update({("xds", "node", "metadata", key, k): v for k, v in value.items()})
            else:
                props[("xds", "node", "metadata", key)] = value
        return props


def _sidecar_node(workload: str, app: str) -> dict[str, Any]:
    return {
        "node_id": (
            f"sidecar~{_POD_IP}~{workload}-6d8f9c7b5-x2k4p.{_NAMESPACE}~{_NAMESPACE}.svc.cluster.local"
        ),
        "node_cluster": f"{app}.{_NAMESPACE}",
        "node_metadata": _node_metadata(workload, app),
    }


PROFILES: dict[str, MeshProfile] = {
    "istio-sidecar-inbound": MeshProfile(
        name="istio-sidecar-inbound",
        description="a sidecar's inbound listener: traffic to the workload's own port 8080",
        listener_name="virtualInbound",
        listener_direction=INBOUND,
        route_name="default",
        cluster_name="inbound|8080||",
        virtual_host_name="inbound|http|8080",
        use_remote_address=False,
        forward_client_cert_details="APPEND_FORWARD",
        **_sidecar_node("reviews-v1", "reviews"),
    ),
    "istio-sidecar-outbound": MeshProfile(
        name="istio-sidecar-outbound",
        description="a sidecar's outbound listener: the workload calling reviews.default:8080",
        listener_name="0.0.0.0_8080",
        listener_direction=OUTBOUND,
        route_name="default",
        cluster_name="outbound|8080||reviews.default.svc.cluster.local",
        virtual_host_name="reviews.default.svc.cluster.local:8080",
        use_remote_address=False,
        **_sidecar_node("productpage-v1", "productpage"),
    ),
    "istio-gateway": MeshProfile(
        name="istio-gateway",
        description="the ingress gateway's HTTP listener on 8080, routing to productpage:9080",
        listener_name="0.0.0.0_8080",
        listener_direction=OUTBOUND,
        route_name="productpage",
        cluster_name="outbound|9080||productpage.default.svc.cluster.local",
        virtual_host_name="bookinfo.example.com:8080",
        use_remote_address=True,
        forward_client_cert_details="SANITIZE_SET",
        node_id=(
            f"router~{_POD_IP}~istio-ingressgateway-5c8d7f9b4-q7w2z.istio-system"
            "~istio-system.svc.cluster.local"
        ),
        node_cluster="istio-ingressgateway.istio-system",
        node_metadata=_node_metadata("istio-ingressgateway", "istio-ingressgateway", "istio-system"),
    ),
}


def profile_named(name: str) -> MeshProfile:
    """The profile called ``name``; a clear error naming the choices otherwise."""
    profile = PROFILES.get(name)
    if profile is None:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return profile


def profile_for_workload(workload: Any) -> str:
    """The profile matching an ``istio.Workload`` (``--workload``): gateways ``istio-gateway``,
    sidecars ``istio-sidecar-inbound`` (SERVER) or ``-outbound`` (CLIENT); waypoints none (``""``)."""
    kind = getattr(workload, "kind", "sidecar")
    if kind == "gateway":
        return "istio-gateway"
    if kind != "sidecar":
        return ""
    return "istio-sidecar-outbound" if workload.traffic_mode.name == "CLIENT" else "istio-sidecar-inbound"
