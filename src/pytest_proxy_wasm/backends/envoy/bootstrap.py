"""Render an Envoy bootstrap (JSON, which Envoy reads as YAML) from a plugin chain description.

The shape follows the bootstrap verified against Envoy 1.40 in shared/reference/istio-envoy.md 3.3.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...host.abi.enums import FailurePolicy
from ..spec import PluginSpec

if TYPE_CHECKING:
    from ...istio.profiles import MeshProfile

WASM_HTTP = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
WASM_NETWORK = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
STRING_VALUE = "type.googleapis.com/google.protobuf.StringValue"
FILE_ACCESS_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
WASM_SERVICE = "type.googleapis.com/envoy.extensions.wasm.v3.WasmService"
TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
UPSTREAM_CLUSTER = "pytest_proxy_wasm_upstream"
ACCESS_LOG_FORMAT = {
    "request_id": "%REQ(X-PYTEST-PROXY-WASM-ID)%",
    "code": "%RESPONSE_CODE%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "flags": "%RESPONSE_FLAGS%",
    "upstream": "%UPSTREAM_HOST%",
}


HEADER_MUTATION = "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"
UPSTREAM_CODEC = "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"
# An upstream filter on each callout cluster copies the forwarded :scheme (which HTTP/1.1 does not
# carry) into this header, so the fake records what Envoy's router really set (fakes.as_sent).
SCHEME_PROBE = {
    "name": "envoy.filters.http.header_mutation",
    "typed_config": {
        "@type": HEADER_MUTATION,
        "mutations": {
            "request_mutations": [
                {
                    "append": {
                        "header": {"key": "x-pytest-proxy-wasm-scheme", "value": "%REQ(:SCHEME)%"},
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    }
                }
            ]
        },
    },
}


@dataclass(frozen=True)
class Cluster:
    name: str
    port: int
    http2: bool = False
    probe_scheme: bool = False  # an HTTP callout cluster: record the forwarded :scheme


def plugin_config(spec: PluginSpec, module_path: Path) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": spec.name,
        "root_id": spec.root_id,
        "vm_config": {
            "vm_id": spec.vm_id,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": str(module_path)}},
        },
    }
    if spec.plugin_config:
        config["configuration"] = {
            "@type": STRING_VALUE,
            "value": spec.plugin_config.decode("utf-8", "replace"),
        }
    if spec.vm_config:
        config["vm_config"]["configuration"] = {
            "@type": STRING_VALUE,
            "value": spec.vm_config.decode("utf-8", "replace"),
        }
    if spec.env or spec.host_env_keys:
        config["vm_config"]["environment_variables"] = {
            "key_values": dict(spec.env),
            "host_env_keys": list(spec.host_env_keys),
        }
    if spec.failure_policy is FailurePolicy.LEGACY_FAIL_OPEN:
        config["fail_open"] = True
    else:
        config["failure_policy"] = spec.failure_policy.value
    return config


def _cluster(cluster: Cluster) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": cluster.name,
        "connect_timeout": "1s",
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": cluster.name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": "127.0.0.1", "port_value": cluster.port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    protocol = (
        {"http2_protocol_options": {}}
        if cluster.http2
        else {"http_protocol_options": {"enable_trailers": True}}
    )
    options: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": protocol,
    }
    if cluster.probe_scheme:
        codec = {"name": "envoy.filters.http.upstream_codec", "typed_config": {"@type": UPSTREAM_CODEC}}
        options["http_filters"] = [SCHEME_PROBE, codec]
    data["typed_extension_protocol_options"] = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": options
    }
    return data


def _route(direct_response: tuple[int, bytes] | None) -> dict[str, Any]:
    if direct_response is None:
        return {"match": {"prefix": "/"}, "route": {"cluster": UPSTREAM_CLUSTER, "timeout": "30s"}}
    status, body = direct_response
    reply: dict[str, Any] = {"status": status}
    if body:
        reply["body"] = {"inline_bytes": base64.b64encode(body).decode()}
    return {"match": {"prefix": "/"}, "direct_response": reply}


def render(
    chain: Sequence[PluginSpec],
    module_paths: Sequence[Path],
    upstream_port: int,
    clusters: Sequence[Cluster],
    access_log: Path,
    *,
    network: bool = False,
    direct_response: tuple[int, bytes] | None = None,
    services: Sequence[tuple[PluginSpec, Path]] = (),
    connection_manager: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A bootstrap with one listener on 127.0.0.1: the chain's Wasm HTTP filters, then the router to the
    upstream (or, with ``direct_response=(status, body)``, a ``direct_response`` route); or
    (``network=True``) the chain as Wasm network filters, then tcp_proxy to the upstream."""
    if network:
        chain = [s if s.network else replace(s, network=True) for s in chain]
    http_filters: list[dict[str, Any]] = [
        {"name": spec.name, "typed_config": {"@type": WASM_HTTP, "config": plugin_config(spec, path)}}
        for spec, path in zip(chain, module_paths, strict=True)
        if not spec.network
    ]
    http_filters.append({"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}})
    hcm = {
        "@type": HCM,
        "stat_prefix": "ingress",
        "http_protocol_options": {"enable_trailers": True},
        "access_log": [
            {
                "name": "envoy.access_loggers.file",
                "typed_config": {
                    "@type": FILE_ACCESS_LOG,
                    "path": str(access_log),
                    "log_format": {"json_format": ACCESS_LOG_FORMAT},
                },
            }
        ],
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [_route(direct_response)],
                }
            ]
        },
        "http_filters": http_filters,
        **(connection_manager or {}),  # use_remote_address, xff_num_trusted_hops ... (downstream.py)
    }
    network_filters: list[dict[str, Any]] = [
        {"name": spec.name, "typed_config": {"@type": WASM_NETWORK, "config": plugin_config(spec, path)}}
        for spec, path in zip(chain, module_paths, strict=True)
        if spec.network
    ]
    terminal: dict[str, Any] = (
        {
            "name": "envoy.filters.network.tcp_proxy",
            "typed_config": {"@type": TCP_PROXY, "stat_prefix": "tcp", "cluster": UPSTREAM_CLUSTER},
        }
        if network
        else {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
    )
    all_clusters = [Cluster(UPSTREAM_CLUSTER, upstream_port), *clusters]
    extensions = [  # singleton services: one root context on the main thread (host/workers.py)
        {
            "name": "envoy.bootstrap.wasm",
            "typed_config": {"@type": WASM_SERVICE, "singleton": True, "config": plugin_config(spec, path)},
        }
        for spec, path in services
    ]
    return {
        **({"bootstrap_extensions": extensions} if extensions else {}),
        "node": {"id": "pytest-proxy-wasm", "cluster": "pytest-proxy-wasm"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "main",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [{"filters": [*network_filters, terminal]}],
                }
            ],
            "clusters": [_cluster(c) for c in all_clusters],
        },
    }


def write(config: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(config, indent=2))
    return path


def write_files(
    workdir: Path,
    chain: Sequence[PluginSpec],
    services: Sequence[PluginSpec],
    upstream_port: int,
    clusters: Sequence[Cluster],
    *,
    network: bool = False,
    direct_response: tuple[int, bytes] | None = None,
    connection_manager: Mapping[str, Any] | None = None,
    profile: MeshProfile | None = None,
) -> Path:
    """Write each module where Envoy reads it and the rendered bootstrap; return the config's path.
    ``profile``: an Istio profile's settings written in (profile_bootstrap.py)."""
    from .profile_bootstrap import apply_profile

    def module_file(name: str, spec: PluginSpec) -> Path:
        path = workdir / f"{name}-{spec.name}.wasm"
        path.write_bytes(spec.module_bytes())
        return path

    config = render(
        chain,
        [module_file(str(index), spec) for index, spec in enumerate(chain)],
        upstream_port,
        clusters,
        workdir / "access.log",
        network=network,
        direct_response=direct_response,
        services=[(spec, module_file(f"service-{index}", spec)) for index, spec in enumerate(services)],
        connection_manager=connection_manager,
    )
    return write(apply_profile(config, profile), workdir / "envoy.json")
