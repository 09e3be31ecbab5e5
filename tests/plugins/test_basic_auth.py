"""basic-auth (plugins_under_test/CONTRACTS.md) in Rust, Go and AssemblyScript."""

from __future__ import annotations

import base64

import pytest

from pytest_proxy_wasm import PluginStartError
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

CONFIG = {"username": "admin", "password": "s3cret"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_matching_credentials_reach_the_upstream(proxy_wasm_backend: Backend, language: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(language, "basic_auth"), plugin_config=CONFIG)
    outcome = proxy_wasm_backend.request(plugin, headers={"authorization": basic("admin", "s3cret")})
    assert outcome.status == 200
    assert outcome.upstream_request is not None
    assert outcome.plugin_failed is None


@pytest.mark.parametrize(
    "authorization",
    [None, basic("admin", "wrong"), basic("root", "s3cret"), "Bearer abc", "Basic !!!not-base64", "Basic "],
)
def test_anything_else_gets_401_with_a_challenge(
    proxy_wasm_backend: Backend, language: str, authorization: str | None
) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(language, "basic_auth"), plugin_config=CONFIG)
    headers = {"authorization": authorization} if authorization is not None else {}
    outcome = proxy_wasm_backend.request(plugin, headers=headers)
    assert outcome.status == 401
    assert outcome.header("www-authenticate") == 'Basic realm="proxy-wasm"'
    assert outcome.response_body == b"Unauthorized"
    assert outcome.upstream_request is None
    assert "basic-auth: denied" in outcome.log_messages("info")


def test_realm_comes_from_config(proxy_wasm_backend: Backend, language: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(
        sample(language, "basic_auth"), plugin_config={**CONFIG, "realm": "ops"}
    )
    assert proxy_wasm_backend.request(plugin).header("www-authenticate") == 'Basic realm="ops"'


def test_configuration_is_logged_at_debug(proxy_wasm_backend: Backend, language: str) -> None:
    proxy_wasm_backend.load_plugin(sample(language, "basic_auth"), plugin_config=CONFIG)
    debug = proxy_wasm_backend.log_messages("debug")
    assert '#on_configure -> {"username":"admin","password":"s3cret"}' in debug


@pytest.mark.parametrize(
    "config", [None, "", "not json", {"username": "admin"}, {"username": 1, "password": "x"}]
)
def test_bad_configuration_is_refused(proxy_wasm_backend: Backend, language: str, config: object) -> None:
    with pytest.raises(PluginStartError) as info:
        proxy_wasm_backend.load_plugin(sample(language, "basic_auth"), plugin_config=config)  # type: ignore[arg-type]
    assert info.value.callback == "proxy_on_configure"
    errors = proxy_wasm_backend.log_messages("error")
    assert any(line.startswith("basic-auth: invalid configuration") for line in errors)
