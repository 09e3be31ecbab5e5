"""Write an Istio profile's settings into the rendered bootstrap (istio/profiles.py).

The same facts the emulator reads: node id, cluster and metadata; the listener's traffic direction;
the route's name and its cluster's Istio name; the connection manager's address and path settings.
"""

from __future__ import annotations

from typing import Any

from ...istio.profiles import MeshProfile
from .bootstrap import UPSTREAM_CLUSTER

_DIRECTIONS = {0: "UNSPECIFIED", 1: "INBOUND", 2: "OUTBOUND"}


def apply_profile(config: dict[str, Any], profile: MeshProfile | None) -> dict[str, Any]:
    """The bootstrap with ``profile`` applied (unchanged without one, or for a network chain)."""
    if profile is None:
        return config
    config["node"] = {
        "id": profile.node_id,
        "cluster": profile.node_cluster,
        "metadata": profile.node_metadata,
    }
    static = config["static_resources"]
    for cluster in static["clusters"]:
        if cluster["name"] == UPSTREAM_CLUSTER:
            cluster["name"] = profile.cluster_name
    listener = static["listeners"][0]
    listener["name"] = profile.listener_name
    listener["traffic_direction"] = _DIRECTIONS[profile.listener_direction]
    for chain in listener["filter_chains"]:
        for network_filter in chain["filters"]:
            typed = network_filter.get("typed_config", {})
            if "route_config" in typed:
                _hcm(typed, profile)
            elif typed.get("cluster") == UPSTREAM_CLUSTER:
                typed["cluster"] = profile.cluster_name  # tcp_proxy
    return config


def _hcm(hcm: dict[str, Any], profile: MeshProfile) -> None:
    # the address settings come with the client's (HostOptions.client_address_settings): not set here
    hcm["normalize_path"] = profile.normalize_path
    hcm["merge_slashes"] = profile.merge_slashes
    hcm["forward_client_cert_details"] = profile.forward_client_cert_details
    if profile.forward_client_cert_details == "APPEND_FORWARD":
        hcm["set_current_client_cert_details"] = {"subject": True, "uri": True, "dns": True}
    for host in hcm["route_config"]["virtual_hosts"]:
        host["name"] = profile.virtual_host_name
        for route in host["routes"]:
            route["name"] = profile.route_name
            action = route.get("route")
            if action is not None and action.get("cluster") == UPSTREAM_CLUSTER:
                action["cluster"] = profile.cluster_name
