"""Platforms a plugin is built for: upstream Envoy (the default) or a Higress gateway.

Higress's SDKs export ``proxy_abi_version_0_2_100`` and import Higress-only hostcalls (Redis calls and a
few others). Upstream Envoy 1.40 refuses that marker ("Missing or unknown Proxy-Wasm ABI version"), so
the emulator refuses it too unless ``HostOptions(platform="higress")``. The Higress behaviours come from
Higress's sources (its Go SDK and its Go test host), not from a running Higress gateway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ProxyWasmError, UnknownAbiVersionError
from .abi.enums import AbiVersion
from .properties import PropertyValue

PLATFORMS = ("envoy", "higress")
HIGRESS_MARKER = AbiVersion.V0_2_100.marker


def check_platform_name(platform: str) -> str:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; choose from {', '.join(PLATFORMS)}")
    return platform


def refusal(module: str) -> UnknownAbiVersionError:
    """The named error for a Higress module on upstream Envoy (the emulator's default, or Envoy itself)."""
    return UnknownAbiVersionError(
        module,
        f"{HIGRESS_MARKER} is the Higress SDKs' ABI marker; upstream Envoy 1.40 refuses it (Missing or "
        "unknown Proxy-Wasm ABI version). Run it on the emulator with HostOptions(platform='higress') "
        "(--proxy-wasm-platform higress, run/check --platform higress)",
    )


def check_module(module: str, abi: AbiVersion, platform: str) -> None:
    """Refuse a Higress-marked module unless the host emulates Higress."""
    if abi is AbiVersion.V0_2_100 and platform != "higress":
        raise refusal(module)


def has_higress_marker(wasm: bytes) -> bool:
    """Whether the module's bytes name the Higress marker (an export name is stored as plain UTF-8)."""
    return HIGRESS_MARKER.encode() in wasm


def higress_route(
    route: str,
    *,
    service: str = "",
    port: int = 80,
    request_id: str = "",
) -> Mapping[tuple[str, ...], PropertyValue]:
    """The properties a Higress gateway gives a plugin for one route, for ``HostOptions(properties=...)``.

    wasm-go's ``_rules_`` matching reads ``route_name`` (``_match_route_``, ``_match_route_prefix_``),
    ``cluster_name`` in Istio's ``outbound|PORT||FQDN`` form (``_match_service_``) and the request's
    ``:authority`` (``_match_domain_``); higress-group/wasm-go pkg/matcher/rule_matcher.go.
    """
    props: dict[tuple[str, ...], PropertyValue] = {("route_name",): route}
    if service:
        props[("cluster_name",)] = f"outbound|{port}||{service}"
    if request_id:
        props[("x_request_id",)] = request_id
    return props


def envoy_refusal(
    failure: ProxyWasmError | None, modules: Sequence[tuple[str, Path | bytes]]
) -> ProxyWasmError | None:
    """Envoy's "unknown ABI version" refusal of a Higress module, named as ``refusal`` names it."""
    if not isinstance(failure, UnknownAbiVersionError):
        return failure
    for name, module in modules:
        try:
            data = module if isinstance(module, bytes) else Path(module).read_bytes()
        except OSError:
            continue
        if name == failure.module and has_higress_marker(data):
            return refusal(name)
    return failure
