"""Area ``service``: checks for root-only modules (no stream context): ticks, queues, shared data,
start and reload. Envoy runs such modules as singletons / bootstrap services (or as a filter whose
streams the SDK never serves); everything they do happens in root callbacks.
"""

from __future__ import annotations

from functools import partial

from ..host.plugin import Plugin
from .cases import CaseRun, NotApplicable, case, check

SERVICE = ("service",)
RUN_MS = 60_000
_SHARED = ("proxy_set_shared_data", "proxy_get_shared_data")


def _failed(plugin: Plugin, what: str) -> None:
    check(plugin.failed is None, f"{what}: the plugin failed: {plugin.failed}")


@case(
    "service",
    "ticks",
    title="The timer the service sets keeps firing for a minute without trapping",
    rule="spec proxy_set_tick_period_milliseconds: proxy_on_tick(root) every period",
    why="A service does its work on ticks; a trap there stops it for good (the VM fails).",
    assumes="virtual time: a minute passes in the emulator without waiting",
    kinds=SERVICE,
)
def ticks(run: CaseRun) -> None:
    host, plugin = run.started()
    period = plugin.root.tick_period_ms
    if not period:
        raise NotApplicable("the service sets no timer at start")
    host.advance(RUN_MS)
    fired = plugin.vm.calls.get("proxy_on_tick", 0)
    run.details.update(period_ms=period, ticks=fired)
    _failed(plugin, f"after {fired} ticks")
    check(fired >= RUN_MS // max(period, 1) - 1, f"only {fired} ticks in {RUN_MS} ms at a {period} ms period")


@case(
    "service",
    "queues",
    title="A message on a queue the service registered is handled without trapping",
    rule="spec proxy_on_queue_ready(root, token) after proxy_enqueue_shared_queue by any VM of the vm_id",
    why="Queues connect a service to its filters; the consumer runs on every message.",
    assumes="messages in a format the service's own producer may not send ({} and raw bytes): a trap on "
    "them only matters when another plugin of the vm_id sends such bytes, so this is a warning",
    severity="warn",
    kinds=SERVICE,
)
def queues(run: CaseRun) -> None:
    host, plugin = run.started()
    host.advance(1_000)
    owned = [q for q in host.queues.by_key.values() if q.owner is plugin.root]
    if not owned:
        raise NotApplicable("the service registers no shared queue")
    from ..host.hostcalls.shared_queues import _deliver

    for queue in owned:
        for message in (b"{}", bytes(range(64))):
            host.queues.enqueue(queue.token, message)
            token = queue.token
            host.scheduler.schedule(host.clock.monotonic_ns, partial(_deliver, host, plugin.root, token))
            host.advance(10)
            _failed(plugin, f"queue {queue.name.decode('latin-1')!r} got {message[:8]!r}...")
    run.details["queues"] = [q.name.decode("latin-1") for q in owned]


@case(
    "service",
    "shared_data",
    title="Two workers' copies of the service share data without trapping",
    rule="cpp-host: shared data is per vm_id and process; each worker thread runs its own VM",
    why="Envoy runs one VM per worker: two copies race on the same keys (CAS mismatches are normal).",
    assumes="two worker threads (Envoy's --concurrency 2 or more)",
    kinds=SERVICE,
)
def shared_data(run: CaseRun) -> None:
    host = run.host(thread_vms=True, workers=2)  # Envoy: one VM (and root context) per thread
    plugin = run.plugin(host)
    copies = [plugin, *plugin.replicas]
    host.advance(RUN_MS)
    used = sorted(n for n in _SHARED if any(p.vm.hostcall_counts.get(n) for p in copies))
    if not used:
        raise NotApplicable("the service uses no shared data")
    run.details.update(
        hostcalls=used, copies=len(copies), keys=sorted(host.shared_data.snapshot(plugin.vm.vm_id))
    )
    for copy in copies:
        _failed(copy, f"the copy on thread {copy.thread}")


@case(
    "service",
    "reload",
    title="A configuration update (new root, old root done and deleted) keeps the service running",
    rule="Envoy: a new PluginConfig starts a new root context in the shared VM; the old one gets on_done, "
    "then on_delete",
    why="Every configuration push goes through this; a service that traps on its old root's teardown "
    "stops after the first update.",
    assumes="the VM configuration is unchanged (Envoy keeps the VM and starts a new root context)",
    kinds=SERVICE,
)
def reload(run: CaseRun) -> None:
    host, old = run.started()
    host.advance(5_000)
    new = run.plugin(host, name="reloaded")
    check(new.vm is old.vm, "the host did not share the VM (harness problem)")
    done = old.vm.call(old.root, "proxy_on_done", old.root.id)
    if done == 0:
        host.advance(5_000)  # on_done false: the root may still call proxy_done
    host.delete_root(old.root)
    for roots in (host.roots, host.all_roots):  # the old root is gone: no more ticks for it
        if old.root in roots:
            roots.remove(old.root)
    host.advance(10_000)
    run.details.update(on_done=done, ticks=new.vm.calls.get("proxy_on_tick", 0))
    _failed(new, "after the update")
