"""Runtime.load's per-process caches: by content, and by unchanged path (no re-read, no re-hash)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm import Runtime
from pytest_proxy_wasm.errors import ModuleLoadError

ONE = '(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))'
TWO = ONE.replace("(memory", '(func (export "extra")) (memory')


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    runtime = Runtime(cache_dir=None)
    yield runtime
    runtime.close()


def test_unchanged_path_returns_the_same_module_without_reading(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(wasmtime.wat2wasm(ONE))
    first = runtime.load(module)

    def no_read(self: Path) -> bytes:
        raise AssertionError(f"{self} read again")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    assert runtime.load(module) is first
    assert runtime.load(str(module), name="other").name == "other"


def test_rewritten_file_is_read_again(runtime: Runtime, tmp_path: Path) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(wasmtime.wat2wasm(ONE))
    first = runtime.load(module)
    module.write_bytes(wasmtime.wat2wasm(TWO))
    os.utime(module, ns=(1, 1))  # a different mtime even on a coarse clock
    second = runtime.load(module)
    assert second.sha256 != first.sha256
    assert "extra" in {name for name, _ in second.exports}


def test_file_replaced_by_garbage_is_a_load_error(runtime: Runtime, tmp_path: Path) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(wasmtime.wat2wasm(ONE))
    runtime.load(module)
    module.write_bytes(b"not wasm at all")
    with pytest.raises(ModuleLoadError):
        runtime.load(module)


def test_disk_cache_is_bounded_least_recently_used_first(tmp_path: Path) -> None:
    """Compiled modules on disk are trimmed to the bound, oldest use first, across wasmtime versions."""
    from pytest_proxy_wasm.host.module_cache import ModuleCache

    stale = tmp_path / "wasmtime-1.0.0-epoch-stack1048576" / f"{'0' * 64}.cwasm"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x" * 1000)
    os.utime(stale, (1, 1))  # used long ago, by a wasmtime no longer installed
    runtime = Runtime(cache_dir=tmp_path)
    try:
        first = runtime.load(wasmtime.wat2wasm(ONE))
        size = ModuleCache(tmp_path, runtime.settings_key).path(first.sha256).stat().st_size
        assert not stale.exists() or size + 1000 <= (1024 << 20)  # the default bound keeps both
    finally:
        runtime.close()
    cache = ModuleCache(tmp_path, runtime.settings_key, limit=size + 10)
    assert cache.trim() == 1 and not stale.exists() and not stale.parent.exists()
    kept = cache.path(first.sha256)
    assert kept.exists()
    other = Runtime(cache_dir=None)
    try:
        second = other.load(wasmtime.wat2wasm(TWO))
        os.utime(kept, (2, 2))
        bound = len(second.module.serialize()) + 10
        ModuleCache(tmp_path, runtime.settings_key, limit=bound).store(second.sha256, second.module)
    finally:
        other.close()
    assert not kept.exists() and cache.path(second.sha256).exists()


def test_cache_bound_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_proxy_wasm.host.module_cache import max_bytes

    monkeypatch.setenv("PYTEST_PROXY_WASM_CACHE_MAX_MB", "2")
    assert max_bytes() == 2 << 20
    monkeypatch.setenv("PYTEST_PROXY_WASM_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="PYTEST_PROXY_WASM_CACHE_MAX_MB='lots'"):
        max_bytes()
