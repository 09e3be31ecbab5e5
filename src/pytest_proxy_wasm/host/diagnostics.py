"""Misuse diagnostics, always on: what a plugin did wrong that Envoy answers only with a status.

A hostcall that returns INVALID_MEMORY_ACCESS or BAD_ARGUMENT (WASI: FAULT), an unimplemented
hostcall, and a ``proxy_on_*`` export the module's ABI does not call. Envoy is silent about each (the
plugin just gets the status); here each becomes a ``Misuse`` naming the hostcall, its arguments and
the callback it happened in. Recording runs only on those paths, never on a successful hostcall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ExpectationError
from .abi.enums import LogLevel, WasmResult
from .abi.signatures import HOSTCALLS_BY_NAME
from .trace import status_name
from .trace_args import decode_inputs, param_names

if TYPE_CHECKING:
    from .host import Host
    from .vm import VM

MISUSE_STATUSES = frozenset({int(WasmResult.BAD_ARGUMENT), int(WasmResult.INVALID_MEMORY_ACCESS)})


class Misuse(NamedTuple):
    """One misuse: ``kind`` is ``status`` (a bad status returned), ``unimplemented`` or ``export``."""

    kind: str
    hostcall: str
    args: str
    status: str
    callback: str
    context_id: int | None = None
    plugin: str = ""

    def __str__(self) -> str:
        ctx = f" (context {self.context_id})" if self.context_id is not None else ""
        return self.summary() + ctx

    def summary(self) -> str:
        """The misuse without its context id: the same mistake on every request reads once."""
        where = f"in {self.callback}" if self.callback else "outside any callback"
        who = f"{self.plugin}: " if self.plugin else ""
        if self.kind == "export":
            return f"misuse: {who}export {self.hostcall}: {self.args}"
        return f"misuse: {who}{self.hostcall}({self.args}) returned {self.status} {where}"

    def to_json(self) -> dict[str, Any]:
        return {**self._asdict(), "message": str(self)}


class MisuseError(ExpectationError):
    """Strict mode: the plugin misused the ABI (each misuse is listed)."""


def _args_text(vm: VM, name: str, raw: tuple[int, ...]) -> str:
    names = param_names(name, len(raw))
    try:
        decoded = decode_inputs(names, raw, vm.memory.read)
    except Exception:
        decoded = dict(zip(names, raw, strict=False))
    return ", ".join(f"{k}={v}" for k, v in decoded.items())


def record(vm: VM, name: str, raw: tuple[int, ...], status: int, kind: str = "status") -> None:
    """Record a misuse seen by ``vm``'s hostcall ``name``; the first of each kind also becomes a
    diagnostic line (and a host log line)."""
    spec = HOSTCALLS_BY_NAME.get(name)
    context = vm.effective_context()
    misuse = Misuse(
        kind,
        name,
        _args_text(vm, name, raw),
        "UNIMPLEMENTED" if kind == "unimplemented" else status_name(spec, status),
        vm.callback,
        context.id if context is not None else None,
        vm.name,
    )
    _add(vm.host, misuse)


def record_export(host: Host, plugin: str, export: str, reason: str) -> None:
    _add(host, Misuse("export", export, reason, "", "", None, plugin))


def _add(host: Host, misuse: Misuse) -> None:
    host.misuse.append(misuse)
    key = (*misuse[:5], misuse.plugin)  # the first of each (per plugin, hostcall, args, callback) is logged
    if key not in host.misuse_seen:
        host.misuse_seen.add(key)
        host.host_log(LogLevel.WARN, str(misuse))


# Strict mode fails on these. An unknown export stays a diagnostic: SDKs export such names themselves
# (the AssemblyScript SDK's proxy_on_grpc_trailing_metadata), and a plugin author cannot remove them.
STRICT_KINDS = frozenset({"status", "unimplemented"})


def misuse_lines(host: Any, kinds: frozenset[str] | None = None) -> list[str]:
    """Distinct misuse lines of ``host`` (counted), optionally only of ``kinds``."""
    counts: dict[str, int] = {}
    for misuse in getattr(host, "misuse", []):
        if kinds is not None and misuse.kind not in kinds:
            continue
        text = misuse.summary()
        counts[text] = counts.get(text, 0) + 1
    return [text + (f" ({n} times)" if n > 1 else "") for text, n in counts.items()]


def check_strict(host: Any) -> None:
    """Raise ``MisuseError`` if ``host`` runs in strict mode and saw any misuse."""
    options = getattr(host, "options", None)
    if options is None or not getattr(options, "strict", False):
        return
    problems = misuse_lines(host, STRICT_KINDS)
    if problems:
        raise MisuseError("strict mode: the plugin misused the ABI\n  " + "\n  ".join(problems))
