"""What Envoy and its fakes give back, turned into the emulator's shapes (pseudo-headers, metrics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...host.headers import HeaderInput, as_latin1

Headers = HeaderInput
# Stat roots Envoy itself owns: anything else in /stats is a plugin's custom metric.
ENVOY_STAT_ROOTS = frozenset(
    {
        "thread_local_cluster_manager",
        "tcmalloc",  # Envoy 1.36-1.38: tcmalloc.released_by_timer (gone by 1.40)
        "cluster",
        "cluster_manager",
        "control_plane",
        "http",
        "http1",
        "http2",
        "listener",
        "listener_manager",
        "main_thread",
        "runtime",
        "server",
        "vhost",
        "wasm",
        "workers",
        "filesystem",
        "overload",
        "dns",
        "envoy",
        "http_inspector",
        "tls_inspector",
        "access_logs",
        "stats",
        "thread_local",
        "tcp",
    }
)


def as_http2(
    method: str, target: str, headers: Sequence[tuple[str, str]], scheme: str | None = "http"
) -> list[tuple[str, str]]:
    """An HTTP/1.1 request line and headers as the pseudo-header map Envoy and the emulator hold
    (``scheme=None``: leave ``:scheme`` out). Callouts use ``fakes.as_sent``."""
    authority = next((v for k, v in headers if k.lower() == "host"), "")
    rest = [(k.lower(), v) for k, v in headers if k.lower() != "host"]
    pseudo = [(":method", method), (":path", target)] + ([(":scheme", scheme)] if scheme else [])
    return [*pseudo, (":authority", authority), *rest]


def pairs(headers: Headers) -> list[tuple[str, str]]:
    """Headers for the wire (which writes Latin-1): bytes values arrive as the same bytes."""
    return as_latin1(headers)


def custom_metrics(stats: Mapping[str, int]) -> dict[str, int]:
    """A plugin's own metrics, named as it defined them (Envoy keeps them under ``wasmcustom.``)."""
    custom = {k: v for k, v in stats.items() if k.split(".")[0] not in ENVOY_STAT_ROOTS}
    # a metric named "" is the bare "wasmcustom"
    return {("" if k == "wasmcustom" else k.removeprefix("wasmcustom.")): v for k, v in custom.items()}


def body_chunks(body: bytes | str | Sequence[bytes]) -> list[bytes]:
    if isinstance(body, str):
        chunks = [body.encode()]
    elif isinstance(body, bytes | bytearray):
        chunks = [bytes(body)]
    else:
        chunks = [bytes(c) for c in body]
    return [c for c in chunks if c]
