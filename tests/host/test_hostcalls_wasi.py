"""WASI preview 1 as the reference host serves it: stdio as logs, env, virtual clocks, seeded random."""

from __future__ import annotations

import struct

import pytest
from wat_builder import BAD_PTR, Probe, build, records, slots, u32, u64

from pytest_proxy_wasm import Host, HostOptions

SUCCESS, BADF, FAULT, INVAL, NOENT, NOSYS, NOTSUP = 0, 8, 21, 28, 44, 52, 58
IOVS = 64  # iovec table
NWRITTEN = 96


def fd_write_probe(fd: int, *chunks: bytes, iovs: int = IOVS, nwritten: int = NWRITTEN) -> Probe:
    probe = Probe()
    table = b"".join(struct.pack("<II", probe.ptr(c) if c else 0, len(c)) for c in chunks)
    if table:
        probe.data[IOVS] = table
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                f"(call $fd_write (i32.const {fd}) (i32.const {iovs}) (i32.const {len(chunks)}) "
                f"(i32.const {nwritten}))"
            ]
        ),
    )
    return probe


@pytest.mark.parametrize(("fd", "level", "source"), [(1, "info", "stdout"), (2, "error", "stderr")])
def test_fd_write_stdio_becomes_logs(proxy_wasm_host: Host, fd: int, level: str, source: str) -> None:
    plugin = proxy_wasm_host.load_plugin(build(fd_write_probe(fd, b"hello ", b"world\n")), name="w")
    assert slots(plugin, 1) == [SUCCESS]
    assert u32(plugin, NWRITTEN) == 12
    (record,) = [r for r in proxy_wasm_host.logs if r.source != "host"]
    assert (record.level_name, record.message, record.source) == (level, "hello world", source)


@pytest.mark.parametrize(
    ("chunks", "logged", "written"),
    [
        ((b"two\n\n",), ["two\n"], 5),  # one trailing newline stripped
        ((b"\n",), [""], 1),  # a lone newline is an empty line (cpp-host writevImpl, Envoy 1.40)
        ((b"a\nb",), ["a\nb"], 3),
        ((), [], 0),
        ((b"", b"x"), ["x"], 1),
    ],
)
def test_fd_write_newline_handling(
    proxy_wasm_host: Host, chunks: tuple[bytes, ...], logged: list[str], written: int
) -> None:
    plugin = proxy_wasm_host.load_plugin(build(fd_write_probe(1, *chunks)), name="w")
    assert slots(plugin, 1) == [SUCCESS]
    assert u32(plugin, NWRITTEN) == written
    assert proxy_wasm_host.log_messages() == logged


@pytest.mark.parametrize("fd", [0, 3, 100])
def test_fd_write_other_fds_are_badf(proxy_wasm_host: Host, fd: int) -> None:
    plugin = proxy_wasm_host.load_plugin(build(fd_write_probe(fd, b"x")), name="w")
    assert slots(plugin, 1) == [BADF]
    assert proxy_wasm_host.log_messages() == []


def test_fd_write_bad_memory_is_fault(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.data[IOVS] = struct.pack("<II", BAD_PTR, 4)
    probe.data[IOVS + 8] = struct.pack("<II", probe.ptr(b"ok"), 2)
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                f"(call $fd_write (i32.const 1) (i32.const {BAD_PTR}) (i32.const 1) (i32.const {NWRITTEN}))",
                f"(call $fd_write (i32.const 1) (i32.const {IOVS}) (i32.const 1) (i32.const {NWRITTEN}))",
                f"(call $fd_write (i32.const 1) (i32.const {IOVS + 8}) (i32.const 1) (i32.const {BAD_PTR}))",
                f"(call $fd_write (i32.const 1) (i32.const {IOVS}) (i32.const 0x10000000) "
                f"(i32.const {NWRITTEN}))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="w")
    assert slots(plugin, 4) == [FAULT, FAULT, FAULT, FAULT]


def test_fd_write_through_wasi_unstable(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.extra_imports.append(
        '  (import "wasi_unstable" "fd_write" (func $fdw (param i32 i32 i32 i32) (result i32)))'
    )
    probe.data[IOVS] = struct.pack("<II", probe.ptr(b"legacy\n"), 7)
    probe.on(
        "proxy_on_vm_start",
        records([f"(call $fdw (i32.const 2) (i32.const {IOVS}) (i32.const 1) (i32.const {NWRITTEN}))"]),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="w")
    assert slots(plugin, 1) == [SUCCESS]
    assert proxy_wasm_host.log_messages("error") == ["legacy"]


# -- environment


def environ_probe() -> Probe:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                "(call $environ_sizes_get (i32.const 16) (i32.const 20))",
                "(call $environ_get (i32.const 32) (i32.const 512))",
                f"(call $environ_sizes_get (i32.const {BAD_PTR}) (i32.const 20))",
                f"(call $environ_get (i32.const 48) (i32.const {BAD_PTR}))",
                "(call $args_sizes_get (i32.const 24) (i32.const 28))",
                "(call $args_get (i32.const 32) (i32.const 512))",
            ]
        ),
    )
    return probe


