"""The HTTP areas' checks over TCP connections, for network (L4) filters (``host.connect``).

Each case here belongs to an existing area (isolation, failure_policy, resources, lifecycle) and runs
only when the module is a network filter; the HTTP versions run for HTTP filters.
"""

from __future__ import annotations

from collections.abc import Callable

from ..host.abi.enums import FailurePolicy
from ..host.plugin import Plugin
from .cases import CaseFailure, CaseRun, case, check
from .resources import watch_memory
from .support import (
    STANDARD_CONNECTIONS,
    Pair,
    assert_same,
    connection_sane,
    first_connection,
    tcp_trapper_module,
)

TCP = ("network_filter",)
_NEIGHBOUR = "the neighbour runs in another VM (its own vm_id), as separate WasmPlugins do"


@case(
    "lifecycle",
    "tcp_context",
    title="The plugin creates a TCP context for each connection (checked as a network filter)",
    rule="Envoy network filter: onNewConnection creates the stream context through the root",
    why="A module whose root creates no TCP context cannot serve as a network filter: Envoy closes every "
    "connection once the SDK aborts.",
    assumes="the module is deployed as a network filter (--kind network, WasmPlugin type NETWORK)",
    kinds=TCP,
)
def tcp_context(run: CaseRun) -> None:
    host, plugin = run.started()  # a module that does not start is lifecycle.start_configure's finding
    tcp = run.classification.get("contexts", {}).get("tcp", {})
    if not tcp.get("created", True):
        raise CaseFailure(
            "the module creates no TCP context, so it cannot be a network filter: "
            + (
                f"{tcp.get('callback')}: {tcp.get('failure')}"
                if "callback" in tcp
                else "its TCP callbacks do nothing"
            )
        )
    connection_sane(first_connection(host, plugin), "first connection", plugin)


@case(
    "isolation",
    "tcp_neighbour_trap",
    title="A trap in another network filter of the chain leaves this plugin and its VM working",
    rule="cpp-host: a trap fails only the VM it happened in (FailState::RuntimeError)",
    why="One broken filter on a listener must not take a healthy one with it.",
    assumes=_NEIGHBOUR,
    kinds=TCP,
)
def tcp_neighbour_trap(run: CaseRun) -> None:
    plugins: list[Plugin] = []

    def scenario(seed: int) -> Pair:
        base_host, base_plugin = run.started(random_seed=seed)
        baseline = first_connection(base_host, base_plugin)
        connection_sane(baseline, "baseline connection", base_plugin)
        host = run.host(random_seed=seed)
        plugin = run.plugin(host)
        trapper = run.plugin(
            host, module=tcp_trapper_module(), plugin_config=b"", name="trapper", vm_id="other"
        )
        host.connect([trapper, plugin], **STANDARD_CONNECTIONS[0])
        check(trapper.failed is not None, "the companion plugin was expected to trap")
        check(plugin.failed is None, f"this plugin failed after its neighbour trapped: {plugin.failed}")
        after = first_connection(host, plugin)
        connection_sane(after, "connection after the neighbour trapped", plugin)
        plugins[:] = [plugin]
        return baseline, after

    assert_same(run, scenario, lambda: plugins[0], "behaviour changed after a neighbour trapped")


@case(
    "isolation",
    "tcp_stream_state",
    title="A connection's result does not depend on earlier connections",
    rule="spec: each connection has its own context; only shared data/queues are meant to be shared",
    why="State leaking through globals mixes one client's bytes or counters into another's connection.",
    assumes="the plugin's answer does not depend on random draws or time (checked: else not applicable)",
    kinds=TCP,
)
def tcp_stream_state(run: CaseRun) -> None:
    plugins: list[Plugin] = []

    def scenario(seed: int) -> Pair:
        fresh_host, fresh_plugin = run.started(random_seed=seed)
        fresh = first_connection(fresh_host, fresh_plugin)
        host, plugin = run.started(random_seed=seed)
        for i in range(5):
            host.connect(plugin, downstream=[f"warm-{i};".encode()], upstream_reply=[b"w"])
        warmed = first_connection(host, plugin)
        connection_sane(warmed, "connection after five others", plugin)
        plugins[:] = [plugin]
        return fresh, warmed

    assert_same(run, scenario, lambda: plugins[0], "the same connection went differently after earlier ones")


def _battery(run: CaseRun, policy: FailurePolicy) -> None:
    host = run.host()
    plugin = run.plugin(host, failure_policy=policy)
    for i, connection in enumerate(STANDARD_CONNECTIONS):
        outcome = host.connect(plugin, **connection)
        if plugin.failed is not None:
            run.details["connection_after_trap"] = {"closed_by": outcome.closed_by}
        connection_sane(outcome, f"standard connection {i} ({connection['downstream']!r})", plugin)


@case(
    "failure_policy",
    "tcp_fail_closed_battery",
    title="Standard connections do not trap under FAIL_CLOSED",
    rule="Envoy FAIL_CLOSED network filter: after a trap every connection is closed (failStream)",
    why="Under the default policy one trap turns into an outage for every connection on the listener.",
    assumes="failure_policy FAIL_CLOSED (Envoy's and Istio's default)",
    kinds=TCP,
)
def tcp_fail_closed_battery(run: CaseRun) -> None:
    _battery(run, FailurePolicy.FAIL_CLOSED)


@case(
    "failure_policy",
    "tcp_fail_open_battery",
    title="Standard connections do not trap under FAIL_OPEN",
    rule="Envoy FAIL_OPEN: after a trap the filter is skipped and connections pass unchecked",
    why="Fail-open hides a trap from clients but silently disables the filter.",
    assumes="failure_policy FAIL_OPEN (Istio failStrategy FAIL_OPEN)",
    kinds=TCP,
)
def tcp_fail_open_battery(run: CaseRun) -> None:
    _battery(run, FailurePolicy.FAIL_OPEN)


def _connection_step(run: CaseRun) -> tuple[Callable[[int], None], Plugin]:
    host, plugin = run.started()

    def step(i: int) -> None:
        outcome = host.connect(plugin, **STANDARD_CONNECTIONS[i % len(STANDARD_CONNECTIONS)])
        if i == 0:
            connection_sane(outcome, "first connection", plugin)

    return step, plugin


@case(
    "resources",
    "tcp_memory_bounded",
    title="Linear memory does not grow without bound over many connections",
    rule="Envoy/cpp-host: linear memory never shrinks; growth per connection is a leak that ends in OOM",
    why="A few hundred bytes leaked per connection add up on a busy listener.",
    assumes="a leak shows as growth in every window of 250 connections after warm-up (see memory_bounded)",
    kinds=TCP,
)
def tcp_memory_bounded(run: CaseRun) -> None:
    step, plugin = _connection_step(run)
    watch_memory(run, plugin, step, "connection", window=250)


@case(
    "resources",
    "tcp_no_context_left",
    title="No connection context is left behind after connections end",
    rule="cpp-host: on_delete is the last call for a context; Envoy destroys the filter",
    why="Contexts kept after on_delete leak memory per connection.",
    kinds=TCP,
)
def tcp_no_context_left(run: CaseRun) -> None:
    host, plugin = run.started()
    for connection in STANDARD_CONNECTIONS * 5:
        host.connect(plugin, **connection)
    vm = plugin.vm
    left = sorted(c.id for c in vm.contexts.values() if c.kind != "root")
    run.details.update(contexts=len(vm.contexts), deletes=vm.calls.get("proxy_on_delete", 0))
    check(not left, f"connection contexts still registered: {left}")
    check(plugin.failed is None, f"plugin failed: {plugin.failed}")
