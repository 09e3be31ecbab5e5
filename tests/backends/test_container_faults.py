"""The container backend names a container that was stopped or killed, between and during requests,
and at the end of a test (issue 25); skipped with the reason where no Docker engine answers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import BackendMismatch, DiffBackend, EmulatorBackend
from pytest_proxy_wasm.backends.envoy.container import EnvoyContainerBackend, docker_unavailable_reason
from pytest_proxy_wasm.backends.envoy.faults import EnvoyExited

pytest.importorskip("docker", reason="the 'container' extra is not installed")
REASON = docker_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rust"


def container_of(backend: EnvoyContainerBackend):  # type: ignore[no-untyped-def]
    assert backend.process is not None
    return backend.process.container.get_wrapped_container()  # type: ignore[attr-defined]


@pytest.fixture
def backend(tmp_path: Path):
    with EnvoyContainerBackend(tmp_path / "envoy") as envoy:
        yield envoy


def test_a_stopped_container_is_named_at_the_next_request(backend: EnvoyContainerBackend) -> None:
    plugin = backend.load_plugin(FIXTURES / "headers.wasm")
    assert backend.request(plugin).status == 200
    container_of(backend).stop(timeout=10)  # SIGTERM: Envoy shuts down cleanly
    with pytest.raises(EnvoyExited) as fault:
        backend.request(plugin)
    summary = fault.value.summary
    assert "(container " in summary and "exited with exit code 0 after request 1" in summary
    assert backend.starts == 1


def test_a_killed_container_during_a_request(backend: EnvoyContainerBackend) -> None:
    backend.expect_http_call("outbound|5000||sealos.hub").respond_with(200, body=b"\x02", delay_ms=3000)
    plugin = backend.load_plugin(FIXTURES / "callout_auth.wasm")
    timer = threading.Timer(1.0, lambda: container_of(backend).kill())
    timer.start()
    try:
        with pytest.raises(EnvoyExited) as fault:
            backend.request(plugin, path="/private")
    finally:
        timer.join()
    assert "exit code 137 (signal 9, SIGKILL) during request 1 (GET /private)" in fault.value.summary


def test_a_container_killed_after_the_last_request_fails_the_check(
    backend: EnvoyContainerBackend,
) -> None:
    plugin = backend.load_plugin(FIXTURES / "headers.wasm")
    backend.request(plugin)
    container_of(backend).kill()
    container_of(backend).wait(timeout=10)
    with pytest.raises(EnvoyExited, match=r"SIGKILL\) after request 1 \(noticed at the end of the test\)"):
        backend.check()


def test_diff_mode_over_a_container_names_the_stop(tmp_path: Path) -> None:
    envoy = EnvoyContainerBackend(tmp_path / "envoy")
    backend = DiffBackend(EmulatorBackend(), envoy)  # type: ignore[arg-type]
    try:
        plugin = backend.load_plugin(FIXTURES / "headers.wasm")
        backend.request(plugin)
        container_of(envoy).kill()
        container_of(envoy).wait(timeout=10)
        with pytest.raises(BackendMismatch, match=r"exit code 137 .*; the emulator answered 200"):
            backend.request(plugin)
    finally:
        backend.close()
