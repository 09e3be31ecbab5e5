"""Envoy faults are reported by name, never hidden by a new Envoy (issue 25): killed between and
during requests, noticed at the end of a test, a refusing listener, a hung Envoy, and the crash a
plugin causes (a gRPC call to the cluster ``authorino``)."""

from __future__ import annotations

import os
import signal
import threading
import urllib.request
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import BackendMismatch, make_backend
from pytest_proxy_wasm.backends.envoy.backend import EnvoyBackend
from pytest_proxy_wasm.backends.envoy.faults import EnvoyExited, EnvoyHung, EnvoyRefused
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

REASON = envoy_unavailable_reason("envoy")
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEADERS = FIXTURES / "rust" / "headers.wasm"
CALLOUT = FIXTURES / "rust" / "callout_auth.wasm"
GRPC_AUTH = FIXTURES / "rust" / "grpc_auth.wasm"


def kill(backend: EnvoyBackend, sig: int = signal.SIGKILL) -> None:
    assert backend.process is not None and backend.process.process is not None
    os.kill(backend.process.process.pid, sig)
    if sig == signal.SIGKILL:
        backend.process.process.wait(timeout=10)


@pytest.fixture
def backend(tmp_path: Path):
    with EnvoyBackend(tmp_path / "envoy") as envoy:
        yield envoy


def test_killed_between_requests_is_named_at_the_next_request_and_not_replaced(backend: EnvoyBackend) -> None:
    plugin = backend.load_plugin(HEADERS)
    assert backend.request(plugin).status == 200
    kill(backend)
    with pytest.raises(EnvoyExited) as fault:
        backend.request(plugin)
    message = str(fault.value)
    assert "exited with signal 9 (SIGKILL) after request 1" in message
    assert "before request 2" in message
    assert "last lines of Envoy's log" in message and "proxy_on_delete(2)" in message
    assert backend.starts == 1  # no silent new Envoy
    with pytest.raises(EnvoyExited):  # and it stays reported until the test asks for a restart
        backend.request(plugin)
    assert backend.starts == 1
    backend.check()  # reported already: the end-of-test check does not raise it a third time


def test_restart_is_explicit_and_said_in_the_next_outcome(backend: EnvoyBackend) -> None:
    plugin = backend.load_plugin(HEADERS)
    backend.request(plugin)
    kill(backend)
    with pytest.raises(EnvoyExited):
        backend.request(plugin)
    backend.restart()
    outcome = backend.request(plugin)
    assert outcome.status == 200 and backend.starts == 2
    assert any("Envoy restarted by restart() after: " in d and "SIGKILL" in d for d in outcome.diagnostics)
    assert not any("restarted" in d for d in backend.request(plugin).diagnostics)  # said once


def test_restart_option_starts_a_new_envoy_and_says_why(tmp_path: Path) -> None:
    options = HostOptions(restart_envoy_after_exit=True)
    backend = make_backend("envoy", options=options, workdir=tmp_path / "envoy")
    try:
        plugin = backend.load_plugin(HEADERS)
        backend.request(plugin)
        kill(backend)  # type: ignore[arg-type]
        outcome = backend.request(plugin)
        assert outcome.status == 200
        assert any("restart_envoy_after_exit" in d and "signal 9" in d for d in outcome.diagnostics)
    finally:
        backend.close()


def test_killed_during_a_request_is_named_with_the_request(backend: EnvoyBackend) -> None:
    backend.expect_http_call("outbound|5000||sealos.hub").respond_with(200, body=b"\x02", delay_ms=3000)
    plugin = backend.load_plugin(CALLOUT)
    timer = threading.Timer(1.0, kill, (backend,))
    timer.start()
    try:
        with pytest.raises(EnvoyExited) as fault:
            backend.request(plugin, path="/private")
    finally:
        timer.join()
    assert "signal 9 (SIGKILL) during request 1 (GET /private)" in str(fault.value)


def test_a_death_after_the_last_request_fails_the_end_of_test_check(backend: EnvoyBackend) -> None:
    plugin = backend.load_plugin(HEADERS)
    backend.request(plugin)
    kill(backend, signal.SIGTERM)
    backend.process.process.wait(timeout=10)  # type: ignore[union-attr]
    with pytest.raises(EnvoyExited, match=r"exit code 0 after request 1 \(noticed at the end of the test\)"):
        backend.check()


def test_a_refusing_listener_is_named(backend: EnvoyBackend) -> None:
    plugin = backend.load_plugin(HEADERS)
    backend.request(plugin)
    assert backend.process is not None
    drain = urllib.request.Request(backend.process.admin + "/drain_listeners", method="POST")
    urllib.request.urlopen(drain, timeout=5).close()
    with pytest.raises(EnvoyRefused, match=r"is running but its listener on 127\.0\.0\.1:\d+ refused"):
        backend.request(plugin)


def test_a_hung_envoy_is_named_with_its_log_and_not_replaced(backend: EnvoyBackend) -> None:
    plugin = backend.load_plugin(HEADERS)
    backend.request(plugin)
    backend.exchange_timeout = 2.0
    kill(backend, signal.SIGSTOP)
    with pytest.raises(EnvoyHung) as fault:
        backend.request(plugin)
    assert "hung: no answer to request 2 (GET /) within 2 s" in str(fault.value)
    assert "last lines of Envoy's log" in str(fault.value)
    with pytest.raises(EnvoyHung):
        backend.request(plugin)
    assert backend.starts == 1


def test_the_plugin_grpc_call_to_authorino_crashes_envoy(backend: EnvoyBackend) -> None:
    """Envoy parses the call's service bytes as a GrpcService first; ``authorino`` parses (field 12,
    fixed64) into one with no target, and Envoy 1.40 panics "unset oneof" (SIGABRT)."""
    backend.expect_grpc_call("authorino").respond_with(b"")
    plugin = backend.load_plugin(GRPC_AUTH, plugin_config={"cluster": "authorino"})
    with pytest.raises(EnvoyExited) as fault:
        backend.request(plugin)
    summary = fault.value.summary
    assert "exited with signal 6 (SIGABRT) during request 1 (GET /)" in summary
    assert "in proxy_on_request_headers (in hostcall proxy_grpc_call)" in summary
    assert "Envoy said: panic: unset oneof" in summary
    assert "critical|backtrace|" in fault.value.log_tail  # the crash backtrace is in the tail


def test_diff_mode_names_envoys_death_next_to_the_emulators_answer(tmp_path: Path) -> None:
    backend = make_backend("diff", workdir=tmp_path / "envoy")
    try:
        plugin = backend.load_plugin(HEADERS)
        backend.request(plugin)
        kill(backend.envoy)  # type: ignore[attr-defined]
        with pytest.raises(BackendMismatch) as mismatch:
            backend.request(plugin)
        first = mismatch.value.differences[0]
        assert (
            first.startswith("Envoy 1.40 (pid ") and "exited with signal 9 (SIGKILL) after request 1" in first
        )
        assert first.endswith("; the emulator answered 200")
    finally:
        backend.close()
