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


def test_a_difference_names_the_first_divergent_hostcall(
    diverging: DiffBackend, headers_module: bytes
) -> None:
    plugin = diverging.load_plugin(headers_module)
    with pytest.raises(BackendMismatch) as info:
        diverging.request(plugin, path="/traced")
    text = str(info.value)
    assert "plugin_logs" in text  # the end state: the emulator did not log the :path
    assert "first divergent call: record 5" in text, text
    emulator_line = next(line for line in text.splitlines() if line.startswith("> emulator"))
    envoy_line = next(line for line in text.splitlines() if line.startswith("> envoy"))
    assert "proxy_get_header_map_value(map_type=HTTP_REQUEST_HEADERS" in emulator_line
    assert emulator_line.endswith("-> NOT_FOUND") and 'key=":path"' in emulator_line
    assert "proxy_get_header_map_value" in envoy_line and envoy_line.endswith("-> OK")
    # a few calls of context: the three both made before, and what followed on each side
    assert text.count("\n  both ") == 3
    assert "proxy_log" in text.split("> envoy", 1)[1]


# -- the parser, on lines Envoy 1.40.0 wrote (tests/backends/data; rust/headers.wasm, one request) --------

DATA = Path(__file__).resolve().parent / "data" / "envoy_1.40_wasm_trace.log"


def _messages(text: str) -> list[str]:
    return [line.split("|", 2)[2] for line in text.splitlines() if line.count("|") >= 2]


def test_parser_reads_envoy_140_lines() -> None:
    from pytest_proxy_wasm.backends.envoy.trace_lines import parse_trace

    records = parse_trace(_messages(DATA.read_text()))
    assert [(r.kind, r.name) for r in records[:5]] == [
        ("callback", "proxy_on_context_create"),
        ("callback", "proxy_on_request_headers"),
        ("hostcall", "proxy_get_header_map_pairs"),
        ("callback", "proxy_on_memory_allocate"),
        ("hostcall", "proxy_log"),
    ]
    headers, pairs, alloc, log = records[1:5]
    assert headers.raw == (2, 7, 1) and headers.status == "0" and headers.context_id == 2
    assert pairs.args == {"map_type": "HTTP_REQUEST_HEADERS"} and pairs.status == "OK" and pairs.depth == 1
    assert alloc.depth == 1 and alloc.result == 1069904 and alloc.context_id == 2
    assert log.args["level"] == "INFO" and log.callback == "proxy_on_request_headers"
    assert all(r.status for r in records) and {r.source for r in records} == {"envoy"}
    assert records[-1].name == "proxy_on_delete" and records[-1].status == "void"


def test_parser_is_tolerant() -> None:
    from pytest_proxy_wasm.backends.envoy.trace_lines import misuse_of, parse_trace

    records = parse_trace(
        [
            "some other wasm line",
            "[host->vm] proxy_on_request_headers(2, 3, 1)",
            "[vm->host] env.proxy_log(2, 4294967280, 64)",
            "[vm<-host] env.proxy_log return: 6",
            "[vm->host] wasi_snapshot_preview1.fd_write(1, 100, 1, 200)",
            "[vm->host] env.proxy_unknown_call(1, x)",  # not numbers: skipped
            "[host<-vm] proxy_on_never_opened return: 0",  # no open call: ignored
            "[host->vm] proxy_on_response_headers(2, 3, 1)",  # a trap: no return line
        ]
    )
    assert [(r.name, r.status) for r in records] == [
        ("proxy_on_request_headers", "trap"),
        ("proxy_log", "INVALID_MEMORY_ACCESS"),
        ("fd_write", "trap"),
        ("proxy_on_response_headers", "trap"),
    ]
    (misuse,) = misuse_of(records)
    assert (misuse.hostcall, misuse.status, misuse.callback) == (
        "proxy_log",
        "INVALID_MEMORY_ACCESS",
        "proxy_on_request_headers",
    )
