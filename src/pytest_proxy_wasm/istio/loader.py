"""Load WasmPlugin YAML into a backend: validate, build the workload's chain, fetch, map, load."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..backends.base import Backend
from ..backends.spec import PluginSpec
from ..host.host import Host
from ..outcome import Outcome, TcpOutcome
from .chain import Chain, build_chain
from .deny import DenyAllFilter, deny_module
from .enums import FailStrategy
from .fetch import Fetcher
from .mapping import to_plugin_spec
from .model import FetchError, WasmPlugin
from .validate import load_documents
from .workload import Workload, parse_workload


@dataclass
class LoadedPlugin:
    plugin: WasmPlugin
    status: str  # "loaded", "skipped (fetch failed, FAIL_OPEN)", "denied (fetch failed)"
    spec: PluginSpec | None = None
    handle: Any = None  # what backend.load_plugin returned, or the deny-all element
    error: str = ""
    log: tuple[str, ...] = ()  # the fetch, as istio-agent would log it

    def details(self) -> list[str]:
        """The fetch and the VM's environment as ``vmConfig.env`` resolved it (what ``run`` prints)."""
        lines = list(self.log)
        if self.spec is not None:
            lines += vm_env_lines(self.plugin, self.spec)
        return lines


@dataclass
class IstioChain:
    """The plugins Istio would run for a workload, loaded into ``backend`` in chain order."""

    backend: Backend
    chain: Chain
    loaded: list[LoadedPlugin] = field(default_factory=list)

    @property
    def http_handles(self) -> list[Any]:
        return [lp.handle for lp in self.loaded if lp.handle is not None and not lp.plugin.is_network]

    @property
    def network_handles(self) -> list[Any]:
        return [lp.handle for lp in self.loaded if lp.handle is not None and lp.plugin.is_network]

    def request(self, **kwargs: Any) -> Outcome:
        """One HTTP exchange through the HTTP-type plugins (``Backend.request`` keywords)."""
        return self.backend.request(self.http_handles, **kwargs)

    def connect(self, **kwargs: Any) -> TcpOutcome:
        """One TCP connection through the NETWORK-type plugins (``Backend.connect`` keywords)."""
        return self.backend.connect(self.network_handles, **kwargs)

    def explain(self) -> str:
        lines = [self.chain.explain(), "loading:"]
        for lp in self.loaded:
            lines.append(f"  {lp.plugin.key}: {lp.status}" + (f" — {lp.error}" if lp.error else ""))
            lines += [f"    {line}" for line in lp.details()]
        return "\n".join(lines)


def vm_env_lines(plugin: WasmPlugin, spec: PluginSpec) -> list[str]:
    """Each variable the VM sees (or does not), and where it came from."""
    declared = {e.name for e in plugin.env}
    lines = []
    for key, value in spec.env.items():
        source = "vmConfig.env value" if key in declared else "added by istiod"
        lines.append(f"{key}={value}  ({source})")
    for key in spec.host_env_keys:
        if key in os.environ:
            lines.append(f"{key}={os.environ[key]}  (valueFrom HOST: this machine's environment)")
        else:
            lines.append(f"{key}: valueFrom HOST, not set here: the VM does not see it (Envoy drops it)")
    if not lines:
        return ["vm env: empty"]
    return ["vm env:", *(f"  {line}" for line in lines)]


def _load(backend: Backend, spec: PluginSpec, module: Path | bytes) -> Any:
    kwargs: dict[str, Any] = {
        "plugin_config": spec.plugin_config,
        "root_id": spec.root_id,
        "name": spec.name,
        "failure_policy": spec.failure_policy,
    }
    if "host_env_keys" in inspect.signature(backend.load_plugin).parameters:
        kwargs["env"], kwargs["host_env_keys"] = dict(spec.env), spec.host_env_keys
    else:
        kwargs["env"] = spec.vm_environment()  # the VM sees key_values plus the HOST keys that are set
    return backend.load_plugin(module if isinstance(module, bytes) else str(module), **kwargs)


def load_wasmplugins(
    backend: Backend,
    source: str | Path | Iterable[WasmPlugin],
    workload: Workload | str = "",
    fetcher: Fetcher | None = None,
    *,
    secrets: Mapping[str, bytes] | None = None,
    files: Mapping[str, str | Path] | None = None,
    istio_version: tuple[int, int] = (1, 30),
) -> IstioChain:
    """Load the WasmPlugins of ``source`` (a YAML file, YAML text, or parsed plugins) that apply to
    ``workload`` into ``backend``, in Istio's chain order.

    ``fetcher`` fetches http(s)/oci modules (``Fetcher(hosts={"private-registry:5000": "127.0.0.1:PORT"})``);
    ``secrets`` adds ``namespace/name -> .dockerconfigjson`` (Secrets in the YAML count too); ``files`` maps
    a ``file://`` path to a local module. A failed fetch follows Istio 1.25+: FAIL_OPEN skips the plugin,
    anything else puts a deny-all filter (``403 RBAC: access denied``) in its place.
    """
    if isinstance(workload, str):
        workload = parse_workload(workload)
    found_secrets: dict[str, bytes] = {}
    if isinstance(source, str | Path):
        documents = load_documents(source)
        plugins, found_secrets = documents.plugins, documents.secrets
    else:
        plugins = list(source)
    fetcher = fetcher or Fetcher()
    fetcher.secrets = {**found_secrets, **fetcher.secrets, **(secrets or {})}
    chain = build_chain(plugins, workload, istio_version=istio_version)
    result = IstioChain(backend, chain)
    for plugin in chain.plugins:
        try:
            module: Path | bytes
            log: tuple[str, ...] = ()
            if plugin.scheme == "file" and files and plugin.url[len("file://") :] in files:
                module = Path(files[plugin.url[len("file://") :]])
                log = (f"local file {plugin.url[len('file://') :]}: read from {module} (--map-file)",)
            else:
                fetched = fetcher.fetch(plugin)
                module, log = fetched.module, fetched.log
        except FetchError as exc:
            if plugin.scheme == "file":
                raise  # Envoy itself rejects a filter whose local file is missing
            result.loaded.append(_fetch_failed(backend, plugin, exc, istio_version))
            continue
        secret = fetcher.secrets.get(f"{plugin.namespace}/{plugin.image_pull_secret}")
        spec = to_plugin_spec(plugin, module, pull_secret=secret, istio_version=istio_version)
        result.loaded.append(LoadedPlugin(plugin, "loaded", spec, _load(backend, spec, module), log=log))
    return result


def _fetch_failed(
    backend: Backend, plugin: WasmPlugin, exc: FetchError, istio_version: tuple[int, int]
) -> LoadedPlugin:
    if plugin.fail_strategy is FailStrategy.FAIL_OPEN:
        return LoadedPlugin(plugin, "skipped (fetch failed, FAIL_OPEN: allow-all RBAC)", error=str(exc))
    if istio_version < (1, 25):
        raise FetchError(f"{plugin.describe()}: ECDS update NACKed (Istio < 1.25): {exc}", exc.result)
    name = f"{plugin.namespace}.{plugin.name}"
    handle: Any
    if isinstance(backend, Host):
        handle = cast(Any, DenyAllFilter(name, str(exc)))
    else:
        handle = backend.load_plugin(deny_module(), name=f"{name}.wasm-default-deny")
    return LoadedPlugin(plugin, "denied (fetch failed: deny-all RBAC, 403)", handle=handle, error=str(exc))
