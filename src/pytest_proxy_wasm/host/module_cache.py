"""The on-disk cache of compiled modules, bounded: least recently used files go first.

Files live under ``<cache dir>/<wasmtime version and engine settings>/<sha256>.cwasm``. A hit refreshes
the file's mtime; after each write the whole cache (every wasmtime version's directory, so old versions
age out) is trimmed to ``PYTEST_PROXY_WASM_CACHE_MAX_MB`` (default 1024 MiB), oldest first.

Ours rather than wasmtime's ``Config.cache``: its configuration is a TOML file whose keys changed across
wasmtime releases, and it hashes the module bytes again on every load, which the per-path cache in
``Runtime`` avoids. Processes sharing the directory are safe: files are written under a unique name and
renamed into place, and a file removed under a reader is a miss.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import wasmtime

DEFAULT_MAX_BYTES = 1024 << 20


def max_bytes() -> int:
    """The size bound from ``PYTEST_PROXY_WASM_CACHE_MAX_MB`` (a bad value names the variable)."""
    text = os.environ.get("PYTEST_PROXY_WASM_CACHE_MAX_MB", "")
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(text)
    except ValueError:
        raise ValueError(f"PYTEST_PROXY_WASM_CACHE_MAX_MB={text!r} is not a number of MiB") from None
    return max(0, int(megabytes * (1 << 20)))


class ModuleCache:
    """One settings directory of the cache, and the trimming of the whole cache."""

    def __init__(self, root: Path, settings_key: str, limit: int | None = None) -> None:
        self.root = root
        self.directory = root / settings_key
        self.limit = max_bytes() if limit is None else limit

    def path(self, digest: str) -> Path:
        return self.directory / f"{digest}.cwasm"

    def load(self, engine: wasmtime.Engine, digest: str) -> wasmtime.Module | None:
        """The cached module, or ``None`` (absent, removed meanwhile, or unreadable: then dropped)."""
        path = self.path(digest)
        if not path.exists():
            return None
        try:
            module = wasmtime.Module.deserialize_file(engine, str(path))
        except wasmtime.WasmtimeError:
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: trimmed last
        return module

    def store(self, digest: str, module: wasmtime.Module) -> None:
        """Write the compiled module (a read-only cache is not an error), then trim the cache."""
        path = self.path(digest)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(module.serialize())
            tmp.replace(path)
        except OSError:
            return
        self.trim()

    def trim(self) -> int:
        """Remove the least recently used files until the cache fits its bound; how many were removed."""
        files: list[tuple[float, int, Path]] = []
        for path in self.root.glob("*/*.cwasm"):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.limit:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= size
            removed += 1
        for directory in self.root.iterdir() if removed else ():
            if directory.is_dir() and directory != self.directory:
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only when empty
        return removed
