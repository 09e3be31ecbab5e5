"""Area ``resources``: memory, contexts and time stay bounded over many requests."""

from __future__ import annotations

from collections.abc import Callable

from ..host.plugin import Plugin
from .cases import CaseRun, case, check
from .leaks import MAX_WINDOWS, WINDOW, Verdict, curve_text, judge
from .support import request, sane

PAGE = 65536
# Envoy's defaults for the next hop: max_request_headers_kb 60, max_headers_count 100.
MAX_HEADER_BYTES = 60 * 1024
MAX_HEADERS = 100
HTTP = ("http_filter",)


def _http_step(run: CaseRun) -> tuple[Callable[[int], None], Plugin]:
    host, plugin = run.started()
    requests = run.requests

    def step(i: int) -> None:
        outcome = request(host, plugin, **requests[i % len(requests)])
        if i == 0:
            sane(outcome, "first request")

    return step, plugin


@case(
    "resources",
    "memory_bounded",
    title="Linear memory does not grow without bound over many requests",
    rule="Envoy/cpp-host: linear memory never shrinks; growth per request is a leak that ends in OOM "
    "(1 GiB cap)",
    why="A few hundred bytes leaked per request is gigabytes per day on a busy proxy.",
    assumes="a leak shows as growth in every window of 500 requests after warm-up; garbage-collected "
    "runtimes (Go) grow in steps until their heap goal and then stay flat, which is not a leak",
    kinds=HTTP,
)
def memory_bounded(run: CaseRun) -> None:
    step, plugin = _http_step(run)
    watch_memory(run, plugin, step, "request")


def watch_memory(
    run: CaseRun, plugin: Plugin, step: Callable[[int], None], unit: str, window: int = WINDOW
) -> None:
    """Drive ``step(i)`` in windows until memory plateaus (pass) or the leak rule decides at the end."""
    curve: list[tuple[int, int]] = [(0, plugin.vm.memory.size)]
    verdict: Verdict | None = None
    sample = window // 5
    total = window * MAX_WINDOWS
    for i in range(total):
        step(i)
        if plugin.failed is not None:  # the message is built only when needed: this loop is hot
            check(False, f"{unit} {i}: plugin failed: {plugin.failed}")
        if (i + 1) % sample == 0:
            curve.append((i + 1, plugin.vm.memory.size))
            if (i + 1) % window == 0:
                verdict = judge(curve, final=i + 1 == total, window=window, unit=unit)
                if verdict is not None:
                    break
    assert verdict is not None
    run.details.update(
        memory_curve=[[n, size] for n, size in curve],
        window=window,
        window_growth=verdict.growth,
        verdict=verdict.reason,
        memory_bytes=plugin.vm.memory.size,
        **{f"{unit}s": curve[-1][0]},
    )
    check(not verdict.leak, f"memory leak: {verdict.reason} (curve: {curve_text(curve)})")


@case(
    "resources",
    "no_context_left",
    title="No stream context is left behind after streams end",
    rule="cpp-host: on_delete is the last call for a context; Envoy destroys the filter",
    why="Contexts the plugin keeps in a map after on_delete leak memory per request.",
    kinds=HTTP,
)
def no_context_left(run: CaseRun) -> None:
    host, plugin = run.started()
    for standard in run.requests * 5:
        request(host, plugin, **standard)
    vm = plugin.vm
    left = sorted(c.id for c in vm.contexts.values() if c.kind != "root")
    run.details.update(contexts=len(vm.contexts), deletes=vm.calls.get("proxy_on_delete", 0))
    check(not left, f"stream contexts still registered: {left}")
    check(plugin.failed is None, f"plugin failed: {plugin.failed}")


@case(
    "resources",
    "callback_deadline",
    title="Every callback returns within the configured deadline",
    rule="cpp-host/wasmtime epoch interruption: a callback over the deadline is terminated (VM fails)",
    why="A callback that loops blocks an Envoy worker thread and every connection on it.",
    assumes="the deadline given with --deadline (default 1 s of CPU per callback)",
    kinds=HTTP,
)
def callback_deadline(run: CaseRun) -> None:
    host, plugin = run.started()
    for standard in run.requests:
        request(host, plugin, **standard)
        failure = plugin.vm.failure
        if failure is not None and failure.kind == "deadline_exceeded":
            check(False, f"{failure.callback} ran past the {run.target.deadline_seconds} s deadline")
    run.details["deadline_seconds"] = run.target.deadline_seconds


@case(
    "resources",
    "header_limits",
    title="Headers the plugin sends on stay within Envoy's default limits",
    rule="Envoy HCM defaults max_request_headers_kb=60 and max_headers_count=100 (431 at the next hop)",
    why="A plugin that inflates headers makes the next proxy reject every request.",
    assumes="the next hop uses Envoy's HCM defaults (60 KiB, 100 headers)",
    kinds=HTTP,
)
def header_limits(run: CaseRun) -> None:
    host, plugin = run.started()
    for standard in run.requests:
        outcome = request(host, plugin, **standard)
        for label, headers in (
            ("upstream request", outcome.upstream_request.headers if outcome.upstream_request else []),
            ("response", outcome.response_headers),
        ):
            size = sum(len(k) + len(v) for k, v in headers)
            check(size <= MAX_HEADER_BYTES, f"{label} headers are {size} bytes (> {MAX_HEADER_BYTES})")
            check(len(headers) <= MAX_HEADERS, f"{label} has {len(headers)} headers (> {MAX_HEADERS})")
