"""Run every exchange on the emulator and on Envoy and fail on any difference that is not documented
as backend-specific (docs/backends.md lists them)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from ..errors import ExpectationError
from ..host.abi.enums import FailurePolicy
from ..host.callouts import HttpCallExpectation, HttpCallRecord
from ..host.grpc_fakes import GrpcCallRecord, GrpcExpectation
from ..host.options import ConfigInput
from ..host.proxy_crash import ProxyCrash
from ..outcome import LogRecord, Outcome, TcpOutcome
from .base import Backend, Headers
from .outcome_diff import (
    BACKEND_SPECIFIC_HEADERS,
    BackendMismatch,
    _diff,
    _pairs,
    _raise,
    assert_same,
    comparable,
    comparable_tcp,
)
from .volatile_logs import mask_logs


def _call_fields(record: HttpCallRecord) -> tuple[Any, ...]:
    return (record.cluster, record.headers, record.body, record.trailers, record.timeout_ms, record.matched)


class DiffBackend:
    """Both backends side by side; ``request`` returns the emulator's Outcome after comparing."""

    name = "diff"

    def __init__(self, emulator: Backend, envoy: Backend) -> None:
        self.emulator = emulator
        self.envoy = envoy
        self.requests = 0
        self.twins: dict[int, Any] = {}  # emulator plugin -> Envoy's plugin spec
        self.last_answers: tuple[Any, Any] = (None, None)  # (emulator, Envoy) Outcomes of the last request
        # A request that hangs on the emulator waits this long for Envoy's answer: none = both hung.
        self.hang_wait_s = 5.0
        self.skip_repeated_hangs = False  # once Envoy confirmed a hang, later hangs are not sent to it
        # Log text random by nature (a scenario's volatile_logs), masked on both sides before comparing.
        self.volatile_logs: list[re.Pattern[str]] = []
        self.hangs_confirmed = 0
        self.hangs_skipped = 0

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
    ) -> Any:
        kwargs: dict[str, Any] = {
            "plugin_config": plugin_config,
            "vm_config": vm_config,
            "env": env,
            "root_id": root_id,
            "vm_id": vm_id,
            "name": name,
            "failure_policy": failure_policy,
        }
        errors = []
        plugins = []
        for backend in (self.emulator, self.envoy):
            try:
                plugins.append(backend.load_plugin(module, **kwargs))
            except Exception as exc:
                errors.append(exc)
        if errors and len(errors) != 2:
            raise BackendMismatch(f"only one backend refused the plugin: {errors[0]}")
        if errors:
            raise errors[0]
        self.twins[id(plugins[0])] = plugins[1]
        return plugins[0]

    def load_service(self, module: str | os.PathLike[str] | bytes, **settings: Any) -> Any:
        """A singleton service on both backends; returns the emulator's."""
        errors: list[Exception] = []
        services = []
        for backend in (self.emulator, self.envoy):
            try:
                services.append(backend.load_service(module, **settings))
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise BackendMismatch(f"only one backend refused the service: {errors[0]}")
        if errors:
            raise errors[0]
        return services[0]

    def expect_http_call(
        self, cluster: str, *, method: str | None = None, path: str | None = None, once: bool = False
    ) -> HttpCallExpectation:
        mirror = self.envoy.expect_http_call(cluster, method=method, path=path, once=once)
        primary = self.emulator.expect_http_call(cluster, method=method, path=path, once=once)
        _Mirror.link(primary, mirror)
        return primary

    def expect_grpc_call(
        self, cluster: str, service: str | None = None, method: str | None = None, *, once: bool = False
    ) -> GrpcExpectation:
        mirror = self.envoy.expect_grpc_call(cluster, service, method, once=once)
        primary = self.emulator.expect_grpc_call(cluster, service, method, once=once)
        _Mirror.link(primary, mirror)
        return primary

    def expect_grpc_stream(
        self, cluster: str, service: str | None = None, method: str | None = None, *, once: bool = False
    ) -> GrpcExpectation:
        mirror = self.envoy.expect_grpc_stream(cluster, service, method, once=once)
        primary = self.emulator.expect_grpc_stream(cluster, service, method, once=once)
        _Mirror.link(primary, mirror)
        return primary

    @property
    def grpc_calls(self) -> list[GrpcCallRecord]:
        return self.emulator.grpc_calls

    @property
    def http_calls(self) -> list[HttpCallRecord]:
        """The emulator's records, after checking Envoy's have the same fields (all but ``token``)."""
        emulated, real = self.emulator.http_calls, self.envoy.http_calls
        shown = [_call_fields(r) for r in emulated], [_call_fields(r) for r in real]
        if shown[0] != shown[1]:
            _raise([f"http_calls:\n    emulator: {shown[0]!r}\n    envoy:    {shown[1]!r}"])
        return emulated

    def withdraw(self, cluster: str) -> int:
        self.envoy.withdraw(cluster)
        return self.emulator.withdraw(cluster)

    def add_cluster(self, *names: str) -> None:
        self.emulator.add_cluster(*names)
        self.envoy.add_cluster(*names)

    def connect(self, plugins: Any = None, **kwargs: Any) -> TcpOutcome:
        """One TCP connection on both; compares this connection's logs (the emulator's are cumulative)."""
        chain = None if plugins is None else list(plugins) if isinstance(plugins, list | tuple) else [plugins]
        twins = None if chain is None else [self.twins[id(p)] for p in chain]
        before = len([r for r in self.emulator.logs if r.source != "host"])
        try:
            emulated = self.emulator.connect(chain, **kwargs)
        except ProxyCrash as crash:
            _both_crash(crash, lambda: self.envoy.connect(twins, **kwargs))
        real = _envoy_side(lambda: self.envoy.connect(twins, **kwargs), emulated)
        left = comparable_tcp(emulated, emulated.logs[before:])
        left["metrics"] = self._without_histograms(left["metrics"])
        right = comparable_tcp(real)
        mask_logs(self.volatile_logs, left, right)
        _raise(_diff(left, right), emulated, real)
        return emulated

    def request(self, plugins: Any = None, **kwargs: Any) -> Outcome:
        chain = None if plugins is None else list(plugins) if isinstance(plugins, list | tuple) else [plugins]
        twins = None if chain is None else [self.twins[id(p)] for p in chain]
        headers = list(_pairs(kwargs.pop("headers", None)))
        if not any(k.lower() in ("x-request-id", b"x-request-id") for k, _ in headers):
            self.requests += 1  # the same request id on both sides, as a client would send it
            headers.append(("x-request-id", f"pytest-proxy-wasm-{self.requests}"))
        try:
            emulated = self.emulator.request(chain, headers=headers, **kwargs)
        except ProxyCrash as crash:  # the emulator says Envoy aborts here: does it?
            _both_crash(crash, lambda: self.envoy.request(twins, headers=headers, **kwargs))
        if emulated.hung and self.skip_repeated_hangs and self.hangs_confirmed:
            self.hangs_skipped += 1
            self.last_answers = (emulated, None)  # not sent to Envoy
            return emulated
        real = _envoy_side(lambda: self._on_envoy(emulated.hung, twins, headers=headers, **kwargs), emulated)
        left, right = comparable(emulated), comparable(real)
        if emulated.hung or real.hung:
            left["hung"], right["hung"] = emulated.hung, real.hung
            if emulated.hung and real.hung:  # neither answered; Envoy's details are the client giving up
                left["details"] = right["details"] = ""
                self.hangs_confirmed += 1
        left["metrics"] = self._without_histograms(left["metrics"])
        mask_logs(self.volatile_logs, left, right)
        self.last_answers = (emulated, real)
        _raise(_diff(left, right), emulated, real)
        return emulated

    def _on_envoy(self, hung: bool, twins: Any, **kwargs: Any) -> Outcome:
        """The request on Envoy; when it hung on the emulator, Envoy gets ``hang_wait_s`` to answer."""
        previous = getattr(self.envoy, "exchange_timeout", None)
        if hung and previous is not None:
            self.envoy.exchange_timeout = self.hang_wait_s  # type: ignore[attr-defined]
        try:
            return self.envoy.request(twins, **kwargs)
        finally:
            if hung and previous is not None:
                self.envoy.exchange_timeout = previous  # type: ignore[attr-defined]

    def _without_histograms(self, metrics: dict[str, int]) -> dict[str, int]:
        """Envoy's admin endpoint has no sample count for histograms: compare counters and gauges."""
        defined = getattr(getattr(self.emulator, "metrics", None), "by_name", {})
        histograms = {name for kind, name in defined if int(kind) == 2}
        return {k: v for k, v in metrics.items() if k not in histograms}

    def advance(self, milliseconds: float) -> None:
        self.emulator.advance(milliseconds)
        self.envoy.advance(milliseconds)

    @property
    def logs(self) -> list[LogRecord]:
        return self.emulator.logs

    def log_messages(self, level: str | None = None) -> list[str]:
        return self.emulator.log_messages(level)

    def clear_logs(self) -> None:
        self.emulator.clear_logs()
        self.envoy.clear_logs()

    def check(self) -> None:
        """Check both (each reports a problem once); raise what either found, each problem once."""
        problems: list[str] = []
        for backend in (self.emulator, self.envoy):
            try:
                backend.check()
            except ExpectationError as exc:
                problems += [p for p in str(exc).split("; ") if p not in problems]
        if problems:
            raise ExpectationError("; ".join(problems))

    def close(self) -> None:
        self.emulator.close()
        self.envoy.close()


