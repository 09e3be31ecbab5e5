"""How a VM stops serving: the failure record, the proc_exit signal, and trap messages made readable."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VmFailure:
    """Why a VM stopped serving: cpp-host's FailState plus what the test needs to see."""

    callback: str
    message: str
    kind: str  # trap code name, "harness_fault", "proc_exit", "start_failed", ...
    logs: list[str] = field(default_factory=list)
    at_ns: int = 0  # virtual monotonic time of the failure

    def __str__(self) -> str:
        return f"{self.callback}: {self.kind}: {self.message}"


class ProcExit(Exception):  # noqa: N818 - mirrors the WASI call name
    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


def summarize_trap(message: str) -> str:
    """``wasm trap: wasm `unreachable` instruction executed (in my_plugin::on_request_headers)``."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    cause = next((lines[i + 1] for i, line in enumerate(lines[:-1]) if line == "Caused by:"), "")
    frame = next((line for line in lines if line[:1].isdigit() and " - " in line), "")
    where = frame.split(" - ", 1)[1] if frame else ""
    head = cause or (lines[0] if lines else "")
    return f"{head} (in {where})" if where else head


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"
