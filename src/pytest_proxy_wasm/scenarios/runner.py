"""Run a scenario on any backend (the ``Backend`` Protocol): plugins, services, clusters, then each
step in order on the same backend, its expectations checked into a ``StepResult``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends.base import Backend
from ..backends.outcome_diff import BackendMismatch
from ..backends.volatile_logs import compile_volatile
from ..errors import ExpectationError, PluginFailedError, PluginStartError
from ..outcome import LogRecord, Outcome, TcpOutcome
from .checks import FieldCheck, Observed, check_step
from .host_settings import check_backend, declare_redis, request_client
from .loader import ScenarioError
from .model import (
    Cluster,
    GrpcDeclaration,
    PluginDecl,
    Scenario,
    ServiceDecl,
    Step,
    body_bytes,
    header_pairs,
)
from .results import ScenarioResult, StepResult


def _lines_since(backend: Backend, start: int) -> list[LogRecord]:
    return [r for r in backend.logs[start:] if r.source != "host"]


def current_metrics(backend: Any) -> dict[str, int]:
    """The custom metrics right now (a diff backend: the emulator's, its Outcomes are compared)."""
    backend = getattr(backend, "emulator", backend)
    metrics: Any = getattr(backend, "metrics", None)
    if hasattr(metrics, "snapshot"):
        return dict(metrics.snapshot())
    return dict(metrics()) if callable(metrics) else {}


def shared_data_reader(backend: Any) -> Callable[[str], list[bytes]] | None:
    """Shared data by key in any VM id (the emulator's; Envoy offers no outside view of it)."""
    store = getattr(getattr(backend, "emulator", backend), "shared_data", None)
    if store is None:
        return None

    def read(key: str) -> list[bytes]:
        return [value for (_, name), (value, _) in store.values.items() if name == key.encode()]

    return read


class ScenarioRun:
    """The state of one scenario on one backend: the chain's handles, the steps so far."""

    def __init__(self, scenario: Scenario, backend: Backend) -> None:
        self.scenario = scenario
        self.backend = backend
        self.chain: list[Any] = []
        self.start_checks: list[FieldCheck] = []
        # Where the current step's logs and call records start (the first step: at the very start,
        # so what the plugins did while starting counts there).
        self.logs_from = self.calls_from = self.grpc_from = self.redis_from = 0

    def start(self) -> None:
        """The clusters first (Envoy starts with them; plugins and services may call out as soon as
        they start), then the services, then the chain."""
        self._check_settings()
        if self.scenario.volatile_logs and hasattr(self.backend, "volatile_logs"):  # diff mode
            self.backend.volatile_logs = compile_volatile(self.scenario.volatile_logs)
        for name, cluster in self.scenario.clusters.items():
            self.declare(name, cluster)
        declare_redis(self.scenario, self.backend)
        for service in self.scenario.services:
            self._load_service(service)
        for index, plugin in enumerate(self.scenario.plugins):
            self._load_plugin(plugin, index)

    def _check_settings(self) -> None:
        """What the schema cannot say, before anything starts: every module file is there, and gRPC
        answers are declared at the top level only, the backend has the scenario's host settings."""
        check_backend(self.scenario, self.backend)
        modules = [("services", i, s.module) for i, s in enumerate(self.scenario.services)]
        modules += [("plugins", i, p.module) for i, p in enumerate(self.scenario.plugins)]
        for kind, index, module in modules:
            path = self.scenario.resolve(module)
            if not path.is_file():
                self._refuse(f"{kind}[{index}].module", f"no such file: {path}")
        for index, step in enumerate(self.scenario.steps):
            for name, cluster in step.clusters.items():
                if cluster.grpc:
                    where = f"steps[{index}].clusters.{name}.grpc"
                    self._refuse(where, "gRPC answers are declared in the top-level clusters")

    def _load_service(self, service: ServiceDecl) -> None:
        self.backend.load_service(
            self.scenario.resolve(service.module),
            plugin_config=service.config,
            vm_config=service.vm_config,
            env=service.env,
            root_id=service.root_id,
            vm_id=service.vm_id,
            name=service.name,
        )

    def _load_plugin(self, plugin: PluginDecl, index: int) -> None:
        path = self.scenario.resolve(plugin.module)
        if path.suffix in (".yaml", ".yml"):
            self._load_wasmplugin(plugin, index)
            return
        if plugin.workload:
            self._refuse(f"plugins[{index}].workload", "only a WasmPlugin YAML module takes a workload")
        if plugin.start_failure is not None:
            self._expect_start_failure(plugin, index, path)
            return
        self.chain.append(self._start(plugin, path))

    def _expect_start_failure(self, plugin: PluginDecl, index: int, path: Path) -> None:
        """The plugin must refuse to start (``PluginStartError``); it is then not in the chain."""
        name = f"plugins[{index}].start_failure"
        try:
            handle = self._start(plugin, path)
        except PluginStartError as exc:
            reason = str(exc)
            passed = re.search(plugin.start_failure or "", reason) is not None
            self.start_checks.append(FieldCheck(name, plugin.start_failure, reason, passed))
            return
        self.chain.append(handle)
        self.start_checks.append(FieldCheck(name, plugin.start_failure, "(the plugin started)", False))

    def _start(self, plugin: PluginDecl, path: Path) -> Any:
        return self.backend.load_plugin(
            path,
            plugin_config=plugin.config,
            vm_config=plugin.vm_config,
            env=plugin.env,
            root_id=plugin.root_id,
            vm_id=plugin.vm_id,
            name=plugin.name,
            failure_policy=plugin.failure_policy,
        )

    def _load_wasmplugin(self, plugin: PluginDecl, index: int) -> None:
        from ..istio import Fetcher, load_wasmplugins

        settings = ("config", "vm_config", "env", "root_id", "vm_id", "name", "start_failure")
        given = [name for name in settings if getattr(plugin, name) not in (None, "", {})]
        if plugin.failure_policy != "FAIL_CLOSED":
            given.append("failure_policy")
        if given:
            remove = ", ".join(given)
            self._refuse(f"plugins[{index}]", f"a WasmPlugin YAML carries its own settings; remove {remove}")
        loaded = load_wasmplugins(
            self.backend, self.scenario.resolve(plugin.module), plugin.workload, Fetcher()
        )
        self.chain += loaded.http_handles

    def _refuse(self, field: str, reason: str) -> None:
        path = tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", field) if p)
        line = self.scenario.line_of(path)
        raise ScenarioError(self.scenario.source or "<scenario>", line, field, reason)

    def declare(self, name: str, cluster: Cluster, replace: bool = False) -> None:
        """A cluster's HTTP answers (``replace``: instead of those declared before) and gRPC answers."""
        backend = self.backend
        if replace:
            backend.withdraw(name)
        if cluster.answers:
            expectation = backend.expect_http_call(name, method=cluster.method, path=cluster.path)
            for answer in cluster.answers:
                if answer.fail is not None:
                    expectation.fail(answer.fail, delay_ms=answer.delay_ms)
                    continue
                expectation.respond_with(
                    answer.status,
                    headers=header_pairs(answer.headers),
                    body=body_bytes(answer.body, answer.body_base64),
                    trailers=header_pairs(answer.trailers) if answer.trailers is not None else None,
                    delay_ms=answer.delay_ms,
                )
        elif not cluster.grpc:
            backend.add_cluster(name)
        for declaration in cluster.grpc:
            self._declare_grpc(name, declaration)

    def _declare_grpc(self, cluster: str, declaration: GrpcDeclaration) -> None:
        expect = self.backend.expect_grpc_stream if declaration.stream else self.backend.expect_grpc_call
        expectation = expect(cluster, declaration.service, declaration.method)
        for answer in declaration.answers:
            if answer.fail:
                extra = {"message": answer.status_message} if answer.status_message else {}
                expectation.fail(status=answer.status or 14, delay_ms=answer.delay_ms, **extra)
                continue
            expectation.respond_with(
                *answer.message_bytes(),
                initial_metadata=header_pairs(answer.initial_metadata),
                trailing_metadata=header_pairs(answer.trailing_metadata),
                status=answer.status,
                status_message=answer.status_message,
                delay_ms=answer.delay_ms,
                close_after=answer.close_after,
            )

    def run_step(self, index: int, step: Step) -> StepResult:
        backend = self.backend
        # Diff mode: the emulator's records (each exchange's callouts are compared by the backend;
        # calls made while time passes depend on real timing on Envoy and are not compared).
        records: Any = getattr(backend, "emulator", backend)
        result = StepResult(index, step.name)
        for name, cluster in step.clusters.items():
            self.declare(name, cluster, replace=True)
        try:
            if step.advance_ms:
                backend.advance(step.advance_ms)
            result.outcome = self._exchange(step)
        except (BackendMismatch, PluginFailedError) as exc:
            result.error = str(exc)
            result.mismatch = isinstance(exc, BackendMismatch)
        result.logs = _lines_since(backend, self.logs_from)
        http_calls, grpc_calls = records.http_calls[self.calls_from :], records.grpc_calls[self.grpc_from :]
        self.logs_from, self.calls_from = len(backend.logs), len(records.http_calls)
        self.grpc_from = len(records.grpc_calls)
        redis_records: list[Any] = getattr(records, "redis_calls", [])
        redis_calls, self.redis_from = redis_records[self.redis_from :], len(redis_records)
        if step.expect is not None and result.error is None:
            outcome = result.outcome
            seen = Observed(
                outcome,
                logs=result.logs,
                http_calls=http_calls,
                grpc_calls=grpc_calls,
                metrics=dict(outcome.metrics) if outcome is not None else current_metrics(backend),
                shared_data=shared_data_reader(backend),
                backend=backend.name,
                redis_calls=redis_calls,
            )
            result.checks = check_step(step.expect, seen)
        return result

    def _exchange(self, step: Step) -> Outcome | TcpOutcome | None:
        if step.connect is not None:
            connect = step.connect
            return self.backend.connect(
                self.chain,
                downstream=[c.encode() for c in connect.downstream],
                upstream_reply=[c.encode() for c in connect.upstream_reply]
                if connect.upstream_reply is not None
                else None,
                close_from=connect.close_from,
            )
        if step.request is None:
            return None
        request = step.request
        body: bytes | list[bytes] = (
            [c.encode() for c in request.chunks]
            if request.chunks is not None
            else body_bytes(request.body, request.body_base64)
        )
        upstream = step.upstream
        direct = step.direct_response
        return self.backend.request(
            self.chain,
            method=request.method,
            path=request.path,
            authority=request.authority,
            scheme=request.scheme,
            headers=header_pairs(request.headers),
            body=body,
            trailers=header_pairs(request.trailers) if request.trailers is not None else None,
            upstream_status=upstream.status if upstream else 200,
            upstream_headers=header_pairs(upstream.headers) if upstream else None,
            upstream_body=body_bytes(upstream.body, upstream.body_base64) if upstream else b"",
            direct_response=(direct.status, direct.body) if direct is not None else None,
            **request_client(request),
        )


def run_scenario(scenario: Scenario, backend: Backend) -> ScenarioResult:
    """Run every step of ``scenario`` on ``backend`` (which the caller creates and closes).

    Raises ``ScenarioError`` (a setting the runner refuses), ``ModuleLoadError``/``PluginStartError``
    (a plugin that cannot start) and ``BackendMismatch`` (diff mode: the backends disagree on start).
    A step that cannot run (diff mode: the backends disagree) is that step's ``error``; later steps
    do not run (their state would be meaningless)."""
    run = ScenarioRun(scenario, backend)
    result = ScenarioResult(scenario, backend.name)
    run.start()
    result.start = run.start_checks
    for index, step in enumerate(scenario.steps):
        step_result = run.run_step(index, step)
        result.steps.append(step_result)
        if step_result.error is not None:
            break
    try:
        backend.check()
    except ExpectationError as exc:
        result.error = str(exc)
    return result


__all__ = ["ScenarioResult", "StepResult", "current_metrics", "run_scenario", "shared_data_reader"]
