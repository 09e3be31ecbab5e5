"""Classify a module before checking it: what kind of plugin it is, found by reading its exports and by
probing it (start it, open an HTTP stream, open a TCP connection, see which contexts its root creates).

The result is a plain JSON-able dict (``classification`` in every case record and in the run model):

* ``kind``: ``http_filter``, ``network_filter``, ``service`` (a root that creates no stream context:
  ticks, queues, shared data; Envoy runs it as a bootstrap extension / singleton) or ``unknown`` (the
  module does not load or start: every case runs, and the ``module.*``/``lifecycle.*`` ones say why);
* ``abi``, ``callbacks`` (exported, known to the ABI), ``imports``;
* ``contexts``: root / http / tcp, each with whether it was created and, if not, the failure seen;
* ``timer``: the tick period the root set at start (0: none).
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..errors import ModuleLoadError, PluginStartError
from ..host.abi.signatures import callbacks_for
from ..host.plugin import Plugin
from ..host.proxy_crash import ProxyCrash
from ..host.sdk_exports import sdk_exports
from .cases import Case, CaseRun

HTTP_CALLBACKS = frozenset(
    {
        "proxy_on_request_headers",
        "proxy_on_request_body",
        "proxy_on_request_trailers",
        "proxy_on_response_headers",
        "proxy_on_response_body",
        "proxy_on_response_trailers",
    }
)
TCP_CALLBACKS = frozenset(
    {
        "proxy_on_new_connection",
        "proxy_on_downstream_data",
        "proxy_on_upstream_data",
        "proxy_on_downstream_connection_close",
        "proxy_on_upstream_connection_close",
    }
)
KIND_TEXT = {
    "http_filter": "HTTP filter",
    "network_filter": "network (L4) filter",
    "service": "root-only service (creates no stream context)",
    "unknown": "unknown (does not load or start)",
}


def _harness_fault(run: CaseRun) -> str:
    for host in run.hosts:
        for vm in host.all_vms:
            if vm.harness_fault is not None:
                return f"{type(vm.harness_fault).__name__}: {vm.harness_fault}"
    return ""


def classify(run: CaseRun) -> dict[str, Any]:
    """Read the exports and probe the module; never raises for a bad module (kind ``unknown``)."""
    out: dict[str, Any] = {
        "kind": "unknown",
        "abi": None,
        "callbacks": [],
        "imports": [],
        "contexts": {"root": {"created": False}, "http": {"created": False}, "tcp": {"created": False}},
        "timer_ms": 0,
        "reason": "",
    }
    try:
        compiled = run.compiled()
    except ModuleLoadError as exc:
        out["reason"] = f"the module does not load: {exc.reason}"
        return out
    known = callbacks_for(compiled.abi)
    callbacks = sorted(n for n, ft in compiled.exports if ft is not None and n in known)
    out.update(
        abi=compiled.abi.value,
        callbacks=callbacks,
        imports=[f"{m}.{n}" for m, n, _ in compiled.imports],
        sdk_exports=sdk_exports(n for n, _ in compiled.exports),
    )
    try:
        http = _probe(run, "http")
        tcp = _probe(run, "tcp")
        fault = _harness_fault(run)
        if fault:  # our bug, not the plugin's: every case reports it (conformance/harness.py)
            out.update(harness_fault=fault, reason=f"the probe hit a harness fault: {fault}")
            return out
    except PluginStartError as exc:
        out["reason"] = f"the plugin does not start: {exc.callback}: {exc.reason}"
        return out
    except ModuleLoadError as exc:
        out["reason"] = f"the module does not load: {exc.reason}"
        return out
    except Exception as exc:  # a probe must never take the session down: the cases will say more
        out["reason"] = f"the probe failed: {type(exc).__name__}: {exc}"
        out["harness_fault"] = f"{type(exc).__name__}: {exc}"
        return out
    finally:
        run.close()
    exported = set(callbacks)
    # A failure after the stream callbacks began is the plugin's own bug, not a missing context. A trap
    # in the first stream callback counts as "no context" only when the other kind of stream works and
    # the module exports its callbacks (an SDK refusing the stream type its root does not create).
    tcp_refused = tcp.get("callback") == "proxy_on_context_create"
    http_refused = http.get("callback") == "proxy_on_context_create"
    if not tcp_refused and "callback" not in tcp and exported & TCP_CALLBACKS:
        crashed = str(http.get("failure", "")).startswith("proxy_crash")  # a call made: the context is real
        http_refused = http_refused or (http.get("callback") == "proxy_on_request_headers" and not crashed)
    if not http_refused and "callback" not in http and exported & HTTP_CALLBACKS:
        tcp_refused = tcp_refused or tcp.get("callback") == "proxy_on_new_connection"
    # An SDK that keeps serving a stream type its root creates no context for shows it by doing nothing:
    # no hostcall (logs aside) in that stream's callbacks, while the other stream type is busy.
    if not http_refused and not tcp_refused:
        if tcp["active"] and not http["active"]:
            http_refused = True
        elif http["active"] and not tcp["active"]:
            tcp_refused = True
        elif not http["active"] and not tcp["active"] and _serves_alone(http, exported):
            http_refused = tcp_refused = True
    http["created"], tcp["created"] = not http_refused, not tcp_refused
    out["contexts"] = {"root": {"created": True}, "http": http, "tcp": tcp}
    out["timer_ms"] = http.pop("timer_ms", 0)
    out["hostcalls_at_start"] = http.pop("hostcalls_at_start", [])
    tcp.pop("timer_ms", None)
    tcp.pop("hostcalls_at_start", None)
    if http["created"] and exported & HTTP_CALLBACKS:
        out["kind"] = "http_filter"
    elif tcp["created"] and exported & TCP_CALLBACKS:
        out["kind"] = "network_filter"
    else:
        out["kind"] = "service"
    out["reason"] = _reason(out["kind"], http, tcp, exported)
    return out


def _probe(run: CaseRun, kind: str) -> dict[str, Any]:
    """One fresh host: start the plugin, then one HTTP request or one TCP connection through it."""
    host, plugin = run.started()
    timer = plugin.root.tick_period_ms
    started = dict(plugin.vm.hostcall_counts)
    before = dict(plugin.vm.calls)
    with contextlib.suppress(ProxyCrash):  # the probe still saw the callbacks (lifecycle.envoy_survives)
        if kind == "http":
            host.request(
                plugin, method="POST", path="/", headers=[("x-probe", "1")], body=b"{}", upstream_body=b"ok"
            )
        else:
            host.connect(plugin, downstream=[b"ping"], upstream_reply=[b"pong"])
    made = {n: c - started.get(n, 0) for n, c in plugin.vm.hostcall_counts.items() if c - started.get(n, 0)}
    return {
        **_failure(plugin, before),
        "timer_ms": timer,
        "hostcalls_at_start": sorted(started),
        "active": sorted(n for n in made if n.startswith("proxy_") and n != "proxy_log"),
    }


def _serves_alone(http: dict[str, Any], exported: set[str]) -> bool:
    """Idle on both stream types: a service when its root works on its own (timer, queue) or when it
    exports no stream callback at all; otherwise an HTTP filter that ignored the probe request."""
    root_work = {"proxy_set_tick_period_milliseconds", "proxy_register_shared_queue"}
    return bool(root_work & set(http.get("hostcalls_at_start", []))) or not exported & (
        HTTP_CALLBACKS | TCP_CALLBACKS
    )


def _failure(plugin: Plugin, before: dict[str, int]) -> dict[str, Any]:
    failure = plugin.vm.failure
    calls = {n: c - before.get(n, 0) for n, c in plugin.vm.calls.items() if c - before.get(n, 0)}
    if failure is None:
        return {"callbacks_run": sorted(calls)}
    return {
        "callback": failure.callback,
        "failure": f"{failure.kind}: {failure.message}",
        "logs": failure.logs[-5:],
    }


def _reason(kind: str, http: dict[str, Any], tcp: dict[str, Any], exported: set[str]) -> str:
    def why_not(probe: dict[str, Any], what: str, names: frozenset[str]) -> str:
        if not exported & names:
            return f"exports no {what} callback"
        if "callback" not in probe:
            return f"its {what} callbacks ran and did nothing (no hostcall but logs)"
        return f"the {what} probe failed in {probe.get('callback')}: {probe.get('failure', '')[:160]}"

    if kind == "http_filter":
        return "its root creates an HTTP context for a new stream"
    if kind == "network_filter":
        return (
            "its root creates a TCP context for a new connection; no HTTP context ("
            + why_not(http, "HTTP", HTTP_CALLBACKS)
            + ")"
        )
    return (
        "its root creates no stream context: HTTP: "
        + why_not(http, "HTTP", HTTP_CALLBACKS)
        + "; TCP: "
        + why_not(tcp, "TCP", TCP_CALLBACKS)
    )


def has_http_context(classification: dict[str, Any]) -> bool:
    return bool(classification.get("contexts", {}).get("http", {}).get("created"))


def header_lines(name: str, classification: dict[str, Any]) -> list[str]:
    """The classification as the terminal header shows it."""
    c = classification
    lines = [f"{name}: {KIND_TEXT.get(c['kind'], c['kind'])}, ABI {c['abi'] or '?'}"]
    if c.get("reason"):
        lines.append(f"  why: {c['reason']}")
    contexts = ", ".join(k for k, v in c["contexts"].items() if v.get("created")) or "none"
    lines.append(f"  contexts created: {contexts}; timer: {c.get('timer_ms') or 'none'}")
    lines.append(f"  callbacks exported ({len(c['callbacks'])}): {', '.join(c['callbacks']) or 'none'}")
    lines.append(f"  imports ({len(c['imports'])}): {', '.join(i.split('.', 1)[1] for i in c['imports'])}")
    for export, why in (c.get("sdk_exports") or {}).items():
        lines.append(f"  SDK export Envoy never calls (not misuse): {export}, from {why}")
    return lines


KIND_PLURAL = {
    "http_filter": "HTTP filters",
    "network_filter": "network filters",
    "service": "root-only services",
}
# What ``--proxy-wasm-kind`` (check ``--kind``) accepts, and the kind each name means.
KIND_OPTIONS = {"http": "http_filter", "network": "network_filter", "service": "service"}
HTTP_CONTEXT_CASE = "lifecycle.http_context"
TCP_CONTEXT_CASE = "lifecycle.tcp_context"


def skip_reason(case: Case, classification: dict[str, Any], declared: str = "auto") -> str | None:
    """Why ``case`` does not apply to this module, or None when it runs."""
    kind = classification.get("kind", "unknown")
    if kind == "unknown":
        return None  # does not load or start: the module/lifecycle cases say why, the rest skip
    effective = kind if declared in ("", "auto") else declared
    as_what = f"this module is a {KIND_TEXT.get(kind, kind)}"
    if declared not in ("", "auto") and declared != kind:
        as_what += f", checked as a {KIND_TEXT.get(declared, declared)}"
    if effective not in case.kinds:
        wanted = " and ".join(KIND_PLURAL[k] for k in case.kinds)
        return f"applies to {wanted}; {as_what}"
    contexts = classification.get("contexts", {})
    only = case.kinds[0] if len(case.kinds) == 1 else None  # cases that drive one kind of stream
    if only == "http_filter" and case.id != HTTP_CONTEXT_CASE and not contexts.get("http", {}).get("created"):
        return f"the module creates no HTTP context ({HTTP_CONTEXT_CASE} reports it once)"
    if (
        only == "network_filter"
        and case.id != TCP_CONTEXT_CASE
        and not contexts.get("tcp", {}).get("created")
    ):
        return f"the module creates no TCP context ({TCP_CONTEXT_CASE} reports it once)"
    return None
