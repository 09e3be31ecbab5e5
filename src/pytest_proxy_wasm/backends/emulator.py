"""The in-process host behind the backend Protocol."""

from __future__ import annotations

from ..host.host import Host
from ..host.options import HostOptions
from ..host.runtime import Runtime


class EmulatorBackend(Host):
    """A ``Host`` is already the emulator backend; this names it and keeps the Protocol honest."""

    name = "emulator"

    def __init__(self, runtime: Runtime | None = None, options: HostOptions | None = None) -> None:
        super().__init__(runtime, options)

    def clear_logs(self) -> None:
        """Forget the logs so far (e.g. the start-up lines), as ``del host.records[:]`` does."""
        del self.records[:]
