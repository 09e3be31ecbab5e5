"""Host settings, the virtual clock and configuration inputs."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .abi.enums import LogLevel
from .client_address import DEFAULT_PEER, ClientAddressSettings, parse_peer
from .properties import PropertyValue

ConfigInput = bytes | str | Mapping[str, Any] | Sequence[Any] | None


def config_bytes(value: ConfigInput) -> bytes:
    """Plugin/VM configuration as Envoy passes it: bytes as given, str as UTF-8, JSON for objects."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":")).encode()


class VirtualClock:
    """Time as the plugin sees it. Nothing sleeps: the test (or the host) advances it."""

    def __init__(self, start_ns: int | None = None) -> None:
        self.realtime_ns = time.time_ns() if start_ns is None else start_ns
        self.monotonic_ns = 1_000_000_000

    def advance_ns(self, delta_ns: int) -> None:
        self.realtime_ns += delta_ns
        self.monotonic_ns += delta_ns


@dataclass(frozen=True)
class HostOptions:
    """Host settings; ``with_*`` style copies via :meth:`replace`."""

    log_level: int = LogLevel.TRACE
    random_seed: int | None = 0
    start_time_ns: int | None = None  # wall clock start, ns since the epoch; None: the real time
    deadline_seconds: float = 5.0
    memory_limit: int = 1 << 30
    log_tail: int = 20
    checked_calls: bool = False  # use wasmtime-py's ordinary (checked) call path: slower, for comparison
    buffer_limit: int = 1 << 20  # Envoy's per_connection_buffer_limit_bytes default
    fuel_limit: int = 0  # per callback, when the Runtime consumes fuel (0: count only, no limit)
    properties: Mapping[tuple[str, ...], PropertyValue] = field(default_factory=dict)
    # Envoy's --concurrency: each filter plugin gets a root context (and VM) on the main thread and on
    # every worker, after a configuration canary; streams run on the first worker (host/workers.py).
    workers: int = 1
    thread_vms: bool = True  # False: one VM and one root context per plugin (not what Envoy does)
    trace: bool = False  # record every hostcall and callback (Outcome.trace); free when off
    strict: bool = False  # any misuse diagnostic fails the test (pytest) or the case (check)
    diverge_hostcall: str = ""  # test-only: this hostcall answers NOT_FOUND, to exercise the trace diff
    # Envoy backends: after Envoy exited (or hung), start a new one at the next use (said in that
    # Outcome's diagnostics) instead of raising the fault again; never done unless asked
    restart_envoy_after_exit: bool = False
    # The client's connection and the connection manager settings that decide the client address
    # (source.address, x-forwarded-for): Envoy's defaults; host/client_address.py, docs/fidelity.md.
    peer_address: str = DEFAULT_PEER  # "ip[:port]" the client connects from
    use_remote_address: bool = False
    xff_num_trusted_hops: int = 0
    skip_xff_append: bool = False
    internal_address_cidrs: tuple[str, ...] = ()  # Envoy's internal_address_config.cidr_ranges
    envoy_local_address: str = "127.0.0.1"  # what Envoy appends to x-forwarded-for for a 127.0.0.1 peer
    platform: str = "envoy"  # "higress": accept the 0.2.100 marker and Higress-only hostcalls (platforms.py)
    profile: str = ""  # an Istio profile (istio/profiles.py): istio-sidecar-inbound, -outbound, istio-gateway
    envoy_version: str = "1.40"  # the Envoy whose behaviour is emulated (host/envoy_versions.py)

    def __post_init__(self) -> None:
        from .envoy_versions import version_key

        version_key(self.envoy_version)  # a clear ValueError for a misspelt or unsupported version

    def replace(self, **changes: Any) -> HostOptions:
        return replace(self, **changes)

    def client_address_settings(self) -> ClientAddressSettings:
        """The settings given, or an Istio profile's where it sets them (gateways use the remote address)."""
        from .mesh import profile_of

        profile = profile_of(self)
        return ClientAddressSettings(
            self.use_remote_address or bool(profile and profile.use_remote_address),
            self.xff_num_trusted_hops or (profile.xff_num_trusted_hops if profile else 0),
            self.skip_xff_append,
            tuple(self.internal_address_cidrs),
        )

    def client_defaults(self) -> tuple[tuple[str, int], ClientAddressSettings]:
        """The peer (ip, port) and the client-address settings, checked (a bad value raises ValueError)."""
        return parse_peer(self.peer_address), self.client_address_settings()
