"""Envoy faults are reported by name, never hidden by a new Envoy (issue 25): killed between and
during requests, noticed at the end of a test, a refusing listener, a hung Envoy, and the crash a
plugin causes (a gRPC call to the cluster ``authorino``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import BackendMismatch, make_backend
from pytest_proxy_wasm.backends.envoy.backend import EnvoyBackend
from pytest_proxy_wasm.backends.envoy.faults import EnvoyExited, EnvoyHung, EnvoyRefused
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.proxy_crash import ProxyCrash
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


def wait_until_refused(port: int, within: float = 20.0) -> None:
    """Envoy closes a drained listener a moment after ``/drain_listeners`` answers (CI saw it accept)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.05)
    pytest.fail(f"Envoy's listener on 127.0.0.1:{port} still accepted {within:g} s after the drain")


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
    assert "noticed at the next use, before exchange 2" in message
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
    wait_until_refused(backend.process.port)
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


@pytest.mark.parametrize(
    ("service", "cluster"),
    [("ext-authz", "ext-authz"), ("\n\x06\n\x04auth", "auth")],
    ids=["a name that does not parse", "a serialized GrpcService"],
)
def test_service_bytes_envoy_does_not_crash_on_agree_with_the_emulator(
    tmp_path: Path, service: str, cluster: str
) -> None:
    backend = make_backend("diff", workdir=tmp_path / "envoy")
    try:
        backend.expect_grpc_call(cluster, "auth.Authorizer", "Check").respond_with(b"")
        plugin = backend.load_plugin(GRPC_AUTH, plugin_config={"cluster": service})
        assert backend.request(plugin).status == 200  # compared field by field with Envoy's answer
    finally:
        backend.close()


@pytest.mark.parametrize("service", ["ignored__", ""])
def test_other_names_that_parse_crash_envoy_as_the_emulator_says(tmp_path: Path, service: str) -> None:
    backend = make_backend("diff", workdir=tmp_path / "envoy")
    try:
        plugin = backend.load_plugin(GRPC_AUTH, plugin_config={"cluster": service})
        with pytest.raises(ProxyCrash) as crash:
            backend.request(plugin)
        assert "signal 6 (SIGABRT)" in crash.value.envoy  # type: ignore[attr-defined]
    finally:
        backend.close()


# -- every backend path: the command line, check, and a pytest session ---------------------------------


@pytest.mark.parametrize("backend", ["emulator", "envoy", "diff"])
def test_run_exits_4_naming_the_crash(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(GRPC_AUTH), "--plugin-config", '{"cluster": "authorino"}', "--backend", backend]
    assert main(args) == 4
    err = capsys.readouterr().err
    if backend == "envoy":
        assert (
            "exited with signal 6 (SIGABRT) during request 1 (GET /)" in err and "panic: unset oneof" in err
        )
    else:
        assert "the plugin's gRPC call crashes Envoy 1.40 in proxy_on_request_headers" in err


def test_check_reports_the_crash_as_a_finding_confirmed_on_envoy(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ["check", str(GRPC_AUTH), "--plugin-config", '{"cluster": "authorino"}', "--backend", "envoy"]
    code = main([*args, "--select", "lifecycle", "-q", "--seed", "1", "--report-dir", str(reports)])
    assert code == 1
    cases = {c["id"]: c for c in json.loads((reports / "run.json").read_text())["cases"]}
    crash = cases["lifecycle.envoy_survives"]
    assert crash["outcome"] == "failed"
    assert "the plugin's gRPC call crashes Envoy 1.40" in crash["message"]
    replay = crash["evidence"]["replay"]
    assert replay["verdict"] == "confirmed" and "exited with signal 6 (SIGABRT)" in replay["detail"]
    assert cases["lifecycle.stream_orders"]["outcome"] == "skipped"  # the crash is reported once


KILLING_TEST = """
import os, signal

def kill(backend):
    envoy = getattr(backend, "envoy", backend)
    os.kill(envoy.process.process.pid, signal.SIGKILL)
    envoy.process.process.wait(timeout=10)

def test_between_requests(proxy_wasm_backend):
    plugin = proxy_wasm_backend.load_plugin({module!r})
    assert proxy_wasm_backend.request(plugin).status == 200
    kill(proxy_wasm_backend)
    assert proxy_wasm_backend.request(plugin).status == 200  # never a silent 200

def test_after_the_last_request(proxy_wasm_backend):
    plugin = proxy_wasm_backend.load_plugin({module!r})
    assert proxy_wasm_backend.request(plugin).status == 200
    kill(proxy_wasm_backend)
"""


@pytest.mark.parametrize("backend", ["envoy", "diff"])
def test_a_pytest_session_sees_the_named_failure(pytester: pytest.Pytester, backend: str) -> None:
    pytester.makepyfile(KILLING_TEST.format(module=str(HEADERS)))
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--proxy-wasm-backend", backend)
    result.assert_outcomes(passed=1, failed=1, errors=1)
    output = result.stdout.str()
    assert "exited with signal 9 (SIGKILL) after request 1" in output
    assert "noticed at the end of the test" in output  # the teardown error of the second test


def test_a_tcp_connection_after_envoy_died_is_named(backend: EnvoyBackend) -> None:
    plugin = backend.load_plugin(FIXTURES / "rust" / "tcp.wasm")
    assert backend.connect(plugin, downstream=[b"hello"], upstream_reply=[b"world"]).upstream_received
    kill(backend)
    with pytest.raises(EnvoyExited, match=r"SIGKILL\) after connection 1 \(noticed at the next use"):
        backend.connect(plugin, downstream=[b"hello"])


def test_the_marker_asks_for_a_restart_and_the_outcome_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
import os, signal, pytest

@pytest.mark.proxy_wasm(restart_envoy_after_exit=True)
def test_restarted(proxy_wasm_backend):
    plugin = proxy_wasm_backend.load_plugin({str(HEADERS)!r})
    proxy_wasm_backend.request(plugin)
    os.kill(proxy_wasm_backend.process.process.pid, signal.SIGKILL)
    proxy_wasm_backend.process.process.wait(timeout=10)
    outcome = proxy_wasm_backend.request(plugin)
    assert outcome.status == 200 and proxy_wasm_backend.starts == 2
    assert any("signal 9 (SIGKILL) after request 1" in d for d in outcome.diagnostics)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--proxy-wasm-backend", "envoy")
    result.assert_outcomes(passed=1)


CRASH_AT_CONFIGURE = """
(module
  (import "env" "proxy_grpc_call"
    (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "authorino")
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $call (i32.const 100) (i32.const 9) (i32.const 100) (i32.const 1) (i32.const 100)
      (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 1000)
      (i32.const 200)))
    (i32.const 1)))
"""


def test_a_crash_at_configure_is_a_start_failure_on_both_backends(tmp_path: Path) -> None:
    import wasmtime

    from pytest_proxy_wasm import Host, PluginStartError
    from pytest_proxy_wasm.backends.envoy.process import EnvoyStartError

    module = bytes(wasmtime.wat2wasm(CRASH_AT_CONFIGURE))
    with Host() as host, pytest.raises(PluginStartError, match="proxy_on_configure failed: proxy_crash: "):
        host.load_plugin(module)
    with EnvoyBackend(tmp_path / "envoy") as envoy, pytest.raises(EnvoyStartError) as failure:
        envoy.load_plugin(module)
    assert failure.value.reason == "exited with signal 6 (SIGABRT)"
    assert "panic: unset oneof" in failure.value.log_tail