def _envoy_side(run: Any, emulated: Any) -> Any:
    """Envoy's side of an exchange; an Envoy that died or hung is the difference (docs/backends.md)."""
    from .envoy.faults import EnvoyFault

    try:
        return run()
    except EnvoyFault as fault:
        status = getattr(emulated, "status", None)
        answered = f"answered {status}" if status is not None else f"closed by {emulated.closed_by}"
        line = f"{fault.summary}; the emulator {answered}"
        raise BackendMismatch(f"the emulator and Envoy disagree\n  {line}\n{fault}", [line]) from fault


def _both_crash(crash: ProxyCrash, run: Any) -> NoReturn:
    """The emulator predicts an Envoy crash: agreement re-raises it (with Envoy's words), else a mismatch."""
    from .envoy.faults import EnvoyFault

    try:
        real = run()
    except EnvoyFault as fault:
        crash.envoy = fault.summary  # type: ignore[attr-defined]
        raise crash from fault
    answered = getattr(real, "status", None)
    line = f"the emulator says {crash.summary}; Envoy answered {answered} and runs on"
    raise BackendMismatch(f"the emulator and Envoy disagree\n  {line}", [line]) from crash


class _Mirror:
    """Make ``respond_with``/``fail`` on the emulator's expectation also configure Envoy's."""

    @staticmethod
    def link(
        primary: HttpCallExpectation | GrpcExpectation, mirror: HttpCallExpectation | GrpcExpectation
    ) -> None:
        respond, fail = primary.respond_with, primary.fail

        def respond_with(*args: Any, **kwargs: Any) -> Any:
            mirror.respond_with(*args, **kwargs)
            return respond(*args, **kwargs)

        def fail_both(*args: Any, **kwargs: Any) -> Any:
            mirror.fail(*args, **kwargs)
            return fail(*args, **kwargs)

        primary.respond_with = respond_with  # type: ignore[method-assign]
        primary.fail = fail_both  # type: ignore[method-assign]
        if isinstance(primary, HttpCallExpectation) and isinstance(mirror, HttpCallExpectation):
            withdraw = primary.withdraw

            def withdraw_both() -> None:
                mirror.withdraw()
                withdraw()

            primary.withdraw = withdraw_both  # type: ignore[method-assign]


__all__ = ["BACKEND_SPECIFIC_HEADERS", "BackendMismatch", "DiffBackend", "Headers", "Sequence", "assert_same"]
