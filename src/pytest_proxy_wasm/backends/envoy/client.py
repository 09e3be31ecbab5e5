"""A Python load generator: an asyncio HTTP/1.1 client over keep-alive connections on 127.0.0.1
(the fallback when ``wrk`` is not on PATH; it tops out near 4,500 requests/s)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``samples`` (seconds in, milliseconds out)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


async def _one_connection(
    port: int, request: bytes, deadline: float, budget: list[int], latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.monotonic() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 2"):
                errors.append(head.split(b"\r\n")[0].decode("latin-1"))
    finally:
        writer.close()
        await writer.wait_closed()


def drive(port: int, *, requests: int = 2000, seconds: float = 10.0, connections: int = 8) -> dict[str, Any]:
    """At most ``requests`` GETs or ``seconds`` of load over ``connections`` keep-alive connections."""
    request = b"GET /load HTTP/1.1\r\nhost: example.com\r\nx-load: 1\r\n\r\n"
    latencies: list[float] = []
    errors: list[str] = []
    budget = [requests]

    async def run() -> float:
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_one_connection(port, request, deadline, budget, latencies, errors) for _ in range(connections))
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p90_ms": round(percentile(latencies, 0.90), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3) if latencies else 0.0,
        "connections": connections,
    }
