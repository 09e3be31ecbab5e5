"""Backends behind one Protocol: the in-process emulator, Envoy as a process, Envoy in a container."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from ..host.options import HostOptions
from ..host.runtime import Runtime
from .base import Backend
from .diff import BackendMismatch, DiffBackend
from .emulator import EmulatorBackend

_E = TypeVar("_E")
BACKEND_NAMES = ("emulator", "envoy", "container", "diff")


def make_backend(
    name: str,
    *,
    runtime: Runtime | None = None,
    options: HostOptions | None = None,
    workdir: Path | None = None,
    image: str | None = None,
) -> Backend:
    """Create a backend by name; the caller owns it and must ``close()`` it."""
    workers = options.workers if options is not None else 1  # Envoy's --concurrency agrees
    backend = _make(name, runtime, options, workdir, image, workers)
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
) -> Backend:
    if name == "emulator":
        return EmulatorBackend(runtime, options)
    if name == "envoy":
        from .envoy.backend import EnvoyBackend

        envoy = EnvoyBackend(workdir, workers=workers, trace=bool(options and options.trace), options=options)
        return with_profile(envoy, options)
    if name == "container":
        from .envoy.container import EnvoyContainerBackend

        return with_profile(
            EnvoyContainerBackend(workdir, image=image, workers=workers, options=options), options
        )
    if name == "diff":
        from .envoy.backend import EnvoyBackend

        # Diff mode always traces both sides: a difference is reported with the first divergent hostcall.
        traced = (options or HostOptions()).replace(trace=True)
        envoy = with_profile(EnvoyBackend(workdir, workers=workers, trace=True, options=options), options)
        return DiffBackend(EmulatorBackend(runtime, traced), envoy)
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKEND_NAMES)}")


def with_profile(envoy: _E, options: HostOptions | None) -> _E:
    """An Envoy backend with ``options.profile``'s settings in its bootstrap (istio/profiles.py)."""
    from ..istio.profiles import profile_named

    profile = profile_named(options.profile) if options is not None and options.profile else None
    vars(envoy)["profile"] = profile  # read by EnvoyBackend's bootstrap writer
    return envoy


__all__ = ["BACKEND_NAMES", "Backend", "BackendMismatch", "DiffBackend", "EmulatorBackend", "make_backend"]
