"""Helpers shared by the areas: a companion module that traps, standard requests, outcome checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import wasmtime

from ..backends.outcome_diff import comparable
from ..host.host import Host
from ..host.plugin import Plugin
from ..outcome import Outcome, TcpOutcome
from .cases import CaseFailure, CaseRun, NotApplicable

if TYPE_CHECKING:
    from ..host.exchange import Exchange

_TRAPPER_WAT = """
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (global.get $next) (local.get $n)) (i32.const 15))
                               (i32.const -16)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))
"""


@cache
def trapper_module() -> bytes:
    """A tiny ABI 0.2.1 plugin whose ``proxy_on_request_headers`` always traps (the chain neighbour)."""
    return bytes(wasmtime.wat2wasm(_TRAPPER_WAT))


@cache
def tcp_trapper_module() -> bytes:
    """The network-filter neighbour: its ``proxy_on_new_connection`` always traps."""
    wat = _TRAPPER_WAT.replace(
        '(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)',
        '(func (export "proxy_on_new_connection") (param i32) (result i32) unreachable)',
    )
    return bytes(wasmtime.wat2wasm(wat))


STANDARD_CONNECTIONS: tuple[dict[str, Any], ...] = (
    {"downstream": [b"hello"], "upstream_reply": [b"world"]},
    {
        "downstream": [b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n"],
        "upstream_reply": [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"],
        "close_from": "upstream",
    },
    {"downstream": [b"part-1;", b"part-2;", b"end"], "upstream_reply": [b"ack"]},
    {"downstream": [], "upstream_reply": None},
)


def connection_sane(outcome: TcpOutcome, what: str, plugin: Plugin) -> None:
    """A connection through the plugin: it must not fail its VM."""
    if plugin.failed:
        raise CaseFailure(f"{what}: the plugin failed: {plugin.failed} (Envoy closes the connection)")


def first_connection(host: Host, plugin: Plugin | list[Plugin]) -> TcpOutcome:
    return host.connect(plugin, **STANDARD_CONNECTIONS[0])


STANDARD_REQUESTS: tuple[dict[str, Any], ...] = (
    {"method": "GET", "path": "/"},
    {"method": "GET", "path": "/index.html?q=1", "headers": [("accept", "text/html"), ("x-a", "1")]},
    {
        "method": "POST",
        "path": "/api",
        "headers": [("content-type", "application/json")],
        "body": b'{"a": 1}',
        "upstream_headers": [("content-type", "application/json")],
        "upstream_body": b'{"ok": true}',
    },
    {
        "method": "PUT",
        "path": "/chunks",
        "body": [b"part-1;", b"part-2;", b"end"],
        "trailers": [("x-t", "1")],
    },
)


def describe(request: dict[str, Any]) -> dict[str, Any]:
    """A JSON-friendly copy of request keyword arguments (for the report)."""
    out: dict[str, Any] = {}
    for key, value in request.items():
        if isinstance(value, bytes):
            out[key] = value.decode("latin-1")
        elif isinstance(value, list | tuple):
            out[key] = [describe({"v": v})["v"] for v in value]
        else:
            out[key] = value
    return out


class _Seen(dict[int, "Exchange"]):
    """The host's live-exchange map, remembering the last exchange registered (to explain a hang)."""

    last: Exchange | None = None

    def __setitem__(self, key: int, value: Exchange) -> None:
        self.last = value
        super().__setitem__(key, value)


def request(host: Host, plugins: Plugin | list[Plugin], **kwargs: Any) -> Outcome:
    """``host.request``, and when the stream hangs, a ``hung: ...`` diagnostic naming where it is stuck."""
    seen = _Seen(host.exchanges)
    host.exchanges = seen
    try:
        outcome = host.request(plugins, **kwargs)
    finally:
        host.exchanges = dict(seen)
    if outcome.hung and seen.last is not None:
        outcome = dataclasses.replace(outcome, diagnostics=[*outcome.diagnostics, hang_report(seen.last)])
    return outcome


