"""Hostcall and callback traces: records, the recorder the VM uses when tracing is on, and rendering.

A trace is off by default: with it off no traced code is installed anywhere (the VM keeps its plain
trampolines and call path). Envoy's ``[vm->host]`` lines are parsed into the same records
(``backends/envoy/trace_lines.py``), so two traces compare record by record (``trace_diff.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from .abi.enums import WasiErrno, WasmResult
from .abi.signatures import Hostcall
from .trace_args import comparable_args, decode_inputs, decode_outputs, param_names

if TYPE_CHECKING:
    from ..outcome import Outcome, TcpOutcome
    from .contexts import Context
    from .host import Host
    from .vm import VM

ALLOCATORS = frozenset({"malloc", "proxy_on_memory_allocate"})
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


@dataclass(slots=True)
class TraceRecord:
    """One hostcall (plugin -> host) or callback (host -> plugin), with what came back."""

    kind: str  # "hostcall" or "callback"
    name: str
    raw: tuple[int, ...]
    args: dict[str, Any] = field(default_factory=dict)  # decoded: enums by name, regions read
    result: int | None = None  # the status / return value; None: void, trapped or not returned
    status: str = ""  # readable: OK, BAD_ARGUMENT, 0, void, trap: ...
    wrote: dict[str, Any] = field(default_factory=dict)  # what the host wrote back (OK hostcalls)
    context_id: int | None = None
    callback: str = ""  # the callback a hostcall happened in
    depth: int = 0
    plugin: str = ""
    source: str = "emulator"

    def key(self) -> tuple[Any, ...]:
        """What two hosts must agree on: kind, name, non-address arguments, status."""
        if self.name in ALLOCATORS:  # the address differs, and so may the size: a pairs buffer holding
            return (self.kind, self.name, self.status.startswith("trap"))  # a timing header, for one
        names = param_names(self.name, len(self.raw), self.kind == "callback")
        return (self.kind, self.name, comparable_args(names, self.raw), self.status)

    def line(self) -> str:
        """One readable line: ``  -> proxy_on_request_headers(...) = 0`` / ``proxy_log(...) -> OK``."""
        shown = ", ".join(f"{k}={v}" for k, v in self.args.items())
        ctx = f"[ctx {self.context_id}] " if self.context_id is not None else ""
        indent = "  " * self.depth
        if self.kind == "callback":
            return f"{ctx}{indent}=> {self.name}({shown}) = {self.status or '?'}"
        wrote = ", ".join(f"{k}={v}" for k, v in self.wrote.items())
        return f"{ctx}{indent}   {self.name}({shown}) -> {self.status or '?'}" + (
            f" [{wrote}]" if wrote else ""
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "raw": list(self.raw),
            "args": {k: _jsonable(v) for k, v in self.args.items()},
            "result": self.result,
            "status": self.status,
            "wrote": {k: _jsonable(v) for k, v in self.wrote.items()},
            "context_id": self.context_id,
            "callback": self.callback,
            "depth": self.depth,
            "plugin": self.plugin,
            "source": self.source,
            "line": self.line(),
        }


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, int | str | float | bool) or value is None else str(value)


def status_name(spec: Hostcall | None, value: int) -> str:
    enum: Any = WasiErrno if spec is not None and spec.is_wasi else WasmResult
    try:
        return str(enum(value).name)
    except ValueError:
        return str(value)


class Tracer:
    """Collects the records of one host, in call order. Only a VM with tracing on ever calls it."""

    def __init__(self) -> None:
        self.records: list[TraceRecord] = []
        self.stack: list[TraceRecord] = []

    # -- hostcalls --------------------------------------------------------------------------------

    def enter_hostcall(self, vm: VM, spec: Hostcall, raw: tuple[int, ...]) -> TraceRecord:
        names = param_names(spec.name, len(raw))
        context = vm.effective_context()
        try:
            args = decode_inputs(names, raw, vm.memory.read)
        except Exception as exc:  # a tracing slip must never change what the plugin sees
            args = {"trace_error": f"{type(exc).__name__}: {exc}"}
        record = TraceRecord(
            "hostcall",
            spec.name,
            raw,
            args,
            context_id=context.id if context is not None else None,
            callback=self.stack[-1].name if self.stack else "",
            depth=len(self.stack),
            plugin=vm.name,
        )
        self.records.append(record)
        return record

    def exit_hostcall(
        self, vm: VM, spec: Hostcall, record: TraceRecord, result: int | None, trapped: bool
    ) -> None:
        if trapped:
            record.status = "trap"
            return
        record.result = result
        record.status = "void" if result is None else status_name(spec, result)
        if result == 0:
            names = param_names(spec.name, len(record.raw))
            try:
                record.wrote = decode_outputs(names, record.raw, vm.memory.read)
            except Exception:
                record.wrote = {}

    # -- callbacks --------------------------------------------------------------------------------

    def enter_callback(self, vm: VM, context: Context | None, name: str, raw: tuple[int, ...]) -> TraceRecord:
        names = param_names(name, len(raw), callback=True)
        record = TraceRecord(
            "callback",
            name,
            raw,
            dict(zip(names, raw, strict=False)),
            context_id=context.id if context is not None else None,
            callback=name,
            depth=len(self.stack),
            plugin=vm.name,
        )
        self.records.append(record)
        self.stack.append(record)
        return record

    def exit_callback(self, record: TraceRecord, result: int | None, failure: str | None) -> None:
        if self.stack and self.stack[-1] is record:
            self.stack.pop()
        if failure is not None:
            record.status = f"trap: {failure}"
            return
        record.result = result
        record.status = "void" if result is None else str(result)

    def since(self, start: int) -> list[TraceRecord]:
        return self.records[start:]


def render(records: list[TraceRecord] | list[dict[str, Any]]) -> list[str]:
    """Readable lines for records or their JSON form."""
    return [r["line"] if isinstance(r, dict) else r.line() for r in records]


OutcomeT = TypeVar("OutcomeT", "Outcome", "TcpOutcome")


def with_trace(host: Host, outcome: OutcomeT, first: int) -> OutcomeT:
    """The exchange's trace (records since ``first``) and the host's misuse so far, on its Outcome.
    Untouched (no copy) when nothing was traced or misused: the common, fast case."""
    tracer = host.tracer
    if tracer is None and not host.misuse:
        return outcome
    return replace(
        outcome,
        trace=list(tracer.records[first:]) if tracer is not None else [],
        misuse=list(host.misuse),
    )
