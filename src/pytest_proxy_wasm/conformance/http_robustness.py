"""Area ``http_robustness``: generated requests never trap, hang or produce invalid statuses.

Hypothesis generates the exchanges and shrinks a failure to a minimal request; the seed, the number
of examples and the shrunk request go into the report.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from typing import Any, cast

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from ..host.http import HttpStream
from ..plugin_coverage.guided import explore_guide, guided_requests, guiding
from .cases import STREAM_THREAD_ONLY, CaseFailure, CaseRun, case, check
from .support import describe, request, sane, status_text, synthetic_callout_failure

# "host" is the request's authority (one per request, host/request_head.py), not a header to repeat.
_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=24
).filter(lambda name: name.lower() != "host")
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=64
)


def from_regex(pattern: str) -> st.SearchStrategy[str]:
    """``st.from_regex`` with its default alphabet, ``characters(codec="utf-8")``, given as the same set
    without the codec: hypothesis builds a codec's table by encoding all 1.1M code points (1.5 s) unless
    it finds it cached in the working directory, and ``check`` runs in a fresh one. Same characters, so
    the same draws for a seed (tests/conformance/test_speed_invariants.py)."""
    return st.from_regex(pattern, alphabet=_UTF8)


# What codec="utf-8" allows: all but surrogates. The category is taken from a surrogate, not written out:
# hypothesis also draws short string literals found in local source, so a new one would change draws.
_UTF8 = st.characters(exclude_categories=[cast(Any, unicodedata.category(chr(0xD800)))])
_HEADERS = st.lists(st.tuples(_TOKEN, _VALUE), max_size=12)
_CHUNKS = st.lists(st.binary(max_size=64), max_size=4)
_TRAILERS = st.none() | st.lists(st.tuples(_TOKEN, _VALUE), min_size=1, max_size=3)
_STATUS = st.sampled_from([200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503])

REQUESTS = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
        "path": from_regex(r"\A/[a-zA-Z0-9/._~%-]{0,30}(\?[a-z0-9=&]{0,12})?\Z"),
        "headers": _HEADERS,
        "body": _CHUNKS,
        "trailers": _TRAILERS,
        "upstream_status": _STATUS,
        "upstream_headers": _HEADERS,
        "upstream_body": st.binary(max_size=64),
    }
)
REQUEST_DEFAULTS: dict[str, Any] = {
    **{"method": "GET", "path": "/", "headers": [], "body": [], "trailers": None},
    **{"upstream_status": 200, "upstream_headers": [], "upstream_body": b""},
}
HEADER_MAPS: st.SearchStrategy[list[tuple[str, str]]] = st.one_of(
    st.just([]),
    st.lists(st.tuples(st.sampled_from(["X-Dup", "x-dup", "X-DUP"]), _VALUE), min_size=2, max_size=20),
    st.lists(st.tuples(_TOKEN, st.text(alphabet="ab", min_size=4000, max_size=8000)), min_size=1, max_size=3),
    st.lists(st.tuples(_TOKEN, _VALUE), min_size=50, max_size=90),
)


def explore(
    run: CaseRun,
    strategy: st.SearchStrategy[Any],
    check_one: Callable[[Any], None],
    explicit: tuple[Any, ...] = (),
) -> None:
    """Run ``check_one`` on ``explicit`` inputs (the user's requests) and generated ones; record the seed,
    examples and the shrunk failure."""
    used_seed = run.target.seed if run.target.seed is not None else random.getrandbits(32)
    examples: list[Any] = []
    failing: list[Any] = []
    guide = explore_guide(run, explicit, strategy)  # None without coverage (plugin_coverage/guided.py)
    targeting = (Phase.target,) if guiding(guide) else ()

    @seed(used_seed)
    @settings(
        max_examples=run.target.max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink, Phase.explicit, *targeting),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(strategy)
    def body(value: Any) -> None:
        examples.append(value)
        passed = False
        if guide is not None:
            guide.begin()
        try:
            check_one(value)
            passed = True
        except CaseFailure:
            failing.append(value)
            run.details.pop("stand_in_callout", None)  # judged on the last (shrunk) failing example
            stand_in = synthetic_callout_failure(run)
            if stand_in:
                run.details["stand_in_callout"] = stand_in
            raise
        finally:
            run.close()
            if guide is not None:
                guide.end(value, failed=not passed)

    for value in explicit:
        body = example(value)(body)
    run.details.update(seed=used_seed, max_examples=run.target.max_examples)
    try:
        body()
    finally:
        run.details["examples_run"] = len(examples)
        if guide is not None:
            run.details["coverage_guidance"] = guide.details()
        run.details["examples"] = [describe(e) if isinstance(e, dict) else repr(e) for e in examples[:3]]
        if failing:
            shrunk = failing[-1]
            run.details["shrunk_input"] = describe(shrunk) if isinstance(shrunk, dict) else repr(shrunk)


def _exchange(run: CaseRun, generated: dict[str, Any]) -> None:
    host, plugin = run.started(**STREAM_THREAD_ONLY)
    kwargs = dict(generated)
    if not kwargs["body"]:
        kwargs["body"] = b""
    sane(request(host, plugin, **kwargs), "generated request")


@case(
    "http_robustness",
    "generated_exchanges",
    title="Generated exchanges never trap, hang or yield an invalid status",
    rule="Envoy HTTP filter contract: any request the codec accepts may reach the filter; statuses 100-599",
    why="Real traffic has duplicate, mixed-case and odd-byte headers, chunked bodies and trailers; "
    "a trap fails the VM for every later request.",
    assumes="requests Envoy's HTTP/1.1 codec accepts (header values: visible Latin-1 bytes, not only UTF-8)",
)
def generated_exchanges(run: CaseRun) -> None:
    requests = guided_requests(run, REQUESTS)  # REQUESTS itself without coverage guidance
    explore(run, requests, lambda generated: _exchange(run, generated), run.user_requests(REQUEST_DEFAULTS))


@case(
    "http_robustness",
    "header_maps",
    title="Empty, huge, duplicate and mixed-case header maps are handled",
    rule="spec §4.2 pairs encoding: duplicates allowed, order kept, values binary-safe; Envoy lower-cases "
    "keys",
    why="Header parsing code in plugins often assumes unique or bounded keys.",
    assumes="header maps within Envoy's defaults (100 headers, 60 KiB); values may hold non-UTF-8 bytes, "
    "which Envoy's codec passes on",
)
def header_maps(run: CaseRun) -> None:
    def one(headers: list[tuple[str, str]]) -> None:
        host, plugin = run.started(**STREAM_THREAD_ONLY)
        sane(request(host, plugin, headers=headers, upstream_headers=headers), "header map")

    explore(run, HEADER_MAPS, one)


@case(
    "http_robustness",
    "body_chunking",
    title="A body split at every boundary gives the same result",
    rule="Envoy buffers on StopIterationAndBuffer and reports the cumulative size; chunks may be any size",
    why="Plugins that parse one body chunk as if it were the whole body break on real connections.",
    assumes="the client may send the body in any number of frames (HTTP/1.1 chunks, HTTP/2 DATA frames)",
)
def body_chunking(run: CaseRun) -> None:
    body = b'{"user": "alice", "n": 12345}'
    results: dict[int, tuple[str, bytes]] = {}
    for cut in range(len(body) + 1):
        chunks = [c for c in (body[:cut], body[cut:]) if c]
        host, plugin = run.started(**STREAM_THREAD_ONLY)
        outcome = request(host, plugin, method="POST", path="/", body=chunks, upstream_body=body)
        sane(outcome, f"request body split at byte {cut}")
        upstream = outcome.upstream_request.body if outcome.upstream_request else b""
        results[cut] = (status_text(outcome), upstream)
        run.close()
    distinct = {v for v in results.values()}
    run.details["distinct_results"] = len(distinct)
    check(len(distinct) == 1, f"the result depends on where the body is split: {sorted(distinct)[:3]}")


@case(
    "http_robustness",
    "headers_only",
    title="Headers-only requests and responses (end of stream on headers)",
    rule="spec proxy_on_request_headers(ctx, n, end_of_stream=1): no body callback follows",
    why="GET requests and 204/304 responses have no body; plugins waiting for one hang the stream.",
)
def headers_only(run: CaseRun) -> None:
    for status in (200, 204, 304):
        host, plugin = run.started(**STREAM_THREAD_ONLY)
        sane(request(host, plugin, method="GET", upstream_status=status), f"headers only, upstream {status}")
        run.close()


@case(
    "http_robustness",
    "reset_midway",
    title="Streams reset mid-way (after headers, during the body, before the response) end cleanly",
    rule="Envoy: a reset stream still gets on_log → on_done → on_delete",
    why="Clients disconnect at any point; cleanup code must not assume a complete exchange.",
)
def reset_midway(run: CaseRun) -> None:
    request = [
        (":authority", "example.com"),
        (":path", "/"),
        (":method", "POST"),
        (":scheme", "http"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "reset-midway"),
    ]  # as Envoy hands it on

    def response_started(stream: HttpStream) -> None:
        stream.on_request_body(b"all", end_of_stream=True)
        stream.on_response_headers([(":status", "200")], end_of_stream=False)

    steps: dict[str, Callable[[HttpStream], object]] = {
        "after request headers": lambda s: None,
        "during request body": lambda s: s.on_request_body(b"partial", end_of_stream=False),
        "after response headers": response_started,
    }
    _, plugin = run.started(**STREAM_THREAD_ONLY)
    for label, step in steps.items():
        stream = plugin.http_stream()
        stream.on_request_headers(request, end_of_stream=False)
        step(stream)
        stream.complete()
        check(plugin.failed is None, f"reset {label}: plugin failed: {plugin.failed}")
