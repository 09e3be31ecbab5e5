"""The in-process Envoy stand-in: owns VMs, plugins, the virtual clock, logs and shared state."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..outcome import LogRecord, Outcome
from .abi.enums import FailurePolicy, LogLevel, StreamType
from .contexts import Context, HttpContext, LocalResponse, RootContext
from .plugin import Plugin
from .properties import PropertyValue, StreamInfo
from .runtime import CompiledModule, Runtime
from .vm import VM

if TYPE_CHECKING:
    from .exchange import Exchange


ConfigInput = bytes | str | Mapping[str, Any] | Sequence[Any] | None


def config_bytes(value: ConfigInput) -> bytes:
    """Plugin/VM configuration as Envoy passes it: bytes as given, str as UTF-8, JSON for objects."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":")).encode()


class VirtualClock:
    """Time as the plugin sees it. Nothing sleeps: the test (or the host) advances it."""

    def __init__(self, start_ns: int | None = None) -> None:
        self.realtime_ns = time.time_ns() if start_ns is None else start_ns
        self.monotonic_ns = 1_000_000_000

    def advance_ns(self, delta_ns: int) -> None:
        self.realtime_ns += delta_ns
        self.monotonic_ns += delta_ns


@dataclass(frozen=True)
class HostOptions:
    """Host settings; ``with_*`` style copies via :meth:`replace`."""

    log_level: int = LogLevel.TRACE
    random_seed: int | None = 0
    start_time_ns: int | None = None
    deadline_seconds: float = 5.0
    memory_limit: int = 1 << 30
    log_tail: int = 20
    properties: Mapping[tuple[str, ...], PropertyValue] = field(default_factory=dict)

    def replace(self, **changes: Any) -> HostOptions:
        return replace(self, **changes)


def _plugin_name(module: str | os.PathLike[str] | bytes, name: str | None) -> str:
    if name:
        return name
    if isinstance(module, bytes):
        return "plugin"
    return os.path.splitext(os.path.basename(os.fspath(module)))[0]


