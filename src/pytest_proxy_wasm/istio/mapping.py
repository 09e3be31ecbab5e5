"""WasmPlugin -> PluginSpec, as istiod builds Envoy's ``PluginConfig``.

Source: istio/istio ``pilot/pkg/model/extensions.go`` (shared/reference/istio-envoy.md 1.2).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..backends.spec import PluginSpec
from ..host.abi.enums import FailurePolicy
from .enums import EnvValueSource, FailStrategy, PullPolicy
from .model import WasmPlugin

# Istio FailStrategy (FAIL_CLOSE=0, FAIL_OPEN=1, FAIL_RELOAD=2) -> Envoy FailurePolicy: the numbers differ.
FAILURE_POLICY = {
    FailStrategy.FAIL_CLOSE: FailurePolicy.FAIL_CLOSED,
    FailStrategy.FAIL_OPEN: FailurePolicy.FAIL_OPEN,
    FailStrategy.FAIL_RELOAD: FailurePolicy.FAIL_RELOAD,
}
# Envoy's wire numbers for envoy.extensions.wasm.v3.FailurePolicy.
ENVOY_FAILURE_POLICY_NUMBER = {
    FailurePolicy.FAIL_RELOAD: 1,
    FailurePolicy.FAIL_CLOSED: 2,
    FailurePolicy.FAIL_OPEN: 3,
}
RESOURCE_VERSION_KEY = "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION"
PULL_POLICY_KEY = "ISTIO_META_WASM_IMAGE_PULL_POLICY"
PULL_SECRET_KEY = "ISTIO_META_WASM_IMAGE_PULL_SECRET"
TRANSLATED_SUFFIX = "~istio-translated-wasmplugin"


def plugin_config_json(plugin: WasmPlugin) -> bytes:
    """pluginConfig as compact JSON (jsonpb, no indentation; Struct keys come out sorted); b"" if empty."""
    if not plugin.plugin_config:
        return b""
    return json.dumps(plugin.plugin_config, separators=(",", ":"), sort_keys=True).encode()


def failure_policy(plugin: WasmPlugin, istio_version: tuple[int, int] = (1, 30)) -> FailurePolicy:
    """failStrategy as the Envoy filter gets it: ``failure_policy`` (1.25+), the ``fail_open`` bool
    before (which also lets the trapping request through), nothing at all before 1.19."""
    if istio_version < (1, 19):
        return FailurePolicy.FAIL_CLOSED
    if istio_version < (1, 25):
        open_ = plugin.fail_strategy is FailStrategy.FAIL_OPEN
        return FailurePolicy.LEGACY_FAIL_OPEN if open_ else FailurePolicy.FAIL_CLOSED
    return FAILURE_POLICY[plugin.fail_strategy]


def filter_name(plugin: WasmPlugin, istio_version: tuple[int, int] = (1, 30)) -> str:
    """``PluginConfig.name``: ``<ns>.<name>``, with the TrafficExtension suffix from 1.30 on."""
    base = f"{plugin.namespace}.{plugin.name}"
    return base + TRANSLATED_SUFFIX if istio_version >= (1, 30) else base


def vm_env(
    plugin: WasmPlugin, pull_secret: bytes | None = None, istio_version: tuple[int, int] = (1, 30)
) -> dict[str, str]:
    """``environment_variables.key_values``: INLINE entries, plus the ``ISTIO_META_*`` keys istiod adds.

    istio-agent strips those keys for remote code (1.18+), so the VM sees them only for ``file://``
    (and, before 1.18, everything but the pull secret)."""
    values = {e.name: e.value for e in plugin.env if e.value_from is EnvValueSource.INLINE}
    local = plugin.scheme == "file"
    if local or istio_version < (1, 18):
        values[RESOURCE_VERSION_KEY] = plugin.resource_version
        if plugin.image_pull_policy is not PullPolicy.UNSPECIFIED_POLICY:
            values[PULL_POLICY_KEY] = plugin.image_pull_policy.name
        if plugin.image_pull_secret and local:
            values[PULL_SECRET_KEY] = (pull_secret or b"").decode("utf-8", "replace")
    return values


def host_env_keys(plugin: WasmPlugin) -> tuple[str, ...]:
    return tuple(e.name for e in plugin.env if e.value_from is EnvValueSource.HOST)


def to_plugin_spec(
    plugin: WasmPlugin,
    module: Path | bytes,
    *,
    pull_secret: bytes | None = None,
    istio_version: tuple[int, int] = (1, 30),
) -> PluginSpec:
    """The Envoy filter istiod (and istio-agent, for fetched code) would produce; ``vm_id`` stays empty."""
    return PluginSpec(
        module=module,
        name=filter_name(plugin, istio_version),
        root_id=plugin.plugin_name,
        plugin_config=plugin_config_json(plugin),
        vm_config=b"",
        vm_id="",
        env=vm_env(plugin, pull_secret, istio_version),
        host_env_keys=host_env_keys(plugin),
        failure_policy=failure_policy(plugin, istio_version),
        network=plugin.is_network,
    )
