"""What a test reads back from the Envoy backend: its plugin logs, the plugin's metrics, Envoy's stats."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...outcome import LogRecord
from .convert import custom_metrics

if TYPE_CHECKING:
    from .process import EnvoyProcess


class EnvoyInspection:
    """EnvoyBackend's read-back half: ``records`` and ``process`` are the backend's own."""

    records: list[LogRecord]
    process: EnvoyProcess | None

    @property
    def logs(self) -> list[LogRecord]:
        return list(self.records)

    def log_messages(self, level: str | None = None) -> list[str]:
        return [r.message for r in self.records if level is None or r.level_name == level]

    def clear_logs(self) -> None:
        del self.records[:]

    def metrics(self) -> dict[str, int]:
        return custom_metrics(self.process.stats()) if self.process is not None else {}

    def stats(self) -> dict[str, int]:
        return self.process.stats() if self.process is not None else {}

    def _reloadcount_lines(self) -> int:
        """How many times Envoy reloaded a failed VM (``wasm.*.vm_reload_success`` summed)."""
        stats = self.process.stats() if self.process is not None else {}
        return sum(v for k, v in stats.items() if k.startswith("wasm.") and k.endswith(".vm_reload_success"))
