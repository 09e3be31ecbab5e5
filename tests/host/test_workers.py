"""Envoy's VMs per plugin in the emulator (host/workers.py): a configuration canary, then a root context
on the main thread and on each worker; singleton services on the main thread. The Envoy counts behind
these tests are in tests/backends/test_services.py (run there on Envoy too)."""

from __future__ import annotations

import pytest
from wat_builder import Probe, build

from pytest_proxy_wasm import Host, HostOptions, PluginStartError

# the hostcall tests' conftest turns the thread model off: these tests turn it back on
THREADS = pytest.mark.proxy_wasm(thread_vms=True)


def ticker(period_ms: int = 100, configure: int = 1) -> bytes:
    probe = Probe()
    probe.on(
        "proxy_on_configure",
        probe.log("configure")
        + f" (drop (call $proxy_set_tick_period_milliseconds (i32.const {period_ms})))",
        ret=configure,
    )
    probe.on("proxy_on_tick", probe.log("tick"))
    probe.on("proxy_on_done", probe.log("done"), ret=1)
    probe.on("proxy_on_delete", probe.log("delete"))
    probe.on("proxy_on_request_headers", probe.log("request"), ret=0)
    return build(probe)


@THREADS
def test_a_filter_plugin_starts_three_times_and_ticks_on_two_threads(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(ticker(), name="t")
    assert proxy_wasm_host.log_messages() == ["configure"] * 3  # canary, main thread, worker
    assert (plugin.thread, [r.thread for r in plugin.replicas]) == (1, [0])
    assert plugin.vm is not plugin.replicas[0].vm
    del proxy_wasm_host.records[:]
    proxy_wasm_host.advance(250)
    assert proxy_wasm_host.log_messages() == ["tick"] * 4  # two roots, two periods; the canary never ticks


@THREADS
def test_streams_run_on_the_worker(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(ticker(60_000), name="t")
    assert proxy_wasm_host.request(plugin).status == 200
    main = plugin.replicas[0]
    assert plugin.vm.calls.get("proxy_on_request_headers") == 1
    assert main.vm.calls.get("proxy_on_request_headers") is None
    assert proxy_wasm_host.plugins == [plugin] and proxy_wasm_host.roots == [plugin.root]


@THREADS
def test_the_canary_is_dropped_without_done_or_delete(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.load_plugin(ticker(), name="t")
    canary = proxy_wasm_host.all_vms[0]
    assert canary.calls.get("proxy_on_configure") == 1
    assert canary.calls.get("proxy_on_done") is None and canary.calls.get("proxy_on_delete") is None
    assert canary not in proxy_wasm_host.vms.values()
    assert all(root.vm is not canary for root in proxy_wasm_host.all_roots)


@THREADS
def test_a_refusal_in_the_canary_starts_no_thread(proxy_wasm_host: Host) -> None:
    with pytest.raises(PluginStartError) as raised:
        proxy_wasm_host.load_plugin(ticker(configure=0), name="t")
    assert raised.value.callback == "proxy_on_configure"
    assert proxy_wasm_host.log_messages() == ["configure"]
    assert proxy_wasm_host.vms == {} and proxy_wasm_host.all_roots == []


@pytest.mark.proxy_wasm(thread_vms=True, workers=3)
def test_workers_option_is_envoys_concurrency(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(ticker(), name="t")
    assert [r.thread for r in plugin.replicas] == [0, 2, 3]
    assert proxy_wasm_host.log_messages() == ["configure"] * 5
    del proxy_wasm_host.records[:]
    proxy_wasm_host.advance(100)
    assert proxy_wasm_host.log_messages() == ["tick"] * 4


def test_thread_vms_off_is_one_root_per_plugin() -> None:
    with Host(options=HostOptions(thread_vms=False)) as host:
        plugin = host.load_plugin(ticker(), name="t")
        assert (plugin.replicas, len(host.all_vms)) == ([], 1)
        host.advance(100)
        assert host.log_messages() == ["configure", "tick"]


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_below_one_is_refused(workers: int) -> None:
    with Host(options=HostOptions(workers=workers)) as host, pytest.raises(ValueError, match="workers"):
        host.load_plugin(ticker(), name="t")


@THREADS
def test_plugins_share_a_vm_per_thread_by_key(proxy_wasm_host: Host) -> None:
    module = ticker()
    a = proxy_wasm_host.load_plugin(module, name="a", root_id="a")
    b = proxy_wasm_host.load_plugin(module, name="b", root_id="b")
    c = proxy_wasm_host.load_plugin(module, name="c", vm_id="other")
    assert a.vm is b.vm and a.replicas[0].vm is b.replicas[0].vm
    assert c.vm is not a.vm and c.replicas[0].vm is not a.replicas[0].vm


@THREADS
def test_a_service_runs_on_the_main_thread_only(proxy_wasm_host: Host) -> None:
    module = ticker()
    service = proxy_wasm_host.load_service(module, vm_id="service", name="svc")
    assert proxy_wasm_host.log_messages() == ["configure"] * 2  # canary, main thread
    assert (service.thread, proxy_wasm_host.services, proxy_wasm_host.plugins) == (0, [service], [])
    del proxy_wasm_host.records[:]
    proxy_wasm_host.advance(100)
    assert proxy_wasm_host.log_messages() == ["tick"]
    assert proxy_wasm_host.request().status == 200  # not a filter: the chain is empty
    assert proxy_wasm_host.log_messages() == ["tick"]


@THREADS
def test_a_service_shares_the_main_threads_vm_of_its_key(proxy_wasm_host: Host) -> None:
    module = ticker()
    plugin = proxy_wasm_host.load_plugin(module, name="filter")
    same = proxy_wasm_host.load_service(module, root_id="svc", name="svc")
    own = proxy_wasm_host.load_service(module, vm_id="service", name="own")
    assert same.vm is plugin.replicas[0].vm and same.root.id == 2
    assert own.vm not in (plugin.vm, plugin.replicas[0].vm)
    del proxy_wasm_host.records[:]
    proxy_wasm_host.advance(100)
    assert proxy_wasm_host.log_messages() == ["tick"] * 4  # filter main, filter worker, two services
