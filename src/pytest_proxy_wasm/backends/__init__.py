"""Backends behind one Protocol: the in-process emulator, Envoy as a process, Envoy in a container."""

from __future__ import annotations

from pathlib import Path

from ..host.options import HostOptions
from ..host.runtime import Runtime
from .base import Backend
from .diff import BackendMismatch, DiffBackend
from .emulator import EmulatorBackend

BACKEND_NAMES = ("emulator", "envoy", "container", "diff")


def make_backend(
    name: str,
    *,
    runtime: Runtime | None = None,
    options: HostOptions | None = None,
    workdir: Path | None = None,
    image: str | None = None,
    envoy_version: str | None = None,
) -> Backend:
    """Create a backend by name; the caller owns it and must ``close()`` it.

    ``envoy@1.36`` (or ``envoy_version="1.36"``) runs that Envoy version (fetched into the per-user cache
    on first use, backends/envoy/versions.py) and makes the emulator follow it (``HostOptions``)."""
    name, at_version = split_backend_name(name)
    envoy_version = at_version or envoy_version
    if envoy_version:
        options = (options or HostOptions()).replace(envoy_version=envoy_version)
    binary = None
    if envoy_version and name in ("envoy", "diff"):
        from .envoy.versions import binary_for

        binary = binary_for(envoy_version)
    workers = options.workers if options is not None else 1  # Envoy's --concurrency agrees
    if name == "emulator":
        return EmulatorBackend(runtime, options)
    if name == "envoy":
        from .envoy.backend import EnvoyBackend

        return EnvoyBackend(workdir, binary=binary, workers=workers, trace=bool(options and options.trace))
    if name == "container":
        from .envoy.container import EnvoyContainerBackend

        return EnvoyContainerBackend(workdir, image=image, workers=workers, envoy_version=envoy_version)
    if name == "diff":
        from .envoy.backend import EnvoyBackend

        # Diff mode always traces both sides: a difference is reported with the first divergent hostcall.
        traced = (options or HostOptions()).replace(trace=True)
        envoy = EnvoyBackend(workdir, binary=binary, workers=workers, trace=True)
        return DiffBackend(EmulatorBackend(runtime, traced), envoy)
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKEND_NAMES)}")


def split_backend_name(name: str) -> tuple[str, str | None]:
    """``envoy@1.36`` -> ``("envoy", "1.36")``; ``envoy`` -> ``("envoy", None)``."""
    kind, at, version = name.partition("@")
    if at and not version:
        raise ValueError(f"backend {name!r}: give a version after @, e.g. {kind}@1.36")
    return kind, version or None


__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendMismatch",
    "DiffBackend",
    "EmulatorBackend",
    "make_backend",
    "split_backend_name",
]
