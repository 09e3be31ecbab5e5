"""Where a host's virtual clock starts: the one rule, and the ``--now`` value format.

Every host starts its wall clock at the real time (UTC) unless told otherwise: a pytest host when it
is created, ``run`` when the command starts, and ``check`` once when the check starts (every case
host of a check starts at that same instant, so hosts compared with each other see the same time).
``HostOptions.start_time_ns`` (``--now`` / ``--proxy-wasm-now``, the ``proxy_wasm`` marker) sets it.
From there the clock only moves when the host advances it (``host.advance``, callout delays, ticks).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

NOW_FORMATS = "an ISO 8601 time (2026-01-31T12:00:00Z), seconds since the Unix epoch, or 'real'"


def parse_now(value: str | int | float) -> int | None:
    """``--now`` as nanoseconds since the Unix epoch; ``'real'`` (or ``''``) is None: the real time.

    Raises ValueError naming the accepted formats."""
    text = str(value).strip()
    if text.lower() in ("", "real", "now"):
        return None
    try:
        seconds = Decimal(text)
    except InvalidOperation:
        seconds = None
    if seconds is not None and seconds.is_finite():
        return _seconds_ns(seconds, text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"--now: expected {NOW_FORMATS}, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a time without an offset is UTC
    return _seconds_ns(Decimal(int(moment.timestamp())), text) + moment.microsecond * 1000


def _seconds_ns(seconds: Decimal, text: str) -> int:
    if seconds < 0:
        raise ValueError(f"--now: {text!r} is before the Unix epoch")
    return int(seconds * 1_000_000_000)


def resolve(start_ns: int | None) -> int:
    """The start time itself: ``start_ns``, or the real time now when it is None."""
    return time.time_ns() if start_ns is None else start_ns


def iso(ns: int) -> str:
    """Nanoseconds since the epoch as UTC ISO 8601 with milliseconds (``2026-01-31T12:00:00.000Z``)."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns // 1_000_000 % 1000:03d}Z"
