"""Area ``failure_policy``: what a stream gets when a plugin traps, per Envoy's failure policy.

Envoy (cpp-host CHECK_FAIL_HTTP, Envoy Context::failStream): FAIL_CLOSED answers 503 with details
``wasm_fail_stream``; FAIL_OPEN removes the failed filter so traffic passes.
"""

from __future__ import annotations

from ..host.abi.enums import FailurePolicy
from .cases import CaseRun, case, check
from .support import assert_same, first_request, sane, trapper_module


def _battery(run: CaseRun, policy: FailurePolicy) -> None:
    host = run.host()
    plugin = run.plugin(host, failure_policy=policy)
    for request in run.requests:
        outcome = host.request(plugin, **request)
        if plugin.failed is not None:
            run.details["stream_after_trap"] = {"status": outcome.status, "details": outcome.details}
            check(False, f"{request['method']} {request['path']}: the plugin trapped: {plugin.failed}")
        sane(outcome, f"{request['method']} {request['path']}")


@case(
    "failure_policy",
    "fail_closed_battery",
    title="Standard requests do not trap under FAIL_CLOSED",
    rule="Envoy failure_policy FAIL_CLOSED: after a trap every stream gets 503 wasm_fail_stream",
    why="Under the default policy one trap turns into an outage for all traffic through the filter.",
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
)
def neighbour_fail_closed(run: CaseRun) -> None:
    host = run.host()
    plugin = run.plugin(host)
    trapper = run.plugin(host, module=trapper_module(), plugin_config=b"", name="trapper", vm_id="other")
    outcome = first_request(host, [plugin, trapper])
    run.details.update(status=outcome.status, details=outcome.details)
    check(plugin.failed is None, f"the plugin failed on the neighbour's 503: {plugin.failed}")
    check(outcome.status is not None and 100 <= outcome.status <= 599, f"status {outcome.status}")
    check(outcome.upstream_request is None, "the request reached the upstream past a failed filter")


@case(
    "failure_policy",
    "neighbour_fail_open",
    title="With a failed FAIL_OPEN neighbour, this plugin behaves as if alone",
    rule="Envoy FAIL_OPEN: no filter is created for a failed fail-open plugin",
    why="The chain must keep working, and this plugin's behaviour must not change.",
)
def neighbour_fail_open(run: CaseRun) -> None:
    base_host, base_plugin = run.started()
    baseline = first_request(base_host, base_plugin)
    host = run.host()
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
    assert_same(baseline, outcome, plugin, "behaviour changed with a failed fail-open neighbour")
