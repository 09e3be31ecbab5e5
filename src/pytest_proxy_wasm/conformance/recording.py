"""Recording what a case does through its hosts: each exchange (HTTP request or TCP connection), its
chain and outcome, the failure it caused and the plugin's last log lines (the evidence of a finding)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..host.failures import VmFailure
from ..host.host import Host
from ..host.options import HostOptions
from ..host.plugin import Plugin
from ..host.proxy_crash import ProxyCrash
from ..host.runtime import Runtime
from ..outcome import LogRecord, Outcome, TcpOutcome
from .evidence import LOG_LINES, Exchange, PluginSetup

if TYPE_CHECKING:
    from .cases import CaseRun


def is_user_request(request: Mapping[str, Any], given: Iterable[Mapping[str, Any]]) -> bool:
    return any(all(request.get(k) == v for k, v in user.items()) for user in given)


def log_line(record: LogRecord) -> str:
    """``[level] message``; WASI output (written in pieces) as ``[stderr] piece`` without edge blanks."""
    label = record.source if record.source in ("stdout", "stderr") else record.level_name
    return f"[{label}] {record.message.strip(chr(10)).rstrip()}"


def plugin_lines(records: Sequence[LogRecord], count: int) -> list[str]:
    """The last ``count`` plugin log lines (walks back from the end: cheap on long runs)."""
    lines: list[str] = []
    for record in reversed(records):
        if len(lines) == count:
            break
        if record.source != "host":
            lines.append(log_line(record))
    return lines[::-1]


class RecordingHost(Host):
    """An emulator host that records each exchange for the evidence of a finding."""

    def __init__(self, run: CaseRun, index: int, runtime: Runtime, options: HostOptions) -> None:
        super().__init__(runtime, options)
        self._run = run
        self._index = index
        self._sent: list[tuple[str, dict[str, Any]]] = []
        self.module_bytes: dict[str, bytes] = {}

    def recent_plugin_lines(self) -> list[str]:
        return plugin_lines(self.records, LOG_LINES)

    def load_plugin(self, module: Any, **kwargs: Any) -> Plugin:
        if isinstance(module, bytes | bytearray):
            self.module_bytes[hashlib.sha256(module).hexdigest()] = bytes(module)
        return super().load_plugin(module, **kwargs)

    def request(self, plugins: Plugin | Iterable[Plugin] | None = None, **kwargs: Any) -> Outcome:
        chain = self._chain(plugins)
        before = [p.vm.failure for p in chain]
        try:
            outcome = super().request(chain, **kwargs)
        except ProxyCrash as crash:  # the exchange Envoy would crash on is the evidence (and replayed)
            self._record(chain, before, kwargs, crash_outcome(crash))
            raise
        self._record(chain, before, kwargs, outcome)
        return outcome

    def connect(self, plugins: Plugin | Iterable[Plugin] | None = None, **kwargs: Any) -> TcpOutcome:
        chain = self._chain(plugins)
        before = [p.vm.failure for p in chain]
        outcome = super().connect(chain, **kwargs)
        self._record(chain, before, kwargs, outcome)
        return outcome

    def _chain(self, plugins: Plugin | Iterable[Plugin] | None) -> list[Plugin]:
        return list(
            self.plugins if plugins is None else [plugins] if isinstance(plugins, Plugin) else plugins
        )

    def _record(
        self,
        chain: list[Plugin],
        before: list[VmFailure | None],
        kwargs: dict[str, Any],
        outcome: Outcome | TcpOutcome,
    ) -> None:
        target = self._run._sha()
        # only the module under test's own failures count (a companion's trap is the case's setup)
        new = [
            p.vm.failure
            for p, old in zip(chain, before, strict=True)
            if p.vm.failure is not None and old is None and p.compiled.sha256 == target
        ]
        if outcome.misuse:
            # Each Outcome carries the host's every misuse so far: hundreds of recorded exchanges would keep
            # a quadratic pile of references (seconds of GC on a long case). Evidence never shows it.
            outcome = dataclasses.replace(outcome, misuse=[])
        exchange = Exchange(
            request=dict(kwargs),
            chain=[setup(p, target, self.module_bytes) for p in chain],
            outcome=outcome,
            host_index=self._index,
            prefix=list(self._sent),
            failure=new[0] if new else None,
            log_tail=self.recent_plugin_lines(),
        )
        kind = "tcp" if isinstance(outcome, TcpOutcome) else "http"
        self._sent = [*self._sent[-19:], (kind, dict(kwargs))]  # a replay rebuilds state from at most 20
        recorded = self._run.exchanges
        recorded.append(exchange)
        if len(recorded) > 400:  # keep the first (a baseline) and the latest
            del recorded[1:200]


CRASH_DETAILS = "proxy crash"  # an emulated exchange Envoy would not survive (replay.py)


def crash_outcome(crash: ProxyCrash) -> Outcome:
    """What the client of a crashing Envoy gets: no answer; the crash named as the failure."""
    return Outcome(None, [], b"", None, [], plugin_failed=crash.summary, details=CRASH_DETAILS, reset=True)


def setup(plugin: Plugin, target_sha: str | None, module_bytes: Mapping[str, bytes]) -> PluginSetup:
    sha = plugin.compiled.sha256
    return PluginSetup(
        sha256=sha,
        name=plugin.name,
        root_id=plugin.root_id,
        vm_id=plugin.vm.vm_id,
        plugin_config=plugin.plugin_config,
        vm_config=plugin.vm.vm_config,
        env=dict(plugin.vm.env),
        failure_policy=plugin.failure_policy,
        is_target=sha == target_sha,
        module=module_bytes.get(sha),
    )