def hang_report(exchange: Exchange) -> str:
    """``hung: <plugin> paused in <callback> ...; waiting for: ...`` from the exchange's filter state."""
    stuck: list[str] = []
    for side, direction in (("request", exchange.request_side), ("response", exchange.response_side)):
        for i, hold in enumerate(direction.holds):
            name = exchange.streams[i].plugin.name if i < len(exchange.streams) else f"filter {i}"
            if hold.stopped_headers:
                held = f", holding {len(hold.held)} body bytes" if hold.held else ""
                stuck.append(f"{name} paused in proxy_on_{side}_headers (returned StopIteration{held})")
            elif hold.buffering:
                ended = "; the body had ended" if hold.body_eos else ""
                stuck.append(f"{name} is buffering in proxy_on_{side}_body (StopIterationAndBuffer{ended})")
    if exchange.local_reply is not None:
        stuck.append(f"after a local reply {exchange.local_reply.status} ({exchange.local_reply.details})")
    host = exchange.host
    calls = host.callouts.records[exchange.first_call :]
    events = ", ".join(e.label for e in host.scheduler.events)
    waits = [f"{len(host.scheduler)} pending event(s): {events}" if events else "no pending event"]
    if calls:
        unanswered = [c.cluster for c in calls if c.answered_status is None]
        waits.append(
            f"{len(calls)} callout(s) made, {len(unanswered)} unanswered"
            + (f" ({', '.join(unanswered)})" if unanswered else "; all answered, none resumed the stream")
        )
    where = "; ".join(stuck) or "no filter holds it, yet the response never reached the client"
    return f"hung: {where}; waiting for: {'; '.join(waits)}"


CALLOUT_CALLBACKS = (
    "proxy_on_http_call_response",
    "proxy_on_grpc_receive",
    "proxy_on_grpc_receive_initial_metadata",
    "proxy_on_grpc_receive_trailing_metadata",
    "proxy_on_grpc_close",
)


def synthetic_callout_failure(run: CaseRun) -> str | None:
    """The module's failure, when it happened handling an answer the check made up (every cluster answers
    200 "ok"): on Envoy the cluster may not exist or answers something else, so this is only a warning."""
    if getattr(run.target, "callouts", None):
        return None  # the user declared the answers: they are the platform's
    if run.details.get("stand_in_callout"):
        return str(run.details["stand_in_callout"])  # seen on a generated example (hosts closed since)
    try:
        sha = run.compiled().sha256
    except Exception:
        return None
    for host in run.hosts:
        for vm in host.all_vms:
            failure = vm.failure
            if failure is not None and failure.callback in CALLOUT_CALLBACKS and vm.compiled.sha256 == sha:
                return (
                    f"{failure.callback} failed on the check's stand-in callout answer (every cluster "
                    f'answers 200 "ok"; declare real answers with --callout): {failure.kind}: '
                    f"{failure.message}"
                )
    return None


def hang_text(outcome: Outcome) -> str:
    found = [d for d in outcome.diagnostics if d.startswith("hung: ")]
    return (
        found[-1] if found else "hung: the stream never completed (a plugin paused it and nothing resumed it)"
    )


def sane(outcome: Outcome, what: str, plugin: Plugin | None = None) -> None:
    """Never a trap, never a hang, and a valid HTTP status code (``plugin``: only its failure counts)."""
    failed = outcome.plugin_failed if plugin is None else plugin.failed
    if failed:
        raise CaseFailure(f"{what}: the plugin failed: {failed}")
    if outcome.hung:
        raise CaseFailure(f"{what}: the stream {hang_text(outcome)}")
    if outcome.status is not None and not 100 <= outcome.status <= 599:
        raise CaseFailure(f"{what}: invalid status code {outcome.status}")
    if outcome.status is None and not outcome.reset:
        raise CaseFailure(f"{what}: the client got no response headers, and the stream was not reset")


def status_text(outcome: Outcome) -> str:
    """The client's answer in words: a status, a reset, or where the stream hung (never a bare None)."""
    if outcome.hung:
        return hang_text(outcome)
    if outcome.reset:
        return f"reset ({outcome.details or 'no details'})"
    if outcome.status is None:
        return "no response headers"
    return f"status {outcome.status}"


