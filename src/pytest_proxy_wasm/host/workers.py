"""Envoy's VMs for one plugin: a configuration canary, then one VM per thread (main and workers).

Verified against Envoy 1.40 (``--concurrency 1``, docs/fidelity.md "Threads and services"):

- a filter plugin is started and configured three times: in a throwaway canary VM (cpp-host's
  configuration check; destroyed without ``on_done``/``on_delete``), on the main thread and on the
  worker. Both thread root contexts tick: a 1 s tick period gives two ticks a second. Streams run on
  the worker.
- a singleton service (``envoy.bootstrap.wasm``, ``singleton: true``) is configured twice: a canary
  and one root context on the main thread, in the main thread's VM for its VM key (so it shares a VM
  with a filter plugin whose vm_id, configuration and code are the same, and nothing otherwise).

Threads are numbered 0 (main) and 1..workers; VMs are shared per thread by Envoy's VM key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .abi.enums import FailurePolicy
from .plugin import Plugin

if TYPE_CHECKING:
    from .host import Host
    from .runtime import CompiledModule

MAIN_THREAD = 0
STREAM_THREAD = 1  # the first worker: every stream (HTTP and TCP) runs there
CANARY = -1  # not a thread: the throwaway VM Envoy configures a plugin in first


def thread_numbers(host: Host) -> list[int]:
    """The threads a filter plugin gets a root context on, in the order Envoy creates them."""
    if not host.options.thread_vms:
        return [STREAM_THREAD]
    workers = host.options.workers
    if workers < 1:
        raise ValueError(f"HostOptions.workers must be at least 1 (Envoy's --concurrency), not {workers}")
    return [MAIN_THREAD, *range(1, workers + 1)]


@dataclass(frozen=True)
class Settings:
    """What Envoy's PluginConfig gives every root context of one plugin (or service)."""

    name: str
    root_id: str
    plugin_config: bytes
    vm_id: str
    vm_config: bytes
    env: Mapping[str, str]
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED


def _start(host: Host, compiled: CompiledModule, thread: int, settings: Settings) -> Plugin:
    vm = host.new_vm(
        compiled, vm_id=settings.vm_id, vm_config=settings.vm_config, env=settings.env, thread=thread
    )
    plugin = Plugin(
        host,
        compiled,
        vm,
        name=settings.name,
        root_id=settings.root_id,
        plugin_config=settings.plugin_config,
        failure_policy=settings.failure_policy,
    )
    plugin.thread = thread
    return plugin


def _canary(host: Host, compiled: CompiledModule, settings: Settings) -> None:
    """cpp-host's configuration canary: start and configure in a fresh VM, then drop it (no on_delete).
    A refusal raises ``PluginStartError`` here, before any thread starts the plugin, as in Envoy."""
    if host.options.thread_vms:
        _start(host, compiled, CANARY, settings).vm.close()


def start_filter(host: Host, compiled: CompiledModule, settings: Settings) -> Plugin:
    """A filter plugin as Envoy starts it; returns the stream thread's plugin (its ``replicas``: the
    same plugin's root contexts on the other threads)."""
    _canary(host, compiled, settings)
    started = [_start(host, compiled, thread, settings) for thread in thread_numbers(host)]
    primary = next(p for p in started if p.thread == STREAM_THREAD)
    primary.replicas = [p for p in started if p is not primary]
    host.all_roots += [p.root for p in started]
    return primary


def start_service(host: Host, compiled: CompiledModule, settings: Settings) -> Plugin:
    """A singleton ``envoy.bootstrap.wasm`` service: a canary, then one root context on the main thread."""
    _canary(host, compiled, settings)
    service = _start(host, compiled, MAIN_THREAD, settings)
    host.all_roots.append(service.root)
    return service
