"""Area ``isolation``: failures and state stay where they belong (cpp-host per-VM failure state).

Comparisons follow the determinism rule (support.assert_same): runs compared are built on fresh hosts
with the same random seed and clock, and a difference counts only when no other seed explains it.
"""

from __future__ import annotations

from functools import partial

from ..host.abi.enums import FailurePolicy
from ..host.plugin import Plugin
from .cases import CaseRun, case, check
from .support import Pair, assert_same, first_request, request, sane, status_text, trapper_module


def _only(plugins: list[Plugin]) -> Plugin:
    return plugins[0]


_SHARED_VM = "Envoy shares one VM between plugins with the same vm_id, VM configuration and code"
HTTP = ("http_filter",)


@case(
    "isolation",
    "neighbour_trap",
    title="A trap in another plugin of the chain leaves this plugin and its VM working",
    rule="cpp-host: a trap fails only the VM it happened in (FailState::RuntimeError)",
    why="In a shared Envoy, one broken filter must not take a healthy one with it.",
    assumes="the neighbour runs in another VM (its own vm_id), as separate WasmPlugins do",
    kinds=HTTP,
)
def neighbour_trap(run: CaseRun) -> None:
    plugins: list[Plugin] = []

    def scenario(seed: int) -> Pair:
        baseline_host, baseline_plugin = run.started(random_seed=seed)
        baseline = first_request(baseline_host, baseline_plugin)
        sane(baseline, "baseline request")
        host = run.host(random_seed=seed)
        plugin = run.plugin(host)
        trapper = run.plugin(host, module=trapper_module(), plugin_config=b"", name="trapper", vm_id="other")
        chained = first_request(host, [trapper, plugin])
        run.details["chain_answer"] = status_text(chained)
        check(trapper.failed is not None, "the companion plugin was expected to trap")
        check(plugin.failed is None, f"this plugin failed after its neighbour trapped: {plugin.failed}")
        after = first_request(host, plugin)
        sane(after, "request after the neighbour trapped", plugin)
        plugins[:] = [plugin]
        return baseline, after

    assert_same(run, scenario, lambda: plugins[0], "behaviour changed after a neighbour trapped")


@case(
    "isolation",
    "stream_state",
    title="A stream's result does not depend on earlier streams",
    rule="spec: each HTTP stream has its own context; only shared data/queues are meant to be shared",
    why="State leaking through globals is a classic plugin bug: one user's header ends up in another's "
    "request.",
    assumes="the plugin's answer does not depend on random draws or time (checked: else not applicable)",
    kinds=HTTP,
)
def stream_state(run: CaseRun) -> None:
    plugins: list[Plugin] = []

    def scenario(seed: int) -> Pair:
        fresh_host, fresh_plugin = run.started(random_seed=seed)
        fresh = first_request(fresh_host, fresh_plugin)
        host, plugin = run.started(random_seed=seed)
        for i in range(5):
            request(
                host, plugin, method="POST", path=f"/warm/{i}", headers=[("x-user", f"user-{i}")], body=b"x"
            )
        warmed = first_request(host, plugin)
        sane(warmed, "request after five others")
        plugins[:] = [plugin]
        return fresh, warmed

    assert_same(
        run, scenario, lambda: plugins[0], "the same request answered differently after earlier streams"
    )


@case(
    "isolation",
    "root_contexts",
    title="Two plugins in one VM (two root contexts) serve independently",
    rule="cpp-host: root contexts share a VM keyed by (vm_id, vm config, code); each has its own id",
    why="Envoy shares one VM between every filter using the same module and vm_id; root state keyed "
    "wrongly mixes their configurations.",
    assumes=_SHARED_VM,
    kinds=HTTP,
)
def root_contexts(run: CaseRun) -> None:
    for label in ("first", "second"):
        plugins: list[Plugin] = []

        def scenario(seed: int, label: str = label, plugins: list[Plugin] = plugins) -> Pair:
            base_host, base_plugin = run.started(random_seed=seed)
            baseline = first_request(base_host, base_plugin)
            host = run.host(random_seed=seed)
            first = run.plugin(host, name="first", vm_id="shared")
            second = run.plugin(host, name="second", vm_id="shared")
            check(first.vm is second.vm, "the host did not share the VM (harness problem)")
            chosen = first if label == "first" else second
            if label == "second":
                first_request(host, first)
            outcome = first_request(host, chosen)
            sane(outcome, f"{label} root")
            plugins[:] = [chosen]
            run.details["roots"] = [first.root.id, second.root.id]
            return baseline, outcome

        assert_same(run, scenario, partial(_only, plugins), f"the {label} root context behaves differently")


@case(
    "isolation",
    "failed_vm_replaced",
    title="After a neighbour's VM fails, new VMs of this module still start",
    rule="cpp-host drops a failed thread-local VM; Envoy creates fresh VMs for new workers",
    why="A VM failure elsewhere must not poison the compiled module or shared host state.",
    kinds=HTTP,
)
def failed_vm_replaced(run: CaseRun) -> None:
    host = run.host()
    trapper = run.plugin(
        host,
        module=trapper_module(),
        plugin_config=b"",
        name="trapper",
        failure_policy=FailurePolicy.FAIL_OPEN,
    )
    request(host, trapper)
    plugin = run.plugin(host, name="late", vm_id="late")
    sane(first_request(host, plugin), "request to a VM started after a failure", plugin)
