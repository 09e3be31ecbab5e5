"""EnvoyContainer without Docker: the spec handed to testcontainers, the command, and the skip reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.backends.envoy import container
from pytest_proxy_wasm.backends.envoy.container import (
    DEFAULT_IMAGE,
    EnvoyContainer,
    EnvoyContainerBackend,
    docker_unavailable_reason,
)


def test_container_spec_mounts_the_workdir_on_the_host_network(tmp_path: Path) -> None:
    config = tmp_path / "envoy.json"
    runner = EnvoyContainer(config, tmp_path, image="envoyproxy/envoy:v1.40.0")
    spec = runner.container_spec()
    assert spec["image"] == "envoyproxy/envoy:v1.40.0"
    assert spec["network_mode"] == "host"  # the fakes listen on the host's 127.0.0.1
    assert spec["volumes"] == [(str(tmp_path), str(tmp_path), "rw")]  # same paths inside and out
    assert spec["labels"] == {"org.pytest-proxy-wasm.base-id": str(runner.base_id)}
    command = spec["command"]
    assert command[0] == "envoy"  # the image's binary, not the wheel's
    assert command[command.index("-c") + 1] == str(config)
    assert command[command.index("--base-id") + 1] == str(runner.base_id)
    assert command[command.index("--admin-address-path") + 1] == str(tmp_path / "admin-address.txt")
    assert command[command.index("--log-path") + 1] == str(tmp_path / "envoy.log")
    assert "--disable-hot-restart" in command
    assert command[command.index("--concurrency") + 1] == "1"


def test_image_defaults_to_the_1_40_tag_and_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_PROXY_WASM_ENVOY_IMAGE", raising=False)
    assert (
        EnvoyContainer(tmp_path / "c.json", tmp_path).image
        == DEFAULT_IMAGE
        == "envoyproxy/envoy:v1.40-latest"
    )
    monkeypatch.setenv("PYTEST_PROXY_WASM_ENVOY_IMAGE", "envoyproxy/envoy:v1.40.0")
    assert EnvoyContainer(tmp_path / "c.json", tmp_path).image == "envoyproxy/envoy:v1.40.0"


def test_backend_uses_the_container_runner(tmp_path: Path) -> None:
    backend = EnvoyContainerBackend(tmp_path, image="envoyproxy/envoy:v1.40.0")
    try:
        runner = backend.make_runner(tmp_path / "envoy.json")
        assert isinstance(runner, EnvoyContainer)
        assert runner.image == "envoyproxy/envoy:v1.40.0"
        assert backend.name == "container"
    finally:
        backend.close()


def test_no_engine_gives_a_clear_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    docker_unavailable_reason.cache_clear()
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(container, "DOCKER_SOCKET", str(tmp_path / "no-docker.sock"))
    try:
        reason = docker_unavailable_reason()
    finally:
        docker_unavailable_reason.cache_clear()
    assert reason is not None
    assert reason.startswith("no Docker engine reachable")
    assert "no-docker.sock" in reason


def test_container_backend_is_skipped_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_body(proxy_wasm_backend):
            assert proxy_wasm_backend.name == "container"
        """
    )
    result = pytester.runpytest_subprocess("--proxy-wasm-backend=container", "-rs", "-p", "no:cacheprovider")
    if docker_unavailable_reason() is None:
        pytest.skip("a Docker engine is reachable here: the container backend runs for real")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no Docker engine reachable*"])
