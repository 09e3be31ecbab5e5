"""service (plugins_under_test/rust/service/README.md) and its Go twin service_ticker
(plugins_under_test/go/service_ticker/README.md): root-only plugins. Ticks count in shared data with
CAS, publish an event on the plugin's queue and report to a stats cluster with an HTTP callout.

The emulator tests load it as what it is, a singleton service (``load_service``: one ticking root
context on the main thread); the tests on every backend load it as a filter (``load_plugin``: a root
context on the main thread and on the worker, both ticking). On the emulator time is virtual
(``advance``); on Envoy it is real, so those tests use 200 ms ticks and wait about a second.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_proxy_wasm import Host, PluginStartError
from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.host.callouts import HttpCallRecord

from .conftest import sample

MODULES = {"rust": sample("rust", "service"), "go": sample("go", "service_ticker")}
BAD_ARGUMENT = {"rust": "BadArgument", "go": "BAD_ARGUMENT"}  # each SDK's status spelling
CLUSTER = "outbound|8080||stats.svc"
CONFIG = {"tick_ms": 200, "cluster": CLUSTER}
TICK = re.compile(r"service: tick (\d+)")


@pytest.fixture(params=sorted(MODULES))
def service_language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def module(service_language: str) -> Path:
    return MODULES[service_language]


def ticks(backend: Host | Backend) -> list[int]:
    found = (TICK.fullmatch(m) for m in backend.log_messages("info"))
    return [int(m[1]) for m in found if m]


def http_calls(backend: Host | Backend) -> list[HttpCallRecord]:
    real = getattr(backend, "envoy", backend)  # diff: what Envoy's fake cluster saw
    calls: list[HttpCallRecord] = getattr(real, "http_calls")  # noqa: B009 - not on the Protocol
    return calls


# -- emulator: virtual time, exact counts ------------------------------------------------------------


def test_configure_registers_the_queue_and_the_tick(proxy_wasm_host: Host, module: Path) -> None:
    proxy_wasm_host.load_service(module, plugin_config=CONFIG)
    assert (
        proxy_wasm_host.log_messages("info")
        == [  # the configuration canary, then the main thread
            "service: vm started",
            f"service: tick every 200 ms, reporting to {CLUSTER}, queue service.events id=1",
        ]
        * 2
    )
    assert ("", b"service.events") in proxy_wasm_host.queues.by_key


def test_each_tick_counts_publishes_and_reports(proxy_wasm_host: Host, module: Path) -> None:
    proxy_wasm_host.expect_http_call(CLUSTER).respond_with(204)
    proxy_wasm_host.load_service(module, plugin_config=CONFIG)
    proxy_wasm_host.advance(199)
    assert ticks(proxy_wasm_host) == []
    proxy_wasm_host.advance(801)
    assert ticks(proxy_wasm_host) == [1, 2, 3, 4, 5]
    assert proxy_wasm_host.shared_data.snapshot("") == {"service.ticks": b"5"}
    lines = [m for m in proxy_wasm_host.log_messages() if m.startswith("service:")][4:7]
    assert lines == [  # the queue notification and the answer arrive after the tick returned
        "service: tick 1",
        'service: event "tick 1"',
        "service: report answered 204",
    ]
    assert proxy_wasm_host.log_messages("info").count("service: report answered 204") == 5
    calls = proxy_wasm_host.http_calls
    assert len(calls) == 5
    assert all(
        c.cluster == CLUSTER
        # the record shape of every backend: :scheme as Envoy's router forwards it (docs/backends.md)
        and c.headers
        == [(":method", "GET"), (":scheme", "http"), (":authority", "stats.svc"), (":path", "/report")]
        and c.timeout_ms == 5000
        for c in calls
    )
    assert list(proxy_wasm_host.queues.by_key[("", b"service.events")].items) == []  # drained


def test_count_continues_from_shared_data(proxy_wasm_host: Host, module: Path) -> None:
    proxy_wasm_host.shared_data.set("", b"service.ticks", b"41", 0)
    proxy_wasm_host.expect_http_call(CLUSTER).respond_with(200)
    proxy_wasm_host.load_service(module, plugin_config=CONFIG)
    proxy_wasm_host.advance(200)
    assert ticks(proxy_wasm_host) == [42]
    assert proxy_wasm_host.shared_data.get("", b"service.ticks") == (b"42", 2)


def test_defaults(proxy_wasm_host: Host, module: Path) -> None:
    proxy_wasm_host.expect_http_call(CLUSTER).respond_with(200)
    proxy_wasm_host.load_service(module)
    proxy_wasm_host.advance(999)
    assert ticks(proxy_wasm_host) == []
    proxy_wasm_host.advance(1)
    assert ticks(proxy_wasm_host) == [1]
    [call] = proxy_wasm_host.http_calls
    assert call.header(":authority") == "stats.svc"


# -- every backend -------------------------------------------------------------------------------------


def test_ticks_report_and_publish_on_every_backend(proxy_wasm_backend: Backend, module: Path) -> None:
    proxy_wasm_backend.expect_http_call(CLUSTER).respond_with(204)
    proxy_wasm_backend.load_plugin(module, plugin_config=CONFIG)
    proxy_wasm_backend.advance(1000)
    seen = ticks(proxy_wasm_backend)
    assert len(seen) >= 3
    assert sorted(seen) == list(range(1, len(seen) + 1))  # CAS: no count lost or repeated
    answered = proxy_wasm_backend.log_messages("info").count("service: report answered 204")
    assert answered >= len(seen) - 1  # the last answer may still be on its way
    events = [m for m in proxy_wasm_backend.log_messages("debug") if m.startswith("service: event")]
    assert len(events) >= len(seen) - 1
    calls = http_calls(proxy_wasm_backend)
    assert len(calls) >= len(seen) - 1
    assert all((c.header(":method"), c.header(":path")) == ("GET", "/report") for c in calls)
    assert all((c.header(":authority"), c.header(":scheme")) == ("stats.svc", "http") for c in calls)


def test_failed_report_is_answered_503(proxy_wasm_backend: Backend, module: Path) -> None:
    proxy_wasm_backend.expect_http_call(CLUSTER).fail("reset")
    proxy_wasm_backend.load_plugin(module, plugin_config=CONFIG)
    proxy_wasm_backend.advance(500)
    assert "service: report answered 503" in proxy_wasm_backend.log_messages("info")


def test_unknown_cluster_is_logged_and_ticks_go_on(
    proxy_wasm_backend: Backend, module: Path, service_language: str
) -> None:
    proxy_wasm_backend.load_plugin(module, plugin_config={"tick_ms": 200, "cluster": "nowhere"})
    proxy_wasm_backend.advance(500)
    assert len(ticks(proxy_wasm_backend)) >= 2
    expected = f"service: report dispatch failed: {BAD_ARGUMENT[service_language]}"
    assert expected in proxy_wasm_backend.log_messages("warn")


@pytest.mark.parametrize("config", ["{", {"tick_ms": 0}, {"tick_ms": "1s"}, {"cluster": ""}])
def test_bad_config_is_refused(
    proxy_wasm_backend: Backend, module: Path, config: str | dict[str, object]
) -> None:
    with pytest.raises(PluginStartError):
        proxy_wasm_backend.load_plugin(module, plugin_config=config)
    errors = proxy_wasm_backend.log_messages("error")
    assert any(m.startswith("service: invalid configuration:") for m in errors)


def test_a_request_through_the_rust_one_panics(proxy_wasm_backend: Backend) -> None:
    """No HTTP context: the SDK panics when the host creates one; FAIL_CLOSED answers 503."""
    module = MODULES["rust"]
    plugin = proxy_wasm_backend.load_plugin(module, plugin_config={"tick_ms": 60_000})
    outcome = proxy_wasm_backend.request(plugin, upstream_body="up")
    assert outcome.status == 503
    assert outcome.upstream_request is None
    assert outcome.plugin_failed is not None and outcome.plugin_failed.startswith("proxy_on_context_create")
    [critical] = outcome.log_messages("critical")
    assert critical.endswith("dispatcher.rs:201:25:\nmissing ContextType on root_context")


def test_a_request_through_the_go_one_passes_untouched(proxy_wasm_backend: Backend) -> None:
    """pwabi creates no stream for a root without HTTP/TCP contexts; every callback then continues."""
    plugin = proxy_wasm_backend.load_plugin(MODULES["go"], plugin_config={"tick_ms": 60_000})
    outcome = proxy_wasm_backend.request(plugin, headers={"x-a": "1"}, upstream_body="up")
    assert outcome.status == 200 and outcome.response_body == b"up"
    assert outcome.upstream_request is not None and outcome.upstream_request.header("x-a") == "1"
    assert outcome.plugin_failed is None


def test_three_root_contexts_as_a_filter_plugin(proxy_wasm_backend: Backend, module: Path) -> None:
    """Envoy 1.40 (--concurrency 1) starts a filter plugin three times: the configuration canary, the
    main thread and the worker (docs/fidelity.md, "Threads and services"); so does the emulator."""
    proxy_wasm_backend.load_plugin(module, plugin_config=CONFIG)
    diff = proxy_wasm_backend.name == "diff"
    sides = [proxy_wasm_backend.emulator, proxy_wasm_backend.envoy] if diff else [proxy_wasm_backend]  # type: ignore[attr-defined]
    for side in sides:
        assert side.log_messages("info").count("service: vm started") == 3, side.name


def test_two_root_contexts_as_a_service(proxy_wasm_backend: Backend, module: Path) -> None:
    """A singleton service: the canary, then one root context on the main thread."""
    proxy_wasm_backend.load_service(module, plugin_config=CONFIG)
    diff = proxy_wasm_backend.name == "diff"
    sides = [proxy_wasm_backend.emulator, proxy_wasm_backend.envoy] if diff else [proxy_wasm_backend]  # type: ignore[attr-defined]
    for side in sides:
        assert side.log_messages("info").count("service: vm started") == 2, side.name
