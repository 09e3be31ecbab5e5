"""Repository-only test helpers: paths to fixtures. The plugin itself is registered by its entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

ROOT = Path(__file__).parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Inline runs without faulthandler: its enable() would sit on top of wasmtime's trap handlers, and
    the next wasm trap in this process (``unreachable`` is a SIGILL) would kill the worker."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:faulthandler")
    return pytester


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def wat() -> object:
    """``wat("name")`` compiles fixtures/wat/name.wat; ``wat("(module ...)")`` compiles inline text."""

    def compile_wat(source: str) -> bytes:
        if source.lstrip().startswith("("):
            return wasmtime.wat2wasm(source)
        return wasmtime.wat2wasm((FIXTURES / "wat" / f"{source}.wat").read_text())

    return compile_wat
