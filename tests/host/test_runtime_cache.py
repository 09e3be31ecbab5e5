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
