from pytest_proxy_wasm import Host


def test_header_plugin_exchange(proxy_wasm_host: Host, wat) -> None:
    plugin = proxy_wasm_host.load_plugin(wat("headers_021"), name="headers")
    outcome = proxy_wasm_host.request(plugin, path="/hello", upstream_body="ok")
    assert outcome.status == 200
    assert outcome.header("x-wasm") == "response"
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-wasm") == "request"
    assert outcome.log_messages("info") == ["/hello"]
