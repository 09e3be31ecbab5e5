"""Generate the hostile Proxy-Wasm test modules.

Each module is written as WAT text to fixtures/hostile/<name>.wat and compiled with
``wasmtime.wat2wasm`` to fixtures/hostile/<name>.wasm; the modules that must not be valid wasm are
written as raw bytes (.wasm only).

Usage (from anywhere)::

    python plugins_under_test/hostile/generate.py          # write all modules
    python plugins_under_test/hostile/generate.py --list   # print "name<TAB>description" lines

Unless its point is otherwise, a module declares ABI 0.2.1, exports ``memory`` and a bump
allocator ``malloc``, and behaves as a trivial plugin: proxy_on_vm_start and proxy_on_configure
return 1, the other callbacks return 0 (or nothing).
"""

from __future__ import annotations

import argparse
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "fixtures" / "hostile"

# Addresses inside linear memory used by the modules' static data.
DATA_BASE = 0x100  # strings and header maps written by data segments
RET_PTR = 0x40  # out-parameter: pointer returned by the host
RET_SIZE = 0x44  # out-parameter: size returned by the host
TOKEN = 0x48  # out-parameter: http call token
HEAP_BASE = 0x10000  # the bump allocator starts at page 1

CLUSTER = b"outbound|5000||sealos.hub"

HOSTCALLS = {
    "proxy_log": "(param i32 i32 i32) (result i32)",
    "proxy_get_header_map_value": "(param i32 i32 i32 i32 i32) (result i32)",
    "proxy_add_header_map_value": "(param i32 i32 i32 i32 i32) (result i32)",
    "proxy_set_header_map_pairs": "(param i32 i32 i32) (result i32)",
    "proxy_http_call": "(param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)",
    "proxy_set_tick_period_milliseconds": "(param i32) (result i32)",
    "proxy_get_buffer_bytes": "(param i32 i32 i32 i32 i32) (result i32)",
}

# Callback name -> (signature, body of the trivial plugin).
CALLBACKS = {
    "proxy_on_context_create": ("(param $ctx i32) (param $parent i32)", ""),
    "proxy_on_vm_start": ("(param $root i32) (param $size i32) (result i32)", "(i32.const 1)"),
    "proxy_on_configure": ("(param $root i32) (param $size i32) (result i32)", "(i32.const 1)"),
    "proxy_on_request_headers": ("(param $ctx i32) (param $n i32) (param $eos i32) (result i32)", "(i32.const 0)"),
    "proxy_on_request_body": ("(param $ctx i32) (param $size i32) (param $eos i32) (result i32)", "(i32.const 0)"),
    "proxy_on_response_headers": ("(param $ctx i32) (param $n i32) (param $eos i32) (result i32)", "(i32.const 0)"),
    "proxy_on_response_body": ("(param $ctx i32) (param $size i32) (param $eos i32) (result i32)", "(i32.const 0)"),
    "proxy_on_tick": ("(param $root i32)", ""),
    "proxy_on_http_call_response": (
        "(param $root i32) (param $token i32) (param $nh i32) (param $body i32) (param $nt i32)", ""),
    "proxy_on_log": ("(param $ctx i32)", ""),
    "proxy_on_done": ("(param $ctx i32) (result i32)", "(i32.const 1)"),
    "proxy_on_delete": ("(param $ctx i32)", ""),
}

BUMP_MALLOC = """
  ;; Bump allocator: 8-byte aligned, grows memory on demand, returns 0 when it cannot.
  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $start i32) (local $end i32) (local $pages i32)
    (local.set $start (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $start) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $start)) (then (return (i32.const 0))))
    ;; pages needed to hold [0, end)
    (local.set $pages
      (i32.add (i32.shr_u (local.get $end) (i32.const 16))
               (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $start))"""


def wat_bytes(data: bytes) -> str:
    """A WAT string literal holding ``data``."""
    out = []
    for b in data:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:02x}")
    return '"' + "".join(out) + '"'


