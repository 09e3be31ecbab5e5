"""The trace a failing conformance case keeps for its report (``check --trace``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..host.trace import render

TRACE_LINES = 300  # the last lines kept per failing case


def failing_trace(hosts: Sequence[Any]) -> list[str]:
    """Readable trace lines of every traced host of a case (the last ``TRACE_LINES``)."""
    lines: list[str] = []
    for host in hosts:
        tracer = getattr(host, "tracer", None)
        if tracer is not None:
            lines += render(tracer.records)
    if len(lines) > TRACE_LINES:
        return [f"... {len(lines) - TRACE_LINES} earlier lines not shown", *lines[-TRACE_LINES:]]
    return lines
