"""Area ``tcp_robustness``: generated connections never trap a network filter; chunking does not matter.

The TCP counterpart of ``http_robustness`` (for modules classified as network filters). Hypothesis
generates the connections and shrinks a failure to a minimal one (seed and input in the details).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from ..host.abi.enums import PeerType
from ..host.tcp import TcpStream
from .cases import STREAM_THREAD_ONLY, CaseRun, case, check
from .http_robustness import explore
from .support import connection_sane

TCP = ("network_filter",)
_CHUNKS = st.lists(st.binary(max_size=96), max_size=5)
CONNECTIONS = st.fixed_dictionaries(
    {
        "downstream": _CHUNKS,
        "upstream_reply": st.none() | st.lists(st.binary(min_size=1, max_size=64), max_size=3),
        "close_from": st.sampled_from(["downstream", "upstream"]),
    }
)


@case(
    "tcp_robustness",
    "generated_connections",
    title="Generated connections (any bytes, chunks, replies, either side closing) never trap",
    rule="Envoy network filter contract: any bytes may arrive in any segmentation; either side may close",
    why="Real connections carry arbitrary bytes split at arbitrary points; a trap fails the VM and, "
    "under FAIL_CLOSED, every later connection on the listener is closed.",
    assumes="tcp_proxy behind the filter (the upstream answers after the client's bytes)",
    kinds=TCP,
)
def generated_connections(run: CaseRun) -> None:
    def one(connection: dict[str, Any]) -> None:
        host, plugin = run.started(**STREAM_THREAD_ONLY)
        connection_sane(host.connect(plugin, **connection), "generated connection", plugin)

    explore(run, CONNECTIONS, one)


@case(
    "tcp_robustness",
    "chunking",
    title="The same bytes split at every boundary reach the upstream the same way",
    rule="TCP is a byte stream: Envoy's onData gets whatever the socket read (no message boundaries)",
    why="A filter that parses one read as a whole message breaks on real networks (segments, Nagle).",
    assumes="the filter passes the bytes through (its output for the whole stream is compared)",
    kinds=TCP,
)
def chunking(run: CaseRun) -> None:
    data = b"HELLO 1 2 3\r\nsecond line of the stream\r\n"
    results: dict[int, tuple[bytes, bytes, str]] = {}
    for cut in range(0, len(data) + 1, 3):
        chunks = [c for c in (data[:cut], data[cut:]) if c]
        host, plugin = run.started(**STREAM_THREAD_ONLY)
        outcome = host.connect(plugin, downstream=chunks, upstream_reply=[b"reply"])
        connection_sane(outcome, f"bytes split at {cut}", plugin)
        results[cut] = (outcome.upstream_received, outcome.client_received, outcome.closed_by)
        run.close()
    distinct = set(results.values())
    run.details["distinct_results"] = len(distinct)
    check(len(distinct) == 1, f"the result depends on where the bytes are split: {sorted(distinct)[:3]}")


@case(
    "tcp_robustness",
    "close_orders",
    title="Connections closed early, from either side, end cleanly",
    rule="Envoy: a close event runs the close callback, then on_done, on_log, on_delete",
    why="Clients and upstreams disconnect at any point; cleanup code must not assume a full exchange.",
    kinds=TCP,
)
def close_orders(run: CaseRun) -> None:
    _, plugin = run.started(**STREAM_THREAD_ONLY)
    steps: dict[str, Callable[[TcpStream], object]] = {
        "before any data": lambda s: None,
        "after client data": lambda s: s.on_downstream_data(b"partial"),
        "after the upstream answered": lambda s: (
            s.on_downstream_data(b"ask"),
            s.on_upstream_data(b"answer"),
        ),
    }
    for label, step in steps.items():
        for peer in (PeerType.REMOTE, PeerType.LOCAL):
            stream = plugin.host.tcp_stream(plugin)
            stream.on_new_connection()
            step(stream)
            stream.on_downstream_close(peer)
            check(plugin.failed is None, f"closed {label} ({peer.name}): plugin failed: {plugin.failed}")
        stream = plugin.host.tcp_stream(plugin)
        stream.on_new_connection()
        step(stream)
        stream.on_upstream_close(PeerType.REMOTE)
        stream.complete()
        check(plugin.failed is None, f"upstream closed {label}: plugin failed: {plugin.failed}")
    left = [c.id for c in plugin.vm.contexts.values() if c.kind != "root"]
    check(not left, f"connection contexts left after every connection closed: {left}")
