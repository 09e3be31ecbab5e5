"""Envoy's log lines (``--log-format '%l|%n|%v'``) turned into the same records the emulator gives."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ...errors import (
    MissingImportsError,
    ModuleLoadError,
    PluginStartError,
    ProxyWasmError,
    UnknownAbiVersionError,
)
from ...outcome import LogRecord

LEVELS = {"trace": 0, "debug": 1, "info": 2, "warning": 3, "error": 4, "critical": 5}
_PLUGIN_LOG = re.compile(r"wasm log(?P<prefix>[^:]*): (?P<message>.*)", re.S)
_FAILED = re.compile(r"Function: (?P<callback>\w+) failed: (?P<reason>.*)")
_HOSTCALL_TRACE = re.compile(r"\[(vm->host|vm<-host|host->vm|host<-vm)\] ")
_CALLBACK = re.compile(r"\[host->vm\] (?P<name>proxy_on_\w+)\((?P<id>\d+)(?:, (?P<second>\d+))?")
_EFFECTIVE = re.compile(r"\[vm->host\] env\.proxy_set_effective_context\((?P<id>\d+)\)")
# Callbacks whose first argument is the root context (cpp-host's ABI); the stream ones name theirs.
_ROOT_CALLBACKS = frozenset(
    {
        "proxy_on_vm_start",
        "proxy_on_configure",
        "proxy_on_tick",
        "proxy_on_queue_ready",
        "proxy_on_http_call_response",
        "proxy_on_grpc_receive_initial_metadata",
        "proxy_on_grpc_receive",
        "proxy_on_grpc_receive_trailing_metadata",
        "proxy_on_grpc_close",
        "proxy_on_foreign_function",
    }
)
_EITHER = frozenset({"proxy_on_context_create", "proxy_on_done", "proxy_on_delete"})


class _Contexts:
    """Which context a plugin log line was written in, read off Envoy's ``wasm:trace`` hostcall lines
    (Envoy's ``wasm log`` line itself does not say): the running callback's context, or the one
    ``proxy_set_effective_context`` chose."""

    def __init__(self) -> None:
        self.kinds: dict[int, str] = {}
        self.running: list[int] = []
        self.effective: int | None = None

    def trace(self, message: str) -> None:
        call = _CALLBACK.match(message)
        if call is not None:
            name, context = call["name"], int(call["id"])
            if name == "proxy_on_context_create":
                self.kinds[context] = "root" if call["second"] in (None, "0") else "stream"
            elif name in _ROOT_CALLBACKS:
                self.kinds[context] = "root"
            elif name not in _EITHER:
                self.kinds.setdefault(context, "stream")
            self.running.append(context)
            self.effective = None
        elif message.startswith("[host<-vm] "):
            if self.running:
                self.running.pop()
            self.effective = None
        else:
            effective = _EFFECTIVE.match(message)
            if effective is not None:
                self.effective = int(effective["id"])

    def current(self) -> tuple[int | None, str]:
        context = (
            self.effective if self.effective is not None else (self.running[-1] if self.running else None)
        )
        return context, self.kinds.get(context, "") if context is not None else ""


@dataclass
class ParsedLog:
    """Plugin log lines, VM failures and the host's own lines, from one slice of Envoy's log."""

    plugin_logs: list[LogRecord]
    failures: list[str]
    hostcalls: list[str]
    other: list[str]


def _records(lines: Iterable[str]) -> list[tuple[str, str, str]]:
    """Split ``level|logger|message`` lines; continuation lines join the previous record."""
    records: list[tuple[str, str, str]] = []
    for line in lines:
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[0] in LEVELS:
            records.append((parts[0], parts[1], parts[2]))
        elif records:
            level, logger, message = records[-1]
            records[-1] = (level, logger, message + "\n" + line)
    return records


def parse(lines: Iterable[str], plugin_names: Iterable[str]) -> ParsedLog:
    names = set(plugin_names)
    parsed = ParsedLog([], [], [], [])
    contexts = _Contexts()
    for level, logger, message in _records(lines):
        if logger == "wasm" and _HOSTCALL_TRACE.match(message):
            parsed.hostcalls.append(message)
            contexts.trace(message)
            continue
        match = _PLUGIN_LOG.match(message) if logger == "wasm" else None
        if match is not None:
            prefix = match["prefix"].split()
            plugin = prefix[0] if prefix and prefix[0] in names else ""
            context, kind = contexts.current()
            record = LogRecord(LEVELS[level], match["message"], plugin, context, "plugin", kind)
            parsed.plugin_logs.append(record)
            continue
        failed = _FAILED.search(message)
        if failed is not None:
            reason = failed["reason"].split("\n")[0]
            parsed.failures.append(f"{failed['callback']}: {reason}")
            continue
        parsed.other.append(f"{level}|{logger}|{message}")
    return parsed


_MISSING_IMPORT = re.compile(r"missing import: (\S+)")
_BAD_SIGNATURE = re.compile(r"(Bad function signature for: [^\n]*)")


def load_failure(name: str, log_tail: str) -> ProxyWasmError | None:
    """The same named load errors the emulator raises, read off Envoy's log (verified on 1.40)."""
    if "Failed to parse corrupted Wasm module" in log_tail:
        return ModuleLoadError(name, "invalid WebAssembly (Envoy: Failed to parse corrupted Wasm module)")
    if "Missing or unknown Proxy-Wasm ABI version" in log_tail:
        return UnknownAbiVersionError(
            name, "missing Proxy-Wasm ABI version (Envoy: Missing or unknown Proxy-Wasm ABI version)"
        )
    missing = _MISSING_IMPORT.findall(log_tail)
    if missing:
        error = MissingImportsError(name, list(dict.fromkeys(missing)))  # Envoy names the first only
        error.reason += f" (Envoy: Failed to load Wasm module due to a missing import: {missing[0]})"
        error.args = (f"cannot load {name}: {error.reason}",)
        return error
    signature = _BAD_SIGNATURE.search(log_tail)
    if signature:
        return ModuleLoadError(name, signature.group(1))
    return None


def start_failure(names: list[str], log_tail: str) -> tuple[ProxyWasmError | None, list[LogRecord]]:
    """The named failure of a plugin that stopped Envoy from starting (istio-envoy.md 3.4), and its logs."""
    parsed = parse(log_tail.splitlines(), names)
    for name in names:
        if f"Unable to create Wasm plugin {name}" in log_tail or f"Plugin {name} failed" in log_tail:
            loading = load_failure(name, log_tail)
            if loading is not None:
                return loading, parsed.plugin_logs
            callback = "proxy_on_configure" if "Failed to configure" in log_tail else "proxy_on_vm_start"
            if parsed.failures:
                callback = parsed.failures[0].split(":")[0]
            reason = parsed.failures[0] if parsed.failures else log_tail.strip().splitlines()[-1]
            error = PluginStartError(name, callback, reason, [r.message for r in parsed.plugin_logs])
            return error, parsed.plugin_logs
    return None, parsed.plugin_logs