def test_environ_from_load_plugin_env(proxy_wasm_host: Host) -> None:
    env = {"A": "1", "LONGER": "value=with=equals"}
    plugin = proxy_wasm_host.load_plugin(build(environ_probe()), env=env, name="env")
    assert slots(plugin, 4) == [SUCCESS, SUCCESS, FAULT, FAULT]
    count, size = u32(plugin, 16), u32(plugin, 20)
    assert count == 2
    assert size == len("A=1\0LONGER=value=with=equals\0")
    memory = plugin.vm.memory
    pointers = [u32(plugin, 32 + 4 * i) for i in range(count)]
    strings = {memory.read(p, size - (p - 512)).split(b"\0")[0] for p in pointers}
    assert strings == {b"A=1", b"LONGER=value=with=equals"}
    assert memory.read(512, size).count(b"\0") == 2


def test_environ_empty_and_args(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(environ_probe()), name="env")
    assert slots(plugin, 6) == [SUCCESS, SUCCESS, FAULT, SUCCESS, SUCCESS, SUCCESS]
    assert [u32(plugin, a) for a in (16, 20, 24, 28)] == [0, 0, 0, 0]


# -- clocks


def clock_probe() -> Probe:
    probe = Probe()
    calls = [
        "(call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 16))",
        "(call $clock_time_get (i32.const 1) (i64.const -1) (i32.const 24))",
        "(call $clock_time_get (i32.const 2) (i64.const 0) (i32.const 32))",
        f"(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const {BAD_PTR}))",
        "(call $clock_res_get (i32.const 0) (i32.const 40))",
        "(call $clock_res_get (i32.const 3) (i32.const 48))",
    ]
    probe.on("proxy_on_vm_start", records(calls))
    probe.on("proxy_on_request_headers", records(calls[:2], 10))
    return probe


@pytest.mark.proxy_wasm(start_time_ns=1_000_000_000_000)
def test_clock_time_get_follows_the_virtual_clock(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(clock_probe()), name="clock")
    assert slots(plugin, 6) == [SUCCESS, SUCCESS, NOTSUP, FAULT, SUCCESS, NOTSUP]
    realtime, monotonic = u64(plugin, 16), u64(plugin, 24)
    assert realtime == 1_000_000_000_000
    assert monotonic == proxy_wasm_host.clock.monotonic_ns
    assert u64(plugin, 40) == 1
    proxy_wasm_host.advance(2.5)
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 2, first=10) == [SUCCESS, SUCCESS]
    assert u64(plugin, 16) - realtime == 2_500_000
    assert u64(plugin, 24) - monotonic == 2_500_000


# -- random


def random_probe(length: int, ptr: int = 1024 * 8) -> Probe:
    probe = Probe()
    probe.on("proxy_on_vm_start", records([f"(call $random_get (i32.const {ptr}) (i32.const {length}))"]))
    return probe


def random_bytes(seed: int | None, length: int = 32) -> bytes:
    with Host(options=HostOptions(random_seed=seed)) as host:
        plugin = host.load_plugin(build(random_probe(length, 65536)), name="r")
        assert slots(plugin, 1) == [SUCCESS]
        return bytes(plugin.vm.memory.read(65536, length))


def test_random_get_is_reproducible_with_a_seed() -> None:
    first, again, other = random_bytes(7), random_bytes(7), random_bytes(8)
    assert first == again
    assert first != other
    assert first != b"\0" * 32


@pytest.mark.parametrize(("length", "errno"), [(0, SUCCESS), (65536, SUCCESS), (65537, INVAL), (-1, INVAL)])
def test_random_get_lengths(proxy_wasm_host: Host, length: int, errno: int) -> None:
    plugin = proxy_wasm_host.load_plugin(build(random_probe(length, 0)), name="r")
    assert slots(plugin, 1) == [errno]


def test_random_get_bad_memory_is_fault(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(random_probe(16, BAD_PTR)), name="r")
    assert slots(plugin, 1) == [FAULT]


# -- the rest


def test_misc_wasi_results(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                "(call $fd_read (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 96))",
                "(call $fd_fdstat_get (i32.const 1) (i32.const 128))",
                "(call $fd_fdstat_get (i32.const 5) (i32.const 128))",
                "(call $fd_prestat_get (i32.const 3) (i32.const 128))",
                "(call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) "
                "(i32.const 0) (i64.const 0)"
                " (i64.const 0) (i32.const 0) (i32.const 96))",
                "(call $sched_yield)",
                "(call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 96))",
                "(call $fd_fdstat_get (i32.const 1) (i32.const 0x7fff0000))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="misc")
    assert slots(plugin, 8) == [NOSYS, SUCCESS, BADF, BADF, NOENT, SUCCESS, SUCCESS, FAULT]
    assert struct.unpack("<QQQ", plugin.vm.memory.read(128, 24)) == (0, 64, 0)


def test_proc_exit_fails_the_vm(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", "(call $proc_exit (i32.const 42)) " + probe.log("after"))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="exit")
    outcome = proxy_wasm_host.request(plugin)
    failure = plugin.vm.failure
    assert failure is not None
    assert failure.kind == "proc_exit"
    assert failure.callback == "proxy_on_request_headers"
    assert "proc_exit(42)" in failure.message
    assert outcome.plugin_failed == str(failure)
    assert "after" not in proxy_wasm_host.log_messages()
