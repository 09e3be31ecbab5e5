"""Area ``failure_policy``: what a stream gets when a plugin traps, per Envoy's failure policy.

Envoy (cpp-host CHECK_FAIL_HTTP, Envoy Context::failStream): FAIL_CLOSED answers 503 with details
``wasm_fail_stream``; FAIL_OPEN removes the failed filter so traffic passes.
"""

from __future__ import annotations

from ..host.abi.enums import FailurePolicy
from ..host.plugin import Plugin
from .cases import CaseFailure, CaseRun, case, check
from .support import (
    Pair,
    assert_same,
    first_request,
    hang_text,
    request,
    sane,
    status_text,
    trapper_module,
)

HTTP = ("http_filter",)


def _battery(run: CaseRun, policy: FailurePolicy) -> None:
    host = run.host()
    plugin = run.plugin(host, failure_policy=policy)
    for standard in run.requests:
        outcome = request(host, plugin, **standard)
        if plugin.failed is not None:
            run.details["stream_after_trap"] = {
                "status": outcome.status,
                "answer": status_text(outcome),
                "details": outcome.details,
            }
            check(False, f"{standard['method']} {standard['path']}: the plugin trapped: {plugin.failed}")
        sane(outcome, f"{standard['method']} {standard['path']}")


@case(
    "failure_policy",
    "fail_closed_battery",
    title="Standard requests do not trap under FAIL_CLOSED",
    rule="Envoy failure_policy FAIL_CLOSED: after a trap every stream gets 503 wasm_fail_stream",
    why="Under the default policy one trap turns into an outage for all traffic through the filter.",
    assumes="failure_policy FAIL_CLOSED (Envoy's and Istio's default)",
    kinds=HTTP,
)
def fail_closed_battery(run: CaseRun) -> None:
    _battery(run, FailurePolicy.FAIL_CLOSED)


@case(
    "failure_policy",
    "fail_open_battery",
    title="Standard requests do not trap under FAIL_OPEN",
    rule="Envoy failure_policy FAIL_OPEN: after a trap the filter is skipped and traffic passes unchecked",
    why="Fail-open hides a trap from clients but silently disables the plugin (an auth filter lets "
    "everything through).",
    assumes="failure_policy FAIL_OPEN (Istio failStrategy FAIL_OPEN)",
    kinds=HTTP,
)
def fail_open_battery(run: CaseRun) -> None:
    _battery(run, FailurePolicy.FAIL_OPEN)


@case(
    "failure_policy",
    "neighbour_fail_closed",
    title="The 503 of a failed neighbour passes through this plugin's response path cleanly",
    rule="Envoy: a local reply before the response started runs through the encoder filters",
    why="The plugin sees a response it did not expect (no upstream, status 503); it must not trap or "
    "turn it into something invalid.",
    assumes="a FAIL_CLOSED neighbour after this plugin in the chain (another WasmPlugin, own VM)",
    kinds=HTTP,
)
def neighbour_fail_closed(run: CaseRun) -> None:
    host = run.host()
    plugin = run.plugin(host)
    trapper = run.plugin(host, module=trapper_module(), plugin_config=b"", name="trapper", vm_id="other")
    outcome = first_request(host, [plugin, trapper])
    run.details.update(status=outcome.status, answer=status_text(outcome), details=outcome.details)
    check(plugin.failed is None, f"the plugin failed on the neighbour's 503: {plugin.failed}")
    if outcome.hung:
        raise CaseFailure(f"the neighbour's 503 never reached the client: the stream {hang_text(outcome)}")
    check(not outcome.reset, f"the neighbour's 503 became a reset ({outcome.details})")
    check(outcome.status is not None, f"the client got {status_text(outcome)}")
    check(100 <= (outcome.status or 0) <= 599, f"invalid status code {outcome.status}")
    check(outcome.upstream_request is None, "the request reached the upstream past a failed filter")


@case(
    "failure_policy",
    "neighbour_fail_open",
    title="With a failed FAIL_OPEN neighbour, this plugin behaves as if alone",
    rule="Envoy FAIL_OPEN: no filter is created for a failed fail-open plugin",
    why="The chain must keep working, and this plugin's behaviour must not change.",
    assumes="a FAIL_OPEN neighbour after this plugin in the chain (another WasmPlugin, own VM)",
    kinds=HTTP,
)
def neighbour_fail_open(run: CaseRun) -> None:
    plugins: list[Plugin] = []

    def scenario(seed: int) -> Pair:
        base_host, base_plugin = run.started(random_seed=seed)
        baseline = first_request(base_host, base_plugin)
        host = run.host(random_seed=seed)
        plugin = run.plugin(host)
        trapper = run.plugin(
            host,
            module=trapper_module(),
            plugin_config=b"",
            name="trapper",
            vm_id="other",
            failure_policy=FailurePolicy.FAIL_OPEN,
        )
        first_request(host, [plugin, trapper])  # the neighbour traps here
        outcome = first_request(host, [plugin, trapper])
        sane(outcome, "request with a failed fail-open neighbour", plugin)
        plugins[:] = [plugin]
        return baseline, outcome

    assert_same(run, scenario, lambda: plugins[0], "behaviour changed with a failed fail-open neighbour")
