"""libc/Emscripten shims the reference host links under ``env``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("pthread_equal")
def pthread_equal(vm: VM, a: int, b: int) -> int:
    return int(a == b)


@hostcall("emscripten_notify_memory_growth")
def emscripten_notify_memory_growth(vm: VM, index: int) -> None:
    return None
