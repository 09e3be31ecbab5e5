"""Build small hand-readable WAT probe modules for the host tests.

A probe module has one exported memory (2 pages), a bump ``malloc`` (heap from 64 KiB, grows memory),
an ABI marker and whatever callbacks a test gives. Imports are declared automatically for every
``(call $<hostcall>`` found in the bodies, with the signature from the host's hostcall table.

Memory layout: 0..255 scratch, ``slot(i)`` = 256 + 4*i result slots, 1024.. string constants,
65536.. heap. Tests read results back with :func:`u32` / :func:`guest_bytes`.
"""

from __future__ import annotations

import re
import struct

from pytest_proxy_wasm.host.abi.enums import AbiVersion
from pytest_proxy_wasm.host.abi.signatures import HOSTCALLS_BY_NAME, callbacks_for

SLOTS = 256
STRINGS = 1024
NSLOTS = 64
BAD_PTR = 0x7FFF_0000  # far past the end of a 2-page memory
DEFAULT_RETURNS = {
    "proxy_on_vm_start": 1,
    "proxy_on_configure": 1,
    "proxy_on_done": 1,
    "proxy_validate_configuration": 1,
}

MALLOC = """
  (func $malloc (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                  (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1))
              (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))
"""


def slot(i: int) -> int:
    return SLOTS + 4 * i


def wat_bytes(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def pairs(items: list[tuple[bytes, bytes]]) -> bytes:
    """Proxy-Wasm pairs serialization (abi-spec 4.2)."""
    out = struct.pack("<I", len(items))
    for k, v in items:
        out += struct.pack("<II", len(k), len(v))
    for k, v in items:
        out += k + b"\0" + v + b"\0"
    return out


def decode_pairs(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data:
        return []
    (n,) = struct.unpack_from("<I", data, 0)
    sizes = [struct.unpack_from("<II", data, 4 + 8 * i) for i in range(n)]
    pos = 4 + 8 * n
    out = []
    for k, v in sizes:
        out.append((data[pos : pos + k], data[pos + k + 1 : pos + k + 1 + v]))
        pos += k + v + 2
    return out


class Probe:
    """Collects callbacks, imports and constants; :meth:`wat` renders the module text."""

    def __init__(
        self,
        abi: str = "0.2.1",
        *,
        allocator: str | None = "malloc",
        memory: bool = True,
        marker: str | None = None,
    ) -> None:
        self.abi = AbiVersion(abi) if abi in {v.value for v in AbiVersion} else None
        self.marker = marker or (
            self.abi.marker if self.abi else f"proxy_abi_version_{abi.replace('.', '_')}"
        )
        self.allocator = allocator
        self.memory = memory
        self.bodies: dict[str, tuple[str, int | None]] = {}
        self.extra_imports: list[str] = []
        self.extra: list[str] = []
        self.data: dict[int, bytes] = {}
        self._next = STRINGS
        self._strings: dict[bytes, int] = {}
        self.data[SLOTS] = b"\xff" * (4 * NSLOTS)  # 64 slots preset to 0xFFFFFFFF ("not run")

    # -- constants ------------------------------------------------------------------------------------

    def ptr(self, value: bytes | str) -> int:
        data = value.encode() if isinstance(value, str) else value
        if data not in self._strings:
            self._strings[data] = self._next
            self.data[self._next] = data
            self._next += (len(data) + 8) & ~7
            assert self._next < 65536, "string area full"
        return self._strings[data]

    def s(self, value: bytes | str) -> str:
        """``(i32.const ptr) (i32.const len)`` of a constant."""
        data = value.encode() if isinstance(value, str) else value
        return f"(i32.const {self.ptr(data)}) (i32.const {len(data)})"

    def log(self, text: str, level: int = 2) -> str:
        return f"(drop (call $proxy_log (i32.const {level}) {self.s(text)}))"

    # -- callbacks ------------------------------------------------------------------------------------

    def on(self, name: str, body: str = "", ret: int | None = None) -> Probe:
        self.bodies[name] = (body, ret)
        return self

    def wat(self) -> str:
        known = callbacks_for(self.abi or AbiVersion.V0_2_1)
        text = "\n".join(body for body, _ in self.bodies.values()) + "\n".join(self.extra)
        used = sorted({m for m in re.findall(r"\(call \$(\w+)", text) if m in HOSTCALLS_BY_NAME})
        lines = ["(module"]
        for name in used:
            spec = HOSTCALLS_BY_NAME[name]
            module = "wasi_snapshot_preview1" if spec.is_wasi else "env"
            params = " ".join(spec.params)
            result = " (result i32)" if spec.results else ""
            lines.append(f'  (import "{module}" "{name}" (func ${name} (param {params}){result}))')
        lines.extend(self.extra_imports)
        if self.memory:
            lines.append('  (memory (export "memory") 2)')
        else:
            lines.append("  (memory 2)")
        lines.append("  (global $heap (mut i32) (i32.const 65536))")
        for addr, data in self.data.items():
            lines.append(f'  (data (i32.const {addr}) "{wat_bytes(data)}")')
        lines.append(f'  (func (export "{self.marker}"))')
        lines.append(MALLOC)
        if self.allocator:
            lines.append(f'  (export "{self.allocator}" (func $malloc))')
        for name, (body, ret) in self.bodies.items():
            cb = known[name]
            params = " ".join(f"(param $p{i} i32)" for i in range(len(cb.params)))
            if cb.results:
                value = DEFAULT_RETURNS.get(name, 0) if ret is None else ret
                lines.append(
                    f'  (func (export "{name}") {params} (result i32)\n    {body}\n    (i32.const {value}))'
                )
            else:
                lines.append(f'  (func (export "{name}") {params}\n    {body})')
        lines.extend(self.extra)
        lines.append(")")
        return "\n".join(lines)


def u32(plugin: object, addr: int) -> int:
    memory = plugin.vm.memory  # type: ignore[attr-defined]
    value: int = struct.unpack("<I", memory.read(addr, 4))[0]
    return value


def u64(plugin: object, addr: int) -> int:
    memory = plugin.vm.memory  # type: ignore[attr-defined]
    value: int = struct.unpack("<Q", memory.read(addr, 8))[0]
    return value


def slots(plugin: object, count: int, first: int = 0) -> list[int]:
    return [u32(plugin, slot(first + i)) for i in range(count)]


def guest_bytes(plugin: object, ptr_addr: int, size_addr: int) -> bytes:
    """The bytes a hostcall returned through (ret_ptr, ret_size)."""
    ptr, size = u32(plugin, ptr_addr), u32(plugin, size_addr)
    memory = plugin.vm.memory  # type: ignore[attr-defined]
    data: bytes = memory.read(ptr, size) if size else b""
    return data


def build(probe: Probe) -> bytes:
    """The compiled module as ``bytes``."""
    import wasmtime

    return bytes(wasmtime.wat2wasm(probe.wat()))


def record(i: int, call: str) -> str:
    """Store the i32 result of ``call`` in slot ``i``."""
    return f"(i32.store (i32.const {slot(i)}) {call})"


def records(calls: list[str], first: int = 0) -> str:
    return "\n    ".join(record(first + i, c) for i, c in enumerate(calls))
