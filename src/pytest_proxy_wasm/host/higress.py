"""Higress's other extensions (besides Redis calls): upstream hosts, override host, injected data.

From the signatures in higress-group/proxy-wasm-go-sdk (proxywasm/internal/abi_hostcalls.go); what a
Higress gateway does with them is not emulated: the emulator records the calls for tests to assert on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HigressExtras:
    """Declared upstream hosts and the record of the plugin's Higress-only calls."""

    # (address, metadata) pairs proxy_get_upstream_hosts returns; empty: NOT_FOUND
    upstream_hosts: list[tuple[str, str]] = field(default_factory=list)
    # (stream context id, address) per proxy_set_upstream_override_host
    override_hosts: list[tuple[int, str]] = field(default_factory=list)
    # (stream context id, data, end_stream) per proxy_inject_encoded_data_to_filter_chain
    injected: list[tuple[int, bytes, bool]] = field(default_factory=list)
