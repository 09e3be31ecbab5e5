"""The raw-ABI C plugins (plugins_under_test/c/README.md): ABI 0.2.1 headers and an ABI 0.1.0 plugin."""

from __future__ import annotations

from pytest_proxy_wasm import AbiVersion, Host

from .conftest import sample


def test_c_headers_logs_and_adds_headers(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(sample("c", "c_headers"))
    assert plugin.vm.abi is AbiVersion.V0_2_1
    outcome = proxy_wasm_host.request(plugin, method="PUT", path="/items/7")
    assert outcome.log_messages("info") == ["c_headers: PUT /items/7"]
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-c-plugin") == "1"
    assert outcome.header("x-c-plugin") == "1"


def test_abi_010_plugin_reads_config_with_get_configuration(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(sample("c", "c_abi_010"), plugin_config="tenant=blue")
    assert plugin.vm.abi is AbiVersion.V0_1_0
    assert "c_abi_010 config: tenant=blue" in proxy_wasm_host.log_messages("info")
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-abi") == "0.1.0"
    assert outcome.upstream_request.header("x-config") == "tenant=blue"
    # 0.1.0 callbacks take (context, num_headers): two arguments, no end_of_stream
    assert plugin.vm.calls["proxy_on_request_headers"] == 1
