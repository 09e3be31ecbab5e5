"""Run the probes through one side (one module and configuration) on a fresh backend: the plugin is
loaded once and every probe goes through it in order, sharing its VM as a deployment would."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import make_backend
from ..errors import ExpectationError, ModuleLoadError, PluginStartError, ProxyWasmError
from ..host.options import HostOptions
from ..outcome import LogRecord, Outcome, TcpOutcome
from .probes import Probe


@dataclass(frozen=True)
class Side:
    """One side of the comparison: ``label`` is ``old`` or ``new``."""

    label: str
    module: Path
    plugin_config: str | None = None  # None: not given (a scenario keeps its own)
    vm_config: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    root_id: str = ""
    vm_id: str = ""
    failure_policy: str = "FAIL_CLOSED"

    def sha256(self) -> str:
        try:
            return hashlib.sha256(self.module.read_bytes()).hexdigest()
        except OSError:
            return ""

    def to_json(self) -> dict[str, Any]:
        return {
            "module": str(self.module),
            "sha256": self.sha256(),
            "plugin_config": self.plugin_config or "",
            "vm_config": self.vm_config or "",
            "env": dict(self.env),
            "root_id": self.root_id,
            "vm_id": self.vm_id,
        }


class SideLoadError(ProxyWasmError):
    """A side's module could not be loaded or started (``compare`` exits 2)."""


@dataclass
class SideRun:
    """What one side did: its start-up log lines, then per probe an Outcome or the error it raised."""

    side: Side
    startup_logs: list[LogRecord]
    outcomes: list[Outcome | TcpOutcome | str]


def request_id(index: int) -> str:
    return f"pytest-proxy-wasm-compare-{index + 1}"  # the same on both sides, as a client would send it


def run_side(
    side: Side,
    probes: Sequence[Probe],
    *,
    backend: str = "emulator",
    callouts: Sequence[tuple[str, int, str]] = (),
    trace: bool = True,
) -> SideRun:
    host = make_backend(backend, options=HostOptions(trace=trace))
    try:
        for cluster, status, body in callouts:
            host.expect_http_call(cluster).respond_with(status, body=body)
        try:
            plugin = host.load_plugin(
                side.module,
                plugin_config=side.plugin_config,
                vm_config=side.vm_config,
                env=side.env,
                root_id=side.root_id,
                vm_id=side.vm_id,
                failure_policy=side.failure_policy,
            )
        except (ModuleLoadError, PluginStartError, OSError) as exc:
            raise SideLoadError(f"{side.label.upper()} module {side.module}: {exc}") from None
        startup = [r for r in host.logs if r.source != "host"]
        outcomes: list[Outcome | TcpOutcome | str] = []
        for index, probe in enumerate(probes):
            kwargs = dict(probe.request)
            headers = list(kwargs.pop("headers", None) or [])
            if not any(str(k).lower() == "x-request-id" for k, _ in headers):
                headers.append(("x-request-id", request_id(index)))
            try:
                outcomes.append(host.request(plugin, headers=headers, **kwargs))
            except PluginStartError as exc:  # Envoy refused the configuration only now
                raise SideLoadError(f"{side.label.upper()} module {side.module}: {exc}") from None
            except (ProxyWasmError, ExpectationError) as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
        return SideRun(side, startup, outcomes)
    finally:
        host.close()
