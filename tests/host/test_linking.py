"""Linking (host/linking.py): one plan per module, one trampoline per hostcall shared by a Runtime's VMs,
each hostcall reaching the VM whose store made it."""

from __future__ import annotations

import gc

import pytest
from wat_builder import Probe, build

from pytest_proxy_wasm import Host, HostOptions, ModuleLoadError, Runtime


def logging_module() -> bytes:
    probe = Probe()
    probe.on("proxy_on_request_headers", probe.log("request seen"), ret=0)
    return build(probe)


def test_plan_is_made_once_per_module(proxy_wasm_runtime: Runtime) -> None:
    compiled = proxy_wasm_runtime.load(logging_module())
    links = proxy_wasm_runtime.links
    assert links.plan(compiled) is links.plan(compiled)
    with Host(proxy_wasm_runtime, HostOptions(thread_vms=True)) as host:
        host.load_plugin(compiled)
        assert len(host.all_vms) == 3  # canary, main thread, worker: all from the one plan
    assert links.plan(compiled) is links.plan(compiled)


def test_shared_trampolines_reach_the_calling_vm(proxy_wasm_runtime: Runtime) -> None:
    compiled = proxy_wasm_runtime.load(logging_module())
    with Host(proxy_wasm_runtime) as first, Host(proxy_wasm_runtime) as second:
        plugin_a = first.load_plugin(compiled)
        plugin_b = second.load_plugin(compiled)
        second.request(plugin_b, headers={"x-a": "1"})
        second.request(plugin_b, headers={"x-a": "1"})
        first.request(plugin_a, headers={"x-a": "1"})
        assert [r.message for r in first.records].count("request seen") == 1
        assert [r.message for r in second.records].count("request seen") == 2
        assert plugin_a.vm.hostcall_counts["proxy_log"] == 1
        assert plugin_b.vm.hostcall_counts["proxy_log"] == 2


def test_closed_and_collected_vms_leave_the_registry(proxy_wasm_runtime: Runtime) -> None:
    compiled = proxy_wasm_runtime.load(logging_module())
    registry = proxy_wasm_runtime.links.vms
    host = Host(proxy_wasm_runtime, HostOptions(thread_vms=True))
    host.load_plugin(compiled)
    keys = [vm._link_key for vm in host.all_vms]
    assert keys[0] not in registry  # the canary is closed once configured
    assert all(key in registry for key in keys[1:])
    host.close()
    assert not any(key in registry for key in keys)

    dropped = Host(proxy_wasm_runtime)
    dropped.load_plugin(compiled)
    key = dropped.all_vms[-1]._link_key
    assert key in registry
    del dropped
    gc.collect()
    assert key not in registry  # a host nobody closed does not keep its VMs alive


def test_a_hostcall_from_an_unregistered_vm_is_a_named_failure(proxy_wasm_runtime: Runtime) -> None:
    compiled = proxy_wasm_runtime.load(logging_module())
    with Host(proxy_wasm_runtime) as host:
        plugin = host.load_plugin(compiled)
        proxy_wasm_runtime.links.unregister(plugin.vm._link_key)
        host.request(plugin, headers={"x-a": "1"})
        failure = plugin.vm.failure
        assert failure is not None
        assert "proxy_log" in failure.message and "not registered" in failure.message


def test_a_start_section_hostcall_reaches_its_vm(proxy_wasm_runtime: Runtime) -> None:
    probe = Probe()
    probe.extra.append(
        "  (func $init (drop (call $proxy_set_tick_period_milliseconds (i32.const 0))))\n  (start $init)"
    )
    with Host(proxy_wasm_runtime) as host:
        plugin = host.load_plugin(build(probe))
        assert plugin.vm.hostcall_counts["proxy_set_tick_period_milliseconds"] == 1


def test_traced_and_checked_vms_keep_their_own_paths(proxy_wasm_runtime: Runtime) -> None:
    compiled = proxy_wasm_runtime.load(logging_module())
    for options in (HostOptions(trace=True), HostOptions(checked_calls=True)):
        with Host(proxy_wasm_runtime, options) as host:
            plugin = host.load_plugin(compiled)
            host.request(plugin, headers={"x-a": "1"})
            assert [r.message for r in host.records].count("request seen") == 1
            assert plugin.vm.hostcall_counts["proxy_log"] == 1


def test_a_module_from_another_runtime_is_refused_not_a_crash(proxy_wasm_runtime: Runtime) -> None:
    other = Runtime(cache_dir=None)
    try:
        compiled = other.load(logging_module())
        with Host(proxy_wasm_runtime) as host, pytest.raises(ModuleLoadError, match="cross-`Engine`"):
            host.load_plugin(compiled)
    finally:
        other.close()