def pairs(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Proxy-Wasm header map serialization."""
    out = struct.pack("<I", len(headers))
    for key, value in headers:
        out += struct.pack("<II", len(key), len(value))
    for key, value in headers:
        out += key + b"\0" + value + b"\0"
    return out


@dataclass
class Module:
    name: str
    description: str
    abi: str | None = "0_2_1"  # None: no marker export
    imports: list[str] = field(default_factory=list)  # names from HOSTCALLS
    extra_imports: list[str] = field(default_factory=list)  # raw WAT import lines
    overrides: dict[str, str] = field(default_factory=dict)  # callback -> body
    raw_callbacks: dict[str, str] = field(default_factory=dict)  # callback -> full func WAT
    data: list[tuple[int, bytes]] = field(default_factory=list)
    malloc: str = BUMP_MALLOC
    memory_pages: int = 2
    heap_base: int = HEAP_BASE
    extra_funcs: str = ""

    def wat(self) -> str:
        lines = [f";; hostile module {self.name}: {self.description}", "(module"]
        for name in self.imports:
            lines.append(f'  (import "env" "{name}" (func ${name} {HOSTCALLS[name]}))')
        lines.extend(f"  {line}" for line in self.extra_imports)
        lines.append(f'  (memory (export "memory") {self.memory_pages})')
        lines.append(f"  (global $heap (mut i32) (i32.const {self.heap_base}))")
        for offset, blob in self.data:
            lines.append(f"  (data (i32.const {offset}) {wat_bytes(blob)})")
        lines.append(self.malloc)
        if self.abi:
            lines.append(f'  (func (export "proxy_abi_version_{self.abi}"))')
        for cb, (sig, body) in CALLBACKS.items():
            if cb in self.raw_callbacks:
                lines.append(self.raw_callbacks[cb])
                continue
            body = self.overrides.get(cb, body)
            body = f"\n    {body}" if body else ""
            lines.append(f'  (func (export "{cb}") {sig}{body})')
        if self.extra_funcs:
            lines.append(self.extra_funcs)
        lines.append(")")
        return "\n".join(lines) + "\n"


def trap_in(callback: str, description: str, name: str | None = None, **kwargs) -> Module:
    name = name or "trap_" + callback.removeprefix("proxy_on_")
    overrides = dict(kwargs.pop("overrides", {}))
    overrides[callback] = "(unreachable)"
    return Module(name, description, overrides=overrides, **kwargs)


def modules() -> list[Module]:
    path_key = b":path"
    path_ptr = DATA_BASE
    get_path_then_continue = (
        f"(drop (call $proxy_get_header_map_value (i32.const 0) (i32.const {path_ptr}) "
        f"(i32.const {len(path_key)}) (i32.const {RET_PTR}) (i32.const {RET_SIZE})))\n    (i32.const 0)"
    )

    cluster_ptr = DATA_BASE
    call_headers = pairs([(b":method", b"GET"), (b":path", b"/"), (b":authority", b"sealos.hub")])
    headers_ptr = DATA_BASE + 0x40
    http_call = (
        f"(drop (call $proxy_http_call (i32.const {cluster_ptr}) (i32.const {len(CLUSTER)}) "
        f"(i32.const {headers_ptr}) (i32.const {len(call_headers)}) (i32.const 0) (i32.const 0) "
        f"(i32.const 0) (i32.const 0) (i32.const 5000) (i32.const {TOKEN})))\n    (i32.const 1)"
    )

    huge_key = b"x-huge-00"
    huge_key_ptr = DATA_BASE
    huge_value_ptr = 0x10000
    huge_value_len = 0x10000  # 64 KiB per value
    huge_count = 64  # 64 x 64 KiB = 4 MiB of header values
    huge_headers = f"""(local $i i32)
    (memory.fill (i32.const {huge_value_ptr}) (i32.const 0x61) (i32.const {huge_value_len}))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const {huge_count})))
        ;; key "x-huge-NN" with NN = i in decimal
        (i32.store8 (i32.const {huge_key_ptr + 7}) (i32.add (i32.const 0x30) (i32.div_u (local.get $i) (i32.const 10))))
        (i32.store8 (i32.const {huge_key_ptr + 8}) (i32.add (i32.const 0x30) (i32.rem_u (local.get $i) (i32.const 10))))
        (drop (call $proxy_add_header_map_value (i32.const 0)
          (i32.const {huge_key_ptr}) (i32.const {len(huge_key)})
          (i32.const {huge_value_ptr}) (i32.const {huge_value_len})))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0)"""

    grow_unbounded = """(local $tries i32)
    ;; grow one page at a time until the host refuses
    (block $refused
      (loop $grow
        (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    ;; keep trying a while, then trap
    (block $gave_up
      (loop $again
        (br_if $gave_up (i32.ge_u (local.get $tries) (i32.const 1000)))
        (drop (memory.grow (i32.const 1)))
        (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
        (br $again)))
    (unreachable)"""

    return [
        Module("loop_request_headers", "infinite loop in proxy_on_request_headers",
               overrides={"proxy_on_request_headers": "(loop $forever (br $forever))\n    (i32.const 0)"}),
        Module("memory_grow_unbounded",
               "proxy_on_request_headers grows memory one page at a time until refused, retries 1000 times, then traps",
               overrides={"proxy_on_request_headers": grow_unbounded}),
        Module("recursion_unbounded", "unbounded (non-tail) recursion in proxy_on_request_headers",
               overrides={"proxy_on_request_headers": "(drop (call $recurse (i32.const 0)))\n    (i32.const 0)"},
               extra_funcs="""  (func $recurse (param $depth i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $depth) (i32.const 1))) (local.get $depth)))"""),
        trap_in("proxy_on_vm_start", "unreachable in proxy_on_vm_start"),
        trap_in("proxy_on_configure", "unreachable in proxy_on_configure"),
        trap_in("proxy_on_request_headers", "unreachable in proxy_on_request_headers"),
        trap_in("proxy_on_request_body", "unreachable in proxy_on_request_body"),
        trap_in("proxy_on_response_headers", "unreachable in proxy_on_response_headers"),
        trap_in("proxy_on_tick", "on_vm_start sets a 10 ms tick; unreachable in proxy_on_tick",
                imports=["proxy_set_tick_period_milliseconds"],
                overrides={"proxy_on_vm_start":
                           "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))\n    (i32.const 1)"}),
        trap_in("proxy_on_http_call_response",
                "on_request_headers dispatches an http call to outbound|5000||sealos.hub and pauses; "
                "unreachable in proxy_on_http_call_response",
                imports=["proxy_http_call"],
                data=[(cluster_ptr, CLUSTER), (headers_ptr, call_headers)],
                overrides={"proxy_on_request_headers": http_call}),
        trap_in("proxy_on_log", "unreachable in proxy_on_log", name="trap_on_log"),
        Module("malloc_returns_zero", "malloc always returns 0; on_request_headers reads :path",
               imports=["proxy_get_header_map_value"], data=[(path_ptr, path_key)],
               malloc='  (func $malloc (export "malloc") (param $size i32) (result i32) (i32.const 0))',
               overrides={"proxy_on_request_headers": get_path_then_continue}),
        Module("malloc_out_of_bounds", "malloc always returns 0xFFFFFF00; on_request_headers reads :path",
               imports=["proxy_get_header_map_value"], data=[(path_ptr, path_key)],
               malloc='  (func $malloc (export "malloc") (param $size i32) (result i32) (i32.const 0xFFFFFF00))',
               overrides={"proxy_on_request_headers": get_path_then_continue}),
        Module("no_abi_marker", "trivial plugin without any proxy_abi_version_* export", abi=None),
        Module("wrong_signature_export", "ABI 0.2.1 but proxy_on_request_headers has type (i32)->i32",
               raw_callbacks={"proxy_on_request_headers":
                              '  (func (export "proxy_on_request_headers") (param $ctx i32) (result i32)\n'
                              "    (i32.const 0))"}),
        Module("unknown_import",
               "imports env.proxy_does_not_exist (i32)->i32 and env.proxy_also_missing ()->(), called in on_request_headers",
               extra_imports=['(import "env" "proxy_does_not_exist" (func $proxy_does_not_exist (param i32) (result i32)))',
                              '(import "env" "proxy_also_missing" (func $proxy_also_missing))'],
               overrides={"proxy_on_request_headers":
                          "(drop (call $proxy_does_not_exist (i32.const 0)))\n    (call $proxy_also_missing)\n    (i32.const 0)"}),
        Module("misuse_proxy_log",
               "on_request_headers calls proxy_log(info, 0xFFFFFFF0, 64): a range outside linear memory "
               "on every request (the host answers INVALID_MEMORY_ACCESS), then continues",
               imports=["proxy_log"],
               overrides={"proxy_on_request_headers":
                          "(drop (call $proxy_log (i32.const 2) (i32.const 0xFFFFFFF0) (i32.const 64)))\n"
                          "    (i32.const 0)"}),
        Module("huge_header_map",
               "on_request_headers adds 64 request headers x-huge-00..63 of 64 KiB each (4 MiB of values)",
               imports=["proxy_add_header_map_value"], data=[(huge_key_ptr, huge_key)],
               memory_pages=3, heap_base=0x20000,
               overrides={"proxy_on_request_headers": huge_headers}),
    ]


def raw_modules() -> list[tuple[str, str, bytes]]:
    trivial = wasmtime.wat2wasm(Module("trivial", "a trivial valid plugin").wat())
    return [
        ("not_wasm", "raw bytes 'this is not wasm'", b"this is not wasm"),
        ("truncated", "the first 20 bytes of a valid trivial plugin module", bytes(trivial[:20])),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print name<TAB>description and exit")
    args = parser.parse_args()
    mods = modules()
    raws = raw_modules()
    if args.list:
        for m in mods:
            print(f"{m.name}\t{m.description}")
        for name, description, _ in raws:
            print(f"{name}\t{description}")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for m in mods:
        text = m.wat()
        (OUT / f"{m.name}.wat").write_text(text)
        (OUT / f"{m.name}.wasm").write_bytes(bytes(wasmtime.wat2wasm(text)))
        print(f"wrote {m.name}.wat and {m.name}.wasm", file=sys.stderr)
    for name, _, blob in raws:
        (OUT / f"{name}.wasm").write_bytes(blob)
        print(f"wrote {name}.wasm (raw bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
