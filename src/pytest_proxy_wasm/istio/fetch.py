"""Fetch a WasmPlugin's module the way istio-agent does (istio/istio ``pkg/wasm``): file, http(s), oci,
checksums per scheme, unboxing, retries, size cap, pull policy and a module cache on disk."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from . import hints, oci
from .enums import PullPolicy
from .model import FetchError, WasmPlugin

WASM_MAGIC = b"\0asm"


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path`` through a temporary file of this process's own (then renamed over it)."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive lock across processes (``flock``; where there is none, the atomic write alone)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


NO_RETRY = (501, 505, 511)


@dataclass(frozen=True)
class Fetched:
    module: Path
    checksum: str  # http(s): sha256 of the unboxed body; oci: the manifest digest (hex); file: ""
    cached: bool = False
    log: tuple[str, ...] = ()  # what istio-agent would log about this fetch (``run`` prints it)


def check_wasm(data: bytes, where: str) -> None:
    if len(data) < 8 or not data.startswith(WASM_MAGIC):
        raise FetchError(f"{where}: not a Wasm binary (needs at least 8 bytes starting with \\0asm)")


def unbox(data: bytes, max_size: int = oci.MAX_SIZE) -> bytes:
    """gzip and/or POSIX tar wrappers removed repeatedly until the bytes start with ``\\0asm``."""
    for _ in range(8):
        if data.startswith(WASM_MAGIC):
            return data
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(max_size + 1)
            except (OSError, EOFError):
                return data
            if len(data) > max_size:
                raise FetchError(f"decompressed module exceeds the {max_size}-byte limit")
        elif data[257:262] == b"ustar":
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                member = next((m for m in tar.getmembers() if m.isfile()), None)
                extracted = tar.extractfile(member) if member is not None else None
                if extracted is None:
                    return data
                data = extracted.read()
        else:
            return data
    return data


def _oci_log(plugin: WasmPlugin, pulled: oci.Pulled, mapped: str) -> tuple[str, ...]:
    """istio-agent's own lines (pkg/wasm imagefetcher), then what it found."""
    ref = oci.parse_reference(plugin.url)
    lines = [
        f"fetching image {ref.repository} from registry {ref.registry}{mapped} with tag {ref.tag or 'latest'}"
        + (f" and digest {ref.digest}" if ref.digest else "")
    ]
    if pulled.plain_http:
        lines.append(f"fetching image with plain text from {ref}")
    lines.append(f"image format: {pulled.format}; manifest digest: {pulled.digest}")
    if plugin.image_pull_secret:
        lines.append(f"credentials: imagePullSecret {plugin.namespace}/{plugin.image_pull_secret}")
    return tuple(lines)


def effective_policy(plugin: WasmPlugin) -> PullPolicy:
    """UNSPECIFIED behaves as IfNotPresent, except oci URLs whose reference ends in ``:latest``."""
    if plugin.image_pull_policy is not PullPolicy.UNSPECIFIED_POLICY:
        return plugin.image_pull_policy
    if plugin.scheme == "oci" and plugin.url.split("@", 1)[0].endswith(":latest"):
        return PullPolicy.Always
    return PullPolicy.IfNotPresent


