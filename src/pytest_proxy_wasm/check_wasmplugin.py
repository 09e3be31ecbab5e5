"""``check plugins.yaml``: the plugin a WasmPlugin YAML describes, resolved the way Istio would give it to
Envoy (module fetched and checked against ``sha256``, ``pluginConfig`` as JSON, ``vmConfig.env``, root id
from ``pluginName``), turned into ``check`` arguments."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .istio.cli import _fetch_options
from .istio.fetch import Fetcher
from .istio.mapping import to_plugin_spec
from .istio.model import WasmPlugin
from .istio.validate import load_documents


def add_fetch_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("WasmPlugin YAML (when MODULE is a .yaml file)")
    _fetch_options(group)


def choose(plugins: list[WasmPlugin], name: str, source: Path) -> WasmPlugin:
    if name:
        found = [p for p in plugins if name in (p.name, p.key)]
        if not found:
            names = ", ".join(p.key for p in plugins) or "none"
            raise ValueError(f"{source}: no WasmPlugin named {name!r} (found: {names})")
        return found[0]
    if len(plugins) != 1:
        names = ", ".join(p.key for p in plugins) or "none"
        raise ValueError(f"{source}: {len(plugins)} WasmPlugins ({names}); choose one with --wasmplugin NAME")
    return plugins[0]


def describe(plugin: WasmPlugin, source: Path, checksum: str, env: dict[str, str]) -> str:
    parts = [
        f"WasmPlugin {plugin.key} from {source.name}",
        f"url {plugin.url}",
        f"sha256 {plugin.sha256 or checksum or '-'}",
        f"phase {plugin.phase.name}",
        f"failStrategy {plugin.fail_strategy.name}",
        f"pluginName {plugin.plugin_name or '-'}",
    ]
    if env:
        parts.append("vmConfig.env " + ", ".join(f"{k}={v}" for k, v in sorted(env.items())))
    return "; ".join(parts)


def from_wasmplugin(args: argparse.Namespace, workdir: Path) -> None:
    """Replace each YAML in ``args.module`` with its fetched module and set its configuration on
    ``args`` (options given on the command line win)."""
    modules: list[Path] = []
    for source in args.module:
        if source.suffix not in (".yaml", ".yml"):
            modules.append(source)
            continue
        documents = load_documents(source)
        plugin = choose(documents.plugins, args.wasmplugin, source)
        fetcher = Fetcher(
            cache_dir=args.cache_dir,
            hosts=dict(args.map_host),
            secrets={**documents.secrets, **{n: Path(p).read_bytes() for n, p in args.secret}},
        )
        local = dict(args.map_file).get(plugin.url.removeprefix("file://"))
        checksum = ""
        if plugin.scheme == "file" and local:
            module = Path(local)
        else:
            fetched = fetcher.fetch(plugin)
            module, checksum = fetched.module, fetched.checksum
        secret = fetcher.secrets.get(f"{plugin.namespace}/{plugin.image_pull_secret}")
        spec = to_plugin_spec(plugin, module, pull_secret=secret, istio_version=args.istio_version)
        target = workdir / f"{plugin.namespace}.{plugin.name}.wasm"
        target.write_bytes(module.read_bytes())
        modules.append(target)
        env = spec.vm_environment()
        _fill(args, spec.plugin_config.decode(), spec.root_id, env)
        args.origin = describe(plugin, source, checksum, env)
    args.module = modules


def _fill(args: argparse.Namespace, plugin_config: str, root_id: str, env: dict[str, Any]) -> None:
    if not args.plugin_config and plugin_config:
        args.plugin_config = plugin_config
    if not args.root_id:
        args.root_id = root_id
    given = {item.partition("=")[0] for item in args.env}
    args.env = [*args.env, *(f"{k}={v}" for k, v in env.items() if k not in given)]
