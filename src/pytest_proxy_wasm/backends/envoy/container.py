"""Envoy from the ``envoyproxy/envoy`` image through testcontainers, behind the same backend Protocol.

Written for the ``envoyproxy/envoy`` tags ``v1.40-latest`` and ``v1.40.0`` (the default is
``PYTEST_PROXY_WASM_ENVOY_IMAGE`` or ``envoyproxy/envoy:v1.40-latest``). The container uses the host
network so the fakes on 127.0.0.1 are reachable, and mounts the work directory at the same path so
the rendered config, modules and log files keep their paths.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

from .backend import EnvoyBackend
from .process import EnvoyProcess, EnvoyStartError

DEFAULT_IMAGE = "envoyproxy/envoy:v1.40-latest"
DOCKER_SOCKET = "/var/run/docker.sock"


def default_image() -> str:
    return os.environ.get("PYTEST_PROXY_WASM_ENVOY_IMAGE", DEFAULT_IMAGE)


@functools.cache
def docker_unavailable_reason() -> str | None:
    """``None`` when a Docker engine answers; otherwise why the container backend cannot run."""
    if not os.environ.get("DOCKER_HOST") and not Path(DOCKER_SOCKET).exists():
        return f"no Docker engine reachable (DOCKER_HOST is unset and {DOCKER_SOCKET} does not exist)"
    try:
        import docker
    except ImportError:
        return "the container backend needs the 'container' extra: pip install 'pytest-proxy-wasm[container]'"
    client = None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        return f"no Docker engine reachable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    finally:
        if client is not None:
            client.close()
    return None


class EnvoyContainer(EnvoyProcess):
    """The same runner contract as ``EnvoyProcess``; Envoy runs inside the image instead."""

    def __init__(
        self,
        config_path: Path,
        workdir: Path,
        *,
        image: str | None = None,
        startup_timeout: float = 60.0,
        concurrency: int = 1,
    ) -> None:
        super().__init__(
            config_path,
            workdir,
            binary=Path("envoy"),
            startup_timeout=startup_timeout,
            concurrency=concurrency,
        )
        self.image = image or default_image()
        self.container: Any = None

    def container_spec(self) -> dict[str, Any]:
        """What is handed to testcontainers: image, command, mounts and network (tested without Docker)."""
        return {
            "image": self.image,
            "command": self.command,
            "volumes": [(str(self.workdir), str(self.workdir), "rw")],
            "network_mode": "host",
            "labels": {"org.pytest-proxy-wasm.base-id": str(self.base_id)},
        }

    def start(self) -> EnvoyContainer:
        from testcontainers.core.container import DockerContainer

        spec = self.container_spec()
        container = DockerContainer(
            spec["image"],
            command=spec["command"],
            volumes=spec["volumes"],
            network_mode=spec["network_mode"],
            labels=spec["labels"],
        )
        self.admin_file.unlink(missing_ok=True)
        container.start()
        self.container = container
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.admin_file.exists() and self.admin_file.read_text().strip():
                self.admin = "http://" + self.admin_file.read_text().strip()
                port = self._listener_port()
                if port:
                    self.port = port
                    return self
            time.sleep(0.05)
        tail = self.log_tail()
        self.stop()
        raise EnvoyStartError(
            f"container not ready after {self.startup_timeout:.0f} s", self.command, self.config_path, tail
        )

    def running(self) -> bool:
        return self.container is not None

    def stop(self) -> None:
        container, self.container = self.container, None
        if container is not None:
            container.stop()


class EnvoyContainerBackend(EnvoyBackend):
    """The Envoy backend with Envoy inside the official image."""

    name = "container"

    def __init__(self, workdir: Path | None = None, *, image: str | None = None, workers: int = 1) -> None:
        super().__init__(workdir, startup_timeout=60.0, workers=workers)
        self.image = image or default_image()

    def make_runner(self, config_path: Path) -> EnvoyProcess:
        return EnvoyContainer(config_path, self.workdir, image=self.image, concurrency=self.workers)
