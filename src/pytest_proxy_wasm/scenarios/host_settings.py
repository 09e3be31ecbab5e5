"""A scenario's host settings (``now``, the client address, ``platform``, ``profile``, ``redis``): the
``HostOptions`` a backend must be created with, where they cannot hold, and the Redis answers.

The caller creates the backend (``make_backend(name, options=scenario_host_options(scenario))``);
``run_scenario`` refuses a backend created without them, naming the field.
"""

from __future__ import annotations

from typing import Any

from ..host.clock_start import parse_now
from ..host.options import HostOptions
from ..host.redis import RespError, RespSimple
from .loader import ScenarioError
from .model import CLIENT_FIELDS, RedisAnswer, RedisDeclaration, Request, Scenario

HIGRESS_ON_ENVOY = (
    "platform: higress runs on the emulator only: upstream Envoy 1.40 refuses the Higress SDKs' ABI "
    "marker proxy_abi_version_0_2_100 (docs/higress.md)"
)
NOW_ON_ENVOY = (
    "now: sets the emulator's clock; Envoy 1.40 runs on the machine's real clock, which nothing can set "
    "(docs/fidelity.md, Time)"
)


def _refuse(scenario: Scenario, field: str, reason: str) -> ScenarioError:
    return ScenarioError(scenario.source or "<scenario>", scenario.line_of((field,)), field, reason)


def scenario_host_options(scenario: Scenario, base: HostOptions | None = None) -> HostOptions:
    """``base`` (default ``HostOptions()``) with the scenario's host settings. A value the schema cannot
    check (a ``now`` that is not a time, a peer that is not an address) raises ``ScenarioError``."""
    changes: dict[str, Any] = {}
    if scenario.now is not None:
        try:
            changes["start_time_ns"] = parse_now(scenario.now)
        except ValueError as exc:
            raise _refuse(scenario, "now", str(exc).removeprefix("--now: ")) from None
    for name in CLIENT_FIELDS:
        value = getattr(scenario, name)
        if value is not None:
            changes[name] = tuple(value) if name == "internal_address_cidrs" else value
    if scenario.platform is not None:
        changes["platform"] = scenario.platform
    if scenario.profile is not None:
        changes["profile"] = scenario.profile
    options = (base or HostOptions()).replace(**changes)
    try:
        options.client_defaults()
    except ValueError as exc:
        field = "peer_address" if scenario.peer_address is not None else "internal_address_cidrs"
        raise _refuse(scenario, field, str(exc)) from None
    return options


def backend_skip_reason(scenario: Scenario, backend: str) -> str | None:
    """Why the scenario does not run on ``backend`` (its ``backends`` list, or a setting only the
    emulator has); None when it runs there."""
    if not scenario.runs_on(backend):
        return f"the scenario's backends ({', '.join(scenario.backends or [])}) leave out {backend}"
    return _emulator_only(scenario, backend)


def _emulator_only(scenario: Scenario, backend: str) -> str | None:
    """Why a setting only the emulator has keeps the scenario off ``backend``."""
    if backend == "emulator":
        return None
    if scenario.platform == "higress":
        return HIGRESS_ON_ENVOY
    if scenario.now is not None and parse_now_quietly(scenario.now) is not None:
        return NOW_ON_ENVOY
    return None


def parse_now_quietly(value: str | int | float) -> int | None:
    try:
        return parse_now(value)
    except ValueError:
        return None  # scenario_host_options reports it


def check_backend(scenario: Scenario, backend: Any) -> None:
    """Refuse a backend that was not created with the scenario's settings, or cannot have them."""
    reason = _emulator_only(scenario, backend.name)  # (a `backends` list is the caller's to apply)
    if reason is not None:
        raise _refuse(scenario, "platform" if reason == HIGRESS_ON_ENVOY else "now", reason)
    emulator = getattr(backend, "emulator", backend)
    current: HostOptions | None = getattr(emulator, "options", None)
    if current is None:  # an Envoy backend: its client-address defaults
        envoy_defaults = getattr(backend, "client_defaults", None)
        wanted = scenario_host_options(scenario).client_defaults()
        if envoy_defaults is not None and _client_set(scenario) and envoy_defaults != wanted:
            raise _refuse(scenario, "peer_address", _create_with())
        return
    wanted_options = scenario_host_options(scenario, current)
    for name in ("start_time_ns", *CLIENT_FIELDS, "platform", "profile"):
        if getattr(wanted_options, name) != getattr(current, name):
            field = "now" if name == "start_time_ns" else name
            raise _refuse(scenario, field, _create_with())


def _client_set(scenario: Scenario) -> bool:
    return any(getattr(scenario, name) is not None for name in CLIENT_FIELDS)


def _create_with() -> str:
    return (
        "the backend was created without the scenario's host settings; create it with "
        "make_backend(name, options=scenario_host_options(scenario))"
    )


def request_client(request: Request) -> dict[str, Any]:
    """The per-request client-address arguments of ``backend.request`` that the step sets."""
    return {name: getattr(request, name) for name in CLIENT_FIELDS if getattr(request, name) is not None}


def declare_redis(scenario: Scenario, backend: Any) -> None:
    """The top-level ``redis`` answers (``platform: higress`` only)."""
    if not scenario.redis:
        return
    if scenario.platform != "higress" or not hasattr(backend, "expect_redis_call"):
        raise _refuse(scenario, "redis", "Redis answers are for Higress plugins: add platform: higress")
    for cluster, declarations in scenario.redis.items():
        if not declarations:
            backend.add_redis_cluster(cluster)
        for declaration in declarations:
            _declare(backend, cluster, declaration)


def _declare(backend: Any, cluster: str, declaration: RedisDeclaration) -> None:
    expectation = backend.expect_redis_call(cluster, command=declaration.command, args=declaration.args)
    for answer in declaration.answers:
        if answer.fail:
            status = 1 if answer.fail is True else int(answer.fail)
            expectation.fail(status=status, delay_ms=answer.delay_ms)
        elif answer.raw is not None:
            expectation.respond_raw(answer.raw.encode(), delay_ms=answer.delay_ms)
        else:
            expectation.respond_with(_resp_value(answer), delay_ms=answer.delay_ms)


def _resp_value(answer: RedisAnswer) -> Any:
    if answer.simple is not None:
        return RespSimple(answer.simple)
    if answer.error is not None:
        return RespError(answer.error)
    return None if answer.nil else answer.value
