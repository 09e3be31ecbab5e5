"""Area ``resources``: memory, contexts and time stay bounded over many requests."""

from __future__ import annotations

from .cases import CaseRun, case, check
from .support import STANDARD_REQUESTS, sane

REQUESTS = 600
WARMUP = 200
PAGE = 65536
# Envoy's defaults for the next hop: max_request_headers_kb 60, max_headers_count 100.
MAX_HEADER_BYTES = 60 * 1024
MAX_HEADERS = 100


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares growth (bytes per request) of memory size over request index."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0


@case(
    "resources",
    "memory_bounded",
    title="Linear memory does not grow without bound over many requests",
    rule="Envoy/cpp-host: linear memory never shrinks; growth per request is a leak that ends in OOM "
    "(1 GiB cap)",
    why="A few hundred bytes leaked per request is gigabytes per day on a busy proxy.",
)
def memory_bounded(run: CaseRun) -> None:
    host, plugin = run.started()
    samples: list[tuple[int, int]] = []
    for i in range(REQUESTS):
        outcome = host.request(plugin, **STANDARD_REQUESTS[i % len(STANDARD_REQUESTS)])
        if i == 0:
            sane(outcome, "first request")
        check(plugin.failed is None, f"request {i}: plugin failed: {plugin.failed}")
        if i >= WARMUP and i % 20 == 0:
            samples.append((i, plugin.vm.memory.size))
    fitted = slope(samples)
    growth = samples[-1][1] - samples[0][1]
    run.details.update(
        requests=REQUESTS,
        bytes_per_request=round(fitted, 1),
        growth_after_warmup=growth,
        memory_bytes=plugin.vm.memory.size,
    )
    check(
        not (fitted > 256 and growth >= 4 * PAGE),
        f"memory grows {fitted:.0f} bytes per request ({growth} bytes over {REQUESTS - WARMUP} requests)",
    )


@case(
    "resources",
    "no_context_left",
    title="No stream context is left behind after streams end",
    rule="cpp-host: on_delete is the last call for a context; Envoy destroys the filter",
    why="Contexts the plugin keeps in a map after on_delete leak memory per request.",
)
def no_context_left(run: CaseRun) -> None:
    host, plugin = run.started()
    for request in run.requests * 5:
        host.request(plugin, **request)
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
)
def callback_deadline(run: CaseRun) -> None:
    host, plugin = run.started()
    for request in run.requests:
        host.request(plugin, **request)
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
)
def header_limits(run: CaseRun) -> None:
    host, plugin = run.started()
    for request in run.requests:
        outcome = host.request(plugin, **request)
        for label, headers in (
            ("upstream request", outcome.upstream_request.headers if outcome.upstream_request else []),
            ("response", outcome.response_headers),
        ):
            size = sum(len(k) + len(v) for k, v in headers)
            check(size <= MAX_HEADER_BYTES, f"{label} headers are {size} bytes (> {MAX_HEADER_BYTES})")
            check(len(headers) <= MAX_HEADERS, f"{label} has {len(headers)} headers (> {MAX_HEADERS})")
