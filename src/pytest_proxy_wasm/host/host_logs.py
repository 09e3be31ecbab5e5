"""The host's log: plugin lines (proxy_log, stdout/stderr) and host diagnostics, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..outcome import LogRecord
from .abi.enums import LogLevel

if TYPE_CHECKING:
    from .options import HostOptions
    from .plugin import Plugin
    from .vm import VM

_new_record = tuple.__new__


class HostLogs:
    """Host's logging half: ``records`` and ``diagnostics`` are the Host's own lists."""

    records: list[LogRecord]
    diagnostics: list[str]
    plugins: list[Plugin]
    options: HostOptions

    def plugin_log(self, vm: VM, level: int, message: str, source: str = "plugin") -> None:
        # tuple.__new__: a NamedTuple's own __new__ is a Python function; this runs per proxy_log.
        context = vm.effective
        if context is None or context.id not in vm.contexts:  # VM.effective_context, inline
            context = vm.current
        if context is None:
            self.records.append(_new_record(LogRecord, (level, message, "", None, source, "")))
        else:
            root = context.root
            kind = "root" if root is context else "stream"
            record = (level, message, root.plugin_ref.name, context.id, source, kind)
            self.records.append(_new_record(LogRecord, record))

    def host_log(self, level: int, message: str, vm: VM | None = None) -> None:
        self.records.append(LogRecord(level, message, vm.name if vm else "", None, "host"))
        if level >= LogLevel.WARN:
            self.diagnostics.append(message)

    def log_tail(self, vm: VM) -> list[str]:
        names = {p.name for p in self.plugins if p.vm is vm}
        lines = [r.message for r in self.records if r.source != "host" and (not names or r.plugin in names)]
        return lines[-self.options.log_tail :]

    @property
    def logs(self) -> list[LogRecord]:
        """Every log line so far: plugin logs, stdout/stderr and host diagnostics."""
        return list(self.records)

    def log_messages(self, level: str | None = None) -> list[str]:
        return [
            r.message for r in self.records if r.source != "host" and (level is None or r.level_name == level)
        ]

    def note(self, vm: VM, event: str) -> None:
        self.host_log(LogLevel.DEBUG, event, vm)
