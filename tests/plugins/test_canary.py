"""canary (plugins_under_test/go/canary/README.md): a math/rand draw per request against
`canary_percent` sets `x-canary: true|false` on the request."""

from __future__ import annotations

import re

import pytest

from pytest_proxy_wasm import Host, HostOptions, PluginStartError, Runtime
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

MODULE = sample("go", "canary")
DECISION = re.compile(r"canary: draw (\d+) percent (\d+) -> (true|false)")


def random_on_both_sides(backend: Backend, request: pytest.FixtureRequest) -> None:
    """Diff compares the logs line by line; with three or more draws they differ all but surely."""
    if backend.name == "diff":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="the logged draws differ: the emulator seeds random_get from HostOptions.random_seed "
                "(first draw 81 with seed 0), Envoy's random_get is real entropy",
            )
        )


def decisions(host: Host | Backend) -> list[tuple[int, int, str]]:
    found = (DECISION.fullmatch(m) for m in host.log_messages("info"))
    return [(int(m[1]), int(m[2]), m[3]) for m in found if m]


@pytest.mark.parametrize(("percent", "expected"), [(0, "false"), (100, "true")])
def test_all_or_nothing(
    proxy_wasm_backend: Backend, percent: int, expected: str, request: pytest.FixtureRequest
) -> None:
    random_on_both_sides(proxy_wasm_backend, request)
    plugin = proxy_wasm_backend.load_plugin(MODULE, plugin_config={"canary_percent": percent})
    assert f"canary: {percent}% of requests go to the canary" in proxy_wasm_backend.log_messages("info")
    for _ in range(3):
        outcome = proxy_wasm_backend.request(plugin, headers={"x-canary": "spoofed"})
        assert outcome.status == 200
        assert outcome.upstream_request is not None
        assert [v for k, v in outcome.upstream_request.headers if k == "x-canary"] == [expected]  # replaced
    assert [(p, d) for _, p, d in decisions(proxy_wasm_backend)] == [(percent, expected)] * 3


def test_header_follows_the_logged_draw(proxy_wasm_backend: Backend, request: pytest.FixtureRequest) -> None:
    random_on_both_sides(proxy_wasm_backend, request)
    plugin = proxy_wasm_backend.load_plugin(MODULE, plugin_config={"canary_percent": 50})
    headers = []
    for _ in range(4):
        outcome = proxy_wasm_backend.request(plugin)
        assert outcome.upstream_request is not None
        headers.append(outcome.upstream_request.header("x-canary"))
    logged = decisions(proxy_wasm_backend)
    assert [d for _, _, d in logged] == headers
    assert all(0 <= draw < 100 and (draw < 50) == (d == "true") for draw, _, d in logged)


def test_default_percent_is_ten(proxy_wasm_backend: Backend, request: pytest.FixtureRequest) -> None:
    random_on_both_sides(proxy_wasm_backend, request)
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    assert "canary: 10% of requests go to the canary" in proxy_wasm_backend.log_messages("info")
    for _ in range(3):
        proxy_wasm_backend.request(plugin)
    assert [p for _, p, _ in decisions(proxy_wasm_backend)] == [10] * 3


@pytest.mark.parametrize("config", ["{not json", {"canary_percent": "20"}, {"canary_percent": 101}])
def test_bad_config_is_refused(proxy_wasm_backend: Backend, config: str | dict[str, object]) -> None:
    with pytest.raises(PluginStartError):
        proxy_wasm_backend.load_plugin(MODULE, plugin_config=config)
    assert any(
        m.startswith("canary: invalid configuration:") for m in proxy_wasm_backend.log_messages("error")
    )


def run(runtime: Runtime, seed: int, count: int) -> tuple[str, Host]:
    host = Host(runtime, HostOptions(random_seed=seed))
    plugin = host.load_plugin(MODULE, plugin_config={"canary_percent": 20})
    flags = []
    for _ in range(count):
        upstream = host.request(plugin).upstream_request
        assert upstream is not None
        flags.append("T" if upstream.header("x-canary") == "true" else ".")
    return "".join(flags), host


def test_decisions_repeat_for_a_seed(proxy_wasm_runtime: Runtime) -> None:
    first, a = run(proxy_wasm_runtime, 7, 400)
    second, b = run(proxy_wasm_runtime, 7, 400)
    other, c = run(proxy_wasm_runtime, 8, 400)
    try:
        assert first == second
        assert first != other
        assert 40 <= first.count("T") <= 120  # 20 % of 400 = 80; binomial sd 8
        # math/rand's global source is seeded once by the Go runtime, inside _initialize
        assert a.plugins[0].vm.hostcall_counts["random_get"] == 1
    finally:
        for host in (a, b, c):
            host.close()
