"""Helpers shared by the areas: a companion module that traps, standard requests, outcome checks."""

from __future__ import annotations

from functools import cache
from typing import Any

import wasmtime

from ..backends.diff import comparable
from ..host.host import Host
from ..host.plugin import Plugin
from ..outcome import Outcome
from .cases import CaseFailure, NotApplicable

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


def sane(outcome: Outcome, what: str, plugin: Plugin | None = None) -> None:
    """Never a trap, never a hang, and a valid HTTP status code (``plugin``: only its failure counts)."""
    failed = outcome.plugin_failed if plugin is None else plugin.failed
    if failed:
        raise CaseFailure(f"{what}: the plugin failed: {failed}")
    if outcome.hung:
        raise CaseFailure(f"{what}: the stream hung (the plugin paused and never continued)")
    if outcome.status is not None and not 100 <= outcome.status <= 599:
        raise CaseFailure(f"{what}: invalid status code {outcome.status}")
    if outcome.status is None and not outcome.reset:
        raise CaseFailure(f"{what}: the client got no response")


def same_behaviour(left: Outcome, right: Outcome) -> list[str]:
    """Differences in what the client and upstream saw (logs and cumulative metrics ignored)."""
    a, b = comparable(left), comparable(right)
    return [
        f"{key}: {a[key]!r} != {b[key]!r}"
        for key in a
        if key not in ("plugin_logs", "metrics", "callouts", "plugin_failed") and a[key] != b[key]
    ]


def first_request(host: Host, plugin: Plugin | list[Plugin]) -> Outcome:
    return host.request(plugin, **STANDARD_REQUESTS[1])


def keeps_state(hostcall_counts: dict[str, int]) -> str | None:
    """The cross-stream state hostcalls the plugin made, if any (such plugins may answer differently)."""
    stateful = {"proxy_set_shared_data", "proxy_enqueue_shared_queue"}
    used = sorted(name for name in stateful if hostcall_counts.get(name))
    return ", ".join(used) or None


def assert_same(baseline: Outcome, outcome: Outcome, plugin: Plugin, what: str) -> None:
    """Fail on a behaviour difference, unless the plugin shares state across streams on purpose."""
    diff = same_behaviour(baseline, outcome)
    if not diff:
        return
    shared = keeps_state(plugin.vm.hostcall_counts)
    if shared:
        raise NotApplicable(f"the plugin shares state across streams on purpose (it calls {shared})")
    raise CaseFailure(f"{what}: " + "; ".join(diff))
