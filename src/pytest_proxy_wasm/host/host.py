"""The in-process Envoy stand-in: owns VMs, plugins, the virtual clock, logs and shared state."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import ExpectationError
from ..outcome import LogRecord, Outcome
from .abi.enums import FailurePolicy, StreamType
from .callouts import Callouts
from .client_address import exchange_client
from .contexts import Context, HttpContext, LocalResponse, RootContext
from .declarations import CalloutDeclarations
from .diagnostics import Misuse
from .exchange import Exchange, UpstreamResponse, direct_reply
from .foreign import ForeignFunctions
from .grpc import GrpcCalls
from .headers import HeaderInput
from .higress import HigressExtras
from .host_logs import HostLogs
from .mesh import profile_properties
from .metrics import Metrics
from .options import ConfigInput, HostOptions, VirtualClock, config_bytes
from .platforms import check_module, check_platform_name
from .plugin import Plugin
from .properties import PropertyValue, StreamInfo
from .proxy_crash import ProxyCrash
from .redis import RedisCalls, RedisDeclarations
from .request_head import split_host
from .runtime import CompiledModule, Runtime
from .scheduler import Scheduler
from .shared import SharedData, SharedQueues
from .tcp import TcpContext, TcpStream
from .trace import Tracer, with_trace
from .vm import VM
from .workers import STREAM_THREAD, Settings, start_filter, start_service

if TYPE_CHECKING:
    from ..outcome import TcpOutcome
    from .exchange import Exchange
    from .tcp_connection import UpstreamReply


def _pair_list(pairs: HeaderInput) -> list[tuple[str | bytes, str | bytes]]:
    if pairs is None:
        return []
    if type(pairs) is list:
        return list(pairs)
    return list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)


def _plugin_name(module: str | os.PathLike[str] | bytes | CompiledModule, name: str | None) -> str:
    if name:
        return name
    if isinstance(module, CompiledModule):
        return os.path.splitext(module.name)[0]
    if isinstance(module, bytes | bytearray):
        return "plugin"
    return os.path.splitext(os.path.basename(os.fspath(module)))[0]


class Host(HostLogs, CalloutDeclarations, RedisDeclarations):
    """Everything one Envoy process would hold for the test: create one per test (the fixture does)."""

    proxy_crash: ProxyCrash | None = None  # set when a plugin did what makes Envoy abort (proxy_crash.py)

    def crashed(self) -> None:  # the crash Envoy would have had, for this exchange and every later one
        if self.proxy_crash is not None:
            raise self.proxy_crash

    def __init__(self, runtime: Runtime | None = None, options: HostOptions | None = None) -> None:
        self._owns_runtime = runtime is None
        self.runtime = runtime or Runtime()
        self.options = options or HostOptions()
        self.clock = VirtualClock(self.options.start_time_ns)
        self.random = random.Random(self.options.random_seed)
        self.records: list[LogRecord] = []
        self.properties: dict[tuple[str, ...], PropertyValue] = {
            **profile_properties(self.options),  # an Istio profile's xds.* (host/mesh.py)
            **self.options.properties,
        }
        self.plugins: list[Plugin] = []
        self.vms: dict[tuple[int, str, bytes, str], VM] = {}  # (thread, vm_id, vm config, code)
        self.all_vms: list[VM] = []
        self.roots: list[RootContext] = []  # each filter plugin's root on the stream thread
        self.all_roots: list[RootContext] = []  # every thread's and service's root (workers.py)
        self.services: list[Plugin] = []
        self.exchanges: dict[int, Exchange] = {}
        self._connection_ids = 0
        self.diagnostics: list[str] = []
        self.misuse: list[Misuse] = []  # every misuse diagnostic, in order (diagnostics.py)
        self.misuse_seen: set[tuple[object, ...]] = set()
        self.tracer = Tracer() if self.options.trace else None
        self._reported: set[str] = set()
        self.callouts = Callouts(self)
        self.scheduler = Scheduler(self)
        self.shared_data = SharedData()
        self.queues = SharedQueues()
        self.metrics = Metrics()
        self.grpc = GrpcCalls(self)
        self.foreign_functions = ForeignFunctions()
        self.client_defaults = self.options.client_defaults()  # (peer, settings); a bad one raises here
        check_platform_name(self.options.platform)
        self.redis = RedisCalls(self)  # Higress Redis calls (platform="higress")
        self.higress = HigressExtras()  # Higress's other extensions

    # -- loading -----------------------------------------------------------------------------------

    def load(self, module: str | os.PathLike[str] | bytes) -> CompiledModule:
        return self.runtime.load(module)

    def new_vm(
        self,
        compiled: CompiledModule,
        *,
        vm_id: str = "",
        vm_config: bytes = b"",
        env: Mapping[str, str] | None = None,
        share: bool = True,
        thread: int = STREAM_THREAD,
    ) -> VM:
        """A VM for ``compiled`` on ``thread``; shared per thread like Envoy's (vm_id, vm configuration,
        code) key. The configuration canary (``thread`` < 0) gets a VM of its own."""
        check_module(compiled.name, compiled.abi, self.options.platform)
        key = (thread, vm_id, vm_config, compiled.sha256)
        share = share and thread >= 0
        if share and key in self.vms and self.vms[key].failure is None:
            return self.vms[key]
        vm = VM(
            self.runtime,
            compiled,
            self,
            vm_id=vm_id,
            vm_config=vm_config,
            env=dict(env or {}),
            memory_limit=self.options.memory_limit,
            deadline_seconds=self.options.deadline_seconds,
            checked_calls=self.options.checked_calls,
            fuel_limit=self.options.fuel_limit,
        )
        if thread >= 0:
            self.vms[key] = vm
        self.all_vms.append(vm)
        return vm

    def load_plugin(
        self,
        module: str | os.PathLike[str] | bytes | CompiledModule,
        *,
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        env: Mapping[str, str] | None = None,
        root_id: str = "",
        vm_id: str = "",
        name: str | None = None,
        failure_policy: FailurePolicy | str = FailurePolicy.FAIL_CLOSED,
    ) -> Plugin:
        """Load, start and configure a plugin the way Envoy does; raise the named failure if it refuses."""
        compiled = self.runtime.load(module) if not isinstance(module, CompiledModule) else module
        policy = (
            failure_policy if isinstance(failure_policy, FailurePolicy) else FailurePolicy(failure_policy)
        )
        settings = Settings(
            _plugin_name(module, name),
            root_id,
            config_bytes(plugin_config),
            vm_id,
            config_bytes(vm_config),
            dict(env or {}),
            policy,
        )
        plugin = start_filter(self, compiled, settings)
        self.plugins.append(plugin)
        self.roots.append(plugin.root)
        return plugin

    def load_service(
        self,
        module: str | os.PathLike[str] | bytes | CompiledModule,
        *,
        vm_id: str = "",
        root_id: str = "",
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> Plugin:
        """Start a singleton service (Envoy's ``envoy.bootstrap.wasm``, ``singleton: true``): a root
        context on the main thread, in that thread's VM for its key; never part of a filter chain."""
        compiled = self.runtime.load(module) if not isinstance(module, CompiledModule) else module
        settings = Settings(
            _plugin_name(module, name),
            root_id,
            config_bytes(plugin_config),
            vm_id,
            config_bytes(vm_config),
            dict(env or {}),
        )
        service = start_service(self, compiled, settings)
        self.services.append(service)
        return service

    # -- timers ------------------------------------------------------------------------------------

    def set_tick_period(self, root: RootContext, period_ms: int) -> None:
        root.tick_period_ms = period_ms
        root.next_tick_ns = self.clock.monotonic_ns + period_ms * 1_000_000 if period_ms else 0

    def advance(self, milliseconds: float) -> None:
        """Advance virtual time; due ticks and callout answers fire in time order. Nothing sleeps."""
        target = self.clock.monotonic_ns + int(milliseconds * 1_000_000)
        while (found := self.scheduler.next_due(target)) is not None:
            self.scheduler.fire(*found)
            self.crashed()
        self.clock.advance_ns(max(0, target - self.clock.monotonic_ns))

    # -- stream intents (deferred until the callback returns, as Envoy does) --------------------------

    def request_continue(self, context: Context, stream_type: StreamType) -> None:
        if isinstance(context, HttpContext | TcpContext):
            context.intents.append(("continue", stream_type))

    def request_close(self, context: Context, stream_type: StreamType) -> None:
        if isinstance(context, HttpContext | TcpContext):
            context.intents.append(("close", stream_type))

    def request_local_response(self, context: HttpContext, reply: LocalResponse) -> None:
        context.local_response = reply
        context.intents.append(("local_reply", reply))

    def after_callback(self) -> None:
        """Apply intents recorded on streams by a root-level callback (tick, callout, queue)."""
        for exchange in list(self.exchanges.values()):
            exchange.apply_pending_intents()

    def check(self) -> None:
        """Raise ``ExpectationError`` for undeclared HTTP/gRPC callouts or unused once-expectations.

        Each problem is reported once: the fixture's teardown check stays quiet about what a test
        already asserted on.
        """
        problems: list[str] = []
        for checker in (self.callouts.check, self.grpc.check, self.redis.check):
            try:
                checker()
            except ExpectationError as exc:
                problems += [p for p in str(exc).split("; ") if p not in self._reported]
        if problems:
            self._reported.update(problems)
            raise ExpectationError("; ".join(problems))

    def run_pending(self, horizon_ns: int | None = None) -> bool:
        """Deliver the next pending event (callout answer, queue notification or tick) in time order.

        False when nothing is pending by ``horizon_ns`` (monotonic; default: no limit).
        """
        found = self.scheduler.next_due(horizon_ns if horizon_ns is not None else 1 << 62)
        if found is None:
            return False
        self.scheduler.fire(*found)
        return True

    def delete_root(self, root: RootContext) -> None:
        root.vm.call(root, "proxy_on_delete", root.id)
        root.vm.contexts.pop(root.id, None)

    # -- streams -----------------------------------------------------------------------------------

    def new_stream_info(self) -> StreamInfo:
        self._connection_ids += 1
        return StreamInfo(
            start_ns=self.clock.realtime_ns,
            connection_id=self._connection_ids,
            random_bits=self.random.getrandbits(128),
        )

    def request(
        self,
        plugins: Plugin | Iterable[Plugin] | None = None,
        *,
        method: str = "GET",
        path: str = "/",
        authority: str | None = None,
        scheme: str = "http",
        headers: HeaderInput = None,
        body: bytes | str | Sequence[bytes] = b"",
        trailers: HeaderInput = None,
        upstream_status: int = 200,
        upstream_headers: HeaderInput = None,
        upstream_body: bytes | str = b"",
        upstream_trailers: HeaderInput = None,
        direct_response: tuple[int, bytes | str] | None = None,
        peer_address: str | None = None,
        use_remote_address: bool | None = None,
        xff_num_trusted_hops: int | None = None,
        skip_xff_append: bool | None = None,
        internal_address_cidrs: Sequence[str] | None = None,
    ) -> Outcome:
        """Run one whole exchange: the request through the chain, a simulated upstream, the response back.

        ``direct_response=(status, body)``: the route is Envoy's ``direct_response`` instead of the upstream
        (the router's local reply once the request headers reach it; see docs/backends.md).
        ``authority``: ``example.com`` unless given, here or as a ``host`` header (request_head.py).
        ``peer_address`` and the client-address settings: this exchange's (docs/fidelity.md).
        """
        authority, headers = split_host(authority, headers)
        chain = list(
            self.plugins if plugins is None else [plugins] if isinstance(plugins, Plugin) else plugins
        )
        direct = direct_reply(*direct_response) if direct_response is not None else None  # checked first
        exchange = Exchange(self, chain)
        exchange.direct_response = direct
        exchange.peer, exchange.client_settings = exchange_client(
            exchange.client_defaults, peer_address, use_remote_address, xff_num_trusted_hops, skip_xff_append,
            internal_address_cidrs,
        )  # fmt: skip
        response = UpstreamResponse(
            upstream_status,
            _pair_list(upstream_headers),
            upstream_body,
            _pair_list(upstream_trailers) if upstream_trailers is not None else None,
        )
        first = len(self.tracer.records) if self.tracer is not None else 0
        self.crashed()
        outcome = exchange.run(
            method=method,
            path=path,
            authority=authority,
            scheme=scheme,
            headers=headers,
            body=body,
            trailers=trailers,
            upstream=response,
        )
        self.crashed()
        return with_trace(self, outcome, first)

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

    # -- TCP (helper) --

    def tcp_stream(self, plugin: Plugin) -> TcpStream:
        """One plugin's TCP connection, driven callback by callback (``on_new_connection()``, ...)."""
        return TcpStream(plugin, self.new_stream_info())

    def connect(
        self,
        plugins: Plugin | Iterable[Plugin] | None = None,
        *,
        downstream: bytes | str | Sequence[bytes | str] = (),
        upstream_reply: UpstreamReply = None,
        close_from: str = "downstream",
    ) -> TcpOutcome:
        """Run one whole TCP connection through the network-filter chain (see ``tcp_connection.py``).

        ``upstream_reply``: a callable given each batch of bytes that reached the upstream and returning
        the bytes (or chunks) it answers, or a list of chunks the upstream sends after the client's data.
        ``close_from``: who ends it if no plugin closed it first, ``"downstream"`` or ``"upstream"``.
        """
        from .tcp_connection import TcpConnection

        chain = list(
            self.plugins if plugins is None else [plugins] if isinstance(plugins, Plugin) else plugins
        )
        chunks = [downstream] if isinstance(downstream, bytes | str) else list(downstream)
        first = len(self.tracer.records) if self.tracer is not None else 0
        self.crashed()
        outcome = TcpConnection(self, chain).run(chunks, upstream_reply, close_from)
        self.crashed()
        return with_trace(self, outcome, first)
