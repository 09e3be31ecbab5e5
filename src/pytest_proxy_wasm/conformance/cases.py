"""Case records, the registry, and what a case is given to run: the target module and a run context."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..host.abi.enums import AbiVersion, FailurePolicy
from ..host.failures import VmFailure
from ..host.host import Host
from ..host.options import HostOptions
from ..host.plugin import Plugin
from ..host.runtime import CompiledModule, Runtime
from .evidence import Evidence, Exchange, build_evidence, with_input
from .recording import RecordingHost, is_user_request, plugin_lines

AREAS = (
    "module",
    "lifecycle",
    "http_robustness",
    "isolation",
    "failure_policy",
    "resources",
    "tcp_robustness",
    "service",
    "performance",
    "differential",
)
ALL_ABIS = tuple(v.value for v in AbiVersion)
ALL_BACKENDS = ("emulator", "envoy", "diff")
# Module kinds (conformance/classify.py); a case lists the kinds it applies to.
KINDS = ("http_filter", "network_filter", "service")
SEVERITIES = ("fail", "warn")  # fail: breaks traffic on Envoy; warn: only a non-default input triggers it
# Hosts for cases about one stream at a time: the stream thread's VM only, without Envoy's canary and
# main-thread VMs (same stream behaviour, a third of the start-up cost for Go modules).
STREAM_THREAD_ONLY: dict[str, Any] = {"thread_vms": False}
LOG_TAIL = 40


class CaseFailure(AssertionError):  # noqa: N818 - a failed case, reported as a test failure
    """The module broke the rule a case checks (a test failure, never an error)."""


class CaseWarning(CaseFailure):
    """A finding that is only a warning whatever the case's severity (the platform input that
    triggers it, or the check's own set-up, may explain it): recorded, never failing the verdict."""


class NotApplicable(Exception):  # noqa: N818 - reads as what it is
    """The case does not apply to this module (reported as skipped, with the reason)."""


@dataclass(frozen=True)
class Target:
    """Everything a case may know about the module under test: the module and its configuration."""

    module: Path
    plugin_config: bytes = b""
    vm_config: bytes = b""
    env: Mapping[str, str] = field(default_factory=dict)
    backend: str = "emulator"
    deadline_seconds: float = 1.0
    budgets: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None
    max_examples: int = 25
    kind: str = "auto"  # auto (classified) or the declared kind: http_filter, network_filter, service
    root_id: str = ""
    vm_id: str = ""
    callouts: tuple[tuple[str, int, str], ...] = ()  # (cluster, status, body), declared before start
    requests: tuple[dict[str, Any], ...] = ()  # the user's own requests (--request, --requests FILE)
    strict: bool = False  # misuse findings fail (module.hostcall_misuse) instead of warning
    trace: bool = False  # trace the hosts; a failing case's report shows the trace
    start_time_ns: int | None = None  # every case host's wall clock starts here (None: the real time)
    # HostOptions fields of the client connection (peer_address, use_remote_address, ...): every host's
    client_address: tuple[tuple[str, Any], ...] = ()
    platform: str = "envoy"  # HostOptions.platform ("higress": the 0.2.100 marker, Redis calls)
    profile: str = ""  # HostOptions.profile (an Istio placement, istio/profiles.py)
    envoy_version: str = ""  # the Envoy the check runs and the emulator follows ("": 1.40, the default)


