"""Captured traffic in: HAR 1.2 files and Envoy JSON access logs read into plain exchange records
(``records.RecordedExchange``), which ``import-traffic`` turns into scenarios and ``compare`` replays."""

from __future__ import annotations

from .load import load_traffic
from .records import RecordedExchange, RecordedResponse, TrafficError

__all__ = ["RecordedExchange", "RecordedResponse", "TrafficError", "load_traffic"]