@dataclass
class Fetcher:
    """istio-agent's fetcher and cache. ``hosts`` maps a URL's host (``private-registry:5000``) to a local
    stand-in (``127.0.0.1:PORT`` or ``http://127.0.0.1:PORT``); ``secrets`` maps ``namespace/name`` to
    ``.dockerconfigjson`` bytes (what istiod inlines for ``imagePullSecret``)."""

    cache_dir: Path | None = None
    hosts: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, bytes] = field(default_factory=dict)
    max_size: int = oci.MAX_SIZE
    attempts: int = 5
    timeout: float = 15.0
    backoff: float = 0.2
    insecure: bool = False
    stats: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.cache_dir is None:
            self.cache_dir = Path(tempfile.mkdtemp(prefix="pytest-proxy-wasm-istio-cache-"))
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    @property
    def _index_path(self) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / "index.json"

    def _index(self) -> dict[str, dict[str, str]]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self._index_path.read_text())
        except (OSError, ValueError):
            return {}
        return data

    def _store(self, url: str, checksum: str, module: bytes, resource_version: str) -> Path:
        assert self.cache_dir is not None
        path = self.cache_dir / f"{hashlib.sha256(module).hexdigest()}.wasm"
        _write_atomically(path, module)
        # Processes sharing the cache directory: the lock keeps each one's entry (read-modify-write),
        # the unique temporary name keeps a reader from ever seeing half an index.
        with _locked(self.cache_dir / "index.lock"):
            index = self._index()
            index[url] = {"checksum": checksum, "file": path.name, "resource_version": resource_version}
            _write_atomically(self._index_path, json.dumps(index, indent=1).encode())
        return path

    def _rewrite(self, url: str) -> str:
        parts = urlsplit(url if "://" in url else "oci://" + url)
        target = self.hosts.get(parts.netloc)
        if target is None:
            return urlunsplit(parts)
        if "://" in target:
            scheme, _, netloc = target.partition("://")
            return urlunsplit((scheme, netloc, parts.path, parts.query, ""))
        return urlunsplit((parts.scheme, target, parts.path, parts.query, ""))

    def fetch(self, plugin: WasmPlugin) -> Fetched:
        """The module for ``plugin`` (a local file), or ``FetchError``; a checksum mismatch is an error."""
        if plugin.scheme == "file":
            path = Path(plugin.url[len("file://") :])
            if not path.is_file():
                raise FetchError(f"{plugin.describe()}: no such file {path}" + hints.missing_file(path))
            # Envoy loads it directly; istiod drops sha256 for file://
            return Fetched(path, "", log=(f"local file {path}: not fetched (Envoy reads it)",))
        if plugin.scheme not in ("http", "https", "oci"):
            raise FetchError(f"{plugin.describe()}: unsupported scheme {plugin.scheme}")
        index = self._index()
        entry = index.get(plugin.url)
        policy = effective_policy(plugin)
        expected = plugin.sha256
        if plugin.scheme == "oci" and not expected and "@sha256:" in plugin.url:
            expected = plugin.url.rsplit("@sha256:", 1)[1]
        if entry is not None and (not expected or entry["checksum"] == expected):
            fresh = policy is PullPolicy.IfNotPresent or entry["resource_version"] == plugin.resource_version
            assert self.cache_dir is not None
            if fresh and (self.cache_dir / entry["file"]).is_file():
                self.stats["cache_hit"] += 1
                line = f"cache hit: {plugin.url} (checksum {entry['checksum']}, pull policy {policy.name})"
                return Fetched(self.cache_dir / entry["file"], entry["checksum"], True, (line,))
        self.stats["cache_miss"] += 1
        try:
            module, checksum, log = self._download(plugin)
            if expected and checksum != expected:
                hint = hints.oci_checksum(expected, checksum, module) if plugin.scheme == "oci" else ""
                raise FetchError(
                    f"module downloaded from {plugin.url} has checksum {checksum}, "
                    f"which does not match: {expected}" + hint,
                    "checksum_mismatched",
                )
            check_wasm(module, plugin.url)
        except FetchError as exc:
            self.stats[exc.result] += 1
            raise
        self.stats["success"] += 1
        log += (f"cache miss: pulled (pull policy {policy.name}), {len(module)} bytes, stored in the cache",)
        stored = self._store(plugin.url, checksum, module, plugin.resource_version)
        return Fetched(stored, checksum, log=log)

    def _download(self, plugin: WasmPlugin) -> tuple[bytes, str, tuple[str, ...]]:
        try:
            return self._download_once(plugin)
        except FetchError as exc:
            host = urlsplit(plugin.url if "://" in plugin.url else "oci://" + plugin.url).netloc
            text = str(exc)
            if plugin.scheme == "oci" and "anonymously: HTTP 401" in text:
                raise FetchError(text + hints.anonymous_pull(plugin.namespace), exc.result) from None
            unreachable = "unreachable" in text or "ConnectError" in text
            if unreachable and host not in self.hosts:
                raise FetchError(text + hints.unknown_host(host), exc.result) from None
            raise

    def _download_once(self, plugin: WasmPlugin) -> tuple[bytes, str, tuple[str, ...]]:
        url = self._rewrite(plugin.url)
        mapped = f" (mapped to {urlsplit(url).netloc})" if url != urlunsplit(urlsplit(plugin.url)) else ""
        if plugin.scheme == "oci":
            credentials = None
            if plugin.image_pull_secret:
                secret = self.secrets.get(f"{plugin.namespace}/{plugin.image_pull_secret}", b"")
                if not secret:
                    hint = hints.missing_secret(plugin.namespace, plugin.image_pull_secret)
                    raise FetchError(
                        f"{plugin.describe()}: missing image pulling secret" + hint, "manifest_failure"
                    )
                registry = oci.parse_reference(url).registry
                original = oci.parse_reference(plugin.url).registry
                credentials = oci.credentials_for(secret, original) or oci.credentials_for(secret, registry)
            pulled = oci.pull(
                url, credentials, insecure=self.insecure, max_size=self.max_size, timeout=self.timeout
            )
            return pulled.module, pulled.digest.removeprefix("sha256:"), _oci_log(plugin, pulled, mapped)
        body = self._http_get(url)
        module = unbox(body, self.max_size)
        digest = hashlib.sha256(module).hexdigest()
        return module, digest, (f"fetching {plugin.url}{mapped}: sha256 of the module {digest}",)

    def _http_get(self, url: str) -> bytes:
        last = ""
        with httpx.Client(timeout=self.timeout, verify=not self.insecure, follow_redirects=True) as client:
            for attempt in range(self.attempts):
                if attempt:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    with client.stream("GET", url) as response:
                        if response.status_code == 200:
                            data = bytearray()
                            for chunk in response.iter_bytes():
                                data += chunk
                                if len(data) > self.max_size:
                                    raise FetchError(f"{url}: body exceeds the {self.max_size}-byte limit")
                            return bytes(data)
                        last = f"HTTP {response.status_code}"
                        if response.status_code < 500 or response.status_code in NO_RETRY:
                            break
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
        raise FetchError(f"wasm module download failed from {url}: {last}")