@dataclass
class CaseRun:
    """Given to each case: build hosts and plugins for the target, record details for the report.

    Every ``host.request`` made through its hosts is recorded; when the case fails, ``finding()`` builds
    the evidence from the exchange that shows the failure (or what the case gave ``evidence()``).
    """

    target: Target
    runtime: Runtime
    details: dict[str, Any] = field(default_factory=dict)
    hosts: list[Host] = field(default_factory=list)
    callbacks: Counter[str] = field(default_factory=Counter)
    hostcalls: Counter[str] = field(default_factory=Counter)
    logs: list[str] = field(default_factory=list)
    classification: dict[str, Any] = field(default_factory=dict)  # conformance/classify.py
    exchanges: list[Exchange] = field(default_factory=list)
    failures: list[VmFailure] = field(default_factory=list)
    explicit: dict[str, Any] = field(default_factory=dict)
    _hosts_made: int = 0
    _target_sha: str | None = None

    def compiled(self) -> CompiledModule:
        return self.runtime.load(self.target.module)

    @property
    def requests(self) -> tuple[dict[str, Any], ...]:
        """The standard requests plus the user's own (``--request``): what every area should send."""
        from .support import STANDARD_REQUESTS

        return (*STANDARD_REQUESTS, *self.target.requests)

    def user_requests(self, defaults: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
        """The user's requests with every key of ``defaults`` (explicit examples for a strategy)."""
        return tuple({**defaults, **request} for request in self.target.requests)

    def host(self, **options: Any) -> Host:
        """A fresh emulator host (same seed and clock for every case host); the user's callout answers
        first, then any cluster answers 200."""
        opts = HostOptions(
            deadline_seconds=self.target.deadline_seconds,
            random_seed=0,
            start_time_ns=self.target.start_time_ns,
            trace=self.target.trace,
            platform=self.target.platform,
            profile=self.target.profile,
            envoy_version=self.target.envoy_version or "1.40",
        ).replace(**{**dict(self.target.client_address), **options})
        host = RecordingHost(self, self._hosts_made, self.runtime, opts)
        self._hosts_made += 1
        for cluster, status, body in self.target.callouts:
            host.expect_http_call(cluster).respond_with(status, body=body.encode())
        host.expect_http_call("*").respond_with(200, body=b"ok")
        if opts.platform == "higress":
            host.add_redis_cluster("*")  # any cluster initialises; each Redis call gets +OK
            host.expect_redis_call("*")
        self.hosts.append(host)
        return host

    def plugin(
        self,
        host: Host,
        *,
        module: bytes | Path | None = None,
        plugin_config: bytes | None = None,
        name: str | None = None,
        vm_id: str | None = None,
        failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED,
    ) -> Plugin:
        return host.load_plugin(
            module if module is not None else self.compiled(),
            plugin_config=self.target.plugin_config if plugin_config is None else plugin_config,
            vm_config=self.target.vm_config,
            env=self.target.env,
            name=name,
            root_id=self.target.root_id if module is None else "",
            vm_id=self.target.vm_id if vm_id is None else vm_id,
            failure_policy=failure_policy,
        )

    def started(self, **options: Any) -> tuple[Host, Plugin]:
        host = self.host(**options)
        return host, self.plugin(host)

    def evidence(self, *, input: Any = None, note: str = "") -> None:
        """Name the input that shows the failure (a request dict or a list of them) and/or add a note."""
        if input is not None:
            self.explicit["input"] = input
        if note:
            self.explicit["note"] = note

    def finding(self) -> Evidence:
        """The evidence for a failed case (call after ``close``)."""
        ev = build_evidence(
            self.exchanges,
            self.failures,
            self.logs,
            shrunk="shrunk_input" in self.details,
            seed=self.details.get("seed"),
        )
        if "input" in self.explicit:
            given = self.explicit["input"]
            ev = with_input(ev, given, self.exchanges)
            named = list(given) if isinstance(given, list | tuple) else [given]
            if any(isinstance(r, dict) and is_user_request(r, self.target.requests) for r in named):
                ev.source = "your request (--request/--requests)"
        elif any(is_user_request(e.request, self.target.requests) for e in ev.raw):
            ev.source = "your request (--request/--requests)"
        ev.note = self.explicit.get("note", ev.note)
        return ev

    def close(self) -> None:
        """Close every host, keeping its hostcall/callback counts, failures and the plugin log tail."""
        sha = self._sha()
        for host in self.hosts:
            for vm in host.all_vms:
                if vm.compiled.sha256 == sha:
                    self.callbacks.update(vm.callback_counts())
                    self.hostcalls.update(vm.hostcall_counts)
                    if vm.failure is not None:
                        self.failures = [*self.failures[-9:], vm.failure]
            self.logs = [*self.logs, *plugin_lines(host.records, LOG_TAIL)][-LOG_TAIL:]
            host.close()
        self.hosts.clear()

    def _sha(self) -> str | None:
        if self._target_sha is None:
            try:
                self._target_sha = self.compiled().sha256
            except Exception:
                return None
        return self._target_sha


CaseFunc = Callable[[CaseRun], None]


@dataclass(frozen=True)
class Case:
    """One conformance case: what it checks, the rule behind it, and where it applies."""

    id: str
    area: str
    title: str
    rule: str
    why: str
    func: CaseFunc
    abi_versions: tuple[str, ...] = ALL_ABIS
    backends: tuple[str, ...] = ("emulator",)
    needs_backend: str | None = None  # runs only when the check runs with this backend (or "envoy|diff")
    severity: str = "fail"
    assumes: str = ""  # what the case takes for granted about the platform (Envoy 1.40 defaults, ...)
    kinds: tuple[str, ...] = KINDS

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "title": self.title,
            "rule": self.rule,
            "why": self.why,
            "abi_versions": list(self.abi_versions),
            "backends": list(self.backends),
            "severity": self.severity,
            "assumes": self.assumes,
            "kinds": list(self.kinds),
        }


REGISTRY: dict[str, Case] = {}


def case(
    area: str,
    name: str,
    *,
    title: str,
    rule: str,
    why: str,
    abi_versions: tuple[str, ...] = ALL_ABIS,
    backends: tuple[str, ...] = ("emulator",),
    needs_backend: str | None = None,
    severity: str = "fail",
    assumes: str = "",
    kinds: tuple[str, ...] = KINDS,
) -> Callable[[CaseFunc], CaseFunc]:
    """Register a case function under ``area.name``."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}")
    if severity not in SEVERITIES or not set(kinds) <= set(KINDS):
        raise ValueError(f"{area}.{name}: bad severity {severity!r} or kinds {kinds!r}")

    def register(func: CaseFunc) -> CaseFunc:
        case_id = f"{area}.{name}"
        REGISTRY[case_id] = Case(
            case_id,
            area,
            title,
            rule,
            why,
            func,
            abi_versions,
            backends,
            needs_backend,
            severity,
            assumes,
            kinds,
        )
        return func

    return register


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailure(message)


def env_pairs(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, _, rest = value.partition("=")
        out[name] = rest
    return out


def read_config(value: str | None) -> bytes:
    """``@FILE`` or literal text, as the ``run`` command takes it."""
    if not value:
        return b""
    if value.startswith("@"):
        return Path(value[1:]).read_bytes()
    return value.encode()
