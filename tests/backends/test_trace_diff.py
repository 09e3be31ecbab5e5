"""Trace diff on the Envoy backend: Envoy's [vm->host] lines become the emulator's records, and a
difference between the backends names the first hostcall where the traces diverge (issue 13, item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm.backends import BackendMismatch, DiffBackend, EmulatorBackend
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.trace_diff import first_divergence
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
STARTUP = 90.0  # the machine may be loaded; Envoy's V8 compiles the module at start


@pytest.fixture
def headers_module() -> bytes:
    return wasmtime.wat2wasm((FIXTURES / "wat" / "headers_021.wat").read_text())


def diff_backend(tmp_path: Path, options: HostOptions) -> Iterator[DiffBackend]:
    reason = envoy_unavailable_reason("envoy")
    if reason:
        pytest.skip(reason)
    from pytest_proxy_wasm.backends.envoy.backend import EnvoyBackend

    backend = DiffBackend(
        EmulatorBackend(None, options.replace(trace=True)),
        EnvoyBackend(tmp_path / "envoy", trace=True, startup_timeout=STARTUP),
    )
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def same(tmp_path: Path) -> Iterator[DiffBackend]:
    yield from diff_backend(tmp_path, HostOptions())


@pytest.fixture
def diverging(tmp_path: Path) -> Iterator[DiffBackend]:
    """The emulator made to differ on purpose: proxy_get_header_map_value answers NOT_FOUND."""
    yield from diff_backend(tmp_path, HostOptions(diverge_hostcall="proxy_get_header_map_value"))


def test_both_backends_trace_the_same_calls(same: DiffBackend, headers_module: bytes) -> None:
    plugin = same.load_plugin(headers_module)
    emulated = same.request(plugin, path="/traced")
    real = same.envoy._last_trace  # type: ignore[attr-defined]
    names = [r.name for r in emulated.trace]
    assert names[:3] == ["proxy_on_context_create", "proxy_on_request_headers", "proxy_get_header_map_pairs"]
    assert [r.name for r in real] == names
    assert first_divergence(emulated.trace, real) is None, [r.line() for r in real]
    get = next(r for r in real if r.name == "proxy_get_header_map_value")
    assert get.source == "envoy" and get.status == "OK" and get.args["map_type"] == "HTTP_REQUEST_HEADERS"


def test_a_difference_names_the_first_divergent_hostcall(diverging: DiffBackend, headers_module: bytes) -> None:
    plugin = diverging.load_plugin(headers_module)
    with pytest.raises(BackendMismatch) as info:
        diverging.request(plugin, path="/traced")
    text = str(info.value)
    assert "plugin_logs" in text  # the end state: the emulator did not log the :path
    assert "first divergent call: record 5" in text, text
    emulator_line = next(line for line in text.splitlines() if line.startswith("> emulator"))
    envoy_line = next(line for line in text.splitlines() if line.startswith("> envoy"))
    assert "proxy_get_header_map_value(map_type=HTTP_REQUEST_HEADERS" in emulator_line
    assert emulator_line.endswith("-> NOT_FOUND") and "key=\":path\"" in emulator_line
    assert "proxy_get_header_map_value" in envoy_line and envoy_line.endswith("-> OK")
    # a few calls of context: the three both made before, and what followed on each side
    assert text.count("\n  both ") == 3
    assert "proxy_log" in text.split("> envoy", 1)[1]
