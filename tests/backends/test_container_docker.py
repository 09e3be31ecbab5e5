"""The container backend against a real Docker engine (skipped with the reason where none answers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.backends.envoy import container
from pytest_proxy_wasm.backends.envoy.container import (
    EnvoyContainer,
    EnvoyContainerBackend,
    docker_unavailable_reason,
    requested_image,
    session_image,
)
from pytest_proxy_wasm.backends.envoy.process import EnvoyStartError

docker = pytest.importorskip("docker", reason="the 'container' extra is not installed")
REASON = docker_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rust"


@pytest.fixture
def image() -> str:
    return session_image(requested_image()).tag


def test_a_refused_config_fails_when_the_container_exits_with_envoys_log(tmp_path: Path, image: str) -> None:
    config = tmp_path / "envoy.json"
    config.write_text('{"static_resources": {"listeners": [{"name": 3}]}}')
    runner = EnvoyContainer(config, tmp_path, image=image, startup_timeout=600)
    with pytest.raises(EnvoyStartError) as failure:
        runner.start()
    assert failure.value.reason.startswith("container exited with code")  # not the 600 s timeout
    assert "Unable to parse JSON as proto" in failure.value.log_tail  # Envoy's own words
    assert str(config) in str(failure.value)
    assert not runner.running()


def test_a_module_envoy_refuses_names_envoys_reason(tmp_path: Path) -> None:
    with (
        EnvoyContainerBackend(tmp_path) as backend,
        pytest.raises(Exception, match="Failed to parse corrupted Wasm module"),
    ):
        backend.load_plugin(b"\0asm\x01\0\0\0not a module")


def test_the_sample_answers_and_the_container_is_removed_after(tmp_path: Path) -> None:
    with EnvoyContainerBackend(tmp_path) as backend:
        assert backend.description.startswith(f"container: {backend.image} (")
        plugin = backend.load_plugin(FIXTURES / "headers.wasm")
        outcome = backend.request(plugin, headers={"x-probe": "1"})
        assert outcome.status == 200 and outcome.backend == "container"
        assert backend.process is not None and backend.process.running()
        wrapped = backend.process.container.get_wrapped_container()  # type: ignore[attr-defined]
    with pytest.raises(docker.errors.NotFound):
        wrapped.reload()  # removed, not only stopped


def test_containers_left_behind_are_removed_by_the_owner_label(tmp_path: Path, image: str) -> None:
    client = docker.from_env()
    try:
        left = client.containers.create(
            image, ["envoy", "--version"], labels={container.LABEL_OWNER: "test-" + tmp_path.name}
        )
        assert container.remove_containers("test-" + tmp_path.name) == 1
        assert not client.containers.list(all=True, filters={"id": left.id})
    finally:
        client.close()


def test_cleanup_is_ryuk_where_its_image_runs_else_labels_with_the_reason(tmp_path: Path) -> None:
    """This machine decides: Ryuk when its image is present or pullable (a reaper container of this
    session runs), else the label fallback naming the image and why (e.g. no registry)."""
    from testcontainers.core.config import testcontainers_config as config

    with EnvoyContainerBackend(tmp_path) as backend:
        backend.load_plugin(FIXTURES / "headers.wasm")
        cleanup = container.session_cleanup()
        assert backend.cleanup == cleanup.describe()
        client = docker.from_env()
        try:
            reapers = client.containers.list(filters={"name": "testcontainers-ryuk-"})
            image_here = bool(client.images.list(name=config.ryuk_image.split(":")[0]))
        finally:
            client.close()
    if cleanup.ryuk:
        assert reapers and image_here
    else:
        assert config.ryuk_image in cleanup.reason or "turned off" in cleanup.reason
        assert not image_here or "turned off" in cleanup.reason