class Host:
    """Everything one Envoy process would hold for the test: create one per test (the fixture does)."""

    def __init__(self, runtime: Runtime | None = None, options: HostOptions | None = None) -> None:
        self._owns_runtime = runtime is None
        self.runtime = runtime or Runtime()
        self.options = options or HostOptions()
        self.clock = VirtualClock(self.options.start_time_ns)
        self.random = random.Random(self.options.random_seed)
        self.records: list[LogRecord] = []
        self.properties: dict[tuple[str, ...], PropertyValue] = dict(self.options.properties)
        self.plugins: list[Plugin] = []
        self.vms: dict[tuple[str, bytes, str], VM] = {}
        self.all_vms: list[VM] = []
        self.roots: list[RootContext] = []
        self.exchanges: dict[int, Exchange] = {}
        self._connection_ids = 0
        self.diagnostics: list[str] = []

    # -- loading -----------------------------------------------------------------------------------

    def load(self, module: str | os.PathLike[str] | bytes) -> CompiledModule:
        return self.runtime.load(module)

    def new_vm(self, compiled: CompiledModule, *, vm_id: str = "", vm_config: bytes = b"",
               env: Mapping[str, str] | None = None, share: bool = True) -> VM:
        """A VM for ``compiled``; shared like Envoy's (vm_id, vm configuration, code) key."""
        key = (vm_id, vm_config, compiled.sha256)
        if share and key in self.vms and self.vms[key].failure is None:
            return self.vms[key]
        vm = VM(self.runtime, compiled, self, vm_id=vm_id, vm_config=vm_config, env=dict(env or {}),
                memory_limit=self.options.memory_limit, deadline_seconds=self.options.deadline_seconds)
        self.vms[key] = vm
        self.all_vms.append(vm)
        return vm

    def load_plugin(self, module: str | os.PathLike[str] | bytes, *, plugin_config: ConfigInput = None,
                    vm_config: ConfigInput = None, env: Mapping[str, str] | None = None, root_id: str = "",
                    vm_id: str = "", name: str | None = None,
                    failure_policy: FailurePolicy | str = FailurePolicy.FAIL_CLOSED) -> Plugin:
        """Load, start and configure a plugin the way Envoy does; raise the named failure if it refuses."""
        compiled = self.runtime.load(module) if not isinstance(module, CompiledModule) else module
        vm = self.new_vm(compiled, vm_id=vm_id, vm_config=config_bytes(vm_config), env=env)
        policy = failure_policy if isinstance(failure_policy, FailurePolicy) else FailurePolicy(failure_policy)
        plugin = Plugin(self, compiled, vm, name=_plugin_name(module, name), root_id=root_id,
                        plugin_config=config_bytes(plugin_config), failure_policy=policy)
        self.plugins.append(plugin)
        self.roots.append(plugin.root)
        return plugin

    # -- logs --------------------------------------------------------------------------------------

    def plugin_log(self, vm: VM, level: int, message: str, source: str = "plugin") -> None:
        context = vm.effective_context()
        plugin = context.plugin.name if context is not None else ""
        self.records.append(LogRecord(level, message, plugin, context.id if context else None, source))

    def host_log(self, level: int, message: str, vm: VM | None = None) -> None:
        self.records.append(LogRecord(level, message, vm.name if vm else "", None, "host"))
        if level >= LogLevel.WARN:
            self.diagnostics.append(message)

    def log_tail(self, vm: VM) -> list[str]:
        names = {p.name for p in self.plugins if p.vm is vm}
        lines = [r.message for r in self.records if r.source != "host" and (not names or r.plugin in names)]
        return lines[-self.options.log_tail :]

    @property
    def logs(self) -> list[LogRecord]:
        """Every log line so far: plugin logs, stdout/stderr and host diagnostics."""
        return list(self.records)

    def log_messages(self, level: str | None = None) -> list[str]:
        return [r.message for r in self.records if r.source != "host" and (level is None or r.level_name == level)]

    def note(self, vm: VM, event: str) -> None:
        self.host_log(LogLevel.DEBUG, event, vm)

    # -- timers ------------------------------------------------------------------------------------

    def set_tick_period(self, root: RootContext, period_ms: int) -> None:
        root.tick_period_ms = period_ms
        root.next_tick_ns = self.clock.monotonic_ns + period_ms * 1_000_000 if period_ms else 0

    def advance(self, milliseconds: float) -> None:
        """Advance virtual time; due ticks fire in time order (issue: timers)."""
        target = self.clock.monotonic_ns + int(milliseconds * 1_000_000)
        while True:
            due = [r for r in self.roots if r.tick_period_ms and r.next_tick_ns <= target]
            if not due:
                break
            root = min(due, key=lambda r: r.next_tick_ns)
            self.clock.advance_ns(max(0, root.next_tick_ns - self.clock.monotonic_ns))
            root.next_tick_ns += root.tick_period_ms * 1_000_000
            root.vm.call(root, "proxy_on_tick", root.id)
            self.after_callback()
        self.clock.advance_ns(max(0, target - self.clock.monotonic_ns))

    # -- stream intents (deferred until the callback returns, as Envoy does) --------------------------

    def request_continue(self, context: Context, stream_type: StreamType) -> None:
        if isinstance(context, HttpContext):
            context.intents.append(("continue", stream_type))

    def request_close(self, context: Context, stream_type: StreamType) -> None:
        if isinstance(context, HttpContext):
            context.intents.append(("close", stream_type))

    def request_local_response(self, context: HttpContext, reply: LocalResponse) -> None:
        context.local_response = reply
        context.intents.append(("local_reply", reply))

    def after_callback(self) -> None:
        """Apply intents recorded on streams by a root-level callback (tick, callout, queue)."""
        for exchange in list(self.exchanges.values()):
            exchange.apply_pending_intents()

    def run_pending(self) -> bool:
        """Deliver the next pending event (callout answers, due timers). False when nothing is pending."""
        return False

    def delete_root(self, root: RootContext) -> None:
        root.vm.call(root, "proxy_on_delete", root.id)
        root.vm.contexts.pop(root.id, None)

    # -- streams -----------------------------------------------------------------------------------

    def new_stream_info(self) -> StreamInfo:
        self._connection_ids += 1
        return StreamInfo(start_ns=self.clock.realtime_ns, connection_id=self._connection_ids,
                          random_bits=self.random.getrandbits(128))

    def request(self, plugins: Plugin | Iterable[Plugin] | None = None, *, method: str = "GET",
                path: str = "/", authority: str = "example.com", scheme: str = "http",
                headers: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
                body: bytes | str | Sequence[bytes] = b"", trailers: Iterable[tuple[str, str]] | None = None,
                upstream_status: int = 200, upstream_headers: Iterable[tuple[str, str]] | None = None,
                upstream_body: bytes | str = b"", upstream_trailers: Iterable[tuple[str, str]] | None = None,
                ) -> Outcome:
        """Run one whole exchange: the request through the chain, a simulated upstream, the response back."""
        from .exchange import Exchange, UpstreamResponse

        chain = list(self.plugins if plugins is None else [plugins] if isinstance(plugins, Plugin) else plugins)
        exchange = Exchange(self, chain)
        response = UpstreamResponse(upstream_status, list(upstream_headers or []), upstream_body,
                                    list(upstream_trailers) if upstream_trailers is not None else None)
        return exchange.run(method=method, path=path, authority=authority, scheme=scheme,
                            headers=headers, body=body, trailers=trailers, upstream=response)

    def close(self) -> None:
        for vm in self.all_vms:
            vm.close()
        self.all_vms.clear()
        self.vms.clear()
        if self._owns_runtime:
            self.runtime.close()

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
