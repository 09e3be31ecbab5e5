"""WASI preview 1, as proxy-wasm-cpp-host serves it (abi-spec section 5); both module names.

stdout/stderr become log lines, the environment is the VM's (``vmConfig.env``), clocks read the host's
virtual clock, ``random_get`` is seedable, ``proc_exit`` is a named failure.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..abi.enums import LogLevel
from ..abi.enums import WasiErrno as E
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM

STDIO = (1, 2)
MAX_RANDOM = 65536


def _gather(vm: VM, iovs: int, iovs_len: int) -> bytes:
    table = vm.memory.read(iovs, 8 * iovs_len)
    parts = []
    for i in range(iovs_len):
        ptr, size = struct.unpack_from("<II", table, 8 * i)
        parts.append(vm.memory.read(ptr, size))
    return b"".join(parts)


def _write_stdio(vm: VM, fd: int, iovs: int, iovs_len: int, ret_written: int) -> int:
    if fd not in STDIO:
        return E.BADF
    data = _gather(vm, iovs, iovs_len)
    text = data[:-1] if data.endswith(b"\n") else data
    if data:  # cpp-host writevImpl: any write logs one line, a lone newline an empty one
        level = LogLevel.INFO if fd == 1 else LogLevel.ERROR
        vm.host.plugin_log(
            vm, level, text.decode("utf-8", "replace"), source="stdout" if fd == 1 else "stderr"
        )
    vm.memory.write_u32(ret_written, len(data))
    return E.SUCCESS


@hostcall("fd_write")
def fd_write(vm: VM, fd: int, iovs: int, iovs_len: int, ret_written: int) -> int:
    return _write_stdio(vm, fd, iovs, iovs_len, ret_written)


@hostcall("fd_pwrite")
def fd_pwrite(vm: VM, fd: int, iovs: int, iovs_len: int, offset: int, ret_written: int) -> int:
    return _write_stdio(vm, fd, iovs, iovs_len, ret_written)


@hostcall("fd_read")
def fd_read(vm: VM, fd: int, iovs: int, iovs_len: int, ret_read: int) -> int:
    return E.NOSYS


@hostcall("fd_pread")
def fd_pread(vm: VM, fd: int, iovs: int, iovs_len: int, offset: int, ret_read: int) -> int:
    return E.NOSYS


@hostcall("fd_seek")
def fd_seek(vm: VM, fd: int, offset: int, whence: int, ret_offset: int) -> int:
    vm.host.host_log(4, "wasi fd_seek is not supported", vm)
    return E.SUCCESS


@hostcall("fd_close")
def fd_close(vm: VM, fd: int) -> int:
    vm.host.host_log(4, "wasi fd_close is not supported", vm)
    return E.SUCCESS


@hostcall("fd_fdstat_get")
def fd_fdstat_get(vm: VM, fd: int, ret_stat: int) -> int:
    if fd not in STDIO:
        return E.BADF
    vm.memory.write(ret_stat, struct.pack("<QQQ", 0, 64, 0))  # filetype 0, rights FD_WRITE
    return E.SUCCESS


@hostcall("fd_fdstat_set_flags")
def fd_fdstat_set_flags(vm: VM, fd: int, flags: int) -> int:
    return E.NOSYS


@hostcall("fd_prestat_get")
def fd_prestat_get(vm: VM, fd: int, buf: int) -> int:
    return E.BADF


@hostcall("fd_prestat_dir_name")
def fd_prestat_dir_name(vm: VM, fd: int, path: int, path_len: int) -> int:
    return E.NOSYS


@hostcall("fd_filestat_get")
def fd_filestat_get(vm: VM, fd: int, buf: int) -> int:
    return E.BADF


@hostcall("fd_advise")
def fd_advise(vm: VM, fd: int, offset: int, length: int, advice: int) -> int:
    return E.SUCCESS


def _stdio_ok(fd: int) -> int:
    return E.SUCCESS if fd in STDIO else E.BADF


@hostcall("fd_allocate")
def fd_allocate(vm: VM, fd: int, offset: int, length: int) -> int:
    return _stdio_ok(fd)


@hostcall("fd_datasync")
def fd_datasync(vm: VM, fd: int) -> int:
    return _stdio_ok(fd)


@hostcall("fd_sync")
def fd_sync(vm: VM, fd: int) -> int:
    return _stdio_ok(fd)


@hostcall("fd_fdstat_set_rights")
def fd_fdstat_set_rights(vm: VM, fd: int, base: int, inheriting: int) -> int:
    return _stdio_ok(fd)


@hostcall("fd_filestat_set_size")
def fd_filestat_set_size(vm: VM, fd: int, size: int) -> int:
    return _stdio_ok(fd)


@hostcall("fd_filestat_set_times")
def fd_filestat_set_times(vm: VM, fd: int, atim: int, mtim: int, flags: int) -> int:
    return _stdio_ok(fd)


@hostcall("fd_tell")
def fd_tell(vm: VM, fd: int, ret_offset: int) -> int:
    if fd not in STDIO:
        return E.BADF
    vm.memory.write_u64(ret_offset, 0)
    return E.SUCCESS


@hostcall("fd_readdir")
def fd_readdir(vm: VM, fd: int, buf: int, buf_len: int, cookie: int, ret_used: int) -> int:
    vm.memory.write_u32(ret_used, 0)
    return E.EXIST  # cpp-host returns 20 (its comment says ENOTDIR)


@hostcall("fd_renumber")
def fd_renumber(vm: VM, fd: int, to: int) -> int:
    return E.NOTSUP if fd in STDIO and to in STDIO else E.BADF


@hostcall("path_open")
def path_open(
    vm: VM,
    fd: int,
    dirflags: int,
    path: int,
    path_len: int,
    oflags: int,
    base: int,
    inheriting: int,
    fdflags: int,
    ret_fd: int,
) -> int:
    return E.NOENT


@hostcall("path_filestat_get")
def path_filestat_get(vm: VM, fd: int, flags: int, path: int, path_len: int, buf: int) -> int:
    return E.NOTSUP


@hostcall("path_filestat_set_times")
def path_filestat_set_times(
    vm: VM, fd: int, flags: int, path: int, path_len: int, atim: int, mtim: int, fst: int
) -> int:
    return E.NOTSUP


@hostcall("path_create_directory")
def path_create_directory(vm: VM, fd: int, path: int, path_len: int) -> int:
    return E.NOTSUP


@hostcall("path_remove_directory")
def path_remove_directory(vm: VM, fd: int, path: int, path_len: int) -> int:
    return E.NOTSUP


@hostcall("path_unlink_file")
def path_unlink_file(vm: VM, fd: int, path: int, path_len: int) -> int:
    return E.NOTSUP


@hostcall("path_rename")
def path_rename(vm: VM, fd: int, old: int, old_len: int, new_fd: int, new: int, new_len: int) -> int:
    return E.NOTSUP


@hostcall("path_readlink")
def path_readlink(vm: VM, fd: int, path: int, path_len: int, buf: int, buf_len: int, ret_used: int) -> int:
    vm.memory.write_u32(ret_used, 0)
    return E.NOTSUP


@hostcall("path_link")
def path_link(
    vm: VM, old_fd: int, old_flags: int, old: int, old_len: int, new_fd: int, new: int, new_len: int
) -> int:
    return E.NOTSUP


@hostcall("path_symlink")
def path_symlink(vm: VM, old: int, old_len: int, fd: int, new: int, new_len: int) -> int:
    return E.NOTSUP


def _environ(vm: VM) -> list[bytes]:
    return [f"{k}={v}".encode() + b"\0" for k, v in vm.env.items()]


@hostcall("environ_sizes_get")
def environ_sizes_get(vm: VM, ret_count: int, ret_size: int) -> int:
    entries = _environ(vm)
    vm.memory.write_u32(ret_count, len(entries))
    vm.memory.write_u32(ret_size, sum(len(e) for e in entries))
    return E.SUCCESS


@hostcall("environ_get")
def environ_get(vm: VM, ret_ptrs: int, ret_buf: int) -> int:
    for index, entry in enumerate(_environ(vm)):
        vm.memory.write_u32(ret_ptrs + 4 * index, ret_buf)
        vm.memory.write(ret_buf, entry)
        ret_buf += len(entry)
    return E.SUCCESS


@hostcall("args_sizes_get")
def args_sizes_get(vm: VM, ret_argc: int, ret_size: int) -> int:
    vm.memory.write_u32(ret_argc, 0)
    vm.memory.write_u32(ret_size, 0)
    return E.SUCCESS


@hostcall("args_get")
def args_get(vm: VM, argv: int, buf: int) -> int:
    return E.SUCCESS


@hostcall("clock_time_get")
def clock_time_get(vm: VM, clock_id: int, precision: int, ret_time: int) -> int:
    if clock_id == 0:
        vm.memory.write_u64(ret_time, vm.host.clock.realtime_ns)
    elif clock_id == 1:
        vm.memory.write_u64(ret_time, vm.host.clock.monotonic_ns)
    else:
        return E.NOTSUP
    return E.SUCCESS


@hostcall("clock_res_get")
def clock_res_get(vm: VM, clock_id: int, ret_res: int) -> int:
    if clock_id not in (0, 1):
        return E.NOTSUP
    vm.memory.write_u64(ret_res, 1)
    return E.SUCCESS


@hostcall("random_get")
def random_get(vm: VM, buf: int, length: int) -> int:
    if length > MAX_RANDOM:
        return E.INVAL
    if length:
        vm.memory.write(buf, vm.host.random.randbytes(length))
    return E.SUCCESS


@hostcall("sched_yield")
def sched_yield(vm: VM) -> int:
    return E.SUCCESS


@hostcall("poll_oneoff")
def poll_oneoff(vm: VM, subs: int, events: int, nsubs: int, ret_nevents: int) -> int:
    vm.memory.write_u32(ret_nevents, 0)
    return E.SUCCESS


@hostcall("proc_exit")
def proc_exit(vm: VM, code: int) -> None:
    from ..failures import ProcExit

    # cpp-host logs and returns; the guest then traps. We stop it here with a named cause.
    raise ProcExit(code)


@hostcall("sock_accept")
def sock_accept(vm: VM, fd: int, flags: int, ret_fd: int) -> int:
    vm.memory.write_u64(ret_fd, 0)  # cpp-host writes 8 bytes into the u32 slot
    return E.NOTSUP


@hostcall("sock_recv")
def sock_recv(vm: VM, fd: int, ri: int, ri_len: int, ri_flags: int, ret_len: int, ret_flags: int) -> int:
    vm.memory.write_u32(ret_len, 0)
    vm.memory.write(ret_flags, b"\0\0")
    return E.NOTSUP


@hostcall("sock_send")
def sock_send(vm: VM, fd: int, si: int, si_len: int, si_flags: int, ret_len: int) -> int:
    vm.memory.write_u32(ret_len, 0)
    return E.NOTSUP


@hostcall("sock_shutdown")
def sock_shutdown(vm: VM, fd: int, how: int) -> int:
    return E.NOTSUP
