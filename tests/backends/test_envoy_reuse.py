"""``--proxy-wasm-reuse-envoy``: one Envoy across tests while the configuration is the same (issue 27
item 5); each test still starts with empty expectations, records and logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.plugin import envoy_unavailable_reason

REASON = envoy_unavailable_reason("envoy")
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

SESSION = """
import os, signal
HEADERS = {headers!r}
CALLOUT = {callout!r}
SEEN = {{}}

def load(backend, config=None):
    return backend.load_plugin(HEADERS, plugin_config=config)

def test_1_first(proxy_wasm_backend):
    assert proxy_wasm_backend.request(load(proxy_wasm_backend)).status == 200
    SEEN["pid"], SEEN["backend"] = proxy_wasm_backend.process.process.pid, proxy_wasm_backend
    assert proxy_wasm_backend.log_messages()  # start-up and request logs

def test_2_same_configuration_same_envoy(proxy_wasm_backend):
    assert proxy_wasm_backend is SEEN["backend"] and proxy_wasm_backend.logs == []  # emptied
    assert proxy_wasm_backend.http_calls == [] and proxy_wasm_backend.exchanges == 0
    outcome = proxy_wasm_backend.request(load(proxy_wasm_backend))
    assert outcome.status == 200 and proxy_wasm_backend.starts == 1
    assert proxy_wasm_backend.process.process.pid == SEEN["pid"]

def test_3_another_configuration_restarts(proxy_wasm_backend):
    proxy_wasm_backend.request(load(proxy_wasm_backend, {{"x": 1}}))
    assert proxy_wasm_backend.starts == 2

def test_4_callouts_start_empty(proxy_wasm_backend):
    proxy_wasm_backend.expect_http_call("outbound|5000||sealos.hub").respond_with(200, body=b"\\x02")
    plugin = proxy_wasm_backend.load_plugin(CALLOUT)
    assert proxy_wasm_backend.request(plugin).status == 200
    assert len(proxy_wasm_backend.http_calls) == 1

def test_5_same_callout_test_again(proxy_wasm_backend):
    starts = proxy_wasm_backend.starts
    proxy_wasm_backend.expect_http_call("outbound|5000||sealos.hub").respond_with(200, body=b"\\x01")
    plugin = proxy_wasm_backend.load_plugin(CALLOUT)
    assert proxy_wasm_backend.request(plugin).status == 403  # this test's answer, not the last one's
    assert len(proxy_wasm_backend.http_calls) == 1 and proxy_wasm_backend.starts == starts

def test_6_a_killed_envoy_is_not_handed_on(proxy_wasm_backend):
    proxy_wasm_backend.request(load(proxy_wasm_backend))
    SEEN["killed"] = proxy_wasm_backend.process.process.pid
    os.kill(SEEN["killed"], signal.SIGKILL)
    proxy_wasm_backend.process.process.wait(timeout=10)

def test_7_after_a_failure_a_new_envoy(proxy_wasm_backend):
    assert proxy_wasm_backend.request(load(proxy_wasm_backend)).status == 200
    assert proxy_wasm_backend.process.process.pid != SEEN["killed"]
"""


def test_one_envoy_serves_the_tests_that_share_its_configuration(pytester: pytest.Pytester) -> None:
    code = SESSION.format(
        headers=str(FIXTURES / "rust" / "headers.wasm"), callout=str(FIXTURES / "rust" / "callout_auth.wasm")
    )
    pytester.makepyfile(code)
    result = pytester.runpytest_subprocess(
        "-p", "no:xdist", "--proxy-wasm-backend", "envoy", "--proxy-wasm-reuse-envoy"
    )
    result.assert_outcomes(passed=7, errors=1)  # test 6 passes its body; its end-of-test check names the kill
    assert (
        "exited with signal 9 (SIGKILL) after request 1 (noticed at the end of the test)"
        in result.stdout.str()
    )


def test_without_the_option_each_test_has_its_own_envoy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
SEEN = []
def test_a(proxy_wasm_backend):
    SEEN.append(proxy_wasm_backend)
    proxy_wasm_backend.request(proxy_wasm_backend.load_plugin({str(FIXTURES / "rust" / "headers.wasm")!r}))
def test_b(proxy_wasm_backend):
    assert proxy_wasm_backend is not SEEN[0] and SEEN[0].process is None  # closed at the end of test_a
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--proxy-wasm-backend", "envoy")
    result.assert_outcomes(passed=2)