def same_behaviour(left: Outcome | TcpOutcome, right: Outcome | TcpOutcome) -> list[str]:
    """Differences in what the client and upstream saw (logs and cumulative metrics ignored)."""
    if isinstance(left, TcpOutcome) and isinstance(right, TcpOutcome):
        keys = (
            "upstream_received",
            "client_received",
            "closed_by",
            "upstream_connected",
            "client_end_of_stream",
        )
        return [
            f"{k}: {getattr(left, k)!r} != {getattr(right, k)!r}"
            for k in keys
            if getattr(left, k) != getattr(right, k)
        ]
    assert isinstance(left, Outcome) and isinstance(right, Outcome)
    a, b = comparable(left), comparable(right)
    ignored = ("plugin_logs", "metrics", "callouts", "plugin_failed", "diagnostics")
    return [_describe_diff(key, a[key], b[key]) for key in a if key not in ignored and a[key] != b[key]]


def _describe_diff(key: str, a: Any, b: Any) -> str:
    """``key: a != b``, narrowed to the fields and headers that differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return "; ".join(_describe_diff(f"{key}.{k}", a.get(k), b.get(k)) for k in a if a.get(k) != b.get(k))
    if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, tuple) for x in a + b):
        gone = [x for x in a if x not in b]
        new = [x for x in b if x not in a]
        return f"{key}: -{gone!r} +{new!r}"
    return f"{key}: {a!r} != {b!r}"


def first_request(host: Host, plugin: Plugin | list[Plugin]) -> Outcome:
    return request(host, plugin, **STANDARD_REQUESTS[1])


def keeps_state(hostcall_counts: dict[str, int]) -> str | None:
    """The cross-stream state hostcalls the plugin made, if any (such plugins may answer differently)."""
    stateful = {"proxy_set_shared_data", "proxy_enqueue_shared_queue"}
    used = sorted(name for name in stateful if hostcall_counts.get(name))
    return ", ".join(used) or None


Pair = tuple[Outcome | TcpOutcome, Outcome | TcpOutcome]
SEEDS = range(1, 6)  # extra random seeds tried before a difference is called a finding


def assert_same(
    run: CaseRun, scenario: Callable[[int], Pair], plugin_of: Callable[[], Plugin], what: str
) -> None:
    """``scenario(seed)`` builds fresh hosts with that random seed and returns (baseline, other) outcomes.

    Fail on a difference only when it is not explained by randomness (the determinism rule): a plugin whose
    answer to the same request on fresh hosts varies with the host's random seed, or whose other outcome
    matches the baseline under another seed, is not judged; the reason is recorded.
    """
    baseline, outcome = scenario(0)
    diff = same_behaviour(baseline, outcome)
    if not diff:
        return
    shared = keeps_state(plugin_of().vm.hostcall_counts)
    if shared:
        raise NotApplicable(f"the plugin shares state across streams on purpose (it calls {shared})")
    fresh, others = [baseline], [outcome]
    for seed in SEEDS:
        b, o = scenario(seed)
        fresh.append(b)
        others.append(o)
        run.close()
    varies = [s for s, b in enumerate(fresh) if same_behaviour(baseline, b)]
    run.details["determinism"] = {
        "seeds": [0, *SEEDS],
        "fresh_answers_differ_for_seeds": varies,
        "other_matches_baseline_for_seeds": [
            s for s, o in enumerate(others) if not same_behaviour(baseline, o)
        ],
    }
    if varies:
        first = same_behaviour(baseline, fresh[varies[0]])[0][:160]
        raise NotApplicable(
            f"{what}, but the plugin is not deterministic: the same request on fresh hosts gives "
            f"another answer with random seed {varies[0]} ({first}): it draws random numbers, "
            "so runs are not compared"
        )
    if run.details["determinism"]["other_matches_baseline_for_seeds"]:
        raise NotApplicable(
            f"{what} with random seed 0 only; with other seeds it answers as on a fresh host, so the "
            "difference comes from the plugin's random draws, not from state"
        )
    raise CaseFailure(f"{what} (same on every random seed 0-{max(SEEDS)}): " + "; ".join(diff))


def crash_skip_reason(crash: Any) -> str:
    """Why a case is skipped when the plugin crashes Envoy: lifecycle.envoy_survives reports it once."""
    return f"the plugin crashes Envoy (lifecycle.envoy_survives fails): {crash.summary}"
