"""Backends behind one Protocol: the in-process emulator, Envoy as a process, Envoy in a container."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from ..host.options import HostOptions
from ..host.runtime import Runtime
from .base import Backend
from .diff import DiffBackend
from .emulator import EmulatorBackend
from .outcome_diff import BackendMismatch

_E = TypeVar("_E")
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
    backend = _make(name, runtime, options, workdir, image, workers, binary, envoy_version)
    envoy = getattr(backend, "envoy", backend)  # diff mode: its Envoy side
    if options is not None and hasattr(envoy, "restart_after_exit"):
        envoy.restart_after_exit = options.restart_envoy_after_exit  # docs/backends.md "Envoy faults"
    return backend


def _make(
    name: str,
    runtime: Runtime | None,
    options: HostOptions | None,
    workdir: Path | None,
    image: str | None,
    workers: int,
    binary: Path | None = None,
    envoy_version: str | None = None,
) -> Backend:
    if name == "emulator":
        return EmulatorBackend(runtime, options)
    if name == "envoy":
        from .envoy.backend import EnvoyBackend

        envoy = EnvoyBackend(
            workdir, binary=binary, workers=workers, trace=bool(options and options.trace), options=options
        )
        return with_profile(envoy, options)
    if name == "container":
        from .envoy.container import EnvoyContainerBackend

        container = EnvoyContainerBackend(
            workdir, image=image, workers=workers, options=options, envoy_version=envoy_version
        )
        return with_profile(container, options)
    if name == "diff":
        from .envoy.backend import EnvoyBackend

        # Diff mode always traces both sides: a difference is reported with the first divergent hostcall.
        traced = (options or HostOptions()).replace(trace=True)
        envoy = EnvoyBackend(workdir, binary=binary, workers=workers, trace=True, options=options)
        envoy = with_profile(envoy, options)
        return DiffBackend(EmulatorBackend(runtime, traced), envoy)
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKEND_NAMES)}")


def with_profile(envoy: _E, options: HostOptions | None) -> _E:
    """An Envoy backend with ``options.profile``'s settings in its bootstrap (istio/profiles.py)."""
    from ..istio.profiles import profile_named

    profile = profile_named(options.profile) if options is not None and options.profile else None
    vars(envoy)["profile"] = profile  # read by EnvoyBackend's bootstrap writer
    return envoy


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
