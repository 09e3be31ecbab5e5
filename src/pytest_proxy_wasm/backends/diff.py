"""Run every exchange on the emulator and on Envoy and fail on any difference that is not documented
as backend-specific (docs/backends.md lists them)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ExpectationError
from ..host.abi.enums import FailurePolicy
from ..host.callouts import HttpCallExpectation
from ..host.options import ConfigInput
from ..outcome import LogRecord, Outcome
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
    }
)


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


class BackendMismatch(ExpectationError):  # noqa: N818 - reads as what it is
    """The emulator and Envoy disagreed on an exchange."""


def _headers(pairs: Iterable[tuple[str, str]] | Iterable[list[str]]) -> list[tuple[str, str]]:
    return [(str(k).lower(), str(v)) for k, v in pairs if str(k).lower() not in BACKEND_SPECIFIC_HEADERS]


_VOLATILE_IN_LOGS = re.compile(r"(x-envoy-upstream-service-time: )\d+")


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
        },
        "local_reply": outcome.local_reply,
        "details": outcome.details,
        "plugin_failed": outcome.plugin_failed is not None,
        "callouts": [(c["cluster"], sorted(_headers(c["headers"])), c["body"]) for c in outcome.callouts],
        "plugin_logs": [(r.level, _VOLATILE_IN_LOGS.sub(r"\g<1>N", r.message)) for r in outcome.logs],
        "metrics": dict(outcome.metrics),
    }


def differences(emulator: Outcome, envoy: Outcome) -> list[str]:
    left, right = comparable(emulator), comparable(envoy)
    lines = []
    for key in left:
        if left[key] != right[key]:
            lines.append(f"{key}:\n    emulator: {left[key]!r}\n    envoy:    {right[key]!r}")
    return lines


def assert_same(emulator: Outcome, envoy: Outcome) -> None:
    found = differences(emulator, envoy)
    if found:
        raise BackendMismatch("the emulator and Envoy disagree\n  " + "\n  ".join(found))


class DiffBackend:
    """Both backends side by side; ``request`` returns the emulator's Outcome after comparing."""

    name = "diff"

    def __init__(self, emulator: Backend, envoy: Backend) -> None:
        self.emulator = emulator
        self.envoy = envoy
        self.requests = 0
        self.twins: dict[int, Any] = {}  # emulator plugin -> Envoy's plugin spec

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

    def expect_http_call(
        self, cluster: str, *, method: str | None = None, path: str | None = None, once: bool = False
    ) -> HttpCallExpectation:
        mirror = self.envoy.expect_http_call(cluster, method=method, path=path, once=once)
        primary = self.emulator.expect_http_call(cluster, method=method, path=path, once=once)
        _Mirror.link(primary, mirror)
        return primary

    def add_cluster(self, *names: str) -> None:
        self.emulator.add_cluster(*names)
        self.envoy.add_cluster(*names)

    def request(self, plugins: Any = None, **kwargs: Any) -> Outcome:
        chain = None if plugins is None else list(plugins) if isinstance(plugins, list | tuple) else [plugins]
        twins = None if chain is None else [self.twins[id(p)] for p in chain]
        headers = list(_pairs(kwargs.pop("headers", None)))
        if not any(k.lower() == "x-request-id" for k, _ in headers):
            self.requests += 1  # the same request id on both sides, as a client would send it
            headers.append(("x-request-id", f"pytest-proxy-wasm-{self.requests}"))
        emulated = self.emulator.request(chain, headers=headers, **kwargs)
        real = self.envoy.request(twins, headers=headers, **kwargs)
        assert_same(emulated, real)
        return emulated

    def advance(self, milliseconds: float) -> None:
        self.emulator.advance(milliseconds)
        self.envoy.advance(milliseconds)

    @property
    def logs(self) -> list[LogRecord]:
        return self.emulator.logs

    def log_messages(self, level: str | None = None) -> list[str]:
        return self.emulator.log_messages(level)

    def check(self) -> None:
        self.emulator.check()
        self.envoy.check()

    def close(self) -> None:
        self.emulator.close()
        self.envoy.close()


class _Mirror:
    """Make ``respond_with``/``fail`` on the emulator's expectation also configure Envoy's."""

    @staticmethod
    def link(primary: HttpCallExpectation, mirror: HttpCallExpectation) -> None:
        respond, fail = primary.respond_with, primary.fail

        def respond_with(*args: Any, **kwargs: Any) -> HttpCallExpectation:
            mirror.respond_with(*args, **kwargs)
            return respond(*args, **kwargs)

        def fail_both(*args: Any, **kwargs: Any) -> HttpCallExpectation:
            mirror.fail(*args, **kwargs)
            return fail(*args, **kwargs)

        primary.respond_with = respond_with  # type: ignore[method-assign]
        primary.fail = fail_both  # type: ignore[method-assign]


__all__ = ["BACKEND_SPECIFIC_HEADERS", "BackendMismatch", "DiffBackend", "Headers", "Sequence", "assert_same"]
