"""Run every exchange on the emulator and on Envoy and fail on any difference that is not documented
as backend-specific (docs/backends.md lists them)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn

from ..errors import ExpectationError
from ..host.abi.enums import FailurePolicy
from ..host.callouts import HttpCallExpectation, HttpCallRecord
from ..host.grpc_fakes import GrpcCallRecord, GrpcExpectation
from ..host.options import ConfigInput
from ..host.proxy_crash import ProxyCrash
from ..host.trace_diff import divergence_report
from ..outcome import LogRecord, Outcome, TcpOutcome
from .base import Backend, Headers

# Headers one backend adds that say nothing about the plugin.
BACKEND_SPECIFIC_HEADERS = frozenset(
    {
        "date",
        "server",
        "x-envoy-upstream-service-time",
        "x-envoy-expected-rq-timeout-ms",
        "x-request-id",
        "x-forwarded-proto",
        "x-envoy-internal",
        "content-length",
        "transfer-encoding",
        "connection",  # hop-by-hop: Envoy closes an HTTP/1.1 connection after replying mid-request
    }
)


def _pairs(headers: Headers) -> list[tuple[str | bytes, str | bytes]]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


class BackendMismatch(ExpectationError):  # noqa: N818 - reads as what it is
    """The emulator and Envoy disagreed on an exchange; ``differences`` has one entry per field."""

    def __init__(self, message: str, differences: Sequence[str] = (), divergence: str = "") -> None:
        super().__init__(message)
        self.differences = list(differences)
        self.divergence = divergence  # where the two traces part, when both exchanges were traced
        self.emulated: Any = None  # the emulator's Outcome, when an exchange differed
        self.real: Any = None  # Envoy's Outcome


def _headers(pairs: Iterable[tuple[str, str]] | Iterable[list[str]]) -> list[tuple[str, str]]:
    return [(str(k).lower(), str(v)) for k, v in pairs if str(k).lower() not in BACKEND_SPECIFIC_HEADERS]


# The router's timing, as `name: N` or in a printed pair `("name", "N")`.
_VOLATILE_IN_LOGS = re.compile(r"(x-envoy-upstream-service-time\W+)\d+")


def comparable(outcome: Outcome) -> dict[str, Any]:
    """The fields the two backends must agree on, normalized."""
    upstream = outcome.upstream_request
    return {
        "status": outcome.status,
        "response_headers": sorted(_headers(outcome.response_headers)),
        "response_body": outcome.response_body,
        "upstream_request": None
        if upstream is None
        else {
            "method": upstream.method,
            "path": upstream.path,
            "headers": sorted(_headers(upstream.headers)),
            "body": upstream.body,
            "reset": upstream.reset,
        },
        "local_reply": outcome.local_reply,
        "details": outcome.details,
        "plugin_failed": outcome.plugin_failed is not None,
        "callouts": [
            (c["cluster"], sorted(_headers(c["headers"])), c["body"], c["timeout_ms"])
            for c in outcome.callouts
        ],
        "plugin_logs": [(r.level, _VOLATILE_IN_LOGS.sub(r"\g<1>N", r.message)) for r in outcome.logs],
        "metrics": dict(outcome.metrics),
    }


def comparable_tcp(outcome: TcpOutcome, logs: Sequence[LogRecord] | None = None) -> dict[str, Any]:
    """The fields of a TCP connection both backends must agree on (``logs``: this connection's)."""
    return {
        "upstream_received": outcome.upstream_received,
        "client_received": outcome.client_received,
        "closed_by": outcome.closed_by,
        "client_end_of_stream": outcome.client_end_of_stream,
        "plugin_failed": outcome.plugin_failed is not None,
        "plugin_logs": [(r.level, r.message) for r in (outcome.logs if logs is None else logs)],
        "metrics": dict(outcome.metrics),
    }


def differences(emulator: Outcome | TcpOutcome, envoy: Outcome | TcpOutcome) -> list[str]:
    if isinstance(emulator, TcpOutcome) and isinstance(envoy, TcpOutcome):
        left, right = comparable_tcp(emulator), comparable_tcp(envoy)
    else:
        left, right = comparable(emulator), comparable(envoy)  # type: ignore[arg-type]
    return _diff(left, right)


class Sides(NamedTuple):
    """How the two sides of a comparison are named in the lines (``compare`` says old and new)."""

    left: str = "emulator"
    right: str = "envoy"
    left_where: str = "on the emulator"
    right_where: str = "on Envoy"

    def pair(self, left: str, right: str) -> str:
        pad = max(len(self.left), len(self.right)) + 1
        return f"\n    {self.left + ':':<{pad}} {left}\n    {self.right + ':':<{pad}} {right}"


BACKENDS = Sides()


def _diff(left: dict[str, Any], right: dict[str, Any], prefix: str = "") -> list[str]:
    """One entry per differing field: nested dicts by key, lists by the items only one side has."""
    return [text for _, text in field_differences(left, right, prefix)]


def field_differences(
    left: dict[str, Any], right: dict[str, Any], prefix: str = "", sides: Sides = BACKENDS
) -> list[tuple[str, str]]:
    """``(field, text)`` per differing field (``upstream_request.path``, ``metrics.x``, ...)."""
    lines: list[tuple[str, str]] = []
    for key, value in left.items():
        other, name = right.get(key), f"{prefix}{key}"
        if value == other:
            continue
        if isinstance(value, dict) and isinstance(other, dict):
            keys = [*value, *(k for k in other if k not in value)]
            inner = {k: value.get(k) for k in keys}, {k: other.get(k) for k in keys}
            lines += field_differences(*inner, f"{name}.", sides)
        elif isinstance(value, list) and isinstance(other, list) and key in ORDERED:
            lines.append((name, _first_difference(name, value, other, sides)))
        elif isinstance(value, list) and isinstance(other, list):
            only_left = [item for item in value if item not in other]
            only_right = [item for item in other if item not in value]
            width = max(len(sides.left_where), len(sides.right_where)) + 7
            text = (
                f"{name}:\n    {'only ' + sides.left_where + ':':<{width}}{only_left!r}"
                f"\n    {'only ' + sides.right_where + ':':<{width}}{only_right!r}"
                if only_left or only_right
                else f"{name} (same items, different order or count):{sides.pair(repr(value), repr(other))}"
            )
            lines.append((name, text))
        else:
            lines.append((name, f"{name}:{sides.pair(repr(value), repr(other))}"))
    return lines


ORDERED = ("plugin_logs", "callouts")  # order matters: show where they part


def _first_difference(name: str, left: list[Any], right: list[Any], sides: Sides = BACKENDS) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b), min(len(left), len(right))
    )
    counts = f"{len(left)} {sides.left_where}, {len(right)} {sides.right_where}"
    shown = [repr(side[at]) if at < len(side) else "(no more)" for side in (left, right)]
    return f"{name} ({counts}; first difference at #{at}):" + sides.pair(*shown)


def assert_same(emulator: Outcome | TcpOutcome, envoy: Outcome | TcpOutcome) -> None:
    _raise(differences(emulator, envoy))


def _raise(found: list[str], emulated: Any = None, real: Any = None) -> None:
    if found:
        divergence = divergence_report(getattr(emulated, "trace", []), getattr(real, "trace", []))
        extra = "\n" + divergence if divergence else ""
        message = "the emulator and Envoy disagree\n  " + "\n  ".join(found) + extra
        mismatch = BackendMismatch(message, found, divergence or "")
        mismatch.emulated, mismatch.real = emulated, real  # each backend's own answer
        raise mismatch


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
        _raise(_diff(left, comparable_tcp(real)), emulated, real)
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
