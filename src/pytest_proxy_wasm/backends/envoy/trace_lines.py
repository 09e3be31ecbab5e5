"""Envoy's ``wasm:trace`` hostcall lines turned into the emulator's ``TraceRecord``s.

proxy-wasm-cpp-host (v8.cc, wasmtime.cc) writes, at trace level, with every value unsigned decimal:
``[host->vm] proxy_on_request_headers(2, 7, 1)`` / ``[host<-vm] proxy_on_request_headers return: 0``
(``return: void`` for no result) for callbacks and ``[vm->host] env.proxy_log(2, 65536, 5)`` /
``[vm<-host] env.proxy_log return: 0`` for hostcalls. A trapped call has no return line. The parser is
tolerant: unknown or unmatched lines are skipped, a return closes the innermost open call of that
name, and a call left open when its caller returns is marked ``trap``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ...host.abi.signatures import HOSTCALLS_BY_NAME
from ...host.diagnostics import Misuse
from ...host.trace import TraceRecord, status_name
from ...host.trace_args import decode_inputs, param_names

_LINE = re.compile(
    r"\[(?P<dir>host->vm|host<-vm|vm->host|vm<-host)\]\s+(?P<name>[\w.]+)"
    r"(?:\((?P<args>[^)]*)\)|\s+return:\s*(?P<ret>\S+))"
)


def _ints(text: str) -> tuple[int, ...] | None:
    values = [v.strip() for v in text.split(",") if v.strip()]
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        return None


def parse_trace(messages: Iterable[str], plugin: str = "") -> list[TraceRecord]:
    """Records from Envoy log messages (the ``%v`` part); lines that are not trace lines are ignored."""
    records: list[TraceRecord] = []
    stack: list[TraceRecord] = []
    for message in messages:
        match = _LINE.search(message)
        if match is None:
            continue
        direction, name = match["dir"], match["name"].rpartition(".")[2]
        if match["args"] is not None:
            raw = _ints(match["args"])
            if raw is None or direction.endswith("<-vm") or direction.endswith("<-host"):
                continue
            records.append(_open(direction == "host->vm", name, raw, stack, plugin))
            stack.append(records[-1])
        elif match["ret"] is not None:
            _close(stack, name, match["ret"], direction == "host<-vm")
    for record in stack:  # calls that never returned (a trap, or the log was cut)
        record.status = record.status or "trap"
    return records


def _open(
    callback: bool, name: str, raw: tuple[int, ...], stack: list[TraceRecord], plugin: str
) -> TraceRecord:
    outer = stack[-1] if stack else None
    names = param_names(name, len(raw), callback=callback)
    if callback:
        context = raw[0] if names and names[0] == "context_id" else (outer.context_id if outer else None)
        args = dict(zip(names, raw, strict=False))
    else:
        context = outer.context_id if outer else None
        args = decode_inputs(names, raw, None)
    return TraceRecord(
        "callback" if callback else "hostcall",
        name,
        raw,
        args,
        context_id=context,
        callback=name if callback else (_enclosing(stack) or ""),
        depth=sum(r.kind == "callback" for r in stack),
        plugin=plugin,
        source="envoy",
    )


def _enclosing(stack: list[TraceRecord]) -> str | None:
    return next((r.name for r in reversed(stack) if r.kind == "callback"), None)


def _close(stack: list[TraceRecord], name: str, value: str, callback: bool) -> None:
    kind = "callback" if callback else "hostcall"
    for index in range(len(stack) - 1, -1, -1):
        record = stack[index]
        if record.name == name and record.kind == kind:
            for inner in stack[index + 1 :]:  # opened inside and never returned
                inner.status = inner.status or "trap"
            del stack[index:]
            if value == "void":
                record.status = "void"
            elif value.isdigit():
                record.result = int(value)
                record.status = value if callback else status_name(HOSTCALLS_BY_NAME.get(name), int(value))
            else:
                record.status = value
            return


def misuse_of(records: Iterable[TraceRecord]) -> list[Misuse]:
    """The status misuse visible in Envoy's trace (arguments as raw values: Envoy logs no memory)."""
    return [
        Misuse(
            "status",
            r.name,
            ", ".join(f"{k}={v}" for k, v in r.args.items()),
            r.status,
            r.callback,
            r.context_id,
            r.plugin,
        )
        for r in records
        if r.kind == "hostcall" and r.status in ("BAD_ARGUMENT", "INVALID_MEMORY_ACCESS")
    ]
